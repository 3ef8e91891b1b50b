//! `airlock hook AGENT`: a coding agent's pre-tool hook. The agent's payload comes
//! on stdin; the verdict goes back in the agent's own format (`airlock-hooks`).
//!
//! - **With a service** (`AIRLOCK_SERVER` and the agent's key in
//!   `AIRLOCK_AGENT_KEY`): the call is decided by `POST /v1/actions`. A call held
//!   for approval is waited on (long poll) until shortly before the hook's own
//!   timeout; approved, it is resubmitted with its approval and goes through;
//!   otherwise it is denied, the reason naming the approval request so that a
//!   human can approve it and the agent retry.
//! - **Without one**: decided here, with `--policy FILE` (or `AIRLOCK_POLICY`) or
//!   the built-in default policy; a hold becomes "ask" (the local user decides)
//!   where the agent can ask, and every decision is appended to a local ledger
//!   (`AIRLOCK_HOOK_LEDGER`, default `~/.airlock`), signed before the hook answers.
//!
//! Fail closed: an unreadable payload, a service that does not answer in time, a
//! ledger that cannot record: each is a denial, never a silent allow.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use airlock_audit::{DecisionEntry, Entry, Event, Recorded, sha256_hex};
use airlock_classify::RawCall;
use airlock_hooks::{Agent, Verdict};
use airlock_model::{Tier, Who};
use airlock_policy::Policy;
use airlock_server::PolicyTools;
use serde_json::Value;

/// Largest payload read from stdin.
const MAX_PAYLOAD: u64 = 1 << 20;

#[derive(clap::Args, Debug)]
pub struct HookArgs {
    /// The agent whose hook this is: claude-code, cursor, codex, gemini, kiro.
    agent: String,
    /// Policy file for deciding here, without a service [default: the built-in policy].
    #[arg(long, env = "AIRLOCK_POLICY")]
    policy: Option<PathBuf>,
    /// The agent's name in decisions made here (the service knows it from its key).
    #[arg(long = "as", env = "AIRLOCK_AGENT")]
    agent_name: Option<String>,
    /// The airlock service to ask; without it, decisions are made here.
    #[arg(long, env = "AIRLOCK_SERVER")]
    server: Option<String>,
    /// The agent's key for the service.
    #[arg(long, env = "AIRLOCK_AGENT_KEY", hide_env_values = true)]
    key: Option<String>,
    /// How long the hook may take in all, in seconds: keep it below the agent's own
    /// hook timeout (Claude Code: 60 s), so that a held call is denied by airlock,
    /// with a reason, rather than cut off by the agent.
    #[arg(long, env = "AIRLOCK_HOOK_TIMEOUT", default_value_t = 50)]
    timeout: u64,
    /// The local ledger's directory, without a service [default: ~/.airlock].
    #[arg(long, env = "AIRLOCK_HOOK_LEDGER")]
    ledger: Option<PathBuf>,
}

pub fn run(args: HookArgs) -> anyhow::Result<ExitCode> {
    let Some(agent) = airlock_hooks::Agent::parse(&args.agent) else {
        let names: Vec<&str> = airlock_hooks::AGENTS.iter().map(|(n, _)| *n).collect();
        anyhow::bail!(
            "unknown agent `{}`: one of {}",
            args.agent,
            names.join(", ")
        );
    };
    let started = Instant::now();
    let verdict = decide(agent, &args, started).unwrap_or_else(|e| {
        Verdict::Deny(format!(
            "airlock could not decide this call ({e:#}), so it is denied; ask a human"
        ))
    });
    let reply = airlock_hooks::reply(agent, &verdict);
    // A reply that cannot be written is the agent's failure to read; exit 2 still
    // blocks where the agent fails closed.
    let wrote = std::io::stdout()
        .write_all(reply.stdout.as_bytes())
        .and_then(|()| std::io::stdout().flush());
    let _ = std::io::stderr().write_all(reply.stderr.as_bytes());
    Ok(ExitCode::from(if wrote.is_err() { 2 } else { reply.exit }))
}

