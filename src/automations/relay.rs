//! The relay that switches the fog machine: a GPIO pin of the Pi (rppal), the booth's old relay
//! server (an HTTP `HEAD` per puff; it keeps its own on-time), or nothing but state (`virtual`,
//! for `demo` and tests). Which one is a setting, `--fog` / `FOG`.
//!
//! May call: `crate::http`.

use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum FogError {
    #[error("GPIO: {0}")]
    Gpio(String),
    #[error("expected off, virtual, gpio:<BCM pin 0-27> or http://host:port/")]
    Spec(String),
    #[error("relay server: {0}")]
    Http(String),
}

/// Something that switches the fog machine on and off.
pub trait Relay: Send + 'static {
    fn set(&mut self, on: bool) -> Result<(), FogError>;

    /// How `/api/state` names it.
    fn describe(&self) -> String;

    /// True when every puff must reach the relay (a relay that keeps its own on-time); a plain
    /// relay only needs on and off.
    fn wants_every_puff(&self) -> bool {
        false
    }
}

/// Opens the relay `spec` names; `None` for no fog machine. Call it inside the Tokio runtime
/// (the HTTP relay sends its requests on it).
pub fn open(spec: &FogSpec, active_low: bool) -> Result<Option<Box<dyn Relay>>, FogError> {
    Ok(match spec {
        FogSpec::Off => None,
        FogSpec::Virtual => Some(Box::new(VirtualRelay::new().0)),
        FogSpec::Gpio(pin) => Some(Box::new(GpioRelay::open(*pin, active_low)?)),
        FogSpec::Http(url) => Some(Box::new(HttpRelay::new(url.clone())?)),
    })
}

/// The booth's old relay server: a `HEAD` request switches the fog on for 2 s more (capped at
/// 10 s by the server); it switches off by itself, so `set(false)` has nothing to send.
pub(crate) struct HttpRelay {
    url: reqwest::Url,
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

/// How long the relay server may take to answer a puff.
const RELAY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

impl HttpRelay {
    pub fn new(url: reqwest::Url) -> Result<Self, FogError> {
        let http = crate::http::client().map_err(|e| FogError::Http(e.to_string()))?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| FogError::Http(e.to_string()))?;
        Ok(Self { url, http, runtime })
    }
}

impl Relay for HttpRelay {
    /// Runs on the fog watchdog thread, which is not a runtime thread: blocking on the request
    /// there (at most `RELAY_TIMEOUT`) is what that thread is for.
    fn set(&mut self, on: bool) -> Result<(), FogError> {
        if !on {
            return Ok(());
        }
        let request = self.http.head(self.url.clone()).timeout(RELAY_TIMEOUT);
        match self.runtime.block_on(async move { request.send().await }) {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(FogError::Http(format!("answered {}", response.status()))),
            Err(error) if error.is_timeout() => Err(FogError::Http("timed out".into())),
            Err(_) => Err(FogError::Http("not reachable".into())),
        }
    }

    fn describe(&self) -> String {
        format!("{}://{}", self.url.scheme(), self.url.host_str().unwrap_or("?"))
    }

    fn wants_every_puff(&self) -> bool {
        true
    }
}

/// Where the fog machine's relay is (`FOG`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FogSpec {
    Off,
    Virtual,
    /// A BCM pin number.
    Gpio(u8),
    /// The old relay server: each HEAD request puffs.
    Http(reqwest::Url),
}

impl std::str::FromStr for FogSpec {
    type Err = FogError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim() {
            "" | "off" | "none" => Ok(FogSpec::Off),
            "virtual" => Ok(FogSpec::Virtual),
            url if url.starts_with("http://") || url.starts_with("https://") => {
                reqwest::Url::parse(url).map(FogSpec::Http).map_err(|_| FogError::Spec(url.to_string()))
            }
            other => other
                .strip_prefix("gpio:")
                .and_then(|pin| pin.parse::<u8>().ok())
                .filter(|pin| *pin <= 27)
                .map(FogSpec::Gpio)
                .ok_or_else(|| FogError::Spec(other.to_string())),
        }
    }
}

/// A relay on a GPIO pin, bit set by rppal; active-low by default, as most relay boards are.
pub(crate) struct GpioRelay {
    pin: rppal::gpio::OutputPin,
    bcm: u8,
    active_low: bool,
}

/// Opens the Pi's GPIO chip without claiming a pin: the relay's first step, and what
/// `conferenceli check` tries (claiming the pin could click the relay).
pub(crate) fn open_gpio_chip() -> Result<rppal::gpio::Gpio, FogError> {
    rppal::gpio::Gpio::new().map_err(|e| FogError::Gpio(e.to_string()))
}

impl GpioRelay {
    pub fn open(bcm: u8, active_low: bool) -> Result<Self, FogError> {
        let gpio = open_gpio_chip()?;
        let pin = gpio.get(bcm).map_err(|e| FogError::Gpio(e.to_string()))?;
        // Start in the off level so the relay never clicks on while the pin is configured.
        let mut pin = if active_low { pin.into_output_high() } else { pin.into_output_low() };
        pin.set_reset_on_drop(false);
        Ok(Self { pin, bcm, active_low })
    }
}

impl Relay for GpioRelay {
    fn set(&mut self, on: bool) -> Result<(), FogError> {
        if on != self.active_low {
            self.pin.set_high();
        } else {
            self.pin.set_low();
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("gpio:{}", self.bcm)
    }
}

impl Drop for GpioRelay {
    fn drop(&mut self) {
        let _ = self.set(false);
    }
}

/// Every switch a virtual relay was asked for, in order.
pub type RelayLog = Arc<Mutex<Vec<bool>>>;

/// A relay that only records (the demo's fog machine, and tests).
pub(crate) struct VirtualRelay {
    log: RelayLog,
    fail: Arc<Mutex<bool>>,
}

impl VirtualRelay {
    /// The relay, its log, and a switch that makes it fail (for tests of a broken relay).
    pub fn new() -> (Self, RelayLog, Arc<Mutex<bool>>) {
        let log = RelayLog::default();
        let fail = Arc::new(Mutex::new(false));
        (Self { log: log.clone(), fail: fail.clone() }, log, fail)
    }
}

impl Relay for VirtualRelay {
    fn set(&mut self, on: bool) -> Result<(), FogError> {
        if *self.fail.lock().unwrap_or_else(|p| p.into_inner()) && on {
            return Err(FogError::Gpio("virtual relay set to fail".into()));
        }
        self.log.lock().unwrap_or_else(|p| p.into_inner()).push(on);
        Ok(())
    }

    fn describe(&self) -> String {
        "virtual".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fog_settings_parse() {
        assert_eq!("gpio:17".parse::<FogSpec>().unwrap(), FogSpec::Gpio(17));
        assert_eq!("virtual".parse::<FogSpec>().unwrap(), FogSpec::Virtual);
        assert_eq!("off".parse::<FogSpec>().unwrap(), FogSpec::Off);
        assert!(
            matches!("http://relay:8000/".parse::<FogSpec>().unwrap(), FogSpec::Http(url) if url.port() == Some(8000))
        );
        for bad in ["gpio:", "gpio:99", "gpio:x", "smoke", "ftp://x", "http://"] {
            assert!(bad.parse::<FogSpec>().is_err(), "{bad}");
        }
    }
}
