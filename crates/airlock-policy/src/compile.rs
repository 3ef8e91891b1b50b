//! From the policy as written to the policy as evaluated: references resolved to
//! indices, globs compiled, environments and zones turned into bit masks, and rules
//! indexed so that a decision looks at a handful of candidates, never at all rules.
//!
//! Every reference error is collected (not just the first), with the line, column
//! and key of the offending value.

use std::collections::BTreeMap;

use airlock_model::{Effect, EffectSet, Mode, Tier};
use rustc_hash::FxHashMap;
use serde_saphyr::Location;
use smallvec::SmallVec;

use crate::diag::Diagnostic;
use crate::glob::{Case, Glob, GlobList};
use crate::source::*;

/// The most environments or zones a policy may declare (they are bit masks).
pub const MAX_PLACES: usize = 64;
/// Reserved prefix for the engine's own checks in `Decision::rules`.
pub const BUILTIN_PREFIX: &str = "airlock:";
/// The longest approval timeout a rule may set.
pub const MAX_TIMEOUT_SECS: u64 = 30 * 24 * 3600;

#[derive(Debug, Clone)]
pub(crate) struct TargetSel {
    pub kinds: Option<GlobList>,
    pub names: Option<GlobList>,
    pub paths: Option<GlobList>,
    pub namespaces: Option<GlobList>,
    pub accounts: Option<GlobList>,
    pub regions: Option<GlobList>,
    pub profiles: Option<GlobList>,
    pub hosts: Option<GlobList>,
    pub labels: Vec<(String, Glob)>,
    pub workdir: Option<bool>,
}

#[derive(Debug, Clone)]
pub(crate) struct AgentSel {
    pub ids: Option<GlobList>,
    pub labels: Vec<(String, Glob)>,
    pub roles: Option<SmallVec<[u16; 4]>>,
    pub zones: Option<u64>,
    pub operators: Option<GlobList>,
}

