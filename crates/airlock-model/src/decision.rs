use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Effect;

/// The four outcomes, ordered by strictness: `allow < log < approve < deny`.
///
/// When several rules match, the strictest wins; that ordering is the whole combining
/// algorithm.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Autonomous: the action proceeds.
    Allow,
    /// Supervised: the action proceeds, is recorded and flagged for spot checks.
    Log,
    /// Gated: the action is held until enough distinct humans approve it.
    Approve,
    /// Blocked.
    Deny,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Allow => "allow",
            Tier::Log => "log",
            Tier::Approve => "approve",
            Tier::Deny => "deny",
        }
    }

    /// `allow` and `log` let the action through; `approve` and `deny` hold or stop it.
    pub fn is_permissive(self) -> bool {
        self <= Tier::Log
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a rule is enforced: progressive enforcement, observe first, enforce last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Decided and recorded, never enforced.
    Observe,
    /// Not enforced; a match raises an alert.
    Alert,
    /// Enforced.
    #[default]
    Enforce,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Observe => "observe",
            Mode::Alert => "alert",
            Mode::Enforce => "enforce",
        }
    }
}

/// What the policy decided about one action, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Decision {
    /// The caller's action id, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The enforced outcome.
    pub decision: Tier,
    /// The rules that decided it (the matching enforced rules at the winning tier).
    /// Built-in checks appear with an `airlock:` prefix, e.g. `airlock:default-deny`.
    pub rules: Vec<String>,
    /// One plain sentence an agent or a human can act on.
    pub reason: String,
    /// What each matching non-enforcing rule (observe or alert mode) would have done.
    pub observed: Vec<Observed>,
    /// Alert-mode rules that matched: each should raise an alert.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<String>,
    /// Exceptions (change windows) that applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<String>,
    /// What is needed to approve, when the decision is `approve`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalRequirement>,
    /// The action's effect, as decided on.
    pub effect: Effect,
    /// Where each target was placed.
    pub placements: Vec<Placement>,
    /// The policy that decided.
    pub policy: PolicyRef,
}

/// A non-enforcing rule that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Observed {
    pub rule: String,
    pub mode: Mode,
    /// The tier the rule would have given had it been enforced.
    pub would: Tier,
}

/// Everything a held action needs before it may proceed. Every listed requirement
/// must be met; approvers must be distinct humans, and neither the agent nor its
/// operator. Requirements are per group: rules asking the same group merge into one
/// requirement with the largest count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApprovalRequirement {
    pub requirements: Vec<ApprovalRule>,
    /// Seconds until the request expires (the shortest timeout of the requirements).
    pub timeout_seconds: u64,
    /// What happens on expiry. Always `deny`: nobody approving means no.
    pub on_timeout: Tier,
}

/// What one group must provide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApprovalRule {
    /// The approver group.
    pub group: String,
    /// How many distinct members of it must approve.
    pub approvals: u32,
    /// The rules that asked for this group, in policy order.
    pub rules: Vec<String>,
}

/// Where a target was placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Placement {
    /// The target's name or path (empty for an action without targets).
    pub target: String,
    pub environment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// How the environment was chosen: `match`, `stated` or `unplaced`.
    pub by: String,
}

/// Which policy decided: its name and the SHA-256 of its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PolicyRef {
    pub name: String,
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_order_allow_log_approve_deny() {
        assert!(Tier::Allow < Tier::Log);
        assert!(Tier::Log < Tier::Approve);
        assert!(Tier::Approve < Tier::Deny);
        assert!(Tier::Log.is_permissive());
        assert!(!Tier::Approve.is_permissive());
    }
}
