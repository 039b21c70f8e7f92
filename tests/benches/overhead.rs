//! Bench 1, the call overhead as the user pays it: the API server in a process of its own
//! (`bench_server`), each client in a process of its own (`bench_client`): a hand-written
//! reqwest call with the runtime's 60 s timeout, and the declared endpoint on a memory
//! and a SQLite store. Each round starts one warmed-up process per client and has them
//! take turns: each makes a slice of the run's calls (N/SLICES, 2,000 by default, a
//! fraction of a second), then the next; each slice starts one client later than the
//! last. A slow spell of the machine, which on a shared host lasts about as long as a
//! run, then falls on every client alike, and a process's own luck (its heap and code
//! layout can make it a few percent faster or slower than another of the same client for
//! its whole life) is drawn afresh each round. The table gives medians of the rounds and
//! ratios to raw: of the medians, the median of each round's ratio (`paired`, and
//! `p99 paired` for the p99), of each slice's ratio to raw's slice of the same turn
//! (`slices`), and of each client's fastest round (`fastest`).
//!
//! ```text
//! cargo bench -p oauth2-api-tests --bench overhead     # REPS=9 N=20000 SLICES=10 by default
//! CLIENTS="raw raw memory" cargo bench -p oauth2-api-tests --bench overhead
//! ```
//! `raw` sends the request the declared call sends: its bearer header, the runtime's
//! `User-Agent` (GitHub refuses requests without one) and 60 s timeout; `bare` is the
//! same without the `User-Agent`, as `../shared/bench`'s hand-written client.
//! `CLIENTS` picks the clients (`raw`, `bare`, `memory`, `sqlite`; default `raw memory
//! sqlite`). A client named twice runs twice per round, its second column labelled
//! `raw again`: raw against itself is the noise floor of this machine, what a ratio must
//! clear to mean anything.
//! `BENCH_TRACING=<filter>` (`info`, `debug`, `info,bench_client=debug`, ...) has every
//! client install a `fmt` subscriber with that `EnvFilter` (see `bench_client`): where it
//! wants `oauth2_api::call` at `debug`, the runtime records a span per call, and `raw`
//! one alike.
//! With `taskset`, C=1 runs server and client on CPU 1 (a wake-up across CPUs costs more
//! than the call on a small VM) and C=64 runs the server on CPU 0, the client on CPU 1.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

const CLIENTS: &str = "raw memory sqlite";
const CONCURRENCY: [usize; 2] = [1, 64];

/// One run's figures.
#[derive(Clone, Default)]
struct Figures {
    rps: f64,
    p50: f64,
    p99: f64,
    /// The client process's CPU time per call, µs.
    cpu: f64,
    /// Each slice's time, seconds.
    slices: Vec<f64>,
}

fn env_number(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Err(_) => default,
        Ok(value) => match value.parse() {
            Ok(number) if number > 0 => number,
            _ => panic!("{name}={value:?}: expected a whole number above 0"),
        },
    }
}

fn has_taskset() -> bool {
    Command::new("taskset")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `program` pinned to `cpu` when `taskset` is there.
fn pinned(program: &str, cpu: Option<usize>) -> Command {
    match cpu {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command.args(["-c", &cpu.to_string(), program]);
            command
        }
        None => Command::new(program),
    }
}

