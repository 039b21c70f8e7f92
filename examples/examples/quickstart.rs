//! The quickstart: the HMRC Hello World API against a local sandbox provider, offline.
//!
//! ```text
//! cargo run --example quickstart              # the sandbox approves at once
//! cargo run --example quickstart -- --browser # your browser shows the consent page
//! cargo run --example quickstart -- --reset   # forget the stored sessions first
//! ```
//!
//! Sessions are kept in a SQLite file (in `$QUICKSTART_DIR`, default a temporary
//! folder), so a second run calls straight through.

use std::path::PathBuf;

use oauth2_api::Browser;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    for arg in &args {
        if !["--browser", "--reset"].contains(&arg.as_str()) {
            return Err(format!("unknown argument `{arg}`; expected --browser or --reset").into());
        }
    }
    let dir = std::env::var_os("QUICKSTART_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("oauth2-api-quickstart"));
    if args.iter().any(|a| a == "--reset") {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let browser = if args.iter().any(|a| a == "--browser") {
        Browser::System
    } else {
        Browser::Follow
    };
    oauth2_api_examples::quickstart::run(&dir, browser).await?;
    Ok(())
}
