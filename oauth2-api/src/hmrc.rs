//! HMRC's fraud-prevention headers (feature `hmrc`), spec version 3.3.
//!
//! HMRC requires them on every Making Tax Digital VAT call. Many values are per end user
//! and per request (their IP and port, screens), so they come from the call's
//! [`CallContext`]; what the vendor says about itself is fixed in the hook:
//!
//! ```
//! use oauth2_api::hmrc::{FraudPrevention, Vendor, WebClient};
//! use oauth2_api::CallContext;
//!
//! let hook = FraudPrevention::new(Vendor::new("My Accounts", [("my-accounts", "1.2.3")])
//!     .public_ip("203.0.113.6".parse().unwrap()));
//! // For each end user's request (runtime.with_context(context) on the runtime):
//! let context = CallContext::new().with(WebClient::new("beec798b-b366-47fa-b1f8-92cede14a1ce")
//!     .public_ip("198.51.100.1".parse().unwrap())
//!     .public_port(12345)
//!     .timezone_minutes(60));
//! let headers = hook.headers(&context).unwrap();
//! assert!(headers.contains(&("Gov-Client-Timezone".to_owned(), "UTC+01:00".to_owned())));
//! ```
//!
//! Values are percent-encoded as the specification asks (RFC 3986 unreserved characters
//! stay), key-value lists are `k1=v1&k2=v2`, lists of those are comma separated, and a
//! value that is not known is left out: never `null` or an empty placeholder.

use std::net::IpAddr;
use std::time::SystemTime;

use percent_encoding::utf8_percent_encode;

use crate::error::Error;
use crate::hooks::{CallContext, OutgoingRequest, RequestHook};
use crate::http::UNRESERVED;

fn enc(value: &str) -> String {
    utf8_percent_encode(value, UNRESERVED).to_string()
}

/// Whether `value` says something: not empty and not a placeholder such as `null`, which
/// HMRC rejects (the specification asks to leave such values out).
fn known(value: &str) -> bool {
    let v = value.trim();
    !(v.is_empty()
        || ["null", "undefined", "none", "nil"]
            .iter()
            .any(|p| v.eq_ignore_ascii_case(p)))
}

fn pairs<K: AsRef<str>, V: AsRef<str>>(items: &[(K, V)]) -> String {
    items
        .iter()
        .filter(|(k, v)| known(k.as_ref()) && known(v.as_ref()))
        .map(|(k, v)| format!("{}={}", enc(k.as_ref()), enc(v.as_ref())))
        .collect::<Vec<_>>()
        .join("&")
}

fn timestamp(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn timezone(offset_minutes: i16) -> Result<String, Error> {
    if !(-14 * 60..=14 * 60).contains(&offset_minutes) {
        return Err(invalid(
            "Gov-Client-Timezone",
            "the offset must be within ±14 hours",
        ));
    }
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let m = offset_minutes.unsigned_abs();
    Ok(format!("UTC{sign}{:02}:{:02}", m / 60, m % 60))
}

fn invalid(header: &str, why: &str) -> Error {
    Error::Config(format!("fraud-prevention header `{header}`: {why}"))
}

/// One of the end user's screens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Screen {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Scaling factor (device pixel ratio).
    pub scaling_factor: f32,
    /// Colour depth in bits.
    pub colour_depth: u32,
}

/// A multi-factor authentication the end user passed.
#[derive(Clone, Debug, PartialEq)]
pub struct MultiFactor {
    /// `TOTP`, `AUTH_CODE` or `OTHER`.
    pub kind: String,
    /// When it happened.
    pub at: SystemTime,
    /// A reference unique to the factor (hashed, not the secret).
    pub unique_reference: String,
}

/// What the vendor (the software and its servers) says about itself: the same on every call.
#[derive(Clone, Debug)]
pub struct Vendor {
    product_name: String,
    versions: Vec<(String, String)>,
    license_ids: Vec<(String, String)>,
    public_ip: Option<IpAddr>,
    forwarded: Vec<(IpAddr, IpAddr)>,
}

