//! The policy file as written: serde types mirroring the YAML, with source spans kept
//! on every value a later check may need to point at.
//!
//! Nothing here interprets the policy; [`crate::check`] validates it and
//! [`crate::compile`] turns it into the indexed form the engine evaluates.

use std::collections::BTreeMap;
use std::fmt;

use airlock_model::{Effect, Mode, Tier};
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A value with its position in the policy file.
pub type S<T> = Spanned<T>;

/// The whole policy file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDoc {
    /// Language version. Only `1` exists.
    pub airlock: S<u32>,
    pub name: S<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(default)]
    pub environments: Vec<EnvironmentDef>,
    #[serde(default)]
    pub zones: Vec<ZoneDef>,
    #[serde(default)]
    pub groups: BTreeMap<String, GroupDef>,
    #[serde(default)]
    pub roles: BTreeMap<String, RoleDef>,
    #[serde(default)]
    pub agents: BTreeMap<String, AgentDef>,
    #[serde(default)]
    pub rules: Vec<RuleDef>,
    #[serde(default)]
    pub exceptions: Vec<ExceptionDef>,
    /// What the classifier may believe about MCP servers, by server name.
    #[serde(default)]
    pub mcp_servers: BTreeMap<String, McpServerDef>,
    /// Rate limits, budgets and blast-radius caps, counted by the service.
    #[serde(default)]
    pub limits: Vec<LimitDef>,
}

/// A counter over a fixed window: how many matching actions, resources or dollars
/// one agent (zone, tenant) may spend per window before the limit's tier applies.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitDef {
    pub id: S<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Which actions count (the rule conditions); every action when omitted.
    #[serde(default)]
    pub when: Option<S<MatchDef>>,
    /// Whose counter: `agent`, `zone` or `tenant`.
    pub per: S<LimitPer>,
    /// The window, e.g. `1m`, `1h`, `24h`.
    pub window: S<String>,
    #[serde(default)]
    pub max_actions: Option<S<u64>>,
    #[serde(default)]
    pub max_resources: Option<S<u64>>,
    #[serde(default)]
    pub max_cost_usd: Option<S<f64>>,
    /// What an action over the limit gets: `deny` (the default) or `approve`.
    #[serde(default)]
    pub then: Option<S<Tier>>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitPer {
    Agent,
    Zone,
    Tenant,
}

/// One MCP server: whether its own tool annotations are trusted, and the effect of
/// its tools where the operators know better than any classifier.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpServerDef {
    #[serde(default)]
    pub description: Option<String>,
    /// Use the server's `readOnlyHint`/`destructiveHint` annotations to settle tools
    /// whose names say nothing.
    #[serde(default)]
    pub trusted: bool,
    /// Tool name or glob (`get_*`) → effect. Always wins over classification.
    #[serde(default)]
    pub tools: BTreeMap<String, S<Effect>>,
}

/// Policy-wide settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Environment for targets no placement matches. Required when environments are
    /// declared, and must be the most sensitive one.
    #[serde(default)]
    pub unplaced: Option<S<String>>,
    /// Zone for targets no zone matches.
    #[serde(default)]
    pub unzoned: Option<S<String>>,
    /// The least an action of unknown effect gets: `approve` (the default) or `deny`.
    #[serde(default)]
    pub unknown_effect: Option<S<Tier>>,
    /// What happens to agents missing from the inventory.
    #[serde(default)]
    pub unlisted_agents: Option<S<UnlistedAgents>>,
    /// Approval settings for `approve` rules that do not give their own.
    #[serde(default)]
    pub approvals: Option<S<ApprovalsDef>>,
    /// Halt an agent that keeps going over its limits (a runaway loop).
    #[serde(default)]
    pub circuit_breaker: Option<S<BreakerDef>>,
    /// What an agent's first action of an operation in the most sensitive
    /// environment gets: `log` (flagged) or `approve` (held). Unset: nothing.
    #[serde(default)]
    pub first_seen: Option<S<Tier>>,
    /// Sample `log` decisions into a review queue for after-the-fact spot checks.
    #[serde(default)]
    pub spot_checks: Option<S<SpotChecksDef>>,
}