fn decide(agent: Agent, args: &HookArgs, started: Instant) -> anyhow::Result<Verdict> {
    let mut raw = String::new();
    std::io::stdin()
        .take(MAX_PAYLOAD + 1)
        .read_to_string(&mut raw)
        .map_err(|e| anyhow::anyhow!("cannot read the hook payload on stdin: {e}"))?;
    if raw.len() as u64 > MAX_PAYLOAD {
        anyhow::bail!("the hook payload is over 1 MiB");
    }
    let payload: Value = serde_json::from_str(&raw)
        .map_err(|e| anyhow::anyhow!("the hook payload is not JSON: {e}"))?;
    let call = airlock_hooks::normalize(agent, &payload)?;
    let budget = Duration::from_secs(args.timeout.max(1));
    match (&args.server, &args.key) {
        (Some(server), Some(key)) if !server.is_empty() => {
            ask_service(server, key, &call, started + budget)
        }
        (Some(server), _) if !server.is_empty() => {
            anyhow::bail!("AIRLOCK_SERVER is {server} but no agent key is set (AIRLOCK_AGENT_KEY)")
        }
        _ => decide_here(agent, args, call),
    }
}

/// The service decides; a hold is waited on until `deadline`.
fn ask_service(
    server: &str,
    key: &str,
    call: &Value,
    deadline: Instant,
) -> anyhow::Result<Verdict> {
    let base = server.trim_end_matches('/');
    let body = call.to_string();
    let answer = post(base, key, "/v1/actions", &body, deadline)?;
    let id = answer["id"].as_str().unwrap_or("").to_owned();
    let reason = || {
        answer["decision"]["reason"]
            .as_str()
            .unwrap_or("no reason given")
            .to_owned()
    };
    match answer["status"].as_str() {
        Some("allowed" | "consumed") => Ok(Verdict::Allow(reason())),
        Some("denied") => Ok(Verdict::Deny(reason())),
        Some("pending") => wait_for_approval(base, key, &id, &body, deadline, &reason()),
        other => anyhow::bail!("the service answered an unknown status {other:?}"),
    }
}

fn wait_for_approval(
    base: &str,
    key: &str,
    id: &str,
    body: &str,
    deadline: Instant,
    reason: &str,
) -> anyhow::Result<Verdict> {
    // Leave a second to resubmit and answer before the agent's own timeout.
    let answer_by = deadline
        .checked_sub(Duration::from_secs(1))
        .unwrap_or(deadline);
    loop {
        let left = answer_by.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(Verdict::Deny(format!(
                "held for approval as {id} ({reason}); not approved in time. Ask a human to approve it (`airlock approvals approve {id}`), then retry the same call"
            )));
        }
        let wait = left.as_secs().clamp(1, 30);
        let status = get(
            base,
            key,
            &format!("/v1/actions/{id}?wait={wait}s"),
            deadline,
        )?;
        match status["status"].as_str() {
            Some("pending") => continue,
            Some("approved") => {
                let used = post(
                    base,
                    key,
                    &format!("/v1/actions?approval={id}"),
                    body,
                    deadline,
                )?;
                return Ok(match used["status"].as_str() {
                    Some("consumed" | "allowed") => Verdict::Allow(format!(
                        "approved ({})",
                        status["resolution"].as_str().unwrap_or("by the approvers")
                    )),
                    _ => Verdict::Deny(format!(
                        "approved as {id}, but the approval could not be used: {}",
                        used["error"]
                            .as_str()
                            .or(used["decision"]["reason"].as_str())
                            .unwrap_or("refused")
                    )),
                });
            }
            Some(s) => {
                return Ok(Verdict::Deny(format!(
                    "held for approval as {id}, then {s}: {}",
                    status["resolution"].as_str().unwrap_or(reason)
                )));
            }
            None => anyhow::bail!("the service answered without a status: {status}"),
        }
    }
}

