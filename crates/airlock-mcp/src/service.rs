//! Asking a running airlock service (`POST /v1/actions`) about one raw call, and
//! waiting on a hold: the long poll (`GET /v1/actions/{id}?wait=`), then the
//! approved call resubmitted with `?approval=` so that the approval is used.
//! Shared by the MCP gateway and the coding agents' hooks.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// What the service said, in the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed (or approved, and the approval used); the reason.
    Allow(String),
    /// Denied, rejected, expired or not approved in time; a reason an agent can act on.
    Deny(String),
}

/// A call held for approval, as told to whoever waits on it.
#[derive(Debug, Clone)]
pub struct Hold {
    /// The approval request's id.
    pub id: String,
    /// The service's URL for it.
    pub url: String,
    /// Who must approve: "1 approval from sre-oncall" and the like.
    pub approvers: String,
    /// The policy's reason for holding it.
    pub reason: String,
}

impl Hold {
    /// One sentence for the agent (and its user) while the call waits.
    pub fn message(&self) -> String {
        format!(
            "airlock is holding this call for human approval ({}): needs {}. Approve it with `airlock approvals approve {}` ({})",
            self.reason, self.approvers, self.id, self.url
        )
    }
}

pub struct Service {
    base: String,
    key: String,
}

impl Service {
    pub fn new(server: &str, key: &str) -> Service {
        Service {
            base: server.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
        }
    }

    /// Decides `body` (a raw call as JSON). A hold is waited on until `deadline`,
    /// `on_hold` being told once when it starts and then after each long poll.
    pub fn ask(
        &self,
        body: &str,
        deadline: Instant,
        on_hold: &mut dyn FnMut(&Hold),
    ) -> anyhow::Result<Outcome> {
        let answer = self.post("/v1/actions", body, deadline)?;
        let reason = answer["decision"]["reason"]
            .as_str()
            .unwrap_or("no reason given")
            .to_owned();
        match answer["status"].as_str() {
            Some("allowed" | "consumed") => Ok(Outcome::Allow(reason)),
            Some("denied") => Ok(Outcome::Deny(reason)),
            Some("pending") => {
                let id = answer["id"]
                    .as_str()
                    .filter(|id| !id.is_empty())
                    .ok_or_else(|| anyhow::anyhow!("the service held the call but gave no id"))?
                    .to_owned();
                let hold = Hold {
                    url: format!("{}/v1/approvals/{id}", self.base),
                    approvers: approvers(&answer["decision"]["approval"]),
                    id,
                    reason,
                };
                self.wait_for_approval(&hold, body, deadline, on_hold)
            }
            other => anyhow::bail!("the service answered an unknown status {other:?}"),
        }
    }

    fn wait_for_approval(
        &self,
        hold: &Hold,
        body: &str,
        deadline: Instant,
        on_hold: &mut dyn FnMut(&Hold),
    ) -> anyhow::Result<Outcome> {
        let id = &hold.id;
        // Leave a second to resubmit and answer before the caller's own deadline.
        let answer_by = deadline
            .checked_sub(Duration::from_secs(1))
            .unwrap_or(deadline);
        loop {
            on_hold(hold);
            let left = answer_by.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Outcome::Deny(format!(
                    "held for approval as {id} ({}); not approved in time. Ask a human to approve it (`airlock approvals approve {id}`), then retry the same call",
                    hold.reason
                )));
            }
            let wait = left.as_secs().clamp(1, 30);
            let status = self.get(&format!("/v1/actions/{id}?wait={wait}s"), deadline)?;
            match status["status"].as_str() {
                Some("pending") => continue,
                Some("approved") => {
                    let used = self.post(&format!("/v1/actions?approval={id}"), body, deadline)?;
                    return Ok(match used["status"].as_str() {
                        Some("consumed" | "allowed") => Outcome::Allow(format!(
                            "approved ({})",
                            status["resolution"].as_str().unwrap_or("by the approvers")
                        )),
                        _ => Outcome::Deny(format!(
                            "approved as {id}, but the approval could not be used: {}",
                            used["error"]
                                .as_str()
                                .or(used["decision"]["reason"].as_str())
                                .unwrap_or("refused")
                        )),
                    });
                }
                Some(s) => {
                    return Ok(Outcome::Deny(format!(
                        "held for approval as {id}, then {s}: {}",
                        status["resolution"].as_str().unwrap_or(&hold.reason)
                    )));
                }
                None => anyhow::bail!("the service answered without a status: {status}"),
            }
        }
    }

    /// Whether the service would deny `tool` of `server` whatever its arguments
    /// (`POST /v1/tools/never`). Any failure says no: the tool stays listed, and
    /// its calls are decided as always.
    pub fn always_denied(&self, server: &str, tool: &Value) -> bool {
        let body = json!({ "server": server, "tools": [tool] }).to_string();
        let deadline = Instant::now() + Duration::from_secs(5);
        self.post("/v1/tools/never", &body, deadline)
            .ok()
            .and_then(|v| v["never"].as_array().map(|n| !n.is_empty()))
            .unwrap_or(false)
    }

    fn agent(deadline: Instant) -> ureq::Agent {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(100));
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(2).min(left)))
            .timeout_global(Some(left))
            .build()
            .into()
    }

    fn post(&self, path: &str, body: &str, deadline: Instant) -> anyhow::Result<Value> {
        let mut r = Self::agent(deadline)
            .post(&format!("{}{path}", self.base))
            .header("Authorization", &format!("Bearer {}", self.key))
            .header("Content-Type", "application/json")
            .send(body)
            .map_err(|e| {
                anyhow::anyhow!("the airlock service at {} did not answer: {e}", self.base)
            })?;
        self.read_answer(path, &mut r)
    }

    fn get(&self, path: &str, deadline: Instant) -> anyhow::Result<Value> {
        let mut r = Self::agent(deadline)
            .get(&format!("{}{path}", self.base))
            .header("Authorization", &format!("Bearer {}", self.key))
            .call()
            .map_err(|e| {
                anyhow::anyhow!("the airlock service at {} did not answer: {e}", self.base)
            })?;
        self.read_answer(path, &mut r)
    }

    fn read_answer(
        &self,
        path: &str,
        r: &mut ureq::http::Response<ureq::Body>,
    ) -> anyhow::Result<Value> {
        let status = r.status().as_u16();
        let text = r
            .body_mut()
            .with_config()
            .limit(4 << 20)
            .read_to_string()
            .map_err(|e| anyhow::anyhow!("reading the answer of {}{path}: {e}", self.base))?;
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status == 200 {
            Ok(v)
        } else {
            anyhow::bail!(
                "the airlock service refused ({status}): {}",
                v["error"].as_str().unwrap_or("no reason given")
            )
        }
    }
}

/// "1 approval from sre-oncall and 2 from sre-leads", from a decision's `approval`.
pub(crate) fn approvers(approval: &Value) -> String {
    let parts: Vec<String> = approval["requirements"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    let n = r["approvals"].as_u64().unwrap_or(1);
                    let group = r["group"].as_str().unwrap_or("the approvers");
                    format!("{n} approval{} from {group}", if n == 1 { "" } else { "s" })
                })
                .collect()
        })
        .unwrap_or_default();
    if parts.is_empty() {
        "approval by a human".to_owned()
    } else {
        parts.join(" and ")
    }
}
