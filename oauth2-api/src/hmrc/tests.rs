use super::*;
use std::time::Duration;

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn get<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The vendor of the specification's examples (3.3).
fn spec_vendor() -> Vendor {
    Vendor::new(
        "My Product",
        [("My Web App", "1.2.3"), ("my-server", "4.5.6")],
    )
    .license_id(
        "my-licensed-software",
        "8D7963490527D33716835EE7C195516D5E562E03B224E9B359836466EE40CDE1",
    )
    .public_ip("203.0.113.6".parse().unwrap())
    .forwarded(
        "203.0.113.6".parse().unwrap(),
        "198.51.100.0".parse().unwrap(),
    )
}

/// The end user's web client of the specification's examples (3.3).
fn spec_client() -> WebClient {
    WebClient::new("beec798b-b366-47fa-b1f8-92cede14a1ce")
        .browser_user_agent("Mozilla/5.0 (iPad; U; CPU OS 3_2_1 like Mac OS X; en-us)")
        .public_ip("198.51.100.0".parse().unwrap())
        .public_ip_timestamp(at(1_491_480_000) + Duration::from_millis(123))
        .public_port(12345)
        .screen(Screen {
            width: 1920,
            height: 1080,
            scaling_factor: 1.0,
            colour_depth: 16,
        })
        .screen(Screen {
            width: 3000,
            height: 2000,
            scaling_factor: 1.25,
            colour_depth: 24,
        })
        .window_size((1256, 803))
        .timezone_minutes(0)
        .user_id("my-accounts", "alice smith")
        .multi_factor(MultiFactor {
            kind: "TOTP".into(),
            at: at(1_491_480_000),
            unique_reference: "fc4b5fd6816f75a7c".into(),
        })
}

/// The examples of the specification (3.3), value for value.
#[test]
fn web_app_via_server_matches_the_spec_examples() {
    let h = FraudPrevention::new(spec_vendor())
        .headers(&CallContext::new().with(spec_client()))
        .unwrap();
    assert_eq!(
        get(&h, "Gov-Client-Connection-Method"),
        Some("WEB_APP_VIA_SERVER")
    );
    assert_eq!(
        get(&h, "Gov-Client-Public-IP-Timestamp"),
        Some("2017-04-06T12:00:00.123Z")
    );
    assert_eq!(get(&h, "Gov-Client-Public-Port"), Some("12345"));
    assert_eq!(
        get(&h, "Gov-Client-Screens"),
        Some(
            "width=1920&height=1080&scaling-factor=1&colour-depth=16,width=3000&height=2000&scaling-factor=1.25&colour-depth=24"
        )
    );
    assert_eq!(
        get(&h, "Gov-Client-Window-Size"),
        Some("width=1256&height=803")
    );
    assert_eq!(get(&h, "Gov-Client-Timezone"), Some("UTC+00:00"));
    assert_eq!(
        get(&h, "Gov-Client-User-IDs"),
        Some("my-accounts=alice%20smith")
    );
    assert_eq!(
        get(&h, "Gov-Client-Multi-Factor"),
        Some("type=TOTP&timestamp=2017-04-06T12%3A00%3A00.000Z&unique-reference=fc4b5fd6816f75a7c")
    );
    assert_eq!(
        get(&h, "Gov-Client-Browser-JS-User-Agent"),
        Some(
            "Mozilla%2F5.0%20%28iPad%3B%20U%3B%20CPU%20OS%203_2_1%20like%20Mac%20OS%20X%3B%20en-us%29"
        )
    );
    assert_eq!(
        get(&h, "Gov-Vendor-Version"),
        Some("My%20Web%20App=1.2.3&my-server=4.5.6")
    );
    assert_eq!(get(&h, "Gov-Vendor-Product-Name"), Some("My%20Product"));
    assert_eq!(
        get(&h, "Gov-Vendor-Forwarded"),
        Some("by=203.0.113.6&for=198.51.100.0")
    );
    assert_eq!(get(&h, "Gov-Vendor-Public-IP"), Some("203.0.113.6"));
}

#[test]
fn unknown_values_are_left_out_never_null() {
    let h = FraudPrevention::new(Vendor::new("P", [("p", "1")]))
        .headers(&CallContext::new().with(WebClient::new("device")))
        .unwrap();
    let names: Vec<_> = h.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "Gov-Client-Connection-Method",
            "Gov-Client-Device-ID",
            "Gov-Vendor-Product-Name",
            "Gov-Vendor-Version"
        ]
    );
    assert!(h.iter().all(|(_, v)| !v.is_empty() && v != "null"));
}

#[test]
fn batch_process_direct() {
    let batch = BatchClient::new("device-1")
        .local_ips(["10.1.2.3".parse().unwrap(), "fe80::1".parse().unwrap()])
        .mac_addresses(["ea:43:1a:5d:21:45"])
        .timezone_minutes(-330)
        .user_agent("Windows", "10", "Dell", "XPS 13")
        .user_id("os", "operator");
    let h = FraudPrevention::new(Vendor::new("P", [("p", "1")]))
        .batch(batch)
        .headers(&CallContext::new())
        .unwrap();
    assert_eq!(
        get(&h, "Gov-Client-Connection-Method"),
        Some("BATCH_PROCESS_DIRECT")
    );
    assert_eq!(
        get(&h, "Gov-Client-Local-IPs"),
        Some("10.1.2.3,fe80%3A%3A1")
    );
    assert_eq!(
        get(&h, "Gov-Client-MAC-Addresses"),
        Some("ea%3A43%3A1a%3A5d%3A21%3A45")
    );
    assert_eq!(get(&h, "Gov-Client-Timezone"), Some("UTC-05:30"));
    assert_eq!(
        get(&h, "Gov-Client-User-Agent"),
        Some("os-family=Windows&os-version=10&device-manufacturer=Dell&device-model=XPS%2013")
    );
}

#[test]
fn what_can_be_validated_is() {
    let fp = FraudPrevention::new(Vendor::new("P", [("p", "1")]));
    let missing = fp.headers(&CallContext::new()).unwrap_err();
    assert!(matches!(&missing, Error::RequestRefused { reason } if reason.contains("attach")));
    assert!(
        fp.headers(&CallContext::new().with(WebClient::new(" ")))
            .is_err()
    );
    assert!(
        fp.headers(&CallContext::new().with(WebClient::new("d").timezone_minutes(15 * 60)))
            .is_err()
    );
    assert!(
        fp.headers(&CallContext::new().with(WebClient::new("d").public_port(0)))
            .is_err()
    );
    let bad_mac = BatchClient::new("d").mac_addresses(["not-a-mac"]);
    let bad_mac = fp.headers(&CallContext::new().with(bad_mac)).unwrap_err();
    assert!(matches!(&bad_mac, Error::RequestRefused { reason } if reason.contains("MAC")));
    let versionless = FraudPrevention::new(Vendor::new("P", [("p", "")]));
    assert!(
        versionless
            .headers(&CallContext::new().with(WebClient::new("d")))
            .is_err(),
        "no empty version"
    );
    let nameless = FraudPrevention::new(Vendor::new(" ", [("p", "1")]));
    assert!(
        nameless
            .headers(&CallContext::new().with(WebClient::new("d")))
            .is_err()
    );
}
