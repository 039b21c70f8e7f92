//! What the framework costs, beside what a user would write by hand, in one run:
//!
//! 1. call overhead: a generated endpoint call with a valid stored token against a
//!    loopback server, and the same request written with `reqwest` and a bearer header,
//!    at 1 and 64 concurrent callers, with the memory and the SQLite store;
//! 2. refresh storm: 1,000 concurrent calls on a just-expired token (one refresh), beside
//!    one refresh plus one call;
//! 3. store scaling: token lookup and update with 1,000 and 100,000 sessions, SQLite and
//!    (with `DATABASE_URL`) PostgreSQL.
//!
//! `cargo bench -p oauth2-api-tests --bench runtime`. Bench 1 ends with its ratios measured
//! in rounds that take each contender in turn (`call_overhead paired`); `call_profile` runs
//! the same calls for a profiler.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use oauth2_api::sandbox::{Sandbox, SandboxConfig};
use oauth2_api::store::{MemoryStore, SessionStore, SqliteStore};
use oauth2_api::{Method, Runtime, SessionKey, SessionState, UserRef};

mod support;
use support::{Bench, BenchApiClient, api_server, by_hand, client, valid_tokens};

/// Runs `n` concurrent calls of `call` and waits for all.
async fn concurrently<F, Fut>(n: usize, call: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(call())).collect();
    for t in tasks {
        t.await.unwrap();
    }
}

fn call_overhead(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (base, memory, sqlite) = rt.block_on(async {
        let base = api_server().await;
        let memory = client(&base, Arc::new(MemoryStore::new())).await;
        let sqlite = client(
            &base,
            Arc::new(SqliteStore::open(dir.path().join("b.db")).await.unwrap()),
        )
        .await;
        (base, memory, sqlite)
    });
    let url = format!("{base}/hello");
    let http = reqwest::Client::new();
    // The runtime's client has a request timeout (a timer per call); so does this baseline.
    let http_timeout = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut group = c.benchmark_group("call_overhead");
    group
        .measurement_time(Duration::from_secs(4))
        .sample_size(30);
    for callers in [1usize, 64] {
        let (h, u) = (http.clone(), url.clone());
        group.bench_function(format!("reqwest_by_hand/{callers}"), |b| {
            b.to_async(&rt).iter(|| {
                let (h, u) = (h.clone(), u.clone());
                async move {
                    concurrently(callers, move || {
                        let (h, u) = (h.clone(), u.clone());
                        async move {
                            by_hand(&h, &u).await;
                        }
                    })
                    .await
                }
            })
        });
        let (h, u) = (http_timeout.clone(), url.clone());
        group.bench_function(format!("reqwest_by_hand_with_timeout/{callers}"), |b| {
            b.to_async(&rt).iter(|| {
                let (h, u) = (h.clone(), u.clone());
                async move {
                    concurrently(callers, move || {
                        let (h, u) = (h.clone(), u.clone());
                        async move {
                            by_hand(&h, &u).await;
                        }
                    })
                    .await
                }
            })
        });
        for (name, client) in [("memory", &memory), ("sqlite", &sqlite)] {
            let client = client.clone();
            group.bench_function(format!("generated_{name}/{callers}"), |b| {
                b.to_async(&rt).iter(|| generated(client.clone(), callers))
            });
        }
    }
    group.finish();
    rt.block_on(paired(&http_timeout, &url, &memory, &sqlite));
}

/// `callers` concurrent generated calls.
async fn generated(client: BenchApiClient, callers: usize) {
    concurrently(callers, move || {
        let client = client.clone();
        async move {
            client.hello(&Bench(1)).await.unwrap();
        }
    })
    .await
}

/// The ratios of bench 1, measured in rounds that take each contender in turn, so a
/// machine that slows down or speeds up during the run weighs on all of them alike
/// (criterion's groups run one after the other, minutes apart).
async fn paired(
    http: &reqwest::Client,
    url: &str,
    memory: &BenchApiClient,
    sqlite: &BenchApiClient,
) {
    for (callers, rounds) in [(1usize, 5_000), (64, 300)] {
        let mut times: [Vec<Duration>; 3] = Default::default();
        for _ in 0..rounds {
            let started = Instant::now();
            let (h, u) = (http.clone(), url.to_owned());
            concurrently(callers, move || {
                let (h, u) = (h.clone(), u.clone());
                async move {
                    by_hand(&h, &u).await;
                }
            })
            .await;
            times[0].push(started.elapsed());
            for (i, client) in [(1, memory), (2, sqlite)] {
                let started = Instant::now();
                generated(client.clone(), callers).await;
                times[i].push(started.elapsed());
            }
        }
        let [hand, memory, sqlite] = times.map(|mut t| {
            t.sort();
            t[t.len() / 2]
        });
        let ratio = |d: Duration| d.as_secs_f64() / hand.as_secs_f64();
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        eprintln!(
            "call_overhead paired, {callers} caller(s), median of {rounds} rounds: by hand {:.1} µs, \
             memory {:.1} µs ({:.3}x), sqlite {:.1} µs ({:.3}x)",
            us(hand),
            us(memory),
            ratio(memory),
            us(sqlite),
            ratio(sqlite),
        );
    }
}

