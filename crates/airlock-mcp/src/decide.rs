//! Who decides a `tools/call`: a running airlock service (with the agent's key),
//! or this process with a policy file and a local ledger. Either way, an error on
//! the way to a decision is a denial (fail closed).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use airlock_audit::{DecisionEntry, Entry, Event};
use airlock_classify::{McpCall, RawCall};
use airlock_model::{Decision, Tier, Who};
use airlock_policy::Policy;
use airlock_server::{PolicyTools, Recorder};
use serde_json::{Map, Value, json};

use crate::service::{Hold, Outcome, Service};

/// One `tools/call`, with the tool's `tools/list` entry when it was seen.
pub struct ToolCall<'a> {
    pub name: &'a str,
    pub arguments: &'a Map<String, Value>,
    pub listing: Option<&'a Value>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Relay the call to the server.
    Forward,
    /// Answer the client with this reason; the server never sees the call.
    Deny(String),
}

pub trait Decider: Send + Sync {
    /// Decides one call. `on_hold` is told (repeatedly) while a call waits for
    /// approval: the approval's id and URL, and who must approve.
    fn decide(&self, call: &ToolCall, on_hold: &mut dyn FnMut(&Hold)) -> anyhow::Result<Verdict>;

    /// Whether the tool would be denied whatever its arguments; such a tool is not
    /// listed. `false` whenever that cannot be shown (the call is still decided).
    fn always_denied(&self, _name: &str, _listing: &Value) -> bool {
        false
    }
}

/// The raw call as `airlock-classify` reads it (`RawCall::from_value`): the
/// `tools/call` params with the tool's listing and the server's name.
pub fn raw_call(server: &str, call: &ToolCall) -> Value {
    let mut v = json!({
        "name": call.name,
        "arguments": call.arguments,
        "server": server,
    });
    if let Some(l) = call.listing {
        v["tool"] = l.clone();
    }
    v
}

/// Decisions by a running service (`AIRLOCK_SERVER`, `AIRLOCK_AGENT_KEY`).
pub struct Remote {
    pub service: Service,
    pub server: String,
    /// The longest a call waits for approval before it is denied.
    pub hold_timeout: Duration,
}

impl Decider for Remote {
    fn decide(&self, call: &ToolCall, on_hold: &mut dyn FnMut(&Hold)) -> anyhow::Result<Verdict> {
        let body = raw_call(&self.server, call).to_string();
        let deadline = Instant::now() + self.hold_timeout;
        Ok(match self.service.ask(&body, deadline, on_hold)? {
            Outcome::Allow(_) => Verdict::Forward,
            Outcome::Deny(reason) => Verdict::Deny(reason),
        })
    }

    fn always_denied(&self, _name: &str, listing: &Value) -> bool {
        self.service.always_denied(&self.server, listing)
    }
}

/// Decisions made here: a policy, an agent name, a local ledger.
pub struct Local {
    pub policy: Policy,
    pub agent: String,
    pub server: String,
    /// This gateway's ledger, open for the whole session: a call waits for its
    /// entry to be durable (one append, group-committed), not for a ledger to be
    /// opened and a checkpoint signed. The ledger signs every second, and once
    /// more when the gateway stops.
    pub ledger: Recorder,
}

impl Local {
    /// Loads the policy file (or the built-in policy).
    pub fn new(
        policy: Option<&Path>,
        agent: String,
        server: String,
        ledger: PathBuf,
    ) -> anyhow::Result<Local> {
        let (name, source) = match policy {
            Some(p) => (
                p.display().to_string(),
                std::fs::read_to_string(p)
                    .map_err(|e| anyhow::anyhow!("cannot read the policy {}: {e}", p.display()))?,
            ),
            None => (
                airlock_policy::DEFAULT_POLICY_FILE.to_owned(),
                airlock_policy::DEFAULT_POLICY_YAML.to_owned(),
            ),
        };
        let loaded = Policy::load(&name, &source, jiff::Timestamp::now())?;
        for w in &loaded.warnings {
            eprintln!("{}", w.render(&name));
        }
        Ok(Local {
            policy: loaded.policy,
            agent,
            ledger: session_ledger(&ledger, &server)?,
            server,
        })
    }

    fn decision(&self, call: &ToolCall) -> (airlock_model::Action, Decision) {
        let raw = RawCall::Mcp(McpCall {
            name: call.name.to_owned(),
            arguments: call.arguments.clone(),
            tool: call.listing.cloned(),
            server: Some(self.server.clone()),
            meta: None,
        });
        let who = Who {
            agent: self.agent.clone(),
            ..Who::default()
        };
        let action = airlock_classify::classify(&raw, &PolicyTools(&self.policy)).into_action(who);
        let decision = self.policy.decide(&action, jiff::Timestamp::now());
        (action, decision)
    }
}

