//! The API server of the call-overhead benchmark (`benches/overhead.rs`), in a process of
//! its own so its work is not counted as the client's: hyper, HTTP/1.1, static bodies.
//!
//! ```text
//! bench_server                      # prints LISTENING 127.0.0.1:PORT
//! bench_server --exit-with-stdin    # the same, and ends when its stdin closes
//! ```
//! `GET /organisations/vat/{vrn}/obligations?from=..&to=..` answers a fixed obligations
//! JSON with the benchmark's bearer token, 401 without it.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

const BEARER: &[u8] = b"Bearer bench-access-token-2b7e151628aed2a6abf7158809cf4f3c";
const OBLIGATIONS: &[u8] = br#"{"obligations":[{"periodKey":"17A1","start":"2017-01-01","end":"2017-03-31","due":"2017-05-07","status":"F","received":"2017-05-06"},{"periodKey":"17A2","start":"2017-04-01","end":"2017-06-30","due":"2017-08-07","status":"F","received":"2017-08-01"},{"periodKey":"17A3","start":"2017-07-01","end":"2017-09-30","due":"2017-11-07","status":"O"}]}"#;
const UNAUTHORIZED: &[u8] =
    br#"{"code":"INVALID_CREDENTIALS","message":"Invalid Authentication information provided"}"#;

async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let authorized = request
        .headers()
        .get(AUTHORIZATION)
        .map(HeaderValue::as_bytes)
        == Some(BEARER);
    let is_obligations = request.uri().path().ends_with("/obligations");
    let (status, body) = match (is_obligations, authorized) {
        (true, true) => (StatusCode::OK, OBLIGATIONS),
        (true, false) => (StatusCode::UNAUTHORIZED, UNAUTHORIZED),
        (false, _) => (StatusCode::NOT_FOUND, &b"{}"[..]),
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

fn main() {
    if std::env::args().any(|a| a == "--exit-with-stdin") {
        // The harness's pipe: closed when the harness ends, however it ends.
        std::thread::spawn(|| {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            std::process::exit(0);
        });
    }
    // One worker: the accept loop and the connections leave the other core to the client.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        println!("LISTENING {}", listener.local_addr().expect("its address"));
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(handle);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