fn http(deadline: Instant) -> ureq::Agent {
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

fn post(base: &str, key: &str, path: &str, body: &str, deadline: Instant) -> anyhow::Result<Value> {
    let mut r = http(deadline)
        .post(&format!("{base}{path}"))
        .header("Authorization", &format!("Bearer {key}"))
        .header("Content-Type", "application/json")
        .send(body)
        .map_err(|e| anyhow::anyhow!("the airlock service at {base} did not answer: {e}"))?;
    read_answer(base, path, &mut r)
}

fn get(base: &str, key: &str, path: &str, deadline: Instant) -> anyhow::Result<Value> {
    let mut r = http(deadline)
        .get(&format!("{base}{path}"))
        .header("Authorization", &format!("Bearer {key}"))
        .call()
        .map_err(|e| anyhow::anyhow!("the airlock service at {base} did not answer: {e}"))?;
    read_answer(base, path, &mut r)
}

fn read_answer(
    base: &str,
    path: &str,
    r: &mut ureq::http::Response<ureq::Body>,
) -> anyhow::Result<Value> {
    let status = r.status().as_u16();
    let text = r
        .body_mut()
        .with_config()
        .limit(4 << 20)
        .read_to_string()
        .map_err(|e| anyhow::anyhow!("reading the answer of {base}{path}: {e}"))?;
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

/// Decided here, with the policy given or the built-in one, and recorded in the
/// local ledger before the answer.
fn decide_here(agent: Agent, args: &HookArgs, call: Value) -> anyhow::Result<Verdict> {
    let policy = match &args.policy {
        Some(p) => {
            let src = std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("cannot read the policy {}: {e}", p.display()))?;
            Policy::load(&p.display().to_string(), &src, jiff::Timestamp::now())?.policy
        }
        None => Policy::builtin_default()?,
    };
    let call_json = call.to_string();
    let raw = RawCall::from_value(call).map_err(|e| anyhow::anyhow!("{}", e.0))?;
    let who = Who {
        agent: args
            .agent_name
            .clone()
            .unwrap_or_else(|| agent.name().to_owned()),
        ..Who::default()
    };
    let action = airlock_classify::classify(&raw, &PolicyTools(&policy)).into_action(who);
    let now = jiff::Timestamp::now();
    let decision = policy.decide(&action, now);
    let (verdict, status) = match decision.decision {
        Tier::Allow | Tier::Log => (Verdict::Allow(decision.reason.clone()), "allowed"),
        Tier::Deny => (Verdict::Deny(decision.reason.clone()), "denied"),
        Tier::Approve if agent.can_ask() => (
            Verdict::Ask(format!("airlock: {} Allow it?", decision.reason)),
            "asked",
        ),
        Tier::Approve => (
            Verdict::Deny(format!(
                "{} This agent cannot ask its user, and no airlock service is configured to hold it for approval, so it is denied.",
                decision.reason
            )),
            "denied",
        ),
    };
    let entry = Entry::new(
        now.as_millisecond(),
        &format!("hook:{}", agent.name()),
        "local",
        Event::Decision(Box::new(DecisionEntry {
            id: String::new(),
            agent: action.who.agent.clone(),
            operator: action.who.operator.clone(),
            call_digest: sha256_hex(call_json.as_bytes()),
            action: Recorded::Action(Box::new(action)),
            policy: decision.policy.version.clone(),
            decision: decision.decision,
            rules: decision.rules.clone(),
            reason: decision.reason.clone(),
            status: status.to_owned(),
            approval: None,
        })),
    );
    record_locally(&ledger_home(args)?, &entry)?;
    Ok(verdict)
}

fn ledger_home(args: &HookArgs) -> anyhow::Result<PathBuf> {
    if let Some(dir) = &args.ledger {
        return Ok(dir.clone());
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            anyhow::anyhow!("no HOME for the local ledger: set AIRLOCK_HOOK_LEDGER to a directory")
        })?;
    Ok(Path::new(&home).join(".airlock"))
}

/// Appends the entry to `home/ledger` and signs a checkpoint covering it. Hooks of
/// parallel tool calls run at once; the ledger takes one writer, so a busy ledger
/// is waited for (up to 5 s) before it counts as a failure.
fn record_locally(home: &Path, entry: &Entry) -> anyhow::Result<()> {
    let config = airlock_server::LedgerConfig {
        gateway: "local".into(),
        ..Default::default()
    };
    let give_up = Instant::now() + Duration::from_secs(5);
    let recorder = loop {
        match airlock_server::Recorder::open(home, &config) {
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