impl Decider for Local {
    fn decide(&self, call: &ToolCall, _: &mut dyn FnMut(&Hold)) -> anyhow::Result<Verdict> {
        let (action, decision) = self.decision(call);
        let (verdict, status) = match decision.decision {
            Tier::Allow | Tier::Log => (Verdict::Forward, "allowed"),
            Tier::Deny => (Verdict::Deny(with_rules(&decision)), "denied"),
            Tier::Approve => (
                Verdict::Deny(format!(
                    "{} It needs human approval, and this gateway has no airlock service to hold it: a human must approve it through an airlock service (run `airlock mcp` with AIRLOCK_SERVER and AIRLOCK_AGENT_KEY set), or do without this call.",
                    with_rules(&decision)
                )),
                "denied",
            ),
        };
        let now = jiff::Timestamp::now();
        let entry = Entry::new(
            now.as_millisecond(),
            &format!("mcp:{}", self.server),
            "local",
            Event::Decision(Box::new(DecisionEntry::of(
                "",
                &raw_call(&self.server, call).to_string(),
                action,
                &decision,
                status,
                None,
            ))),
        );
        self.ledger
            .ledger()
            .append(entry.to_bytes()?)
            .wait()
            .map_err(|e| {
                anyhow::anyhow!("the gateway's ledger cannot record this decision: {e}")
            })?;
        Ok(verdict)
    }

    fn always_denied(&self, name: &str, listing: &Value) -> bool {
        let empty = Map::new();
        let call = ToolCall {
            name,
            arguments: &empty,
            listing: Some(listing),
        };
        let (_, decision) = self.decision(&call);
        let effect_fixed = self.policy.mcp_tool_effect(&self.server, name).is_some();
        decision.decision == Tier::Deny
            && decision
                .rules
                .iter()
                .any(|r| self.policy.rule_is_argument_free(r, effect_fixed))
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        // A last checkpoint, so that the ledger left behind vouches for every entry.
        let _ = self.ledger.ledger().sign_checkpoint().wait();
    }
}

/// The gateway's own ledger, `home/mcp/SERVER`, with its key beside it. One writer
/// per ledger: a second gateway for the same server, running at the same time,
/// keeps its own (`home/mcp/SERVER-PID`). `airlock audit verify` checks each.
fn session_ledger(home: &Path, server: &str) -> anyhow::Result<Recorder> {
    let config = airlock_server::LedgerConfig {
        gateway: format!("mcp-{server}"),
        ..Default::default()
    };
    let shared = home.join("mcp").join(server);
    std::fs::create_dir_all(&shared)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", shared.display()))?;
    match Recorder::open(&shared, &config, None) {
        Ok(r) => Ok(r),
        Err(e) if format!("{e:#}").contains("lock") => {
            let own = home
                .join("mcp")
                .join(format!("{server}-{}", std::process::id()));
            std::fs::create_dir_all(&own)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", own.display()))?;
            Recorder::open(&own, &config, None)
        }
        Err(e) => Err(e.context("the gateway's ledger cannot be opened")),
    }
}

/// The decision's reason, naming the deciding rules unless it already does.
/// Ends with a full stop, so that a sentence can follow.
fn with_rules(d: &Decision) -> String {
    let named = d.rules.iter().all(|r| d.reason.contains(r.as_str()));
    let mut reason = if named || d.rules.is_empty() {
        d.reason.trim_end().to_owned()
    } else {
        format!("{} (rule {})", d.reason.trim_end(), d.rules.join(", "))
    };
    if !reason.ends_with(['.', '!', '?']) {
        reason.push('.');
    }
    reason
}

/// The local ledger's directory: `~/.airlock` unless given.
pub fn ledger_home(dir: Option<&Path>, env_hint: &str) -> anyhow::Result<PathBuf> {
    if let Some(dir) = dir {
        return Ok(dir.to_path_buf());
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            anyhow::anyhow!("no HOME for the local ledger: set {env_hint} to a directory")
        })?;
    Ok(Path::new(&home).join(".airlock"))
}

/// Appends the entry to `home/ledger` and signs a checkpoint covering it. Several
/// processes may record at once (parallel hooks, several gateways); the ledger
/// takes one writer, so a busy ledger is waited for (up to 5 s) before it counts
/// as a failure.
pub fn record_locally(home: &Path, entry: &Entry) -> anyhow::Result<()> {
    let config = airlock_server::LedgerConfig {
        gateway: "local".into(),
        ..Default::default()
    };
    let give_up = Instant::now() + Duration::from_secs(5);
    let recorder = loop {
        match airlock_server::Recorder::open(home, &config, None) {
            Ok(r) => break r,
            Err(e) if Instant::now() < give_up && format!("{e:#}").contains("lock") => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e.context("the local ledger cannot record this decision")),
        }
    };
    let bytes = entry.to_bytes()?;
    let ledger = recorder.ledger();
    ledger
        .append(bytes)
        .wait()
        .map_err(|e| anyhow::anyhow!("the local ledger cannot record this decision: {e}"))?;
    ledger
        .sign_checkpoint()
        .wait()
        .map_err(|e| anyhow::anyhow!("the local ledger cannot sign: {e}"))?;
    Ok(())
}
