//! The Services group: Odoo (a login through the booth's own Odoo client, then the campaign,
//! source and tag the leads link to, found by the same lookup the lead controller makes),
//! `PUBLIC_URL` (reachable and serving the contact form: what a visitor's phone meets), and the
//! chaos webhooks' hosts (they resolve; nothing is sent, and the URLs, which often carry a
//! token, are shown by host only).
//!
//! May call: `crate::booth`, `crate::http`, `crate::leads`.

use super::{Check, Context, Group, Settings, SharedBooth, spec_or_default, timed_out};
use crate::booth::BoothSpec;
use crate::leads::odoo::{self, Odoo, OdooError};
use std::time::Duration;

const GROUP: Group = Group::Services;

pub(crate) async fn checks(context: &Context, booth: SharedBooth) -> Vec<Check> {
    let (odoo, form, webhooks) = futures::join!(odoo(context, booth), public_url(context), webhooks(context));
    [odoo, vec![form, webhooks]].concat()
}

const ODOO_SETTINGS: &str = "set ODOO_URL, ODOO_DB and ODOO_API_KEY (or ODOO_USERNAME and ODOO_PASSWORD) in the booth's \
                             Secret (deploy/examples/secret.yaml)";

/// What to do when Odoo refuses or cannot be reached.
fn odoo_hint(error: &OdooError, url: &str) -> String {
    match error {
        OdooError::Unreachable(_) => format!("check ODOO_URL ({url}) and the booth's Internet connection"),
        OdooError::Authentication(_) => {
            "check ODOO_API_KEY (JSON-2), or ODOO_USERNAME and ODOO_PASSWORD (JSON-RPC), and ODOO_DB".into()
        }
        OdooError::Rejected(_) | OdooError::Protocol(_) => {
            "the Odoo user needs to read utm.campaign, utm.source and crm.tag and to create crm.lead".into()
        }
    }
}

/// One of the records a lead links to: (check name, model, its name, the fix when missing).
struct Link {
    name: &'static str,
    model: &'static str,
    value: String,
    unset: &'static str,
    missing: String,
}

/// The campaign (the Booth's), the source and the tag (the settings') a lead links to.
fn links(spec: &BoothSpec, settings: &Settings) -> [Link; 3] {
    [
        Link {
            name: "Odoo campaign",
            model: "utm.campaign",
            value: spec.campaign_name.trim().to_string(),
            unset: "set the campaign on /config (the Booth's spec.campaignName; first CAMPAIGN_NAME)",
            missing: format!(
                "create the campaign {:?} in Odoo (utm.campaign), or change it on /config",
                spec.campaign_name.trim()
            ),
        },
        Link {
            name: "Odoo source",
            model: "utm.source",
            value: settings.source_name.trim().to_string(),
            unset: "set SOURCE_NAME to the Odoo source of the leads",
            missing: format!(
                "create the source {:?} in Odoo (utm.source), or fix SOURCE_NAME",
                settings.source_name.trim()
            ),
        },
        Link {
            name: "Odoo tag",
            model: "crm.tag",
            value: settings.tag_name.trim().to_string(),
            unset: "set TAG_NAME to the CRM tag of the leads",
            missing: format!("create the CRM tag {:?} in Odoo (crm.tag), or fix TAG_NAME", settings.tag_name.trim()),
        },
    ]
}

async fn odoo(context: &Context, booth: SharedBooth) -> Vec<Check> {
    let settings = &context.settings;
    let Some(mut odoo_settings) = settings.odoo.clone() else {
        return vec![Check::warn(
            GROUP,
            "Odoo",
            "ODOO_URL not set: leads are kept in the cluster, not sent",
            ODOO_SETTINGS,
        )];
    };
    odoo_settings.timeout = settings.timeout;
    let url = odoo_settings.url.clone();
    let client = match odoo::connect(&odoo_settings) {
        Ok(client) => client,
        Err(error) => return vec![Check::fail(GROUP, "Odoo login", error.to_string(), ODOO_SETTINGS)],
    };
    let spec = spec_or_default(&booth.await, settings);
    let links = links(&spec, settings);
    // The campaign's lookup is the login (JSON-RPC authenticates on it, JSON-2 sends its key):
    // made even for an empty name, so that the credentials are always tried.
    let first = find(client.as_ref(), &links[0], settings.timeout).await;
    let mut checks = Vec::new();
    match &first {
        Err(error) => {
            checks.push(Check::fail(GROUP, "Odoo login", error.to_string(), odoo_hint(error, &url)));
            return checks;
        }
        Ok(_) => checks.push(Check::ok(GROUP, "Odoo login", format!("logged in to {url} ({})", client.api()))),
    }
    if !spec.odoo_create_lead_enabled {
        checks.push(Check::warn(
            GROUP,
            "Odoo leads",
            "lead creation is switched off in the Booth: leads are kept, not sent",
            "switch \"create leads in Odoo\" on at /config",
        ));
    }
    let (source, tag) = futures::join!(
        lookup(client.as_ref(), &links[1], settings.timeout),
        lookup(client.as_ref(), &links[2], settings.timeout)
    );
    for (link, found) in links.iter().zip([first, source, tag]) {
        checks.push(match found {
            _ if link.value.is_empty() => {
                Check::warn(GROUP, link.name, "none set: leads are created without one", link.unset)
            }
            Ok(Some(id)) => Check::ok(GROUP, link.name, format!("{:?} found (id {id})", link.value)),
            Ok(None) => Check::fail(
                GROUP,
                link.name,
                format!("{:?} not found in Odoo: leads would be created without it", link.value),
                link.missing.clone(),
            ),
            Err(error) => Check::fail(GROUP, link.name, error.to_string(), odoo_hint(&error, &url)),
        });
    }
    checks
}