fn refresh_storm(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (sandbox, runtime) = rt.block_on(async {
        let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
        let runtime = oauth2_api_tests::sandbox_builder(&sandbox)
            .store(MemoryStore::new())
            .build()
            .unwrap();
        oauth2_api_tests::authorize(&sandbox, &runtime, &Bench(1), &["hello"]).await;
        (sandbox, runtime)
    });
    let expire = |runtime: &Runtime| {
        let runtime = runtime.clone();
        async move {
            let key = runtime.session_key(&Bench(1)).await.unwrap();
            let session = runtime.store().load(&key).await.unwrap().unwrap();
            let mut tokens = session.state.tokens.unwrap();
            tokens.expires_at = Some(SystemTime::now() - Duration::from_secs(1));
            runtime
                .store()
                .compare_and_swap(
                    &key,
                    session.version,
                    &SessionState {
                        tokens: Some(tokens),
                        last_error: None,
                    },
                )
                .await
                .unwrap();
        }
    };
    let mut group = c.benchmark_group("refresh_storm");
    group
        .measurement_time(Duration::from_secs(6))
        .sample_size(10);
    for callers in [1usize, 1000] {
        let runtime = runtime.clone();
        let sandbox = &sandbox;
        group.bench_function(format!("expired_token/{callers}_callers"), |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let runtime = runtime.clone();
                async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        expire(&runtime).await;
                        let before = sandbox.counts().refresh_token;
                        let started = Instant::now();
                        let r = runtime.clone();
                        concurrently(callers, move || {
                            let r = r.clone();
                            async move {
                                let answer = r
                                    .request(&Bench(1), Method::Get, "/hello/user")
                                    .scopes(&["hello"])
                                    .send()
                                    .await
                                    .unwrap();
                                assert_eq!(answer.status, 200);
                            }
                        })
                        .await;
                        total += started.elapsed();
                        let refreshes = sandbox.counts().refresh_token - before;
                        assert_eq!(
                            refreshes, 1,
                            "{callers} callers caused {refreshes} token requests"
                        );
                    }
                    total
                }
            })
        });
    }
    group.finish();
    eprintln!("refresh_storm: every iteration made exactly 1 token-endpoint request (asserted)");
}

fn key(i: usize) -> SessionKey {
    SessionKey::new("BENCH", "default", UserRef::new("bench", i.to_string()))
}

/// Inserts `n` sessions in one transaction (the store's own path writes one at a time).
async fn fill_sqlite(path: &std::path::Path, n: usize) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    for i in 0..n {
        sqlx::query(
            "INSERT INTO oauth2_api_session (api, environment, user_kind, user_id, access_token, refresh_token,
               expires_at, scopes, token_type, version, updated_at)
             VALUES ('BENCH', 'default', 'bench', $1, 'a', 'r', 4102444800000, '[\"hello\"]', 'bearer', 1, 0)",
        )
        .bind(i.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

fn store_scaling(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("store_scaling");
    group
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    let dir = tempfile::tempdir().unwrap();
    let mut stores: Vec<(String, Arc<dyn SessionStore>)> = Vec::new();
    for n in [1_000usize, 100_000] {
        let path = dir.path().join(format!("s{n}.db"));
        let store = rt.block_on(async {
            let store = SqliteStore::open(&path).await.unwrap();
            fill_sqlite(&path, n).await;
            store
        });
        stores.push((format!("sqlite/{n}"), Arc::new(store)));
    }
    if let Ok(url) = std::env::var("DATABASE_URL") {
        for n in [1_000usize, 100_000] {
            let schema = format!("oauth2_api_bench_{n}");
            let store = rt.block_on(async {
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                sqlx::Executor::execute(&pool, sqlx::AssertSqlSafe(drop)).await.unwrap();
                let store = oauth2_api::store::PostgresStore::connect_in_schema(&url, Some(&schema)).await.unwrap();
                let fill = format!(
                    "INSERT INTO {schema}.oauth2_api_session (api, environment, user_kind, user_id, access_token,
                       refresh_token, expires_at, scopes, token_type, version, updated_at)
                     SELECT 'BENCH', 'default', 'bench', g::text, 'a', 'r', 4102444800000, '[\"hello\"]', 'bearer', 1, 0
                     FROM generate_series(0, {}) g",
                    n - 1
                );
                sqlx::Executor::execute(&pool, sqlx::AssertSqlSafe(fill)).await.unwrap();
                let analyze = format!("ANALYZE {schema}.oauth2_api_session");
                sqlx::Executor::execute(&pool, sqlx::AssertSqlSafe(analyze)).await.unwrap();
                store
            });
            stores.push((format!("postgres/{n}"), Arc::new(store)));
        }
    } else {
        eprintln!("store_scaling: DATABASE_URL not set, PostgreSQL skipped");
    }
    for (name, store) in &stores {
        let n: usize = name.split('/').nth(1).unwrap().parse().unwrap();
        let probe = key(n / 2);
        let s = store.clone();
        let p = probe.clone();
        group.bench_function(format!("lookup/{name}"), |b| {
            b.to_async(&rt).iter(|| {
                let (s, p) = (s.clone(), p.clone());
                async move { s.load(&p).await.unwrap().unwrap() }
            })
        });
        let s = store.clone();
        group.bench_function(format!("update/{name}"), |b| {
            b.to_async(&rt).iter(|| {
                let (s, p) = (s.clone(), probe.clone());
                async move {
                    let version = s.load(&p).await.unwrap().unwrap().version;
                    s.compare_and_swap(&p, version, &valid_tokens())
                        .await
                        .unwrap()
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, call_overhead, refresh_storm, store_scaling);
criterion_main!(benches);