impl Vendor {
    /// The product's name and the versions of its parts (`[("my-server", "4.5.6")]`).
    pub fn new<K: Into<String>, V: Into<String>>(
        product_name: impl Into<String>,
        versions: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            product_name: product_name.into(),
            versions: versions
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            license_ids: Vec::new(),
            public_ip: None,
            forwarded: Vec::new(),
        }
    }

    /// A licence key of the software, hashed (`("my-software", "8D79...")`).
    pub fn license_id(
        mut self,
        software: impl Into<String>,
        hashed_key: impl Into<String>,
    ) -> Self {
        self.license_ids.push((software.into(), hashed_key.into()));
        self
    }

    /// The public IP address of the vendor's servers (web applications).
    pub fn public_ip(mut self, ip: IpAddr) -> Self {
        self.public_ip = Some(ip);
        self
    }

    /// A hop the request took through the vendor's servers: `by` (the server) and `for`
    /// (the address it received the request from).
    pub fn forwarded(mut self, by: IpAddr, r#for: IpAddr) -> Self {
        self.forwarded.push((by, r#for));
        self
    }
}

/// The end user of a web application (`WEB_APP_VIA_SERVER`), per request.
#[derive(Clone, Debug, Default)]
pub struct WebClient {
    device_id: String,
    browser_user_agent: Option<String>,
    public_ip: Option<IpAddr>,
    public_ip_timestamp: Option<SystemTime>,
    public_port: Option<u16>,
    screens: Vec<Screen>,
    window_size: Option<(u32, u32)>,
    timezone_minutes: Option<i16>,
    user_ids: Vec<(String, String)>,
    multi_factor: Vec<MultiFactor>,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty => $field:ident;)*) => {
        $( $(#[$doc])* pub fn $name(mut self, value: $ty) -> Self { self.$field = Some(value.into()); self } )*
    };
}

impl WebClient {
    /// A client identified by its device id (a UUID the application keeps in the browser).
    pub fn new(device_id: impl Into<String>) -> Self {
        Self {
            device_id: device_id.into(),
            ..Self::default()
        }
    }

    setters! {
        /// The browser's `navigator.userAgent`.
        browser_user_agent: &str => browser_user_agent;
        /// The end user's public IP address, as the vendor's server saw it.
        public_ip: IpAddr => public_ip;
        /// When the public IP address was read (default: now).
        public_ip_timestamp: SystemTime => public_ip_timestamp;
        /// The end user's public source port.
        public_port: u16 => public_port;
        /// The browser window's inner width and height.
        window_size: (u32, u32) => window_size;
        /// The end user's offset from UTC, in minutes (`60` for UTC+01:00).
        timezone_minutes: i16 => timezone_minutes;
    }

    /// Adds one of the end user's screens.
    pub fn screen(mut self, screen: Screen) -> Self {
        self.screens.push(screen);
        self
    }

    /// An id of the end user in one of the vendor's systems (`("my-app", "alice")`).
    pub fn user_id(mut self, system: impl Into<String>, id: impl Into<String>) -> Self {
        self.user_ids.push((system.into(), id.into()));
        self
    }

    /// A multi-factor authentication the end user passed.
    pub fn multi_factor(mut self, factor: MultiFactor) -> Self {
        self.multi_factor.push(factor);
        self
    }
}

/// A batch process of the vendor calling HMRC directly (`BATCH_PROCESS_DIRECT`).
#[derive(Clone, Debug, Default)]
pub struct BatchClient {
    device_id: String,
    local_ips: Vec<IpAddr>,
    local_ips_timestamp: Option<SystemTime>,
    mac_addresses: Vec<String>,
    timezone_minutes: Option<i16>,
    user_agent: Vec<(String, String)>,
    user_ids: Vec<(String, String)>,
}

impl BatchClient {
    /// A batch client identified by its device id.
    pub fn new(device_id: impl Into<String>) -> Self {
        Self {
            device_id: device_id.into(),
            ..Self::default()
        }
    }

    /// The machine's local IP addresses.
    pub fn local_ips(mut self, ips: impl IntoIterator<Item = IpAddr>) -> Self {
        self.local_ips = ips.into_iter().collect();
        self.local_ips_timestamp.get_or_insert_with(SystemTime::now);
        self
    }

    /// The machine's MAC addresses (`ea:43:1a:5d:21:45`).
    pub fn mac_addresses<S: Into<String>>(mut self, macs: impl IntoIterator<Item = S>) -> Self {
        self.mac_addresses = macs.into_iter().map(Into::into).collect();
        self
    }

    /// The offset from UTC, in minutes.
    pub fn timezone_minutes(mut self, minutes: i16) -> Self {
        self.timezone_minutes = Some(minutes);
        self
    }

    /// The operating system and device (`os-family`, `os-version`, `device-manufacturer`,
    /// `device-model`).
    pub fn user_agent(
        mut self,
        os_family: &str,
        os_version: &str,
        manufacturer: &str,
        model: &str,
    ) -> Self {
        self.user_agent = [
            ("os-family", os_family),
            ("os-version", os_version),
            ("device-manufacturer", manufacturer),
            ("device-model", model),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        self
    }

    /// An id of the operator in one of the vendor's systems.
    pub fn user_id(mut self, system: impl Into<String>, id: impl Into<String>) -> Self {
        self.user_ids.push((system.into(), id.into()));
        self
    }
}

/// The request hook that adds the fraud-prevention headers to every call.
#[derive(Clone, Debug)]
pub struct FraudPrevention {
    vendor: Vendor,
    batch: Option<BatchClient>,
}

impl FraudPrevention {
    /// Headers for `vendor`; each call's context must hold a [`WebClient`] or a
    /// [`BatchClient`], unless [`batch`](Self::batch) gives a default.
    pub fn new(vendor: Vendor) -> Self {
        Self {
            vendor,
            batch: None,
        }
    }

    /// The client of calls whose context has none: a batch process of the vendor's.
    pub fn batch(mut self, client: BatchClient) -> Self {
        self.batch = Some(client);
        self
    }

    /// The headers for a call with `context`, validated.
    pub fn headers(&self, context: &CallContext) -> Result<Vec<(String, String)>, Error> {
        let mut h = Headers::default();
        if let Some(web) = context.get::<WebClient>() {
            self.web(&mut h, web)?;
        } else if let Some(batch) = context.get::<BatchClient>().or(self.batch.as_ref()) {
            self.batch_process(&mut h, batch)?;
        } else {
            return Err(Error::Config(
                "HMRC needs fraud-prevention headers: attach a `hmrc::WebClient` or `hmrc::BatchClient` \
                 with `runtime.with_context(...)`"
                    .to_owned(),
            ));
        }
        Ok(h.0)
    }

    fn vendor_headers(&self, h: &mut Headers) -> Result<(), Error> {
        let v = &self.vendor;
        if !known(&v.product_name) {
            return Err(invalid(
                "Gov-Vendor-Product-Name",
                "the product name is required",
            ));
        }
        if pairs(&v.versions).is_empty() {
            return Err(invalid(
                "Gov-Vendor-Version",
                "name at least one part and its version",
            ));
        }
        h.set("Gov-Vendor-Product-Name", enc(&v.product_name));
        h.set("Gov-Vendor-Version", pairs(&v.versions));
        h.set_nonempty("Gov-Vendor-License-IDs", pairs(&v.license_ids));
        Ok(())
    }

    fn web(&self, h: &mut Headers, c: &WebClient) -> Result<(), Error> {
        if !known(&c.device_id) {
            return Err(invalid("Gov-Client-Device-ID", "the device id is required"));
        }
        h.set(
            "Gov-Client-Connection-Method",
            "WEB_APP_VIA_SERVER".to_owned(),
        );
        h.set("Gov-Client-Device-ID", enc(&c.device_id));
        if let Some(ua) = c.browser_user_agent.as_deref().filter(|ua| known(ua)) {
            h.set("Gov-Client-Browser-JS-User-Agent", enc(ua));
        }
        let factors: Vec<String> = c
            .multi_factor
            .iter()
            .filter(|f| known(&f.kind) && known(&f.unique_reference))
            .map(|f| {
                pairs(&[
                    ("type", f.kind.as_str()),
                    ("timestamp", &timestamp(f.at)),
                    ("unique-reference", &f.unique_reference),
                ])
            })
            .collect();
        h.set_nonempty("Gov-Client-Multi-Factor", factors.join(","));
        if let Some(ip) = c.public_ip {
            h.set("Gov-Client-Public-IP", ip.to_string());
            h.set(
                "Gov-Client-Public-IP-Timestamp",
                timestamp(c.public_ip_timestamp.unwrap_or_else(SystemTime::now)),
            );
        }
        if let Some(port) = c.public_port {
            if port == 0 {
                return Err(invalid(
                    "Gov-Client-Public-Port",
                    "port 0 is not a source port",
                ));
            }
            h.set("Gov-Client-Public-Port", port.to_string());
        }
        let mut screens = Vec::new();
        for s in &c.screens {
            if s.width == 0
                || s.height == 0
                || s.colour_depth == 0
                || s.scaling_factor.is_nan()
                || s.scaling_factor <= 0.0
            {
                return Err(invalid(
                    "Gov-Client-Screens",
                    "width, height, scaling factor and colour depth must be positive",
                ));
            }
            screens.push(pairs(&[
                ("width", s.width.to_string()),
                ("height", s.height.to_string()),
                ("scaling-factor", format!("{}", s.scaling_factor)),
                ("colour-depth", s.colour_depth.to_string()),
            ]));
        }
        h.set_nonempty("Gov-Client-Screens", screens.join(","));
        if let Some(minutes) = c.timezone_minutes {
            h.set("Gov-Client-Timezone", timezone(minutes)?);
        }
        h.set_nonempty("Gov-Client-User-IDs", pairs(&c.user_ids));
        if let Some((w, hgt)) = c.window_size {
            h.set(
                "Gov-Client-Window-Size",
                pairs(&[("width", w.to_string()), ("height", hgt.to_string())]),
            );
        }
        let hops: Vec<String> = self
            .vendor
            .forwarded
            .iter()
            .map(|(by, f)| pairs(&[("by", by.to_string()), ("for", f.to_string())]))
            .collect();
        h.set_nonempty("Gov-Vendor-Forwarded", hops.join(","));
        if let Some(ip) = self.vendor.public_ip {
            h.set("Gov-Vendor-Public-IP", ip.to_string());
        }
        self.vendor_headers(h)
    }

    fn batch_process(&self, h: &mut Headers, c: &BatchClient) -> Result<(), Error> {
        if !known(&c.device_id) {
            return Err(invalid("Gov-Client-Device-ID", "the device id is required"));
        }
        h.set(
            "Gov-Client-Connection-Method",
            "BATCH_PROCESS_DIRECT".to_owned(),
        );
        h.set("Gov-Client-Device-ID", enc(&c.device_id));
        let ips: Vec<String> = c.local_ips.iter().map(|ip| enc(&ip.to_string())).collect();
        if !ips.is_empty() {
            h.set("Gov-Client-Local-IPs", ips.join(","));
            h.set(
                "Gov-Client-Local-IPs-Timestamp",
                timestamp(c.local_ips_timestamp.unwrap_or_else(SystemTime::now)),
            );
        }
        for mac in &c.mac_addresses {
            let ok = mac.split(':').count() == 6
                && mac
                    .split(':')
                    .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
            if !ok {
                return Err(invalid(
                    "Gov-Client-MAC-Addresses",
                    &format!("`{mac}` is not a MAC address like `ea:43:1a:5d:21:45`"),
                ));
            }
        }
        let macs: Vec<String> = c.mac_addresses.iter().map(|m| enc(m)).collect();
        // (MAC addresses were validated above: none is a placeholder.)
        h.set_nonempty("Gov-Client-MAC-Addresses", macs.join(","));
        if let Some(minutes) = c.timezone_minutes {
            h.set("Gov-Client-Timezone", timezone(minutes)?);
        }
        h.set_nonempty("Gov-Client-User-Agent", pairs(&c.user_agent));
        h.set_nonempty("Gov-Client-User-IDs", pairs(&c.user_ids));
        self.vendor_headers(h)
    }
}

/// The sandbox's `Gov-Test-Scenario` for calls whose context holds one; the
/// [`TestScenarios`] hook sends it. Sandbox only: never attach it in production.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestScenario(pub String);

/// The request hook that sends a context's [`TestScenario`] as `Gov-Test-Scenario`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TestScenarios;

impl RequestHook for TestScenarios {
    fn before_send(&self, request: &mut OutgoingRequest<'_>) -> Result<(), Error> {
        if let Some(TestScenario(scenario)) = request.context.get::<TestScenario>() {
            request.add_header("Gov-Test-Scenario", scenario.clone());
        }
        Ok(())
    }
}

#[derive(Default)]
struct Headers(Vec<(String, String)>);

impl Headers {
    fn set(&mut self, name: &str, value: String) {
        self.0.push((name.to_owned(), value));
    }

    /// Unknown values are left out, never sent empty.
    fn set_nonempty(&mut self, name: &str, value: String) {
        if !value.is_empty() {
            self.set(name, value);
        }
    }
}

impl RequestHook for FraudPrevention {
    fn before_send(&self, request: &mut OutgoingRequest<'_>) -> Result<(), Error> {
        for (name, value) in self.headers(request.context)? {
            request.add_header(name, value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
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

    /// The examples of the specification (3.3), value for value.
    #[test]
    fn web_app_via_server_matches_the_spec_examples() {
        let vendor = Vendor::new(
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
        );
        let client = WebClient::new("beec798b-b366-47fa-b1f8-92cede14a1ce")
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
            });
        let h = FraudPrevention::new(vendor)
            .headers(&CallContext::new().with(client))
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
            Some(
                "type=TOTP&timestamp=2017-04-06T12%3A00%3A00.000Z&unique-reference=fc4b5fd6816f75a7c"
            )
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
        assert!(
            fp.headers(&CallContext::new())
                .unwrap_err()
                .to_string()
                .contains("attach")
        );
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
        assert!(
            fp.headers(&CallContext::new().with(bad_mac))
                .unwrap_err()
                .to_string()
                .contains("MAC")
        );
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
}
