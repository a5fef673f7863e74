//! Property tests over the inputs people control: whatever they send, the parsers answer with a
//! value or a clear error, never a panic. (The same inputs over HTTP, against a running app, are
//! in `fuzz_http.rs`; the simulated API's selectors have theirs in `crates/kube-sim`.)

use axum::http::{HeaderMap, HeaderValue, header};
use conferenceli::web::auth::{Credentials, check_basic, parse_basic};
use conferenceli::web::csrf::Csrf;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn authorization_headers_never_panic_and_only_the_right_pair_passes(raw in "\\PC{0,80}", user in "[a-z]{1,8}", pass in "\\PC{0,16}") {
        let creds = Credentials::new("admin", "s3cret");
        if let Ok(value) = HeaderValue::from_str(&raw) {
            let _ = parse_basic(&value);
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value);
            let _ = check_basic(&headers, &creds);
        }
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Basic {encoded}")).unwrap());
        prop_assert_eq!(check_basic(&headers, &creds).is_ok(), user == "admin" && pass == "s3cret");
    }

    #[test]
    fn csrf_tokens_never_panic_and_forged_ones_fail(cookie in "[ -~]{0,64}", token in "[ -~]{0,80}") {
        let csrf = Csrf::random();
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&format!("conferenceli_csrf={cookie}")) {
            headers.insert(header::COOKIE, value);
        }
        prop_assert!(csrf.verify(&headers, Some(&token)).is_err());
    }

    #[test]
    fn command_line_values_never_panic(listen in "\\PC{0,30}", pods in "\\PC{0,12}", fog in "\\PC{0,16}") {
        use clap::Parser;
        let args = ["conferenceli", "demo", "--listen-addr", listen.as_str(), "--pods", pods.as_str(), "--fog", fog.as_str()];
        if let Err(error) = conferenceli::config::Cli::try_parse_from(args) {
            let line = conferenceli::config::one_line_error(&error);
            prop_assert!(!line.contains('\n'), "{}", line);
        }
    }
}

/// Every `--flag` of `demo` (which has all of `run`'s settings too), with its variable.
static DEMO_FLAGS: std::sync::LazyLock<Vec<(String, Option<String>)>> = std::sync::LazyLock::new(demo_flags);

fn demo_flags() -> Vec<(String, Option<String>)> {
    use clap::CommandFactory;
    let command = conferenceli::config::Cli::command();
    let demo = command.find_subcommand("demo").expect("the demo command").clone();
    demo.get_arguments()
        .chain(command.get_arguments())
        .filter_map(|arg| {
            let long = arg.get_long()?.to_string();
            Some((long, arg.get_env().map(|env| env.to_string_lossy().into_owned())))
        })
        .filter(|(long, _)| long != "help" && long != "version")
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// Any value for any setting: accepted, or refused in one line that names the setting and,
    /// for settings that carry secrets (passwords, keys, webhook URLs with tokens), does not
    /// repeat the value.
    #[test]
    fn any_value_of_any_setting_is_refused_in_one_line_naming_it(flag in 0usize..1000, value in "\\PC{0,40}|[a-z]{1,6}://[!-~]{0,30}") {
        use clap::Parser;
        let flags = &*DEMO_FLAGS;
        let (long, env) = &flags[flag % flags.len()];
        let argument = format!("--{long}={value}");
        if let Err(error) = conferenceli::config::Cli::try_parse_from(["conferenceli", "demo", argument.as_str()]) {
            let line = conferenceli::config::one_line_error(&error);
            prop_assert!(!line.contains('\n'), "{}", line);
            let named = line.contains(&format!("--{long}")) || env.as_ref().is_some_and(|env| line.contains(env.as_str()));
            prop_assert!(named, "{} not named in {}", long, line);
            let secret = env.as_ref().is_some_and(|env| ["PASSWORD", "SECRET", "API_KEY", "WEBHOOK_URLS"].iter().any(|w| env.contains(w)));
            if secret && value.trim().chars().count() >= 6 {
                prop_assert!(!line.contains(value.trim()), "{} echoed in {}", long, line);
            }
        }
    }
}
