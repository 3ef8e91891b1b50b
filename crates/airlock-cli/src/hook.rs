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
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use airlock_audit::{DecisionEntry, Entry, Event};
use airlock_classify::RawCall;
use airlock_hooks::{Agent, Verdict};
use airlock_mcp::service::Outcome;
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

/// The service decides; a hold is waited on until `deadline` (the client is
/// shared with `airlock mcp`).
fn ask_service(
    server: &str,
    key: &str,
    call: &Value,
    deadline: Instant,
) -> anyhow::Result<Verdict> {
    let service = airlock_mcp::service::Service::new(server, key);
    Ok(
        match service.ask(&call.to_string(), deadline, &mut |_| {})? {
            Outcome::Allow(reason) => Verdict::Allow(reason),
            Outcome::Deny(reason) => Verdict::Deny(reason),
        },
    )
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
        Event::Decision(Box::new(DecisionEntry::of(
            "", &call_json, action, &decision, status, None,
        ))),
    );
    airlock_mcp::decide::record_locally(&ledger_home(args)?, &entry)?;
    Ok(verdict)
}

fn ledger_home(args: &HookArgs) -> anyhow::Result<PathBuf> {
    airlock_mcp::decide::ledger_home(args.ledger.as_deref(), "AIRLOCK_HOOK_LEDGER")
}