/// Conditions checked on each target; a rule's quantifier says whether one target
/// or every target must satisfy all of them at once.
#[derive(Debug, Clone)]
pub(crate) struct PerTarget {
    pub envs: u64,
    pub zones: Option<u64>,
    pub plane: Option<Plane>,
    pub sel: Option<TargetSel>,
    pub cross_zone: Option<bool>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// Bit 0 = Monday.
    pub days: u8,
    pub start_min: u16,
    pub end_min: u16,
    pub offset_secs: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quantifier {
    /// One target suffices: used by restricting conditions (approve, deny).
    Any,
    /// Every target must fit: used by relaxing conditions (allow, log, grants).
    All,
}

#[derive(Debug, Clone)]
pub(crate) struct Cond {
    pub agent: Option<AgentSel>,
    pub tenants: Option<GlobList>,
    pub tools: Option<GlobList>,
    pub ops: Option<GlobList>,
    pub effects: EffectSet,
    pub bulk: Option<bool>,
    pub per_target: Option<PerTarget>,
    pub quantifier: Quantifier,
    pub resources_over: Option<u64>,
    pub cost_over: Option<f64>,
    pub irreversible: Option<bool>,
    pub reason: Option<ReasonCond>,
    pub alternatives: Option<ReasonCond>,
    pub rollback: Option<ReasonCond>,
    pub during: Option<Window>,
    pub outside: Option<Window>,
}

#[derive(Debug, Clone)]
pub(crate) struct Approval {
    pub count: u32,
    pub group: String,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub id: String,
    pub tier: Tier,
    pub mode: Mode,
    pub when: Cond,
    pub unless: Option<Cond>,
    pub approval: Option<Approval>,
    pub message: Option<String>,
    pub at: Location,
}

#[derive(Debug, Clone)]
pub(crate) struct Exception {
    pub id: String,
    pub ticket: String,
    pub when: Cond,
    pub waive: SmallVec<[u32; 4]>,
    pub tier: Tier,
    pub starts: Option<i64>,
    pub expires: i64,
    pub expires_text: String,
    pub at: Location,
}

#[derive(Debug, Clone)]
pub(crate) struct AgentInfo {
    pub tenant: Option<String>,
    pub operator: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub roles: SmallVec<[u16; 4]>,
    pub zone: Option<u8>,
}

#[derive(Debug, Clone)]
pub(crate) struct Place {
    pub name: String,
    pub plane: Option<Plane>,
    pub selectors: Vec<TargetSel>,
}

/// Environment or zone placement, indexed: a target goes to the first place (in
/// policy order) with a selector that fits it. Selectors that only list kinds as
/// literals (`k8s:namespace`) or as prefixes ending at a `:` (`aws:iam:*`), the
/// common shape for zones, are answered by hash lookups; the others are tried in
/// order, and only while they could still beat the lookups' answer.
#[derive(Debug, Clone, Default)]
pub(crate) struct Placer {
    /// Lowercased literal kind → the first place a kinds-only selector puts it in.
    pub by_kind: FxHashMap<Box<str>, u8>,
    /// Lowercased kind prefix, ending with `:` → the first place.
    pub by_kind_prefix: FxHashMap<Box<str>, u8>,
    /// Every other selector with its place, in policy order.
    pub rest: Vec<(u8, TargetSel)>,
}

impl Placer {
    fn build(places: &[Place]) -> Placer {
        let mut placer = Placer::default();
        for (i, place) in places.iter().enumerate() {
            let i = i as u8;
            for sel in &place.selectors {
                let keys: Option<Vec<(bool, &str)>> = sel
                    .kinds
                    .as_ref()
                    .filter(|_| sel.only_kinds())
                    .and_then(|kinds| {
                        kinds
                            .0
                            .iter()
                            .map(|g| match g.literal() {
                                Some(l) => Some((false, l)),
                                None => g.colon_prefix().map(|p| (true, p)),
                            })
                            .collect()
                    });
                match keys {
                    Some(keys) => {
                        for (is_prefix, k) in keys {
                            let map = if is_prefix {
                                &mut placer.by_kind_prefix
                            } else {
                                &mut placer.by_kind
                            };
                            map.entry(k.into()).or_insert(i);
                        }
                    }
                    None => placer.rest.push((i, sel.clone())),
                }
            }
        }
        placer
    }
}

impl TargetSel {
    fn only_kinds(&self) -> bool {
        self.names.is_none()
            && self.paths.is_none()
            && self.namespaces.is_none()
            && self.accounts.is_none()
            && self.regions.is_none()
            && self.profiles.is_none()
            && self.hosts.is_none()
            && self.labels.is_empty()
            && self.workdir.is_none()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct RoleInfo {
    pub name: String,
    pub grants: Vec<Cond>,
}

/// A rule in an index bucket, with what the engine needs to reject it without
/// touching the rule itself: the effects it can match and a necessary condition on
/// the environments of the action's targets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub rule: u32,
    pub effects: EffectSet,
    /// The rule needs every target in `envs` (relaxing) or some target in it
    /// (restricting).
    pub all_targets: bool,
    pub envs: u64,
}

impl Entry {
    /// Necessary (not sufficient) for the rule to match an action of `effect` whose
    /// targets are placed in the environments of `env_union`.
    #[inline]
    pub fn may_match(&self, effect: Effect, env_union: u64) -> bool {
        self.effects.contains(effect)
            && if self.all_targets {
                env_union & !self.envs == 0
            } else {
                env_union & self.envs != 0
            }
    }
}

/// Label key → value → entries.
pub(crate) type LabelIndex = FxHashMap<Box<str>, FxHashMap<Box<str>, Vec<Entry>>>;

/// Rules requiring one literal operation, split further by the agent they require.
#[derive(Debug, Default, Clone)]
pub(crate) struct OpBucket {
    pub any_agent: Vec<Entry>,
    pub by_agent: FxHashMap<Box<str>, Vec<Entry>>,
    pub by_label: LabelIndex,
}

/// Rules bucketed by the most selective literals each one requires, so a decision
/// visits a handful of candidates whatever the size of the policy.
///
/// Each rule is filed under one dimension, the first that applies:
/// 1. literal operation, refined by literal agent id or agent label (`by_op`);
/// 2. literal agent id, 3. literal agent label;
/// 4. literal target name, 5. literal target label, 6. literal target kind;
/// 7. literal tool; 8. otherwise the general list of each effect it can match.
///
/// An action has one operation, one agent id and one value per agent label, so the
/// first three dimensions never yield a rule twice; the target dimensions are looked
/// up per target and deduplicated by the engine.
#[derive(Debug, Default, Clone)]
pub(crate) struct RuleIndex {
    pub by_op: FxHashMap<Box<str>, OpBucket>,
    pub by_agent: FxHashMap<Box<str>, Vec<Entry>>,
    pub by_label: LabelIndex,
    pub by_target_name: FxHashMap<Box<str>, Vec<Entry>>,
    pub by_target_label: LabelIndex,
    /// Lowercased kinds.
    pub by_target_kind: FxHashMap<Box<str>, Vec<Entry>>,
    /// Lowercased tools.
    pub by_tool: FxHashMap<Box<str>, Vec<Entry>>,
    pub general: [Vec<Entry>; 5],
}

#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub name: String,
    pub envs: Vec<Place>,
    pub env_placer: Placer,
    pub unplaced: u8,
    pub zones: Vec<Place>,
    pub zone_placer: Placer,
    pub unzoned: Option<u8>,
    pub groups: BTreeMap<String, Option<Vec<String>>>,
    pub roles: Vec<RoleInfo>,
    pub agents: FxHashMap<String, AgentInfo>,
    pub unlisted: UnlistedAgents,
    pub unknown_floor: Tier,
    pub default_approval: Option<Approval>,
    pub rules: Vec<Rule>,
    pub exceptions: Vec<Exception>,
    pub index: RuleIndex,
    /// MCP servers by name: trusted annotations, and tool patterns in file order
    /// (exact names first).
    pub mcp_servers: BTreeMap<String, McpServer>,
    /// Findings of compilation that do not stop the policy from loading.
    pub warnings: Vec<Diagnostic>,
    pub limits: Vec<Limit>,
    /// Limit hits (trips) and the window after which an agent is halted.
    pub breaker: Option<(u64, u64)>,
    /// The tier of a first-seen operation in the most sensitive environment.
    pub first_seen: Option<Tier>,
    /// Of every million `log` decisions, how many are sampled for spot checks.
    pub spot_check_ppm: u32,
}

/// A compiled limit.
#[derive(Debug, Clone)]
pub(crate) struct Limit {
    pub id: String,
    pub when: Cond,
    pub per: LimitPer,
    pub window_secs: u64,
    pub measure: Measure,
    pub tier: Tier,
    pub message: Option<String>,
}

/// What a limit counts, and its maximum per window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Measure {
    Actions(u64),
    Resources(u64),
    /// Hundredths of a dollar.
    CostCents(u64),
}

#[derive(Debug, Clone)]
pub(crate) struct McpServer {
    pub trusted: bool,
    pub tools: Vec<(Glob, Effect)>,
}

struct Ctx<'a> {
    errors: Vec<Diagnostic>,
    env_names: Vec<&'a str>,
    zone_names: Vec<&'a str>,
    role_names: Vec<&'a str>,
    groups: &'a BTreeMap<String, GroupDef>,
    agents: &'a BTreeMap<String, AgentDef>,
    unlisted: UnlistedAgents,
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none are declared".to_owned()
    } else {
        format!("declared: {}", names.join(", "))
    }
}

impl<'a> Ctx<'a> {
    fn err(&mut self, at: Location, key: &str, msg: impl Into<String>) {
        self.errors.push(Diagnostic::error(at, key, msg));
    }

