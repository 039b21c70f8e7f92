#!/usr/bin/env python3
"""Compile cost of the macros: an API of 200 endpoints declared with #[oauth2_api], and
the same client written by hand on the runtime, built side by side.

    python3 tests/benches/compile_cost.py [endpoints] [runs]

Prints the median `cargo build` time of each crate (dependencies prebuilt, the crate
itself rebuilt from clean) and the macro expansion time (rustc -Z time-passes,
`expand_crate`), with the ratios.
"""
import os, re, statistics, subprocess, sys, tempfile, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 200
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 3

PRELUDE = """
use oauth2_api::{ApiUser, Error, UserRef};
use serde::{Deserialize, Serialize};

pub struct User(pub u32);
impl ApiUser for User {
    fn user_ref(&self) -> UserRef { UserRef::new("user", self.0.to_string()) }
}
#[derive(Debug, Deserialize)]
pub struct Answer { pub id: String, pub value: Option<u64> }
#[derive(Debug, Serialize)]
pub struct Input { pub name: String, pub amount: u64 }
"""

def declared():
    eps = []
    for i in range(N):
        if i % 2 == 0:
            eps.append(f"""    #[endpoint(method = GET, path = "/items/{{id}}/e{i}", scope = "read", user = User)]
    async fn e{i}(&self, id: &str, #[query] q: Option<u32>) -> Result<Answer, Error>;""")
        else:
            eps.append(f"""    #[endpoint(method = POST, path = "/items/{{id}}/e{i}", scope = "write", user = User)]
    async fn e{i}(&self, id: &str, #[body] input: &Input) -> Result<Answer, Error>;""")
    return PRELUDE + """
#[oauth2_api::oauth2_api(provider = "GEN", base_url = "https://api.example.com",
    auth_url = "https://www.example.com/auth", token_url = "https://api.example.com/token")]
pub trait Gen {
""" + "\n".join(eps) + "\n}\n"

def by_hand():
    sigs, impls, delegates = [], [], []
    for i in range(N):
        if i % 2 == 0:
            sig = f"fn e{i}(&self, user: &User, id: &str, q: Option<u32>)"
            body = f"""let mut request = self.runtime.request(user, Method::Get, &format!("/items/{{}}/e{i}", segment(id))).scopes(&["read"]);
        if let Some(q) = q {{ request = request.query("q", q); }}
        let answer = request.send().await?;
        if !answer.is_success() {{ return Err(self.runtime.decode_error(&answer, "e{i}").into()); }}
        answer.json("e{i}")"""
            args = "user, id, q"
        else:
            sig = f"fn e{i}(&self, user: &User, id: &str, input: &Input)"
            body = f"""let request = self.runtime.request(user, Method::Post, &format!("/items/{{}}/e{i}", segment(id))).scopes(&["write"]).json(input)?;
        let answer = request.send().await?;
        if !answer.is_success() {{ return Err(self.runtime.decode_error(&answer, "e{i}").into()); }}
        answer.json("e{i}")"""
            args = "user, id, input"
        sigs.append(f"    {sig} -> impl std::future::Future<Output = Result<Answer, Error>> + Send;")
        impls.append(f"    pub async {sig} -> Result<Answer, Error> {{\n        {body}\n    }}")
        delegates.append(f"    {sig} -> impl std::future::Future<Output = Result<Answer, Error>> + Send {{ GenClient::e{i}(self, {args}) }}")
    return PRELUDE + """
use oauth2_api::{Method, Runtime};

fn segment(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

pub trait Gen {
""" + "\n".join(sigs) + """
}

#[derive(Clone, Debug)]
pub struct GenClient { runtime: Runtime }

impl GenClient {
    pub fn new(runtime: Runtime) -> Self { Self { runtime } }
""" + "\n".join(impls) + """
}

impl Gen for GenClient {
""" + "\n".join(delegates) + "\n}\n"

def write_crate(base, name, source):
    os.makedirs(os.path.join(base, name, "src"), exist_ok=True)
    with open(os.path.join(base, name, "Cargo.toml"), "w") as f:
        f.write(f"""[package]
name = "{name}"
version = "0.0.0"
edition = "2024"

[dependencies]
oauth2-api = {{ path = "{ROOT}/oauth2-api", default-features = false }}
serde = {{ version = "1", features = ["derive"] }}
percent-encoding = "2"
""")
    with open(os.path.join(base, name, "src", "lib.rs"), "w") as f:
        f.write(source)

def cargo(base, *args, env=None):
    e = dict(os.environ, CARGO_TARGET_DIR=os.path.join(base, "target"), CARGO_INCREMENTAL="0", **(env or {}))
    return subprocess.run(["cargo", *args], cwd=base, env=e, capture_output=True, text=True)

def main():
    base = tempfile.mkdtemp(prefix="oauth2-api-compile-cost-")
    with open(os.path.join(base, "Cargo.toml"), "w") as f:
        f.write('[workspace]\nresolver = "3"\nmembers = ["declared", "by_hand"]\n')
    write_crate(base, "declared", declared())
    write_crate(base, "by_hand", by_hand())
    warm = cargo(base, "build")
    if warm.returncode != 0:
        print(warm.stderr[-4000:])
        sys.exit(1)
    times = {}
    for name in ["declared", "by_hand"]:
        times[name] = []
        for _ in range(RUNS):
            cargo(base, "clean", "-p", name)
            start = time.monotonic()
            r = cargo(base, "build", "-p", name)
            times[name].append(time.monotonic() - start)
            assert r.returncode == 0, r.stderr[-2000:]
    # Last: RUSTC_BOOTSTRAP changes every fingerprint, so builds after it would rebuild
    # the dependencies too.
    results = {}
    for name in ["declared", "by_hand"]:
        cargo(base, "clean", "-p", name)
        passes = cargo(base, "rustc", "-p", name, "--", "-Ztime-passes", env={"RUSTC_BOOTSTRAP": "1"})
        expand = [float(m) for m in re.findall(r"time:\s+([0-9.]+);[^\n]*expand_crate", passes.stderr)]
        results[name] = (statistics.median(times[name]), expand[-1] if expand else float("nan"))
        print(f"{name:9} {N} endpoints: cargo build median {results[name][0]:.2f} s over {RUNS} runs "
              f"(runs: {', '.join(f'{t:.2f}' for t in times[name])}), macro expansion {results[name][1]:.3f} s")
    d, h = results["declared"], results["by_hand"]
    print(f"ratio declared / by hand: build {d[0] / h[0]:.2f}x, expansion {d[1] / h[1]:.2f}x (target: build within 1.25x)")

main()
