//! Turning a verdict into words: the decision's rule ids, its one-sentence reason,
//! approval requirements, and the `--explain` trace. Only called when asked for, so
//! the decision path itself builds no strings.

use std::fmt::Write as _;

use airlock_model::{
    Action, ApprovalRequirement, ApprovalRule, Decision, Effect, Mode, Observed, Placement, Tier,
};

use crate::Policy;
use crate::compile::Compiled;
use crate::engine::{self, Decider, Facts, Verdict};

pub(crate) fn decider_id(p: &Compiled, d: Decider) -> String {
    match d {
        Decider::Rule(i) => p.rules[i as usize].id.clone(),
        Decider::Exception(i) => format!("exception:{}", p.exceptions[i as usize].id),
        Decider::DefaultDeny => "airlock:default-deny".into(),
        Decider::UnlistedAgent => "airlock:unlisted-agent".into(),
        Decider::NotGranted => "airlock:not-granted".into(),
        Decider::UnknownEffect => "airlock:unknown-effect".into(),
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// "deleting 12 resources in production", "changing aws:s3:bucket logs in staging".
fn subject(p: &Compiled, a: &Action, v: &Verdict) -> String {
    let verb = match a.what.effect {
        Effect::Read => "reading",
        Effect::Write => "changing",
        Effect::Delete => "deleting",
        Effect::Permissions => "changing permissions on",
        Effect::Unknown => "an action of unknown effect on",
    };
    let n = a.resources_affected();
    let object = if n > 1 {
        plural(n, "resource", "resources")
    } else if let Some(t) = a.targets.first() {
        let name = if t.name.is_empty() {
            t.path.as_deref().unwrap_or("")
        } else {
            &t.name
        };
        match (t.kind.is_empty(), name.is_empty()) {
            (false, false) => format!("{} {}", t.kind, name),
            (false, true) => t.kind.clone(),
            (true, false) => name.to_owned(),
            (true, true) => "an unnamed target".into(),
        }
    } else {
        let (tool, op) = (a.what.tool.as_str(), a.what.operation.as_str());
        // `ls` rather than `ls ls`: an operation that already names its tool (or
        // is all there is) stands alone.
        if op.is_empty() {
            format!("`{tool}`")
        } else if tool.is_empty() || op == tool || op.starts_with(&format!("{tool} ")) {
            format!("`{op}`")
        } else {
            format!("`{tool} {op}`")
        }
    };
    let mut envs: Vec<&str> = Vec::new();
    for pl in &v.placements {
        let e = p.envs[pl.env as usize].name.as_str();
        if !envs.contains(&e) {
            envs.push(e);
        }
    }
    let bulk = if a.what.bulk { " (unbounded)" } else { "" };
    format!("{verb} {object}{bulk} in {}", envs.join(" and "))
}

fn approvals_phrase(reqs: &[ApprovalRule]) -> String {
    let parts: Vec<String> = reqs
        .iter()
        .map(|r| {
            format!(
                "{} from {}",
                plural(u64::from(r.approvals), "approval", "approvals"),
                r.group
            )
        })
        .collect();
    parts.join(" and ")
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn approval_requirement(p: &Compiled, v: &Verdict) -> Option<ApprovalRequirement> {
    if v.tier != Tier::Approve {
        return None;
    }
    let mut reqs: Vec<ApprovalRule> = Vec::new();
    let mut timeout = u64::MAX;
    for d in &v.deciders {
        let (rule, approval) = match *d {
            Decider::Rule(i) => {
                let r = &p.rules[i as usize];
                (r.id.clone(), r.approval.as_ref())
            }
            Decider::UnknownEffect => (decider_id(p, *d), p.default_approval.as_ref()),
            _ => continue,
        };
        // Without configured approvals (only possible for the unknown-effect floor
        // with no defaults), one approval within an hour from `approvers`.
        let (count, group, secs) = approval.map_or((1, "approvers".to_owned(), 3600), |a| {
            (a.count, a.group.clone(), a.timeout_secs)
        });
        timeout = timeout.min(secs);
        // Approvals from one group satisfy every rule that asked that group, so the
        // requirements merge: the largest count, all the rules.
        match reqs.iter_mut().find(|r| r.group == group) {
            Some(r) => {
                r.approvals = r.approvals.max(count);
                r.rules.push(rule);
            }
            None => reqs.push(ApprovalRule {
                group,
                approvals: count,
                rules: vec![rule],
            }),
        }
    }
    Some(ApprovalRequirement {
        requirements: reqs,
        timeout_seconds: if timeout == u64::MAX { 3600 } else { timeout },
        on_timeout: Tier::Deny,
    })
}

fn reason(pol: &Policy, a: &Action, v: &Verdict, approval: &Option<ApprovalRequirement>) -> String {
    let p = &pol.compiled;
    let subj = subject(p, a, v);
    let ids: Vec<String> = v.deciders.iter().map(|d| decider_id(p, *d)).collect();
    let by = |ids: &[String]| {
        let word = if ids.len() == 1 { "rule" } else { "rules" };
        format!("({word} {})", ids.join(", "))
    };
    let mut messages: Vec<&str> = Vec::new();
    for d in &v.deciders {
        if let Decider::Rule(i) = d
            && let Some(m) = p.rules[*i as usize].message.as_deref()
            && !messages.contains(&m)
        {
            messages.push(m);
        }
    }
    let advice = if messages.is_empty() {
        String::new()
    } else {
        format!(": {}", messages.join("; "))
    };
    let first = v.deciders.first().copied().unwrap_or(Decider::DefaultDeny);
    let sentence = match first {
        Decider::UnlistedAgent => format!(
            "agent `{}` is not in the policy's inventory and unlisted agents are denied; register it under `agents:` with the roles it needs ({})",
            a.who.agent,
            ids.join(", ")
        ),
        Decider::DefaultDeny => format!(
            "no rule allows {subj} (default deny); ask a human to do it, or to add a rule that allows it"
        ),
        Decider::NotGranted if v.deciders.len() == 1 => {
            let agent = engine::resolve_agent(p, a);
            let roles: Vec<&str> = agent
                .roles
                .iter()
                .map(|r| p.roles[*r as usize].name.as_str())
                .collect();
            let held = if roles.is_empty() {
                "no roles".to_owned()
            } else {
                format!("roles {}", roles.join(", "))
            };
            format!(
                "agent `{}` ({held}) is not granted {subj}; escalate to a human instead of trying another way (airlock:not-granted)",
                a.who.agent
            )
        }
        Decider::UnknownEffect => {
            let reqs = approval
                .as_ref()
                .map(|r| approvals_phrase(&r.requirements))
                .unwrap_or_default();
            if v.tier == Tier::Deny {
                format!(
                    "{subj} is denied because airlock cannot tell what `{}` does (airlock:unknown-effect)",
                    a.what.tool
                )
            } else {
                format!(
                    "{subj} needs {reqs} because airlock cannot tell what `{}` does (airlock:unknown-effect)",
                    a.what.tool
                )
            }
        }
        Decider::Exception(i) if v.deciders.len() == 1 => {
            let x = &p.exceptions[i as usize];
            let how = if v.tier == Tier::Log {
                "allowed and logged"
            } else {
                "allowed"
            };
            format!(
                "{subj} is {how} under exception {} (ticket {}, until {})",
                x.id, x.ticket, x.expires_text
            )
        }
        _ => match v.tier {
            Tier::Deny => format!("{subj} is denied {}{advice}", by(&ids)),
            Tier::Approve => {
                let reqs = approval
                    .as_ref()
                    .map(|r| approvals_phrase(&r.requirements))
                    .unwrap_or_default();
                format!("{subj} needs {reqs} {}{advice}", by(&ids))
            }
            Tier::Log => format!(
                "{subj} is allowed and logged for spot checks {}{advice}",
                by(&ids)
            ),
            Tier::Allow => format!("{subj} is allowed {}{advice}", by(&ids)),
        },
    };
    capitalise(&sentence)
}

pub(crate) fn render(pol: &Policy, a: &Action, v: &Verdict) -> Decision {
    let p = &pol.compiled;
    let approval = approval_requirement(p, v);
    let reason = reason(pol, a, v, &approval);
    let observed: Vec<Observed> = v
        .observed
        .iter()
        .map(|(i, would)| {
            let r = &p.rules[*i as usize];
            Observed {
                rule: r.id.clone(),
                mode: r.mode,
                would: *would,
            }
        })
        .collect();
    let alerts = observed
        .iter()
        .filter(|o| o.mode == Mode::Alert)
        .map(|o| o.rule.clone())
        .collect();
    let placements = v
        .placements
        .iter()
        .enumerate()
        .map(|(i, pl)| {
            let target = a
                .targets
                .get(i)
                .map(|t| {
                    if t.name.is_empty() {
                        t.path.clone().unwrap_or_default()
                    } else {
                        t.name.clone()
                    }
                })
                .unwrap_or_default();
            Placement {
                target,
                environment: p.envs[pl.env as usize].name.clone(),
                zone: pl.zone.map(|z| p.zones[z as usize].name.clone()),
                by: pl.by.as_str().to_owned(),
            }
        })
        .collect();
    Decision {
        id: a.id.clone(),
        decision: v.tier,
        rules: v.deciders.iter().map(|d| decider_id(p, *d)).collect(),
        reason,
        observed,
        alerts,
        exceptions: v
            .exceptions
            .iter()
            .map(|i| p.exceptions[*i as usize].id.clone())
            .collect(),
        approval,
        effect: a.what.effect,
        placements,
        policy: pol.policy_ref(),
    }
}

/// The slow, complete account for `--explain`: every rule is evaluated, not only the
/// index's candidates, so the trace also shows that the index missed nothing.
pub(crate) fn trace(pol: &Policy, a: &Action, now: i64) -> String {
    let p = &pol.compiled;
    let v = engine::evaluate(p, a, now);
    let d = render(pol, a, &v);
    let mut out = String::new();
    let agent = engine::resolve_agent(p, a);
    let _ = writeln!(
        out,
        "action {}: agent {} ({}) runs {} {} [effect {}{}]",
        a.id.as_deref().unwrap_or("-"),
        a.who.agent,
        if agent.listed { "listed" } else { "unlisted" },
        a.what.tool,
        a.what.operation,
        a.what.effect,
        if a.what.bulk { ", bulk" } else { "" }
    );
    for pl in &d.placements {
        let zone = pl
            .zone
            .as_deref()
            .map(|z| format!(", zone {z}"))
            .unwrap_or_default();
        let target = if pl.target.is_empty() {
            "(no target)"
        } else {
            &pl.target
        };
        let _ = writeln!(
            out,
            "  target {target}: environment {} (by {}){zone}",
            pl.environment, pl.by
        );
    }
    let placements = engine::place(p, a);
    let facts = Facts {
        action: a,
        agent,
        placements: &placements,
        now,
    };
    if facts.agent.listed {
        let ok = engine::granted(p, &facts);
        let _ = writeln!(
            out,
            "  roles: {}",
            if ok {
                "grant this action"
            } else {
                "do NOT grant this action"
            }
        );
    }
    for x in &p.exceptions {
        if x.when.matches(p, &facts) {
            let state = if x.active(now) {
                "active"
            } else {
                "inactive (outside its window)"
            };
            let _ = writeln!(
                out,
                "  exception {} (ticket {}): matches, {state}",
                x.id, x.ticket
            );
        }
    }
    let mut any = false;
    for r in &p.rules {
        if r.matches(p, &facts) {
            any = true;
            let _ = writeln!(
                out,
                "  rule {} matches: {} ({})",
                r.id,
                r.tier,
                r.mode.as_str()
            );
        }
    }
    if !any {
        let _ = writeln!(out, "  no rule matches");
    }
    let _ = writeln!(
        out,
        "  => {}: {}",
        d.decision.as_str().to_uppercase(),
        d.reason
    );
    if let Some(ap) = &d.approval {
        let _ = writeln!(
            out,
            "     expires in {}s; on timeout: deny",
            ap.timeout_seconds
        );
    }
    for o in &d.observed {
        let _ = writeln!(
            out,
            "     {} rule {} would have given {}",
            o.mode.as_str(),
            o.rule,
            o.would
        );
    }
    out
}
