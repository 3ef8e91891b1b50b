use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One thing an agent is about to do, normalised from a raw tool call.
///
/// Unknown fields are rejected: a typo such as `"efect"` must never silently turn into
/// a default value on a security decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// Caller-chosen identifier, echoed in the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Who is acting.
    pub who: Who,
    /// What the action does.
    pub what: What,
    /// What it acts on. An action with no target is placed as if it had one target
    /// that matches nothing (so it lands in the policy's `unplaced` environment).
    #[serde(default)]
    pub targets: Vec<Target>,
    /// How much it touches.
    #[serde(default)]
    pub magnitude: Magnitude,
    /// The agent's own account of why. Optional on input, always carried through.
    #[serde(default)]
    pub why: Why,
}

/// The acting agent: a non-human identity.
///
/// When the agent is listed in the policy's inventory, the inventory's labels,
/// operator, roles and zone are used and whatever the caller claims here is ignored:
/// an agent cannot grant itself a role.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Who {
    /// Tenant the agent belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The agent's identifier (a non-human identity).
    pub agent: String,
    /// Labels describing the agent (team, kind, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The human the agent acts for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Roles the agent holds. Ignored for agents listed in the policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Zone the agent runs in (e.g. `ai-tooling`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// The agent's working directory; files inside it can be placed in development.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
}

/// What the action does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct What {
    /// The tool used (`aws`, `bash`, `kubectl`, `mcp:github`, ...).
    pub tool: String,
    /// The operation within the tool (`cloudformation:DeleteStack`, `rm`, ...).
    #[serde(default)]
    pub operation: String,
    /// The strongest effect the action has.
    pub effect: Effect,
    /// True when the action is unbounded: DELETE without WHERE, `--all`, recursive.
    #[serde(default)]
    pub bulk: bool,
}

/// What an action does to the world, ordered `read < write < delete < permissions`.
///
/// `Unknown` stands outside that order: the classifier could not tell, so the policy
/// must treat it as possibly anything.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    Read,
    Write,
    Delete,
    Permissions,
    Unknown,
}

impl Effect {
    /// Every effect, in order.
    pub const ALL: [Effect; 5] = [
        Effect::Read,
        Effect::Write,
        Effect::Delete,
        Effect::Permissions,
        Effect::Unknown,
    ];

    /// The effect's name as written in policies and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Read => "read",
            Effect::Write => "write",
            Effect::Delete => "delete",
            Effect::Permissions => "permissions",
            Effect::Unknown => "unknown",
        }
    }

    /// Bit of this effect in an [`EffectSet`].
    pub const fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// True for the ordered effects at or above `floor`. `Unknown` is never "at or
    /// above" anything by this test; callers decide how to treat it.
    pub fn at_least(self, floor: Effect) -> bool {
        self != Effect::Unknown && floor != Effect::Unknown && self >= floor
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of effects as a bit mask: cheap to copy and to test on the decision path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EffectSet(u8);

impl EffectSet {
    pub const EMPTY: EffectSet = EffectSet(0);
    pub const ALL: EffectSet = EffectSet(0b1_1111);

    pub fn contains(self, effect: Effect) -> bool {
        self.0 & effect.bit() != 0
    }

    pub fn insert(&mut self, effect: Effect) {
        self.0 |= effect.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when every effect in `self` is also in `other`.
    pub fn is_subset(self, other: EffectSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Effect> {
        Effect::ALL.into_iter().filter(move |e| self.contains(*e))
    }
}

impl FromIterator<Effect> for EffectSet {
    fn from_iter<I: IntoIterator<Item = Effect>>(iter: I) -> Self {
        let mut set = EffectSet::EMPTY;
        for e in iter {
            set.insert(e);
        }
        set
    }
}

/// Something an action touches: a cloud resource, a database, a file, a namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Kind of resource, namespaced by provider: `aws:cloudformation:stack`,
    /// `k8s:deployment`, `db:table`, `file`, `environment`.
    #[serde(default)]
    pub kind: String,
    /// Name, ARN or identifier of the resource.
    #[serde(default)]
    pub name: String,
    /// Filesystem path, for files and directories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Kubernetes namespace, database schema, or similar scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Cloud account, project or subscription id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Cloud region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// CLI profile or context the call runs under (`--profile prod`, kube context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Host of a database or service URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Environment the caller believes the target is in. The policy's placement wins
    /// when it is stricter; see the policy documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Zone the caller believes the target is in. Used only when the policy's zone
    /// placement matches nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Free-form labels (tags) on the resource.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// How much an action touches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Magnitude {
    /// Number of resources affected (rows, objects, cloud resources). Absent means
    /// "not known", which size limits treat as 1 per target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<u64>,
    /// Estimated cost impact in US dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// True when the action cannot be undone.
    #[serde(default)]
    pub irreversible: bool,
}

/// The agent's stated intent: shown to approvers, recorded in the ledger.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Why {
    /// Why the agent wants to do this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Other approaches the agent considered, and why it rejected them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<String>,
    /// How the action would be undone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<String>,
}

impl Action {
    /// The number of resources the action affects, counting one per target when the
    /// caller did not say (and at least one).
    pub fn resources_affected(&self) -> u64 {
        self.magnitude
            .resources
            .unwrap_or(self.targets.len() as u64)
            .max(1)
    }

    /// True when the agent gave no (non-blank) reason.
    pub fn reason_missing(&self) -> bool {
        self.why
            .reason
            .as_deref()
            .is_none_or(|r| r.trim().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effects_order_read_write_delete_permissions() {
        assert!(Effect::Read < Effect::Write);
        assert!(Effect::Write < Effect::Delete);
        assert!(Effect::Delete < Effect::Permissions);
        assert!(Effect::Permissions.at_least(Effect::Write));
        assert!(!Effect::Read.at_least(Effect::Write));
        assert!(!Effect::Unknown.at_least(Effect::Read));
    }

    #[test]
    fn unknown_fields_in_an_action_are_rejected() {
        let err = serde_json::from_str::<Action>(
            r#"{"who":{"agent":"a"},"what":{"tool":"t","effect":"read","efect":"x"}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `efect`"), "{err}");
    }

    #[test]
    fn minimal_action_parses_with_defaults() {
        let a: Action =
            serde_json::from_str(r#"{"who":{"agent":"a"},"what":{"tool":"t","effect":"delete"}}"#)
                .unwrap();
        assert_eq!(a.what.effect, Effect::Delete);
        assert!(a.targets.is_empty());
        assert_eq!(a.resources_affected(), 1);
        assert!(a.reason_missing());
    }

    #[test]
    fn effect_set_operations() {
        let s: EffectSet = [Effect::Write, Effect::Delete].into_iter().collect();
        assert!(s.contains(Effect::Write));
        assert!(!s.contains(Effect::Read));
        assert!(s.is_subset(EffectSet::ALL));
        assert!(!EffectSet::ALL.is_subset(s));
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![Effect::Write, Effect::Delete]
        );
    }
}