/// A server process, killed when dropped: a panic of the harness (a client's error, a
/// client that died) must not leave it running, holding the harness's stderr open.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    /// A server pinned to `cpu`.
    fn start(cpu: Option<usize>) -> Server {
        // It ends when its stdin closes: with the harness, even one killed.
        let mut child = pinned(env!("CARGO_BIN_EXE_bench_server"), cpu)
            .arg("--exit-with-stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the bench server starts");
        let mut line = String::new();
        let said = BufReader::new(child.stdout.take().expect("its stdout")).read_line(&mut line);
        let mut server = Server {
            child,
            url: String::new(),
        };
        said.expect("it says where it listens");
        let addr = line.trim().strip_prefix("LISTENING ");
        server.url = format!("http://{}", addr.expect("LISTENING addr"));
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client process taking orders (`bench_client --driven 1`): warmed up, it makes the
/// calls of a slice when told to, and reports a run's figures when asked.
struct Driven {
    client: String,
    child: Child,
    /// Its stdin; closed first when it is dropped.
    orders: Option<ChildStdin>,
    answers: std::io::Lines<BufReader<ChildStdout>>,
}

impl Driven {
    fn start(client: &str, url: &str, c: usize, cpu: Option<usize>) -> Driven {
        let mut child = pinned(env!("CARGO_BIN_EXE_bench_client"), cpu)
            .args(["--url", url, "--client", client, "--driven", "1"])
            .args(["--c", &c.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the bench client runs");
        let orders = child.stdin.take();
        let answers = BufReader::new(child.stdout.take().expect("its stdout")).lines();
        let mut driven = Driven {
            client: client.to_owned(),
            child,
            orders,
            answers,
        };
        driven.expect("READY");
        driven
    }

    /// The next line it prints, which must start with `what`.
    fn expect(&mut self, what: &str) -> String {
        let line = self.answers.next().and_then(Result::ok);
        match line {
            Some(line) if line.starts_with(what) => line,
            other => panic!("{} said {other:?}, not {what}", self.client),
        }
    }

    fn order(&mut self, order: &str) {
        let orders = self.orders.as_mut().expect("open until dropped");
        writeln!(orders, "{order}").expect("the client takes orders");
    }

    /// `k` calls; their time, in seconds, as the client measured it.
    fn slice(&mut self, k: usize) -> f64 {
        self.order(&format!("go {k}"));
        let done = self.expect("DONE");
        let secs = done.strip_prefix("DONE secs=").and_then(|s| s.parse().ok());
        secs.unwrap_or_else(|| panic!("{} said {done:?}, not DONE secs=..", self.client))
    }

    /// The figures of the slices since the last report.
    fn report(&mut self) -> Figures {
        self.order("report");
        let line = self.expect("RESULT");
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(f64::NAN)
        };
        assert_eq!(field("errors"), 0.0, "{} had errors: {line}", self.client);
        Figures {
            rps: field("rps"),
            p50: field("p50_us"),
            p99: field("p99_us"),
            cpu: field("cpu_us"),
            slices: Vec::new(),
        }
    }
}

/// Its stdin closed, the client ends its orders and removes its SQLite folder; one that
/// has not ended within a few seconds (or died) is killed.
impl Drop for Driven {
    fn drop(&mut self) {
        drop(self.orders.take());
        for _ in 0..100 {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The clients of `CLIENTS` with their labels in the table, `raw` first: the baseline.
fn clients() -> Vec<(String, String)> {
    let named = std::env::var("CLIENTS").unwrap_or_else(|_| CLIENTS.to_owned());
    let mut named: Vec<&str> = named.split_whitespace().collect();
    match named.iter().position(|&c| c == "raw") {
        Some(first) => named[..=first].rotate_right(1),
        None => named.insert(0, "raw"),
    }
    let mut clients: Vec<(String, String)> = Vec::new();
    for client in named {
        assert!(
            ["raw", "bare", "memory", "sqlite"].contains(&client),
            "unknown client {client}: raw, bare, memory or sqlite"
        );
        let label = match clients.iter().filter(|(_, c)| c == client).count() {
            0 => client.to_owned(),
            1 => format!("{client} again"),
            n => format!("{client} again {n}"),
        };
        clients.push((label, client.to_owned()));
    }
    clients
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    match values.len() % 2 {
        0 => (values[middle - 1] + values[middle]) / 2.0,
        _ => values[middle],
    }
}

fn main() {
    // `cargo bench` passes filter arguments; this bench has no parts to filter.
    let (reps, n) = (env_number("REPS", 9), env_number("N", 20_000));
    let slices = env_number("SLICES", 10).clamp(1, n.max(1));
    let taskset = has_taskset();
    let (shared_cpu, server_cpu) = if taskset {
        (Some(1), Some(0))
    } else {
        (None, None)
    };
    let clients = clients();
    let (server_1, server_64) = (Server::start(shared_cpu), Server::start(server_cpu));
    let mut runs: BTreeMap<(usize, &str), Vec<Figures>> = BTreeMap::new();
    let mut slice_secs: BTreeMap<(usize, &str), Vec<f64>> = BTreeMap::new();
    for rep in 0..reps {
        // Each round's calls per second, to see how far single runs stray.
        let mut round = format!("round {}/{reps}:", rep + 1);
        for c in CONCURRENCY {
            // Fresh processes each round: a process's heap and code layout make it a few
            // percent faster or slower than another of the same client for its whole life.
            let url = if c == 1 {
                &server_1.url
            } else {
                &server_64.url
            };
            let mut driven: BTreeMap<&str, Driven> = (clients.iter())
                .map(|(label, client)| (label.as_str(), Driven::start(client, url, c, shared_cpu)))
                .collect();
            for slice in 0..slices {
                // Each slice starts one client later: a slow spell that recurs at the
                // same point of every turn would otherwise always fall on the same client.
                let start = (rep * slices + slice) % clients.len();
                let calls = n / slices + usize::from(slice < n % slices);
                for (label, _) in clients[start..].iter().chain(&clients[..start]) {
                    let secs = driven.get_mut(label.as_str()).unwrap().slice(calls);
                    slice_secs.entry((c, label)).or_default().push(secs);
                }
            }
            for (label, _) in &clients {
                let mut figures = driven.get_mut(label.as_str()).unwrap().report();
                figures.slices = slice_secs.remove(&(c, label.as_str())).unwrap_or_default();
                round.push_str(&format!(" {label}@{c} {:.0}/s", figures.rps));
                runs.entry((c, label)).or_default().push(figures);
            }
        }
        eprintln!("{round}");
    }
    drop((server_1, server_64));
    print_table(&runs, &clients, (reps, n, slices), taskset);
}

fn print_table(
    runs: &BTreeMap<(usize, &str), Vec<Figures>>,
    clients: &[(String, String)],
    (reps, n, slices): (usize, usize, usize),
    pinned: bool,
) {
    println!(
        "\ncall overhead: {reps} runs of {n} calls, each in {slices} slices taken in turns, medians, pinned: {pinned}\n"
    );
    println!(
        "| client | C | req/s | p50 µs | p99 µs | time per call vs raw | paired | slices | fastest | p50 vs raw | p99 vs raw | p99 paired | client CPU µs/call | CPU vs raw |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for c in CONCURRENCY {
        let medians = |client: &str| {
            let figures = &runs[&(c, client)];
            let pick =
                |f: fn(&Figures) -> f64| median(&mut figures.iter().map(f).collect::<Vec<_>>());
            Figures {
                rps: pick(|f| f.rps),
                p50: pick(|f| f.p50),
                p99: pick(|f| f.p99),
                cpu: pick(|f| f.cpu),
                slices: Vec::new(),
            }
        };
        // The median of each round's ratio: runs a second apart share the machine's
        // slow or fast spell, which the ratio of medians does not cancel.
        // The same for p99: a spell slows every client of its round alike, and one spell
        // more or less in a run moves that run's p99 by 10% here.
        let paired = |client: &str, ratio: fn(&Figures, &Figures) -> f64| {
            let (raws, theirs) = (&runs[&(c, "raw")], &runs[&(c, client)]);
            let mut ratios: Vec<f64> = (raws.iter().zip(theirs))
                .map(|(raw, theirs)| ratio(raw, theirs))
                .collect();
            median(&mut ratios)
        };
        // The median of each slice's ratio to raw's slice of the same turn: the nearest
        // in time two measurements get here, a fraction of a second apart.
        let sliced = |client: &str| {
            let (raws, theirs) = (&runs[&(c, "raw")], &runs[&(c, client)]);
            let mut ratios: Vec<f64> = (raws.iter().zip(theirs))
                .flat_map(|(raw, theirs)| raw.slices.iter().zip(&theirs.slices))
                .map(|(raw, theirs)| theirs / raw)
                .collect();
            median(&mut ratios)
        };
        // The fastest runs' ratio: a busy machine only ever slows a run, so the fastest
        // of each client's is the nearest to its undisturbed cost.
        let fastest = |client: &str| {
            let best = |client: &str| (runs[&(c, client)].iter()).fold(0.0, |b, f| f.rps.max(b));
            best("raw") / best(client)
        };
        let raw = medians("raw");
        for (label, _) in clients {
            let m = medians(label);
            println!(
                "| {label} | {c} | {:.0} | {:.1} | {:.1} | {:.3}× | {:.3}× | {:.3}× | {:.3}× | {:.3}× | {:.3}× | {:.3}× | {:.2} | {:.3}× |",
                m.rps,
                m.p50,
                m.p99,
                raw.rps / m.rps,
                paired(label, |raw, theirs| raw.rps / theirs.rps),
                sliced(label),
                fastest(label),
                m.p50 / raw.p50,
                m.p99 / raw.p99,
                paired(label, |raw, theirs| theirs.p99 / raw.p99),
                m.cpu,
                m.cpu / raw.cpu
            );
        }
    }
}
