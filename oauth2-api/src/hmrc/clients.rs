//! What the fraud-prevention headers are made of: the vendor's facts, and the end user's
//! (a web application's browser, or a batch process).

use std::net::IpAddr;
use std::time::SystemTime;

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
    pub(super) product_name: String,
    pub(super) versions: Vec<(String, String)>,
    pub(super) license_ids: Vec<(String, String)>,
    pub(super) public_ip: Option<IpAddr>,
    pub(super) forwarded: Vec<(IpAddr, IpAddr)>,
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
    pub(super) device_id: String,
    pub(super) browser_user_agent: Option<String>,
    pub(super) public_ip: Option<IpAddr>,
    pub(super) public_ip_timestamp: Option<SystemTime>,
    pub(super) public_port: Option<u16>,
    pub(super) screens: Vec<Screen>,
    pub(super) window_size: Option<(u32, u32)>,
    pub(super) timezone_minutes: Option<i16>,
    pub(super) user_ids: Vec<(String, String)>,
    pub(super) multi_factor: Vec<MultiFactor>,
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
    pub(super) device_id: String,
    pub(super) local_ips: Vec<IpAddr>,
    pub(super) local_ips_timestamp: Option<SystemTime>,
    pub(super) mac_addresses: Vec<String>,
    pub(super) timezone_minutes: Option<i16>,
    pub(super) user_agent: Vec<(String, String)>,
    pub(super) user_ids: Vec<(String, String)>,
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
