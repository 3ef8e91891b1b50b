//! The human side of a running service: approvals, halts, agent keys.
//! `--server` (AIRLOCK_SERVER) and `--token` (AIRLOCK_TOKEN) say where and who.

use anyhow::Context;
use serde_json::{Value, json};

pub struct Client {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl Client {
    pub fn new(server: &str, token: Option<&str>) -> anyhow::Result<Client> {
        let token = token.filter(|t| !t.is_empty()).context(
            "no token: pass --token or set AIRLOCK_TOKEN (a human token from your airlock admin)",
        )?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(75)))
            .build();
        Ok(Client {
            base: server.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            agent: config.into(),
        })
    }

    /// One request; a non-2xx answer is an error carrying the service's message.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let auth = format!("Bearer {}", self.token);
        let response = match (method, body) {
            ("GET", _) => self.agent.get(&url).header("Authorization", &auth).call(),
            ("DELETE", _) => self
                .agent
                .delete(&url)
                .header("Authorization", &auth)
                .call(),
            (_, Some(b)) => self
                .agent
                .post(&url)
                .header("Authorization", &auth)
                .send_json(&b),
            (_, None) => self
                .agent
                .post(&url)
                .header("Authorization", &auth)
                .send_empty(),
        };
        let mut response = response.with_context(|| format!("cannot reach airlock at {url}"))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .with_context(|| format!("unreadable answer from {url}"))?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            let message = value["error"]
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            anyhow::bail!("{method} {path}: {status}: {message}")
        }
    }
}

/// The body of a halt or resume.
pub fn scope_body(
    all: bool,
    tenant: bool,
    agent: Option<&str>,
    zone: Option<&str>,
    reason: Option<&str>,
) -> anyhow::Result<Value> {
    let (scope, name) = match (all, tenant, agent, zone) {
        (true, false, None, None) => ("all", None),
        (false, true, None, None) => ("tenant", None),
        (false, false, Some(a), None) => ("agent", Some(a)),
        (false, false, None, Some(z)) => ("zone", Some(z)),
        _ => anyhow::bail!("give exactly one of --all, --tenant, --agent NAME, --zone NAME"),
    };
    let mut body = json!({ "scope": scope });
    if let Some(n) = name {
        body["name"] = json!(n);
    }
    if let Some(r) = reason {
        body["reason"] = json!(r);
    }
    Ok(body)
}

/// `value` percent-encoded for a query string or a path segment: everything but
/// unreserved characters (RFC 3986), so a name can never add a parameter or a path.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `path` with the given parameters (those that are set), encoded.
pub fn with_query(path: &str, params: &[(&str, Option<&str>)]) -> String {
    let query: Vec<String> = params
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode(v))))
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}
