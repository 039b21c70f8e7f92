//! HMRC fraud-prevention headers from arbitrary inputs: valid header values, no `null`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oauth2_api::hmrc::{FraudPrevention, Screen, Vendor, WebClient};
use oauth2_api::CallContext;

fuzz_target!(|input: (&str, &str, &str, &str, u16, i16, u32, u32)| {
    let (product, version, device, user, port, tz, width, height) = input;
    let vendor = Vendor::new(product, [("app", version)]);
    let client = WebClient::new(device)
        .user_id("app", user)
        .public_port(port)
        .timezone_minutes(tz)
        .window_size((width, height))
        .screen(Screen { width, height, scaling_factor: 1.0, colour_depth: 24 });
    if let Ok(headers) = FraudPrevention::new(vendor).headers(&CallContext::new().with(client)) {
        for (name, value) in headers {
            assert!(!value.is_empty(), "{name} is empty");
            // No item of a list, nor the value of a key=value pair, is a `null` placeholder.
            for item in value.split([',', '&']) {
                let v = item.split_once('=').map_or(item, |(_, v)| v);
                assert!(!v.trim().eq_ignore_ascii_case("null"), "{name} holds null: {value:?}");
            }
            assert!(
                value.bytes().all(|b| (0x21..0x7f).contains(&b) || b == b' '),
                "{name} is not a valid header value: {value:?}"
            );
            assert!(!value.contains(' ') || name == "Gov-Client-Timezone", "{name} has an unencoded space: {value:?}");
        }
    }
});