    fn non_empty(&mut self, s: &S<Strings>, key: &str) -> bool {
        if s.value.0.is_empty() {
            self.err(
                s.referenced,
                key,
                "an empty list can never match; remove the key or list at least one value",
            );
            false
        } else {
            true
        }
    }

    fn globs(&mut self, s: &Option<S<Strings>>, key: &str, case: Case) -> Option<GlobList> {
        let s = s.as_ref()?;
        self.non_empty(s, key);
        Some(GlobList(
            s.value.0.iter().map(|p| Glob::new(p, case)).collect(),
        ))
    }

    fn mask(&mut self, s: &Option<S<Strings>>, key: &str, kind: &str, zones: bool) -> Option<u64> {
        let s = s.as_ref()?;
        self.non_empty(s, key);
        let mut mask = 0u64;
        for n in &s.value.0 {
            let names = if zones {
                &self.zone_names
            } else {
                &self.env_names
            };
            match names.iter().position(|x| x == n) {
                Some(i) => mask |= 1 << i,
                None => {
                    let msg = format!("unknown {kind} `{n}`; {}", list(names));
                    self.err(s.referenced, key, msg);
                }
            }
        }
        Some(mask)
    }

    fn labels(&mut self, labels: &Option<BTreeMap<String, String>>) -> Vec<(String, Glob)> {
        labels
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), Glob::new(v, Case::Sensitive)))
            .collect()
    }

    fn target_sel(&mut self, t: &TargetSelector, key: &str) -> TargetSel {
        let k = |f: &str| format!("{key}.{f}");
        TargetSel {
            kinds: self.globs(&t.kinds, &k("kinds"), Case::Insensitive),
            names: self.globs(&t.names, &k("names"), Case::Sensitive),
            paths: self.globs(&t.paths, &k("paths"), Case::Sensitive),
            namespaces: self.globs(&t.namespaces, &k("namespaces"), Case::Sensitive),
            accounts: self.globs(&t.accounts, &k("accounts"), Case::Sensitive),
            regions: self.globs(&t.regions, &k("regions"), Case::Insensitive),
            profiles: self.globs(&t.profiles, &k("profiles"), Case::Sensitive),
            hosts: self.globs(&t.hosts, &k("hosts"), Case::Insensitive),
            labels: self.labels(&t.labels),
            workdir: t.workdir,
        }
    }

    fn agent_sel(&mut self, a: &S<AgentSelector>, key: &str) -> AgentSel {
        let v = &a.value;
        let ids = self.globs(&v.ids, &format!("{key}.ids"), Case::Sensitive);
        // A literal id must name a listed agent, unless unlisted agents are governed
        // by the rules (then any id may appear).
        if let (Some(ids), Some(src)) = (&ids, &v.ids)
            && self.unlisted == UnlistedAgents::Deny
        {
            for lit in ids.0.iter().filter_map(Glob::literal) {
                if !self.agents.contains_key(lit) {
                    let names: Vec<&str> = self.agents.keys().map(String::as_str).collect();
                    let msg = format!(
                        "unknown agent `{lit}` (unlisted agents are denied, so this can never match); {}",
                        list(&names)
                    );
                    self.err(src.referenced, &format!("{key}.ids"), msg);
                }
            }
        }
        let roles = v.roles.as_ref().map(|r| {
            self.non_empty(r, &format!("{key}.roles"));
            let mut out = SmallVec::new();
            for n in &r.value.0 {
                match self.role_names.iter().position(|x| x == n) {
                    Some(i) => out.push(i as u16),
                    None => {
                        let msg = format!("unknown role `{n}`; {}", list(&self.role_names));
                        self.err(r.referenced, &format!("{key}.roles"), msg);
                    }
                }
            }
            out
        });
        AgentSel {
            ids,
            labels: self.labels(&v.labels),
            roles,
            zones: self.mask(&v.zones, &format!("{key}.zones"), "zone", true),
            operators: self.globs(&v.operators, &format!("{key}.operators"), Case::Sensitive),
        }
    }

    fn window(&mut self, w: &S<WindowDef>, key: &str) -> Window {
        let mut days = 0x7f;
        if let Some(d) = &w.value.days {
            days = 0;
            for spec in &d.value.0 {
                match parse_days(spec) {
                    Some(m) => days |= m,
                    None => self.err(
                        d.referenced,
                        &format!("{key}.days"),
                        format!("`{spec}` is not a day or day range; expected mon, tue, wed, thu, fri, sat, sun or a range like mon-fri"),
                    ),
                }
            }
            if d.value.0.is_empty() {
                self.err(
                    d.referenced,
                    &format!("{key}.days"),
                    "no days: this window never opens",
                );
            }
        }
        let (mut start_min, mut end_min) = (0, 24 * 60);
        if let Some(h) = &w.value.hours {
            match parse_hours(&h.value) {
                Some((s, e)) if s != e => (start_min, end_min) = (s, e),
                Some(_) => self.err(h.referenced, &format!("{key}.hours"), "the window starts when it ends, so it never opens; write e.g. \"09:00-17:00\""),
                None => self.err(h.referenced, &format!("{key}.hours"), format!("`{}` is not an hour range; expected HH:MM-HH:MM, e.g. \"09:00-17:00\" (it may wrap past midnight)", h.value)),
            }
        }
        let mut offset_secs = 0;
        if let Some(o) = &w.value.utc_offset {
            match parse_offset(&o.value) {
                Some(s) => offset_secs = s,
                None => self.err(
                    o.referenced,
                    &format!("{key}.utc_offset"),
                    format!(
                        "`{}` is not a UTC offset; expected +HH:MM or -HH:MM",
                        o.value
                    ),
                ),
            }
        }
        Window {
            days,
            start_min,
            end_min,
            offset_secs,
        }
    }

    /// Compiles a condition. `strict` conditions restrict (approve, deny rules): one
    /// matching target suffices and "at least" effects include `unknown`. Relaxing
    /// conditions need every target to fit and never cover `unknown` implicitly.
    fn cond(&mut self, m: &MatchDef, key: &str, strict: bool) -> Cond {
        let k = |f: &str| format!("{key}.{f}");
        let mut effects = EffectSet::ALL;
        if let Some(e) = &m.effect {
            effects = e.value.0.iter().copied().collect();
            if effects.is_empty() {
                self.err(e.referenced, &k("effect"), "an empty list can never match; list at least one of read, write, delete, permissions, unknown");
            }
        }
        if let Some(floor) = &m.effect_at_least {
            if floor.value == Effect::Unknown {
                self.err(floor.referenced, &k("effect_at_least"), "`unknown` has no place in the order read < write < delete < permissions; use `effect: unknown`");
            }
            let mut at_least: EffectSet = Effect::ALL
                .into_iter()
                .filter(|e| e.at_least(floor.value))
                .collect();
            if strict {
                at_least.insert(Effect::Unknown);
            }
            let combined = intersect(effects, at_least);
            if combined.is_empty() {
                self.err(
                    floor.referenced,
                    &k("effect_at_least"),
                    "`effect` and `effect_at_least` exclude each other, so this can never match",
                );
            }
            effects = combined;
        }
        let envs = self.mask(&m.environment, &k("environment"), "environment", false);
        let zones = self.mask(&m.zone, &k("zone"), "zone", true);
        let sel = m
            .target
            .as_ref()
            .map(|t| self.target_sel(&t.value, &k("target")));
        let per_target = if envs.is_some()
            || zones.is_some()
            || m.plane.is_some()
            || sel.is_some()
            || m.cross_zone.is_some()
        {
            Some(PerTarget {
                envs: envs.unwrap_or(u64::MAX),
                zones,
                plane: m.plane,
                sel,
                cross_zone: m.cross_zone,
            })
        } else {
            None
        };
        Cond {
            agent: m.agent.as_ref().map(|a| self.agent_sel(a, &k("agent"))),
            tenants: self.globs(&m.tenant, &k("tenant"), Case::Sensitive),
            tools: self.globs(&m.tool, &k("tool"), Case::Insensitive),
            ops: self.globs(&m.operation, &k("operation"), Case::Insensitive),
            effects,
            bulk: m.bulk,
            per_target,
            quantifier: if strict {
                Quantifier::Any
            } else {
                Quantifier::All
            },
            resources_over: m.resources_over.as_ref().map(|r| r.value),
            cost_over: m.cost_over.as_ref().map(|c| {
                if !c.value.is_finite() || c.value < 0.0 {
                    self.err(
                        c.referenced,
                        &k("cost_over"),
                        "expected a finite, non-negative amount in US dollars",
                    );
                }
                c.value
            }),
            irreversible: m.irreversible,
            reason: m.reason.as_ref().map(|r| r.value),
            alternatives: m.alternatives.as_ref().map(|r| r.value),
            rollback: m.rollback.as_ref().map(|r| r.value),
            during: m.during.as_ref().map(|w| self.window(w, &k("during"))),
            outside: m.outside.as_ref().map(|w| self.window(w, &k("outside"))),
        }
    }

    fn approval(
        &mut self,
        a: &S<ApprovalsDef>,
        key: &str,
        fallback: Option<&Approval>,
    ) -> Option<Approval> {
        let v = &a.value;
        let count = match &v.count {
            Some(c) if c.value == 0 => {
                self.err(c.referenced, &format!("{key}.count"), "0 approvals would approve with nobody looking; use `then: allow` or at least 1");
                1
            }
            Some(c) => c.value,
            None => fallback.map_or(1, |f| f.count),
        };
        let group = match (&v.from, fallback) {
            (Some(g), _) => {
                match self.groups.get(&g.value) {
                    None => {
                        let names: Vec<&str> = self.groups.keys().map(String::as_str).collect();
                        self.err(
                            g.referenced,
                            &format!("{key}.from"),
                            format!("unknown group `{}`; {}", g.value, list(&names)),
                        );
                    }
                    Some(GroupDef {
                        members: Some(m), ..
                    }) => {
                        let distinct: std::collections::BTreeSet<&String> =
                            m.value.iter().collect();
                        if (distinct.len() as u64) < u64::from(count) {
                            self.err(g.referenced, &format!("{key}.from"), format!("needs {count} distinct approvers but group `{}` has {} member{}, so it can never be approved", g.value, distinct.len(), if distinct.len() == 1 { "" } else { "s" }));
                        }
                    }
                    Some(_) => {}
                }
                g.value.clone()
            }
            (None, Some(f)) => f.group.clone(),
            (None, None) => {
                self.err(
                    a.referenced,
                    key,
                    "missing `from`: which group approves? (or set defaults.approvals.from)",
                );
                String::new()
            }
        };
        let timeout_secs = match (&v.timeout, fallback) {
            (Some(t), _) => {
                match parse_duration(&t.value) {
                    Some(0) => {
                        self.err(t.referenced, &format!("{key}.timeout"), "a zero timeout expires before anyone can look; expected e.g. 30m or 4h");
                        0
                    }
                    Some(s) if s > MAX_TIMEOUT_SECS => {
                        self.err(t.referenced, &format!("{key}.timeout"), "longer than 30 days: a request that old has lost its context; expected e.g. 30m or 4h");
                        s
                    }
                    Some(s) => s,
                    None => {
                        self.err(
                            t.referenced,
                            &format!("{key}.timeout"),
                            format!(
                                "`{}` is not a duration; expected e.g. 30m, 4h or 1h 30m",
                                t.value
                            ),
                        );
                        0
                    }
                }
            }
            (None, Some(f)) => f.timeout_secs,
            (None, None) => {
                self.err(a.referenced, key, "missing `timeout`: how long may the request wait? (e.g. 30m; expiry means denial)");
                0
            }
        };
        if let Some(o) = &v.on_timeout
            && o.value != Tier::Deny
        {
            self.err(o.referenced, &format!("{key}.on_timeout"), format!("`{}` on timeout would let an action through with nobody approving it; the only accepted value is `deny`", o.value));
        }
        Some(Approval {
            count,
            group,
            timeout_secs,
        })
    }

    /// Names of declared environments or zones, in order; reports duplicates and overflow.
    fn place_names(&mut self, defs: &'a [impl PlaceDef], kind: &str) -> Vec<&'a str> {
        let mut names: Vec<&'a str> = Vec::new();
        for d in defs {
            let n = d.name();
            if names.contains(&n.value.as_str()) {
                self.err(
                    n.referenced,
                    "name",
                    format!("{kind} `{}` is declared twice", n.value),
                );
            }
            names.push(&n.value);
        }
        if defs.len() > MAX_PLACES
            && let Some(d) = defs.get(MAX_PLACES)
        {
            self.err(
                d.name().referenced,
                "name",
                format!("at most {MAX_PLACES} {kind}s may be declared"),
            );
        }
        names
    }
}

