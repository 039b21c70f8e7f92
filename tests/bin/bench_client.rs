//! A client of the call-overhead benchmark (`benches/overhead.rs`): the same call made by
//! hand with reqwest, or through a declared endpoint on a memory or SQLite store.
//!
//! ```text
//! bench_client --url http://127.0.0.1:PORT --client raw|bare|memory|sqlite [--c 1] [--n 20000] [--warmup 1000] [--driven 0|1]
//! ```
//! `raw` sends what the declared call sends (its bearer header, the runtime's
//! `User-Agent`); `bare` leaves the `User-Agent` out, as `../shared/bench`'s client does.
//! `BENCH_TRACING=<filter>` installs a subscriber with that filter in every client (see
//! `listen_as_asked`).
//! Prints `RESULT client=.. c=.. n=.. errors=.. secs=.. rps=.. p50_us=.. p99_us=.. mean_us=..
//! cpu_us=..` (the client process's CPU time per call).
//!
//! With `--driven 1` it makes its warm-up calls, prints `READY`, then takes orders on
//! stdin: `go K` makes K calls and prints `DONE secs=..` (their time), `report` prints the `RESULT` of the
//! calls made since the last report (their time, CPU time and latencies, summed over the
//! slices: the idle time between them is not counted). The harness uses it to run the
//! clients' slices in turns a fraction of a second long, so a slow spell of the machine
//! falls on all of them alike.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use chrono::NaiveDate;
use oauth2_api::{ApiUser, Credentials, Error, SessionState, TokenSet, UserRef, oauth2_api};
use serde::Deserialize;

const TOKEN: &str = "bench-access-token-2b7e151628aed2a6abf7158809cf4f3c";
const VRN: &str = "123456789";

/// The answer both clients decode, typed as `../shared/bench` types it: decoding into
/// `serde_json::Value` would add the same few microseconds of maps to every client and
/// dilute the difference between them.
#[derive(Deserialize)]
pub struct Obligations {
    obligations: Vec<Obligation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // decoded as an application would, read by none
struct Obligation {
    period_key: String,
    start: String,
    end: String,
    due: String,
    status: String,
    #[serde(default)]
    received: Option<String>,
}

#[oauth2_api(
    provider = "HMRC",
    base_url = "http://127.0.0.1:9",
    auth_url = "http://127.0.0.1:9/oauth/authorize",
    token_url = "http://127.0.0.1:9/oauth/token"
)]
trait HmrcVat {
    #[endpoint(method = GET, path = "/organisations/vat/{vrn}/obligations", scope = "read:vat", user = Company)]
    async fn obligations(
        &self,
        vrn: &str,
        #[query] from: NaiveDate,
        #[query] to: NaiveDate,
    ) -> Result<Obligations, Error>;
}

struct Company;

impl ApiUser for Company {
    fn user_ref(&self) -> UserRef {
        UserRef::new("company", "1")
    }
}

struct Args {
    url: String,
    client: String,
    c: usize,
    n: usize,
    warmup: usize,
    driven: bool,
}

