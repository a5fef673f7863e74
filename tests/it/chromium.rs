//! How the tests and the kiosk benchmark start Debian's headless Chromium: one list of flags
//! for both (included by `benches/sse.rs` with `#[path]`).

/// Flags Chromium needs here: no sandbox (root in a container), no GPU, and no network traffic
/// of its own (the network is closed).
pub const ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--window-size=1280,800",
];