trait PlaceDef {
    fn name(&self) -> &S<String>;
}
impl PlaceDef for EnvironmentDef {
    fn name(&self) -> &S<String> {
        &self.name
    }
}
impl PlaceDef for ZoneDef {
    fn name(&self) -> &S<String> {
        &self.name
    }
}

fn intersect(a: EffectSet, b: EffectSet) -> EffectSet {
    a.iter().filter(|e| b.contains(*e)).collect()
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn parse_days(spec: &str) -> Option<u8> {
    let day = |s: &str| DAYS.iter().position(|d| d.eq_ignore_ascii_case(s.trim()));
    match spec.split_once('-') {
        None => day(spec).map(|i| 1 << i),
        Some((a, b)) => {
            let (a, b) = (day(a)?, day(b)?);
            let mut m = 0u8;
            let mut i = a;
            loop {
                m |= 1 << i;
                if i == b {
                    break;
                }
                i = (i + 1) % 7;
            }
            Some(m)
        }
    }
}

fn parse_hm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

fn parse_hours(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.split_once('-')?;
    Some((parse_hm(a)?, parse_hm(b)?))
}

fn parse_offset(s: &str) -> Option<i32> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let m = i32::from(parse_hm(rest)?);
    (m <= 18 * 60).then_some(sign * m * 60)
}

