//! Bench 1 for profilers: one contender's calls, nothing else, so `perf` or callgrind
//! sees only its cost. Contenders: `hand` (reqwest and a bearer header), `memory` and
//! `sqlite` (the declared endpoint with that store). With several, named with commas, the
//! calls take turns round by round, and the median round of each is printed.
//!
//! ```sh
//! cargo bench -p oauth2-api-tests --bench call_profile --no-run
//! CALLS=2048 CALLERS=64 valgrind --tool=callgrind target/release/deps/call_profile-* memory
//! CALLERS=64 target/release/deps/call_profile-* hand,memory,sqlite
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use oauth2_api::store::{MemoryStore, SqliteStore};

mod support;
use support::{Bench, BenchApiClient, api_server, by_hand, client};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a number"))
    })
}

/// `callers` concurrent calls by `contender`, each in its own task.
async fn round(
    contender: &str,
    callers: usize,
    http: &reqwest::Client,
    url: &str,
    memory: &BenchApiClient,
    sqlite: &BenchApiClient,
) {
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let client = match contender {
                "hand" => None,
                "memory" => Some(memory.clone()),
                "sqlite" => Some(sqlite.clone()),
                other => panic!("unknown contender `{other}`: hand, memory or sqlite"),
            };
            let (http, url) = (http.clone(), url.to_owned());
            tokio::spawn(async move {
                match client {
                    Some(client) => drop(client.hello(&Bench(1)).await.unwrap()),
                    None => drop(by_hand(&http, &url).await),
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

fn main() {
    let contenders: Vec<String> = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "hand,memory,sqlite".to_owned())
        .split(',')
        .map(str::to_owned)
        .collect();
    let callers = setting("CALLERS", 1);
    let rounds = setting("CALLS", 20_000) / callers;
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let base = api_server().await;
        let memory = client(&base, Arc::new(MemoryStore::new())).await;
        let sqlite = SqliteStore::open(dir.path().join("b.db")).await.unwrap();
        let sqlite = client(&base, Arc::new(sqlite)).await;
        let url = format!("{base}/hello");
        // The runtime's client has a request timeout; so has the hand-written one.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); contenders.len()];
        for _ in 0..rounds {
            for (contender, times) in contenders.iter().zip(&mut times) {
                let started = Instant::now();
                round(contender, callers, &http, &url, &memory, &sqlite).await;
                times.push(started.elapsed());
            }
        }
        for (contender, times) in contenders.iter().zip(&mut times) {
            times.sort();
            println!(
                "{contender}: median of {rounds} rounds of {callers} caller(s): {:.1} µs",
                times[times.len() / 2].as_secs_f64() * 1e6
            );
        }
    });
}
