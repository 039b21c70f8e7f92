//! The callback's query string: any bytes a browser (or an attacker) can send.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oauth2_api::CallbackParams;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else { return };
    if let Ok(params) = CallbackParams::from_query(query) {
        // A parsed callback never shows its code.
        let shown = format!("{params:?}");
        if let Some((_, code)) = query.split('&').filter_map(|p| p.split_once('=')).find(|(k, _)| *k == "code")
            && code.len() >= 8
            && !params.state().is_some_and(|s| s.contains(code))
            && !params.error().is_some_and(|e| e.contains(code))
            && !shown.contains("state") // the state may legitimately repeat the bytes
        {
            assert!(!shown.contains(code), "Debug shows the code: {shown}");
        }
    }
});