/// `30m`, `4h`, `1h 30m`, `2d`, `90s`.
pub(crate) fn parse_duration(s: &str) -> Option<u64> {
    let d: jiff::SignedDuration = s.trim().parse().ok()?;
    u64::try_from(d.as_secs()).ok()
}

pub(crate) fn parse_time(s: &str) -> Option<i64> {
    let t: jiff::Timestamp = s.trim().parse().ok()?;
    Some(t.as_second())
}

/// Resolves and compiles a parsed policy. Returns every error found.
pub(crate) fn compile(doc: &PolicyDoc) -> Result<Compiled, Vec<Diagnostic>> {
    let unlisted = doc
        .defaults
        .unlisted_agents
        .as_ref()
        .map_or(UnlistedAgents::Deny, |u| u.value);
    let mut cx = Ctx {
        errors: Vec::new(),
        env_names: Vec::new(),
        zone_names: Vec::new(),
        role_names: doc.roles.keys().map(String::as_str).collect(),
        groups: &doc.groups,
        agents: &doc.agents,
        unlisted,
    };
    if doc.airlock.value != 1 {
        cx.err(
            doc.airlock.referenced,
            "airlock",
            format!(
                "unsupported policy language version {}; this airlock reads version 1",
                doc.airlock.value
            ),
        );
    }
    if doc.name.value.trim().is_empty() {
        cx.err(
            doc.name.referenced,
            "name",
            "a policy needs a name; it is shown in every decision",
        );
    }

    // Environments and zones first: everything else refers to them.
    let env_names = cx.place_names(&doc.environments, "environment");
    let zone_names = cx.place_names(&doc.zones, "zone");
    cx.env_names = env_names;
    cx.zone_names = zone_names;
    if doc.environments.is_empty() {
        cx.errors.push(Diagnostic::error(doc.airlock.referenced, "environments", "a policy must declare its environments, most sensitive first (e.g. production, staging, dev); targets are placed in them"));
    }
    let mut envs = Vec::new();
    for (i, e) in doc.environments.iter().enumerate() {
        let key = format!("environments[{i}].match");
        let selectors = e
            .selectors
            .iter()
            .map(|s| cx.target_sel(&s.value, &key))
            .collect();
        envs.push(Place {
            name: e.name.value.clone(),
            plane: None,
            selectors,
        });
    }
    let mut zones = Vec::new();
    for (i, z) in doc.zones.iter().enumerate() {
        let key = format!("zones[{i}].match");
        let selectors = z
            .selectors
            .iter()
            .map(|s| cx.target_sel(&s.value, &key))
            .collect();
        zones.push(Place {
            name: z.name.value.clone(),
            plane: z.plane,
            selectors,
        });
    }

    let unplaced = match &doc.defaults.unplaced {
        Some(u) => match cx.env_names.iter().position(|n| *n == u.value) {
            Some(0) => 0u8,
            Some(i) => {
                let first = cx.env_names[0];
                let msg = format!(
                    "targets nobody can place would count as `{}`, which is less sensitive than `{first}`; an unplaceable cloud resource or database must never count as a harmless environment: set `unplaced: {first}` (environments are listed most sensitive first)",
                    u.value
                );
                cx.err(u.referenced, "defaults.unplaced", msg);
                i as u8
            }
            None => {
                let msg = format!("unknown environment `{}`; {}", u.value, list(&cx.env_names));
                cx.err(u.referenced, "defaults.unplaced", msg);
                0
            }
        },
        None => {
            if let Some(first) = doc.environments.first() {
                let msg = format!(
                    "missing `defaults.unplaced`: say where targets that match no environment go (the most sensitive one, `{}`)",
                    first.name.value
                );
                cx.errors.push(Diagnostic::error(
                    doc.name.referenced,
                    "defaults.unplaced",
                    msg,
                ));
            }
            0
        }
    };
    let unzoned = doc.defaults.unzoned.as_ref().and_then(|z| {
        let i = cx.zone_names.iter().position(|n| *n == z.value);
        if i.is_none() {
            let msg = format!("unknown zone `{}`; {}", z.value, list(&cx.zone_names));
            cx.err(z.referenced, "defaults.unzoned", msg);
        }
        i.map(|i| i as u8)
    });
    let unknown_floor = match &doc.defaults.unknown_effect {
        None => Tier::Approve,
        Some(t) if t.value >= Tier::Approve => t.value,
        Some(t) => {
            cx.err(t.referenced, "defaults.unknown_effect", format!("`{}` would let an action nobody understood through without approval; expected `approve` or `deny`", t.value));
            Tier::Approve
        }
    };
    let default_approval = doc
        .defaults
        .approvals
        .as_ref()
        .and_then(|a| cx.approval(a, "defaults.approvals", None));
    let mut warnings = Vec::new();
    if unknown_floor == Tier::Approve && doc.defaults.approvals.is_none() {
        let at = doc
            .defaults
            .unknown_effect
            .as_ref()
            .map_or(doc.airlock.referenced, |t| t.referenced);
        warnings.push(Diagnostic::warning(
            at,
            "defaults.unknown_effect",
            "actions of unknown effect are held for approval, but `defaults.approvals` names no approver group: they will wait for a group `approvers` this policy does not define and time out into deny; set `defaults.approvals` (or `unknown_effect: deny` to say so)",
        ));
    }

    // Roles, then agents (which refer to roles and zones).
    let mut roles = Vec::new();
    for (name, r) in &doc.roles {
        let grants = r
            .grants
            .iter()
            .enumerate()
            .map(|(i, g)| cx.cond(&g.value, &format!("roles.{name}.grants[{i}]"), false))
            .collect();
        roles.push(RoleInfo {
            name: name.clone(),
            grants,
        });
    }
    let mut agents = FxHashMap::default();
    for (name, a) in &doc.agents {
        let mut role_ids = SmallVec::new();
        for r in &a.roles {
            match cx.role_names.iter().position(|n| *n == r.value) {
                Some(i) => role_ids.push(i as u16),
                None => {
                    let msg = format!("unknown role `{}`; {}", r.value, list(&cx.role_names));
                    cx.err(r.referenced, &format!("agents.{name}.roles"), msg);
                }
            }
        }
        let zone = a.zone.as_ref().and_then(|z| {
            let i = cx.zone_names.iter().position(|n| *n == z.value);
            if i.is_none() {
                let msg = format!("unknown zone `{}`; {}", z.value, list(&cx.zone_names));
                cx.err(z.referenced, &format!("agents.{name}.zone"), msg);
            }
            i.map(|i| i as u8)
        });
        agents.insert(
            name.clone(),
            AgentInfo {
                tenant: a.tenant.clone(),
                operator: a.operator.clone(),
                labels: a.labels.clone(),
                roles: role_ids,
                zone,
            },
        );
    }

    // Rules.
    let mut rules = Vec::new();
    let mut seen_ids: BTreeMap<&str, ()> = BTreeMap::new();
    for (i, r) in doc.rules.iter().enumerate() {
        let key = format!("rules[{i}]");
        let id = &r.id.value;
        if id.trim().is_empty() {
            cx.err(
                r.id.referenced,
                &format!("{key}.id"),
                "a rule needs an id; decisions name the rule that decided",
            );
        } else if id.starts_with(BUILTIN_PREFIX) {
            cx.err(r.id.referenced, &format!("{key}.id"), format!("ids starting with `{BUILTIN_PREFIX}` are reserved for airlock's built-in checks"));
        } else if seen_ids.insert(id, ()).is_some() {
            cx.err(r.id.referenced, &format!("{key}.id"), format!("rule id `{id}` is used twice; decisions name rules by id, so ids must be unique"));
        }
        let tier = r.then.value;
        let strict = !tier.is_permissive();
        let empty = MatchDef::default();
        let when = cx.cond(
            r.when.as_ref().map_or(&empty, |w| &w.value),
            &format!("{key}.when"),
            strict,
        );
        let unless = r
            .unless
            .as_ref()
            .map(|u| cx.cond(&u.value, &format!("{key}.unless"), !strict));
        let approval = match (&r.approvals, tier) {
            (Some(a), Tier::Approve) => {
                cx.approval(a, &format!("{key}.approvals"), default_approval.as_ref())
            }
            (None, Tier::Approve) => {
                if default_approval.is_none() {
                    cx.err(r.then.referenced, &format!("{key}.then"), "`approve` needs to know who approves: add `approvals: {from: GROUP, count: N, timeout: 30m}` or set defaults.approvals");
                }
                default_approval.clone()
            }
            (Some(a), t) => {
                cx.err(
                    a.referenced,
                    &format!("{key}.approvals"),
                    format!(
                        "approvals only apply to `then: approve`, but this rule says `then: {t}`"
                    ),
                );
                None
            }
            (None, _) => None,
        };
        rules.push(Rule {
            id: id.clone(),
            tier,
            mode: r.mode.as_ref().map_or(Mode::Enforce, |m| m.value),
            when,
            unless,
            approval,
            message: r.message.clone(),
            at: r.id.referenced,
        });
    }

    // Exceptions: temporary, ticketed relaxations.
    let mut exceptions = Vec::new();
    for (i, x) in doc.exceptions.iter().enumerate() {
        let key = format!("exceptions[{i}]");
        if x.ticket.value.trim().is_empty() {
            cx.err(
                x.ticket.referenced,
                &format!("{key}.ticket"),
                "an exception must name the change ticket that justifies it",
            );
        }
        let tier = x.then.as_ref().map_or(Tier::Log, |t| t.value);
        if let Some(t) = x.then.as_ref().filter(|t| !t.value.is_permissive()) {
            cx.err(t.referenced, &format!("{key}.then"), format!("an exception relaxes rules; `{}` would not; expected `log` or `allow` (write a rule to restrict)", t.value));
        }
        let mut waive = SmallVec::new();
        for w in &x.waive {
            match rules.iter().position(|r| r.id == w.value) {
                Some(ri) => waive.push(ri as u32),
                None => {
                    let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
                    cx.err(
                        w.referenced,
                        &format!("{key}.waive"),
                        format!("unknown rule `{}`; {}", w.value, list(&ids)),
                    );
                }
            }
        }
        let expires = match parse_time(&x.expires.value) {
            Some(t) => t,
            None => {
                cx.err(
                    x.expires.referenced,
                    &format!("{key}.expires"),
                    format!(
                        "`{}` is not a time; expected RFC 3339, e.g. 2026-11-30T18:00:00Z",
                        x.expires.value
                    ),
                );
                i64::MIN
            }
        };
        let starts = x.starts.as_ref().and_then(|s| {
            let t = parse_time(&s.value);
            if t.is_none() {
                cx.err(
                    s.referenced,
                    &format!("{key}.starts"),
                    format!(
                        "`{}` is not a time; expected RFC 3339, e.g. 2026-11-30T09:00:00Z",
                        s.value
                    ),
                );
            }
            t
        });
        if starts.is_some_and(|s| s >= expires && expires != i64::MIN) {
            cx.err(
                x.expires.referenced,
                &format!("{key}.expires"),
                "the exception expires before it starts, so it never applies",
            );
        }
        let empty = MatchDef::default();
        let when = cx.cond(
            x.when.as_ref().map_or(&empty, |w| &w.value),
            &format!("{key}.when"),
            false,
        );
        exceptions.push(Exception {
            id: x.id.value.clone(),
            ticket: x.ticket.value.clone(),
            when,
            waive,
            tier,
            starts,
            expires,
            expires_text: x.expires.value.clone(),
            at: x.id.referenced,
        });
    }

    let mut mcp_servers = BTreeMap::new();
    for (name, def) in &doc.mcp_servers {
        let mut tools: Vec<(Glob, Effect)> = Vec::new();
        for (pattern, effect) in &def.tools {
            if pattern.trim().is_empty() {
                cx.err(
                    effect.referenced,
                    &format!("mcp_servers.{name}.tools"),
                    "an empty tool name matches nothing; name the tool or use a glob such as `get_*`",
                );
            }
            tools.push((Glob::new(pattern, Case::Sensitive), effect.value));
        }
        // Exact names are more specific than globs: they are consulted first.
        tools.sort_by_key(|(g, _)| g.literal().is_none());
        mcp_servers.insert(
            name.clone(),
            McpServer {
                trusted: def.trusted,
                tools,
            },
        );
    }

    let mut limits = Vec::new();
    let mut limit_ids: Vec<&str> = Vec::new();
    for (i, l) in doc.limits.iter().enumerate() {
        let key = format!("limits[{i}]");
        if limit_ids.contains(&l.id.value.as_str()) {
            cx.err(
                l.id.referenced,
                &format!("{key}.id"),
                format!("duplicate limit id `{}`", l.id.value),
            );
        }
        limit_ids.push(&l.id.value);
        let when = match &l.when {
            Some(m) => cx.cond(&m.value, &format!("{key}.when"), true),
            None => cx.cond(&MatchDef::default(), &format!("{key}.when"), true),
        };
        let window_secs = match parse_duration(&l.window.value) {
            Some(0) | None => {
                cx.err(
                    l.window.referenced,
                    &format!("{key}.window"),
                    format!(
                        "`{}` is not a window; expected a duration such as 1m, 1h or 24h",
                        l.window.value
                    ),
                );
                0
            }
            Some(s) if s > 31 * 86_400 => {
                cx.err(
                    l.window.referenced,
                    &format!("{key}.window"),
                    "longer than 31 days; expected e.g. 1h or 24h",
                );
                s
            }
            Some(s) => s,
        };
        let mut measures = Vec::new();
        if let Some(n) = &l.max_actions {
            measures.push(Measure::Actions(n.value));
        }
        if let Some(n) = &l.max_resources {
            measures.push(Measure::Resources(n.value));
        }
        if let Some(c) = &l.max_cost_usd {
            if !(c.value.is_finite() && c.value >= 0.0) {
                cx.err(
                    c.referenced,
                    &format!("{key}.max_cost_usd"),
                    "expected a number of dollars, 0 or more",
                );
            }
            measures.push(Measure::CostCents((c.value.max(0.0) * 100.0).round() as u64));
        }
        let measure = match measures.as_slice() {
            [m] => *m,
            _ => {
                cx.err(l.id.referenced, &key, "a limit needs exactly one of max_actions, max_resources, max_cost_usd (write one limit per measure)");
                Measure::Actions(0)
            }
        };
        let tier = l.then.as_ref().map_or(Tier::Deny, |t| t.value);
        if let Some(t) = &l.then {
            if t.value < Tier::Approve {
                cx.err(t.referenced, &format!("{key}.then"), "an exceeded limit must hold (`approve`) or `deny`; `allow` and `log` would not limit anything");
            } else if t.value == Tier::Approve && default_approval.is_none() {
                cx.err(
                    t.referenced,
                    &format!("{key}.then"),
                    "`approve` needs approvers: set `defaults.approvals`",
                );
            }
        }
        limits.push(Limit {
            id: l.id.value.clone(),
            when,
            per: l.per.value,
            window_secs,
            measure,
            tier,
            message: l.message.clone(),
        });
    }

    let breaker = doc.defaults.circuit_breaker.as_ref().and_then(|b| {
        let window = parse_duration(&b.value.window).filter(|w| *w > 0);
        if window.is_none() || b.value.trips == 0 {
            cx.err(
                b.referenced,
                "defaults.circuit_breaker",
                "expected `trips` of 1 or more and a `window` such as 10m",
            );
        }
        Some((b.value.trips, window?))
    });

    let first_seen = doc.defaults.first_seen.as_ref().map(|t| {
        match t.value {
            Tier::Log => {}
            Tier::Approve if default_approval.is_none() => cx.err(
                t.referenced,
                "defaults.first_seen",
                "`approve` needs approvers: set `defaults.approvals`",
            ),
            Tier::Approve => {}
            other => cx.err(
                t.referenced,
                "defaults.first_seen",
                format!("`{other}`: a first-seen action is flagged (`log`) or held (`approve`)"),
            ),
        }
        t.value
    });

    let spot_check_ppm = match &doc.defaults.spot_checks {
        None => 0,
        Some(d) if (0.0..=1.0).contains(&d.value.sample) => {
            // In range, so the product is within 0..=1e6.
            (d.value.sample * 1e6).round() as u32
        }
        Some(d) => {
            cx.err(
                d.referenced,
                "defaults.spot_checks.sample",
                format!(
                    "{} is not a fraction: give the share of `log` decisions to review, from 0 to 1 (0.05 is 5%)",
                    d.value.sample
                ),
            );
            0
        }
    };

    if !cx.errors.is_empty() {
        return Err(cx.errors);
    }
    let index = build_index(&rules);
    Ok(Compiled {
        name: doc.name.value.clone(),
        env_placer: Placer::build(&envs),
        envs,
        unplaced,
        zone_placer: Placer::build(&zones),
        zones,
        unzoned,
        groups: doc
            .groups
            .iter()
            .map(|(k, g)| (k.clone(), g.members.as_ref().map(|m| m.value.clone())))
            .collect(),
        roles,
        agents,
        unlisted,
        unknown_floor,
        default_approval,
        rules,
        exceptions,
        index,
        mcp_servers,
        warnings,
        limits,
        breaker,
        first_seen,
        spot_check_ppm,
    })
}