/// `sample`: the fraction (0 to 1) of `log` decisions a human reviews afterwards.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpotChecksDef {
    pub sample: f64,
}

/// `trips` limit hits within `window` halt the agent until a human resumes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerDef {
    pub trips: u64,
    pub window: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnlistedAgents {
    /// Agents not in `agents:` are denied everything (the default).
    Deny,
    /// Agents not in `agents:` are decided by the rules alone (no role check).
    Rules,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentDef {
    pub name: S<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// A target is in this environment when any selector matches it.
    #[serde(default, rename = "match")]
    pub selectors: Vec<S<TargetSelector>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plane {
    /// Changes to infrastructure itself: stacks, IAM, clusters, networks.
    Control,
    /// Changes to data held by infrastructure: rows, objects, files.
    Data,
}

impl Plane {
    pub fn as_str(self) -> &'static str {
        match self {
            Plane::Control => "control",
            Plane::Data => "data",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneDef {
    pub name: S<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub plane: Option<Plane>,
    #[serde(default, rename = "match")]
    pub selectors: Vec<S<TargetSelector>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupDef {
    #[serde(default)]
    pub description: Option<String>,
    /// Members, when the policy lists them. Groups may also be filled by the identity
    /// provider of the gateway, in which case `members` is left out.
    #[serde(default)]
    pub members: Option<S<Vec<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDef {
    #[serde(default)]
    pub description: Option<String>,
    /// What holders of the role may ever attempt. Each grant is a condition in the
    /// same language as a rule's `when`; an action needs one grant that covers it.
    #[serde(default)]
    pub grants: Vec<S<MatchDef>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentDef {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tenant: Option<String>,
    /// The human the agent acts for.
    #[serde(default)]
    pub operator: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub roles: Vec<S<String>>,
    #[serde(default)]
    pub zone: Option<S<String>>,
}

/// Properties of one target. All given fields must match; list fields match when any
/// pattern matches.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSelector {
    #[serde(default)]
    pub kinds: Option<S<Strings>>,
    #[serde(default)]
    pub names: Option<S<Strings>>,
    #[serde(default)]
    pub paths: Option<S<Strings>>,
    #[serde(default)]
    pub namespaces: Option<S<Strings>>,
    #[serde(default)]
    pub accounts: Option<S<Strings>>,
    #[serde(default)]
    pub regions: Option<S<Strings>>,
    #[serde(default)]
    pub profiles: Option<S<Strings>>,
    #[serde(default)]
    pub hosts: Option<S<Strings>>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// True: the target is a file inside the agent's working directory.
    #[serde(default)]
    pub workdir: Option<bool>,
}

/// Properties of the acting agent.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSelector {
    #[serde(default)]
    pub ids: Option<S<Strings>>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub roles: Option<S<Strings>>,
    #[serde(default)]
    pub zones: Option<S<Strings>>,
    #[serde(default)]
    pub operators: Option<S<Strings>>,
}

/// A condition on an action: every given field must hold.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchDef {
    #[serde(default)]
    pub agent: Option<S<AgentSelector>>,
    #[serde(default)]
    pub tenant: Option<S<Strings>>,
    #[serde(default)]
    pub tool: Option<S<Strings>>,
    #[serde(default)]
    pub operation: Option<S<Strings>>,
    #[serde(default)]
    pub effect: Option<S<OneOrMany<Effect>>>,
    /// The effect is at least this (`read < write < delete < permissions`).
    #[serde(default)]
    pub effect_at_least: Option<S<Effect>>,
    #[serde(default)]
    pub bulk: Option<bool>,
    #[serde(default)]
    pub environment: Option<S<Strings>>,
    #[serde(default)]
    pub zone: Option<S<Strings>>,
    #[serde(default)]
    pub plane: Option<Plane>,
    #[serde(default)]
    pub target: Option<S<TargetSelector>>,
    /// More than this many resources affected.
    #[serde(default)]
    pub resources_over: Option<S<u64>>,
    /// More than this estimated cost, in US dollars.
    #[serde(default)]
    pub cost_over: Option<S<f64>>,
    #[serde(default)]
    pub irreversible: Option<bool>,
    /// The agent's zone differs from the target's zone.
    #[serde(default)]
    pub cross_zone: Option<bool>,
    /// `missing`: the agent gave no reason; `given`: it did.
    #[serde(default)]
    pub reason: Option<S<ReasonCond>>,
    /// `missing`: the agent listed no alternatives it considered; `given`: it did.
    #[serde(default)]
    pub alternatives: Option<S<ReasonCond>>,
    /// `missing`: the agent gave no rollback plan; `given`: it did.
    #[serde(default)]
    pub rollback: Option<S<ReasonCond>>,
    #[serde(default)]
    pub during: Option<S<WindowDef>>,
    #[serde(default)]
    pub outside: Option<S<WindowDef>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasonCond {
    Missing,
    Given,
}

/// A weekly time window, e.g. `{days: mon-fri, hours: "09:00-18:00", utc_offset: "+01:00"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowDef {
    #[serde(default)]
    pub days: Option<S<Strings>>,
    #[serde(default)]
    pub hours: Option<S<String>>,
    #[serde(default)]
    pub utc_offset: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    pub id: S<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub when: Option<S<MatchDef>>,
    #[serde(default)]
    pub unless: Option<S<MatchDef>>,
    pub then: S<Tier>,
    #[serde(default)]
    pub approvals: Option<S<ApprovalsDef>>,
    #[serde(default)]
    pub mode: Option<S<Mode>>,
    /// Advice for the agent: what to do instead.
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalsDef {
    #[serde(default)]
    pub count: Option<S<u32>>,
    #[serde(default)]
    pub from: Option<S<String>>,
    /// How long the request waits, e.g. `30m`, `4h`.
    #[serde(default)]
    pub timeout: Option<S<String>>,
    /// Only `deny`: nobody approving means no.
    #[serde(default)]
    pub on_timeout: Option<S<Tier>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionDef {
    pub id: S<String>,
    /// The change ticket that justifies the exception.
    pub ticket: S<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub when: Option<S<MatchDef>>,
    /// Rules that do not apply to matching actions while the exception is active.
    #[serde(default)]
    pub waive: Vec<S<String>>,
    /// What matching actions get while active: `log` (default) or `allow`.
    #[serde(default)]
    pub then: Option<S<Tier>>,
    #[serde(default)]
    pub starts: Option<S<String>>,
    pub expires: S<String>,
}

/// A list of strings that may also be written as a single string.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Strings(pub Vec<String>);

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Strings;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Strings, E> {
                Ok(Strings(vec![v.to_owned()]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Strings, E> {
                Ok(Strings(vec![v.to_string()]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Strings, E> {
                Ok(Strings(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strings, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<StringLike>()? {
                    out.push(s.0);
                }
                Ok(Strings(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A scalar read as a string: YAML numbers such as account ids are names here.
struct StringLike(String);

impl<'de> Deserialize<'de> for StringLike {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringLike;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringLike, E> {
                Ok(StringLike(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StringLike, E> {
                Ok(StringLike(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StringLike, E> {
                Ok(StringLike(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// One value or a list of them.
#[derive(Debug, Clone, PartialEq)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value or a list of values")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany<T>, E> {
                let one = T::deserialize(de::value::StrDeserializer::<E>::new(v))?;
                Ok(OneOrMany(vec![one]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<T>()? {
                    out.push(v);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}
