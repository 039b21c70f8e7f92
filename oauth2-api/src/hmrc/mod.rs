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

use std::time::SystemTime;

use percent_encoding::utf8_percent_encode;

use crate::error::Error;
use crate::hooks::{CallContext, OutgoingRequest, RequestHook};
use crate::http::UNRESERVED;

mod clients;

pub use clients::{BatchClient, MultiFactor, Screen, Vendor, WebClient};

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

/// One screen as `Gov-Client-Screens` lists it.
fn screen(s: &Screen) -> Result<String, Error> {
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
    Ok(pairs(&[
        ("width", s.width.to_string()),
        ("height", s.height.to_string()),
        ("scaling-factor", format!("{}", s.scaling_factor)),
        ("colour-depth", s.colour_depth.to_string()),
    ]))
}

fn invalid(header: &str, why: &str) -> Error {
    Error::RequestRefused {
        reason: format!("fraud-prevention header `{header}`: {why}"),
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
            return Err(Error::RequestRefused {
                reason: "HMRC needs fraud-prevention headers: attach a `hmrc::WebClient` or \
                         `hmrc::BatchClient` with `runtime.with_context(...)`"
                    .to_owned(),
            });
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
        let screens = c
            .screens
            .iter()
            .map(screen)
            .collect::<Result<Vec<_>, _>>()?;
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
mod tests;
