//! The Hardware group, per the configured devices: the BlinkStick (its hidraw node, found by USB
//! vendor and product id through the same `HidPort` the LED driver opens), the label printer
//! (reached through its transport, which reads its status: the tape loaded against
//! `LABEL_SIZE`, out of labels, cover open, ...), and the fog machine's relay (the GPIO chip, or
//! the relay server reachable, without a puff).
//!
//! From the command line the devices are probed; in the running booth their drivers already
//! hold them (a second open of the printer's port would queue behind a label), so the checks
//! read the health the drivers report instead.
//!
//! May call: `crate::automations`, `crate::labels`, `crate::leds`.

use super::{Check, Context, Group, timed_out};
use crate::automations::relay::{self, FogSpec};
use crate::automations::{Fog, FogStatus};
use crate::labels::status::{self as printer_status, Problem};
use crate::labels::transport::{self, PrinterTransport, PrinterUrl, SendError, Timeouts};
use crate::labels::{LabelSize, PrinterHealth, PrinterHealthHandle, PrinterModel};
use crate::leds::LedHandle;
use crate::leds::LedMode;
use crate::leds::blinkstick::{self, HidPort};
use crate::leds::driver::LedHealth;
use std::sync::Arc;
use std::time::Duration;

const GROUP: Group = Group::Hardware;

/// Opens the BlinkStick's USB port (a new one per probe).
pub type PortFactory = Arc<dyn Fn() -> Box<dyn HidPort> + Send + Sync>;

/// Where the devices' health comes from.
pub enum Hardware {
    /// Probe the devices (the command line). `blinkstick` opens the port; `None` opens the
    /// hidraw node the settings name.
    Probe { blinkstick: Option<PortFactory> },
    /// The running booth's drivers.
    Live { leds: LedHandle, printer: PrinterHealthHandle, fog: Option<Fog> },
}

pub(crate) async fn checks(context: &Context) -> Vec<Check> {
    let (leds, printer, fog) = futures::join!(leds(context), printer(context), fog(context));
    [leds, printer, fog].into_iter().flatten().collect()
}

const BLINKSTICK_HINT: &str = "plug the BlinkStick Flex into the Pi and install the udev rule of docs/leds.md \
                               (BLINKSTICK_DEVICE names a fixed hidraw node), or set LEDS=virtual to run without it";

async fn leds(context: &Context) -> Option<Check> {
    let settings = &context.settings;
    let name = "LEDs";
    match settings.leds {
        LedMode::Off => return Some(Check::ok(GROUP, name, "none (LEDS=off)")),
        LedMode::Virtual => return Some(Check::ok(GROUP, name, "virtual: shown on the dashboard only (LEDS=virtual)")),
        LedMode::Blinkstick => {}
    }
    let name = "BlinkStick";
    Some(match &context.hardware {
        Hardware::Live { leds, .. } => match leds.health() {
            LedHealth::Connected => Check::ok(GROUP, name, "connected, showing the pods"),
            LedHealth::Disconnected(why) => Check::fail(GROUP, name, format!("disconnected: {why}"), BLINKSTICK_HINT),
            other => Check::warn(GROUP, name, other.to_string(), "wait a moment: the LED driver is connecting"),
        },
        Hardware::Probe { blinkstick } => {
            let device = settings.blinkstick_device.clone();
            let found = match &device {
                Some(path) => format!("opened {}", path.display()),
                None => format!("found on USB ({:04x}:{:04x})", blinkstick::VENDOR_ID, blinkstick::PRODUCT_ID),
            };
            let factory = blinkstick.clone();
            let probe = tokio::task::spawn_blocking(move || {
                let mut port = match factory {
                    Some(open) => open(),
                    None => Box::new(blinkstick::Hidraw::new(device)),
                };
                let opened = port.open();
                port.close();
                opened
            });
            match tokio::time::timeout(settings.timeout, probe).await {
                Ok(Ok(Ok(()))) => Check::ok(GROUP, name, found),
                Ok(Ok(Err(error))) => Check::fail(GROUP, name, error.to_string(), BLINKSTICK_HINT),
                Ok(Err(error)) => Check::fail(GROUP, name, error.to_string(), BLINKSTICK_HINT),
                Err(_) => Check::fail(GROUP, name, timed_out(settings.timeout), BLINKSTICK_HINT),
            }
        }
    })
}

/// What to do about a printer problem, by its reason (`NoMedia`, `WrongMedia`, `Offline`, ...).
fn printer_hint(reason: &str, size: LabelSize) -> String {
    let roll = match size {
        LabelSize::Mm54 => "54 mm endless tape (DK-N55224)",
        LabelSize::Mm62 => "62 mm endless tape (DK-22205)",
    };
    match reason {
        "NoMedia" | "EndOfMedia" | "ReplaceMedia" | "FeedingError" => format!("load a roll of {roll}"),
        "WrongMedia" => format!("load a roll of {roll}, or set LABEL_SIZE to the width that is loaded (54 or 62)"),
        "CoverOpen" => "close the printer's cover".into(),
        "CutterJam" => "open the cover and clear the cutter".into(),
        "TurnedOff" => "switch the printer on".into(),
        "Busy" => "wait for the printer to finish its job".into(),
        "NotConfigured" => "set PRINTER_URL (tcp://<printer>:9100) or PRINTER_IP".into(),
        "Offline" | "Unconfirmed" => {
            "switch the printer on, connect it to the booth LAN and check PRINTER_URL (tcp://<address>:9100)".into()
        }
        _ => "look at the printer's display, switch it off and on".into(),
    }
}