/// The id of a link's record, by the lead controller's lookup.
async fn find(client: &dyn Odoo, link: &Link, timeout: Duration) -> Result<Option<i64>, OdooError> {
    match tokio::time::timeout(timeout, odoo::find_id(client, link.model, "name", &link.value)).await {
        Ok(found) => found,
        Err(_) => Err(OdooError::Unreachable(timed_out(timeout))),
    }
}

/// [`find`], but nothing to look up for an empty name.
async fn lookup(client: &dyn Odoo, link: &Link, timeout: Duration) -> Result<Option<i64>, OdooError> {
    if link.value.is_empty() { Ok(None) } else { find(client, link, timeout).await }
}

const TUNNEL_HINT: &str = "the tunnel (e.g. cloudflared) must send PUBLIC_URL to the service conferenceli-public:8081 in \
                           the namespace conferenceli (docs/runbook.md, the public contact form)";

/// `PUBLIC_URL` answers with the contact form.
async fn public_url(context: &Context) -> Check {
    let name = "contact form (PUBLIC_URL)";
    let timeout = context.settings.timeout;
    let Some(url) = &context.settings.public_url else {
        return Check::warn(
            GROUP,
            name,
            "PUBLIC_URL not set: the kiosk shows no QR code for visitors' phones",
            "set PUBLIC_URL to the address the tunnel gives the contact form (https://...)",
        );
    };
    let http = match crate::http::client() {
        Ok(http) => http,
        Err(error) => return Check::fail(GROUP, name, error.to_string(), TUNNEL_HINT),
    };
    let answer = async {
        let response = http.get(url).timeout(timeout).send().await?;
        let status = response.status();
        Ok::<_, reqwest::Error>((status, response.text().await?))
    };
    match tokio::time::timeout(timeout, answer).await {
        Err(_) => Check::fail(GROUP, name, format!("{url}: {}", timed_out(timeout)), TUNNEL_HINT),
        Ok(Err(error)) => Check::fail(
            GROUP,
            name,
            format!("{url} is not reachable: {}", crate::http::root_cause(&error)),
            TUNNEL_HINT,
        ),
        Ok(Ok((status, _))) if !status.is_success() => {
            Check::fail(GROUP, name, format!("{url} answers {status}"), TUNNEL_HINT)
        }
        // The form's own fields: not some other site's page, nor the tunnel's error page.
        Ok(Ok((_, body))) if body.contains("name=\"consent\"") && body.contains("name=\"email\"") => {
            Check::ok(GROUP, name, format!("{url} serves the contact form"))
        }
        Ok(Ok(_)) => Check::fail(GROUP, name, format!("{url} answers, but not with the contact form"), TUNNEL_HINT),
    }
}

/// Every chaos webhook's host resolves.
async fn webhooks(context: &Context) -> Check {
    let name = "chaos webhooks";
    let timeout = context.settings.timeout;
    let urls = &context.settings.webhooks;
    if urls.is_empty() {
        return Check::ok(GROUP, name, "none configured (CHAOS_WEBHOOK_URLS)");
    }
    let resolved = futures::future::join_all(urls.iter().map(|url| async move {
        let host = url.host_str().unwrap_or_default().to_string();
        let port = url.port_or_known_default().unwrap_or(443);
        let found = tokio::time::timeout(timeout, tokio::net::lookup_host(format!("{host}:{port}"))).await;
        let resolves = match found {
            Ok(Ok(mut addrs)) => addrs.next().is_some(),
            _ => false,
        };
        (host, resolves)
    }))
    .await;
    let unresolved: Vec<&str> = resolved.iter().filter(|(_, ok)| !ok).map(|(host, _)| host.as_str()).collect();
    if unresolved.is_empty() {
        let hosts: Vec<&str> = resolved.iter().map(|(host, _)| host.as_str()).collect();
        Check::ok(GROUP, name, format!("every receiver's host resolves: {}", hosts.join(", ")))
    } else {
        Check::fail(
            GROUP,
            name,
            format!("does not resolve: {}", unresolved.join(", ")),
            "fix CHAOS_WEBHOOK_URLS, or the booth's DNS",
        )
    }
}
