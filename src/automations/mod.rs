//! Booth automations that react to chaos kills: the fog machine puff (a relay on a GPIO pin or
//! the old relay server) and chaos webhooks. They listen to `cluster::ChaosBus` and
//! never delay a kill or its HTTP answer.
//!
//! May call: `crate::backoff`, `crate::cluster`, `crate::http`, `crate::secret`.

pub mod fog;
pub mod relay;
pub mod webhooks;

pub use fog::{Fog, FogArgs, FogStatus, FogTiming};
pub use relay::{FogSpec, Relay};
pub use webhooks::WebhookArgs;