fn model_name(model: PrinterModel) -> String {
    clap::ValueEnum::to_possible_value(&model).map(|v| v.get_name().to_string()).unwrap_or_default()
}

async fn printer(context: &Context) -> Option<Check> {
    let settings = &context.settings;
    let size = settings.label_size;
    let name = "printer";
    if let Hardware::Live { printer, .. } = &context.hardware {
        let PrinterHealth { healthy, reason, message } = printer.get();
        return Some(match (healthy, reason.as_str()) {
            (true, _) => Check::ok(GROUP, name, message),
            (false, "NotConfigured") => Check::warn(GROUP, name, message, printer_hint(&reason, size)),
            (false, reason) => Check::fail(GROUP, name, message, printer_hint(reason, size)),
        });
    }
    let Some(url) = &settings.printer else {
        return Some(Check::warn(
            GROUP,
            name,
            "no printer configured: no raffle tickets or vouchers",
            printer_hint("NotConfigured", size),
        ));
    };
    let timeouts = Timeouts {
        connect: settings.timeout,
        write: settings.timeout,
        status: settings.timeout.min(Duration::from_secs(2)),
        confirm: settings.timeout,
    };
    let printer = transport::open(url, timeouts);
    let model = model_name(settings.printer_model);
    // Longer than the transport's own steps, so their answer (naming the step) comes first.
    let deadline = settings.timeout * 3;
    Some(match tokio::time::timeout(deadline, printer.connect(size)).await {
        Err(_) => Check::fail(GROUP, name, timed_out(deadline), printer_hint("Offline", size)),
        Ok(Ok(session)) => match (session.status, url) {
            (Some(status), _) => Check::ok(
                GROUP,
                name,
                format!("{model} at {url}: {} mm endless tape loaded, ready", status.media_width_mm),
            ),
            (None, PrinterUrl::File(dir)) => Check::ok(GROUP, name, format!("labels are written to {}", dir.display())),
            (None, _) => Check::warn(
                GROUP,
                name,
                format!("{model} at {url} takes jobs but reports no status: the tape was not checked"),
                "keep SNMP on (community public) in the printer's settings (docs/labels.md)",
            ),
        },
        Ok(Err(error)) => {
            let reason = match &error {
                SendError::NotReady(problems) | SendError::PrintFailed(problems) => {
                    problems.first().map_or("PrinterError", Problem::reason)
                }
                other => other.reason(),
            };
            let message = match &error {
                SendError::NotReady(problems) => printer_status::describe(problems),
                other => other.to_string(),
            };
            Check::fail(GROUP, name, message, printer_hint(reason, size))
        }
    })
}

const GPIO_HINT: &str = "give the booth's container the GPIO: resources.limits squat.ai/gpiomem: 1 and the host's gpio \
                         group in supplementalGroups (docs/runbook.md, LEDs and the label printer)";

async fn fog(context: &Context) -> Option<Check> {
    let name = "fog machine";
    if let Hardware::Live { fog, .. } = &context.hardware {
        return Some(match fog.as_ref().map(Fog::status) {
            None => Check::ok(GROUP, name, "none (FOG=off)"),
            Some(FogStatus { relay_errors, relay, .. }) if relay_errors > 0 => Check::warn(
                GROUP,
                name,
                format!("{relay}: the relay failed to switch {relay_errors} times since the start"),
                "check the relay's wiring (FOG=gpio:<pin>) or that the relay server runs (FOG=http://...)",
            ),
            Some(status) => Check::ok(GROUP, name, format!("{}: {} puffs", status.relay, status.puffs)),
        });
    }
    let timeout = context.settings.timeout;
    Some(match &context.settings.fog {
        FogSpec::Off => Check::ok(GROUP, name, "none (FOG=off)"),
        FogSpec::Virtual => Check::ok(GROUP, name, "virtual (FOG=virtual)"),
        FogSpec::Gpio(pin) => {
            let opened = tokio::task::spawn_blocking(|| relay::open_gpio_chip().map(drop));
            match tokio::time::timeout(timeout, opened).await {
                Ok(Ok(Ok(_))) => Check::ok(GROUP, name, format!("the GPIO chip opens (relay on BCM {pin})")),
                Ok(Ok(Err(error))) => Check::fail(GROUP, name, error.to_string(), GPIO_HINT),
                Ok(Err(error)) => Check::fail(GROUP, name, error.to_string(), GPIO_HINT),
                Err(_) => Check::fail(GROUP, name, timed_out(timeout), GPIO_HINT),
            }
        }
        FogSpec::Http(url) => {
            let shown = format!("{}://{}", url.scheme(), url.authority());
            let hint = "check FOG (http://<relay>:<port>/) and that the relay server runs";
            let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
                return Some(Check::fail(GROUP, name, format!("{shown} names no host"), hint));
            };
            match tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host, port))).await {
                Ok(Ok(_)) => Check::ok(GROUP, name, format!("relay server {shown} reachable (no puff sent)")),
                Ok(Err(error)) => Check::fail(GROUP, name, format!("relay server {shown}: {error}"), hint),
                Err(_) => Check::fail(GROUP, name, format!("relay server {shown}: {}", timed_out(timeout)), hint),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_hints_name_the_fix() {
        assert!(printer_hint("EndOfMedia", LabelSize::Mm54).contains("54 mm endless tape"));
        assert!(printer_hint("WrongMedia", LabelSize::Mm62).contains("LABEL_SIZE"));
        assert!(printer_hint("Offline", LabelSize::Mm54).contains("PRINTER_URL"));
        assert_eq!(model_name(PrinterModel::Ql820nwb), "QL-820NWB");
    }
}