fn push_label(ix: &mut LabelIndex, k: &str, v: &str, e: Entry) {
    ix.entry(k.into())
        .or_default()
        .entry(v.into())
        .or_default()
        .push(e);
}

/// The first literal agent label of a selector.
fn literal_label(labels: &[(String, Glob)]) -> Option<(&str, &str)> {
    labels
        .iter()
        .find_map(|(k, g)| g.literal().map(|v| (k.as_str(), v)))
}

fn build_index(rules: &[Rule]) -> RuleIndex {
    let mut ix = RuleIndex::default();
    for (i, r) in rules.iter().enumerate() {
        let c = &r.when;
        let pt = c.per_target.as_ref();
        let e = Entry {
            rule: i as u32,
            effects: c.effects,
            all_targets: c.quantifier == Quantifier::All,
            envs: pt.map_or(u64::MAX, |p| p.envs),
        };
        let agent_ids = c
            .agent
            .as_ref()
            .and_then(|a| a.ids.as_ref())
            .and_then(GlobList::literals);
        let agent_label = c.agent.as_ref().and_then(|a| literal_label(&a.labels));
        if let Some(ops) = c.ops.as_ref().and_then(GlobList::literals) {
            for op in ops {
                let bucket = ix.by_op.entry(op.into()).or_default();
                match (&agent_ids, agent_label) {
                    (Some(ids), _) => {
                        for id in ids {
                            bucket.by_agent.entry((*id).into()).or_default().push(e);
                        }
                    }
                    (None, Some((k, v))) => push_label(&mut bucket.by_label, k, v, e),
                    (None, None) => bucket.any_agent.push(e),
                }
            }
            continue;
        }
        if let Some(ids) = agent_ids {
            for id in ids {
                ix.by_agent.entry(id.into()).or_default().push(e);
            }
            continue;
        }
        if let Some((k, v)) = agent_label {
            push_label(&mut ix.by_label, k, v, e);
            continue;
        }
        if let Some(sel) = pt.and_then(|p| p.sel.as_ref()) {
            if let Some(names) = sel.names.as_ref().and_then(GlobList::literals) {
                for n in names {
                    ix.by_target_name.entry(n.into()).or_default().push(e);
                }
                continue;
            }
            if let Some((k, v)) = literal_label(&sel.labels) {
                push_label(&mut ix.by_target_label, k, v, e);
                continue;
            }
            if let Some(kinds) = sel.kinds.as_ref().and_then(GlobList::literals) {
                for kind in kinds {
                    ix.by_target_kind.entry(kind.into()).or_default().push(e);
                }
                continue;
            }
        }
        if let Some(tools) = c.tools.as_ref().and_then(GlobList::literals) {
            for t in tools {
                ix.by_tool.entry(t.into()).or_default().push(e);
            }
            continue;
        }
        for eff in c.effects.iter() {
            ix.general[eff as usize].push(e);
        }
    }
    ix
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_ranges_wrap_around_the_week() {
        assert_eq!(parse_days("mon"), Some(1));
        assert_eq!(parse_days("mon-fri"), Some(0b1_1111));
        assert_eq!(parse_days("sat-mon"), Some(0b110_0001));
        assert_eq!(parse_days("funday"), None);
    }

    #[test]
    fn hours_offsets_and_durations_parse() {
        assert_eq!(parse_hours("09:00-17:30"), Some((540, 1050)));
        assert_eq!(parse_hours("22:00-06:00"), Some((1320, 360)));
        assert_eq!(parse_hours("9-5"), None);
        assert_eq!(parse_offset("+01:00"), Some(3600));
        assert_eq!(parse_offset("-05:30"), Some(-19800));
        assert_eq!(parse_offset("01:00"), None);
        assert_eq!(parse_duration("30m"), Some(1800));
        assert_eq!(parse_duration("1h 30m"), Some(5400));
        assert_eq!(parse_duration("soon"), None);
    }
}
