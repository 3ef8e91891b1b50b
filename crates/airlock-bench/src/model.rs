//! What the peer engines are given, and a plain reference evaluator of the
//! generated rules.
//!
//! Cedar and Rego are not asked to place targets: the host does it (as an
//! application feeding Cedar its entity attributes would) with
//! [`crate::catalog::env_of_target`] and [`crate::catalog::zone_of_kind`], ahead of
//! the timed loop. airlock places targets itself, inside the timed call. The
//! comparison is therefore tilted towards the peers.

use airlock_model::{Action, Effect, Tier};

use crate::catalog::{Env, env_of_target, zone_of_kind};
use crate::rules::{GenRule, Generated};

/// One target, placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedTarget {
    pub env: Env,
    /// Index into [`crate::catalog::ZONES`]; `None` when no zone takes the kind.
    pub zone: Option<usize>,
    pub service: Option<String>,
}

/// An Action as the peers see it: names lowercased where matching ignores case,
/// targets placed, and one unplaced target when the action has none (as airlock
/// does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInput {
    pub agent: String,
    pub team: Option<String>,
    pub tool: String,
    pub op: String,
    pub effect: Effect,
    pub bulk: bool,
    pub targets: Vec<PlacedTarget>,
}

pub fn peer_input(a: &Action) -> PeerInput {
    let mut targets: Vec<PlacedTarget> = a
        .targets
        .iter()
        .map(|t| PlacedTarget {
            env: env_of_target(&t.kind, &t.name),
            zone: zone_of_kind(&t.kind.to_ascii_lowercase()),
            service: t.labels.get("service").cloned(),
        })
        .collect();
    if targets.is_empty() {
        targets.push(PlacedTarget {
            env: Env::Production,
            zone: None,
            service: None,
        });
    }
    PeerInput {
        agent: a.who.agent.clone(),
        team: a.who.labels.get("team").cloned(),
        tool: a.what.tool.to_ascii_lowercase(),
        op: a.what.operation.to_ascii_lowercase(),
        effect: a.what.effect,
        bulk: a.what.bulk,
        targets,
    }
}

fn fits(r: &GenRule, t: &PlacedTarget) -> bool {
    (r.envs.is_empty() || r.envs.contains(&t.env))
        && (r.zones.is_empty() || t.zone.is_some_and(|z| r.zones.contains(&z)))
        && r.service
            .as_ref()
            .is_none_or(|s| t.service.as_ref() == Some(s))
}

pub fn rule_matches(r: &GenRule, i: &PeerInput) -> bool {
    r.effects.contains(&i.effect)
        && r.team.as_ref().is_none_or(|t| i.team.as_ref() == Some(t))
        && r.agent.as_ref().is_none_or(|a| *a == i.agent)
        && r.tool
            .as_ref()
            .is_none_or(|t| t.eq_ignore_ascii_case(&i.tool))
        && (r.ops.is_empty() || r.ops.iter().any(|p| p.matches(&i.op)))
        && (!r.bulk || i.bulk)
        && (!r.per_target()
            || if r.strict() {
                i.targets.iter().any(|t| fits(r, t))
            } else {
                i.targets.iter().all(|t| fits(r, t))
            })
}

/// The strictest tier among matching rules; deny when none matches; an unknown
/// effect never ends below `approve`.
pub fn combine(tiers: impl IntoIterator<Item = Tier>, effect: Effect) -> Tier {
    let tier = tiers.into_iter().max().unwrap_or(Tier::Deny);
    if effect == Effect::Unknown {
        tier.max(Tier::Approve)
    } else {
        tier
    }
}

/// The decision by brute force over the generated rules: the reference the three
/// engines are checked against when they disagree.
pub fn reference_tier(g: &Generated, i: &PeerInput) -> Tier {
    combine(
        g.rules
            .iter()
            .filter(|r| rule_matches(r, i))
            .map(|r| r.tier),
        i.effect,
    )
}