fn args() -> Args {
    let mut args = Args {
        url: String::new(),
        client: "raw".to_owned(),
        c: 1,
        n: 20_000,
        warmup: 1_000,
        driven: false,
    };
    let mut given = std::env::args().skip(1);
    while let (Some(key), Some(value)) = (given.next(), given.next()) {
        let number = || value.parse::<usize>().expect("a number");
        match key.as_str() {
            "--url" => args.url = value.clone(),
            "--client" => args.client = value.clone(),
            "--c" => args.c = number().max(1),
            "--n" => args.n = number(),
            "--warmup" => args.warmup = number(),
            "--driven" => args.driven = number() != 0,
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

#[tokio::main]
async fn main() {
    let args = args();
    listen_as_asked();
    let (from, to) = (date("2017-01-01"), date("2017-12-31"));
    if args.client == "raw" || args.client == "bare" {
        by_hand(&args, from, to).await;
    } else {
        let (client, _dir) = declared(&args).await;
        let client = Arc::new(client);
        run(&args, move || {
            let client = client.clone();
            async move {
                let o = client.obligations(&Company, VRN, from, to).await;
                o.map(|o| o.obligations.len()).map_err(|e| e.to_string())
            }
        })
        .await;
    }
}

/// `BENCH_TRACING=<filter>`: a `fmt` subscriber with that `EnvFilter` (`info`, `debug`,
/// `info,bench_client=debug`, ...), writing to nothing, in every client alike. `info` is
/// what `tracing_subscriber::fmt::init()` gives an application; where the filter wants
/// `oauth2_api::call` at `debug`, the runtime records a span per call, and so does `raw`.
fn listen_as_asked() {
    if let Some(filter) = std::env::var("BENCH_TRACING")
        .ok()
        .filter(|f| !f.is_empty())
    {
        let filter = tracing_subscriber::EnvFilter::try_new(&filter)
            .unwrap_or_else(|e| panic!("BENCH_TRACING={filter:?}: {e}"));
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::sink)
            .init();
    }
}

/// By hand: one client with a static bearer header and the runtime's 60 s timeout (and,
/// but for `bare`, its `User-Agent`): the request the declared call sends, the way it
/// sends it; where the subscriber wants the runtime's call span, in a span like it (four
/// fields, the status recorded), as an application wanting that record per call would
/// write it.
async fn by_hand(args: &Args, from: NaiveDate, to: NaiveDate) {
    let mut auth = reqwest::header::HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap();
    auth.set_sensitive(true);
    let mut builder = reqwest::Client::builder()
        .default_headers(
            [(reqwest::header::AUTHORIZATION, auth)]
                .into_iter()
                .collect(),
        )
        .timeout(Duration::from_secs(60));
    if args.client == "raw" {
        builder = builder.user_agent(oauth2_api::DEFAULT_USER_AGENT);
    }
    if !names_a_proxy() {
        // As the runtime does: with no proxy named, reqwest would check each request's
        // host against empty proxy rules.
        builder = builder.no_proxy();
    }
    let client = builder.build().unwrap();
    let url = reqwest::Url::parse(&format!(
        "{}/organisations/vat/{VRN}/obligations?from={from}&to={to}",
        args.url
    ))
    .unwrap();
    if tracing::enabled!(target: "oauth2_api::call", tracing::Level::DEBUG) {
        return by_hand_traced(args, client, url).await;
    }
    run(args, move || {
        let request = client.get(url.clone());
        async move {
            let answer = request.send().await.map_err(|e| e.to_string())?;
            let o: Obligations = answer.json().await.map_err(|e| e.to_string())?;
            Ok(o.obligations.len())
        }
    })
    .await;
}

/// [`by_hand`]'s calls, each in its span.
async fn by_hand_traced(args: &Args, client: reqwest::Client, url: reqwest::Url) {
    run(args, move || {
        let request = client.get(url.clone());
        let span = tracing::debug_span!(
            target: "oauth2_api::call",
            "oauth2_api.call",
            provider = %"HMRC",
            environment = %"default",
            endpoint = %"obligations",
            user = %"company:1",
            status = tracing::field::Empty,
        );
        let call = async move {
            let answer = request.send().await.map_err(|e| e.to_string())?;
            tracing::Span::current().record("status", answer.status().as_u16());
            let o: Obligations = answer.json().await.map_err(|e| e.to_string())?;
            Ok(o.obligations.len())
        };
        tracing::Instrument::instrument(call, span)
    })
    .await;
}

/// The declared client on the store `args.client` names, with a valid token stored, and
/// the folder of its SQLite file (removed when dropped).
async fn declared(args: &Args) -> (HmrcVatClient, Option<tempfile::TempDir>) {
    let builder = HmrcVatClient::builder()
        .credentials(
            Credentials::new("bench")
                .secret("bench")
                .redirect_url("http://127.0.0.1:9/cb"),
        )
        .base_url("default", &args.url);
    let mut dir = None;
    let builder = match args.client.as_str() {
        "memory" => builder.store(oauth2_api::store::MemoryStore::new()),
        "sqlite" => {
            let folder = dir.insert(tempfile::tempdir().unwrap());
            let store = oauth2_api::store::SqliteStore::open(folder.path().join("s.db"));
            builder.store(store.await.unwrap())
        }
        other => panic!("unknown client {other}"),
    };
    let runtime = builder.build().unwrap();
    let key = runtime.session_key(&Company).await.unwrap();
    let state = SessionState {
        tokens: Some(TokenSet {
            access_token: TOKEN.to_owned().into(),
            refresh_token: Some("bench-refresh".to_owned().into()),
            expires_at: Some(SystemTime::now() + Duration::from_secs(4 * 3600)),
            scopes: vec!["read:vat".into()],
            token_type: "bearer".into(),
        }),
        last_error: None,
    };
    runtime
        .store()
        .compare_and_swap(&key, 0, &state)
        .await
        .unwrap();
    (HmrcVatClient::new(runtime), dir)
}

/// Whether the environment names a proxy (the runtime's rule for sending direct).
fn names_a_proxy() -> bool {
    ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"]
        .into_iter()
        .any(|name| {
            std::env::var_os(name).is_some() || std::env::var_os(name.to_lowercase()).is_some()
        })
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

struct Report {
    c: usize,
    n: usize,
    errors: usize,
    elapsed: Duration,
    /// The process's CPU time over the run.
    cpu: Duration,
    latencies: Vec<Duration>,
}

impl Report {
    fn new(c: usize, n: usize) -> Report {
        Report {
            c,
            n,
            errors: 0,
            elapsed: Duration::ZERO,
            cpu: Duration::ZERO,
            latencies: Vec::with_capacity(n),
        }
    }

    /// A slice's calls added to this run's.
    fn add(&mut self, slice: Report) {
        self.n += slice.n;
        self.errors += slice.errors;
        self.elapsed += slice.elapsed;
        self.cpu += slice.cpu;
        self.latencies.extend(slice.latencies);
    }

    fn print(&self, client: &str) {
        let at = |p: f64| {
            let rank = ((p * self.latencies.len() as f64).ceil() as usize).max(1);
            self.latencies
                .get(rank - 1)
                .map_or(f64::NAN, |d| d.as_secs_f64() * 1e6)
        };
        let mean = self.latencies.iter().sum::<Duration>().as_secs_f64() * 1e6
            / self.latencies.len().max(1) as f64;
        println!(
            "RESULT client={client} c={} n={} errors={} secs={:.4} rps={:.1} p50_us={:.1} p99_us={:.1} mean_us={:.1} cpu_us={:.2}",
            self.c,
            self.n,
            self.errors,
            self.elapsed.as_secs_f64(),
            self.n as f64 / self.elapsed.as_secs_f64(),
            at(0.50),
            at(0.99),
            mean,
            self.cpu.as_secs_f64() * 1e6 / self.n.max(1) as f64
        );
    }
}

/// `warmup` unmeasured calls, then `n` measured ones, `c` in flight (tasks pulling call
/// numbers from one counter, so exactly `n` calls are made), and their report printed; or,
/// driven, the slices stdin orders.
async fn run<F, Fut>(args: &Args, call: F)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<usize, String>> + Send + 'static,
{
    let call = Arc::new(call);
    phase(args.warmup, args.c, call.clone()).await;
    if !args.driven {
        return phase(args.n, args.c, call).await.print(&args.client);
    }
    let orders = orders();
    println!("READY");
    let mut run = Report::new(args.c, 0);
    while let Ok(order) = orders.recv() {
        let words: Vec<&str> = order.split_whitespace().collect();
        match words[..] {
            ["go", k] => {
                let k = k.parse().expect("go K: a number of calls");
                let slice = phase(k, args.c, call.clone()).await;
                println!("DONE secs={:.6}", slice.elapsed.as_secs_f64());
                run.add(slice);
            }
            ["report"] => {
                run.latencies.sort_unstable();
                run.print(&args.client);
                run = Report::new(args.c, 0);
            }
            _ => panic!("unknown order {order:?}: go K or report"),
        }
    }
}

/// Stdin's lines, read on a thread of their own: a driven client waits for its orders
/// without holding a runtime thread. Ends when stdin closes.
fn orders() -> std::sync::mpsc::Receiver<String> {
    let (send, orders) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            if line.is_err() || send.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    orders
}

async fn phase<F, Fut>(n: usize, c: usize, call: Arc<F>) -> Report
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<usize, String>> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = process_cpu();
    let start = Instant::now();
    let tasks: Vec<_> = (0..c)
        .map(|_| {
            let (call, next) = (call.clone(), next.clone());
            tokio::spawn(async move {
                let (mut latencies, mut errors) = (Vec::with_capacity(n / c + 1), 0);
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    let sent = Instant::now();
                    match call().await {
                        Ok(3) => latencies.push(sent.elapsed()),
                        Ok(_) | Err(_) => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut report = Report::new(c, n);
    for task in tasks {
        let (latencies, errors) = task.await.expect("a benchmark task");
        report.latencies.extend(latencies);
        report.errors += errors;
    }
    report.elapsed = start.elapsed();
    report.cpu = process_cpu().saturating_sub(cpu_before);
    report.latencies.sort_unstable();
    report
}

/// The CPU time this process has used, user and system, all threads: less sensitive
/// than the wall clock to what else the machine runs, a direct measure of what the client
/// itself costs. In nanoseconds, from each thread's `/proc/self/task/*/schedstat` (a
/// thread that ends during a run takes its time with it: none of the client's do); where
/// that is missing, from `/proc/self/stat` in clock ticks of 10 ms, a tick being ±3% of a
/// run; zero where there is no `/proc`.
fn process_cpu() -> Duration {
    threads_cpu().unwrap_or_else(ticks_cpu)
}

fn threads_cpu() -> Option<Duration> {
    let mut nanos = 0u64;
    for thread in std::fs::read_dir("/proc/self/task").ok()? {
        let schedstat = thread.ok()?.path().join("schedstat");
        // Its first field: the time it ran on a CPU, in nanoseconds.
        let text = std::fs::read_to_string(schedstat).ok()?;
        nanos += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(nanos))
}

fn ticks_cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name (which may hold spaces), 1-based from `state` = 3:
    // utime is field 14, stime field 15.
    let after_name = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i - 3)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(14) + ticks(15)) * 10)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    /// Review 16c: `process_cpu` counted clock ticks of 10 ms, so a run's CPU time was
    /// known to ±10 ms: ±2.8% of a 20,000-call run, about the whole overhead the table's
    /// `CPU vs raw` column is meant to show. Now it is counted in nanoseconds: after some
    /// work, between waits as a client's threads work, it is no whole number of ticks.
    #[test]
    fn process_cpu_is_finer_than_a_clock_tick() {
        let before = super::process_cpu();
        let mut x = 0u64;
        for _ in 0..20 {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        let spent = super::process_cpu().saturating_sub(before);
        assert!(spent > Duration::ZERO);
        assert_ne!(spent.as_nanos() % 10_000_000, 0, "{spent:?}: whole ticks");
    }
}
