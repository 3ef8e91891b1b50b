//! The decision path. Given a compiled policy, an action and the time, produce a
//! [`Verdict`]: no I/O, no clock, no allocation in the common case, and no string
//! built (explanations are rendered later, only when asked for).
//!
//! The order of checks, all combined by strictness (`deny > approve > log > allow`):
//! 1. an agent missing from the inventory is denied unless the policy says otherwise;
//! 2. each target is placed in an environment and a zone;
//! 3. a listed agent's roles must grant the action;
//! 4. active exceptions contribute their tier and waive the rules they name;
//! 5. the candidate rules from the index are evaluated; enforced ones combine,
//!    observe/alert ones are reported as what they would have done;
//! 6. nothing enforced matched: default deny;
//! 7. an action of unknown effect never ends below the `unknown_effect` floor.

use std::collections::BTreeMap;

use airlock_model::{Action, Effect, Mode, Target, Tier};
use smallvec::SmallVec;

use crate::compile::*;
use crate::source::{Plane, ReasonCond, UnlistedAgents};

/// Why a tier was reached: a rule, an exception, or one of the engine's own checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Decider {
    /// The rule at this index in the policy.
    Rule(u32),
    /// The exception at this index in the policy.
    Exception(u32),
    /// Nothing allowed the action.
    DefaultDeny,
    /// The agent is not in the inventory and unlisted agents are denied.
    UnlistedAgent,
    /// The agent's roles do not grant this action.
    NotGranted,
    /// The effect is unknown, so it needs at least the `unknown_effect` floor.
    UnknownEffect,
}

/// How a target's environment was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlacedBy {
    /// A placement selector in the policy matched.
    Match,
    /// The caller's stated environment, taken because it is stricter.
    Stated,
    /// Nothing matched: the policy's `unplaced` environment.
    Unplaced,
}

impl PlacedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            PlacedBy::Match => "match",
            PlacedBy::Stated => "stated",
            PlacedBy::Unplaced => "unplaced",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlacedTarget {
    pub env: u8,
    pub zone: Option<u8>,
    pub by: PlacedBy,
}

/// The outcome of evaluating one action, in indices; [`crate::Policy::decide`] turns it
/// into a [`airlock_model::Decision`] with names and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub tier: Tier,
    /// What decided, sorted (rules in policy order first).
    pub deciders: SmallVec<[Decider; 4]>,
    /// Matching non-enforced rules and the tier each would have given.
    pub observed: SmallVec<[(u32, Tier); 2]>,
    /// Exceptions that applied.
    pub exceptions: SmallVec<[u32; 2]>,
    /// One entry per target (one for an action without targets).
    pub placements: SmallVec<[PlacedTarget; 4]>,
}

/// The acting agent as the policy sees it.
pub(crate) struct Agent<'a> {
    pub id: &'a str,
    pub listed: bool,
    pub tenant: Option<&'a str>,
    pub operator: Option<&'a str>,
    pub labels: &'a BTreeMap<String, String>,
    pub roles: &'a [u16],
    pub zone: Option<u8>,
}

pub(crate) fn resolve_agent<'a>(p: &'a Compiled, a: &'a Action) -> Agent<'a> {
    match p.agents.get(&a.who.agent) {
        Some(info) => Agent {
            id: &a.who.agent,
            listed: true,
            tenant: info.tenant.as_deref(),
            operator: info.operator.as_deref(),
            labels: &info.labels,
            roles: &info.roles,
            zone: info.zone,
        },
        // Claims of an unlisted agent are taken as stated, except roles: a role is a
        // grant, and only the policy grants.
        None => Agent {
            id: &a.who.agent,
            listed: false,
            tenant: a.who.tenant.as_deref(),
            operator: a.who.operator.as_deref(),
            labels: &a.who.labels,
            roles: &[],
            zone: a
                .who
                .zone
                .as_deref()
                .and_then(|z| p.zones.iter().position(|x| x.name == z))
                .map(|i| i as u8),
        },
    }
}

#[inline]
fn opt_match(list: &Option<crate::glob::GlobList>, value: Option<&str>) -> bool {
    match list {
        None => true,
        Some(l) => value.is_some_and(|v| l.is_match(v)),
    }
}

fn labels_match(want: &[(String, crate::glob::Glob)], have: &BTreeMap<String, String>) -> bool {
    want.iter()
        .all(|(k, g)| have.get(k).is_some_and(|v| g.is_match(v)))
}

/// A path inside the agent's working directory: relative without `..`, or absolute
/// under `workdir`.
fn in_workdir(path: &str, workdir: Option<&str>) -> bool {
    let climbs = |p: &str| p.split('/').any(|c| c == "..");
    if path.is_empty() || climbs(path) {
        return false;
    }
    if !path.starts_with('/') && !path.starts_with('~') {
        return true;
    }
    match workdir {
        Some(w) if w.starts_with('/') && !climbs(w) => {
            let w = w.trim_end_matches('/');
            path.strip_prefix(w)
                .is_some_and(|rest| rest.starts_with('/'))
        }
        _ => false,
    }
}

pub(crate) fn target_sel_match(s: &TargetSel, t: &Target, workdir: Option<&str>) -> bool {
    opt_match(&s.kinds, Some(&t.kind))
        && opt_match(&s.names, Some(&t.name))
        && opt_match(&s.paths, t.path.as_deref())
        && opt_match(&s.namespaces, t.namespace.as_deref())
        && opt_match(&s.accounts, t.account.as_deref())
        && opt_match(&s.regions, t.region.as_deref())
        && opt_match(&s.profiles, t.profile.as_deref())
        && opt_match(&s.hosts, t.host.as_deref())
        && labels_match(&s.labels, &t.labels)
        && s.workdir.is_none_or(|want| {
            let path = t
                .path
                .as_deref()
                .unwrap_or(if t.kind == "file" { &t.name } else { "" });
            in_workdir(path, workdir) == want
        })
}

/// The first place whose selectors fit the target (see [`Placer`]).
fn first_place(placer: &Placer, t: &Target, workdir: Option<&str>) -> Option<u8> {
    let mut best: Option<u8> = None;
    if !placer.by_kind.is_empty() || !placer.by_kind_prefix.is_empty() {
        let kind = Lower::new(&t.kind);
        let kind = kind.as_str();
        best = placer.by_kind.get(kind).copied();
        if !placer.by_kind_prefix.is_empty() {
            for (i, _) in kind.match_indices(':') {
                if let Some(&place) = placer.by_kind_prefix.get(&kind[..=i]) {
                    best = Some(best.map_or(place, |b| b.min(place)));
                }
            }
        }
    }
    for (place, sel) in &placer.rest {
        if best.is_some_and(|b| *place >= b) {
            break;
        }
        if target_sel_match(sel, t, workdir) {
            best = Some(*place);
            break;
        }
    }
    best
}

fn place_one(p: &Compiled, t: Option<&Target>, workdir: Option<&str>) -> PlacedTarget {
    let matched = t.and_then(|t| first_place(&p.env_placer, t, workdir));
    let (mut env, mut by) = match matched {
        Some(i) => (i, PlacedBy::Match),
        None => (p.unplaced, PlacedBy::Unplaced),
    };
    // A stated environment can only make things stricter (earlier = more sensitive).
    if let Some(stated) = t.and_then(|t| t.environment.as_deref())
        && let Some(i) = p.envs.iter().position(|e| e.name == stated)
        && (i as u8) < env
    {
        env = i as u8;
        by = PlacedBy::Stated;
    }
    let zone = t
        .and_then(|t| {
            first_place(&p.zone_placer, t, workdir).or_else(|| {
                let stated = t.zone.as_deref()?;
                p.zones
                    .iter()
                    .position(|z| z.name == stated)
                    .map(|i| i as u8)
            })
        })
        .or(p.unzoned);
    PlacedTarget { env, zone, by }
}

pub(crate) fn place(p: &Compiled, a: &Action) -> SmallVec<[PlacedTarget; 4]> {
    let workdir = a.who.workdir.as_deref();
    if a.targets.is_empty() {
        let mut v = SmallVec::new();
        v.push(place_one(p, None, workdir));
        return v;
    }
    a.targets
        .iter()
        .map(|t| place_one(p, Some(t), workdir))
        .collect()
}

impl Window {
    fn contains(&self, now: i64) -> bool {
        let local = now + i64::from(self.offset_secs);
        let day = local.div_euclid(86_400);
        // 1970-01-01 was a Thursday (index 3 with Monday = 0).
        let weekday = (day + 3).rem_euclid(7) as u8;
        let minute = (local.rem_euclid(86_400) / 60) as u16;
        let in_hours = if self.start_min < self.end_min {
            minute >= self.start_min && minute < self.end_min
        } else {
            minute >= self.start_min || minute < self.end_min
        };
        self.days & (1 << weekday) != 0 && in_hours
    }
}

/// Everything about one action the conditions look at, computed once.
pub(crate) struct Facts<'a> {
    pub action: &'a Action,
    pub agent: Agent<'a>,
    pub placements: &'a [PlacedTarget],
    pub now: i64,
}

impl PerTarget {
    fn matches(&self, p: &Compiled, f: &Facts, t: Option<&Target>, pl: &PlacedTarget) -> bool {
        if self.envs & (1 << pl.env) == 0 {
            return false;
        }
        if let Some(z) = self.zones
            && pl.zone.is_none_or(|pz| z & (1 << pz) == 0)
        {
            return false;
        }
        if let Some(plane) = self.plane {
            let tp: Option<Plane> = pl.zone.and_then(|z| p.zones[z as usize].plane);
            if tp != Some(plane) {
                return false;
            }
        }
        if let Some(sel) = &self.sel {
            let empty = Target::default();
            if !target_sel_match(sel, t.unwrap_or(&empty), f.action.who.workdir.as_deref()) {
                return false;
            }
        }
        if let Some(want) = self.cross_zone {
            // Unknown zones on either side count as crossing: we cannot show they match.
            let crossing = match (f.agent.zone, pl.zone) {
                (Some(a), Some(b)) => a != b,
                _ => true,
            };
            if crossing != want {
                return false;
            }
        }
        true
    }
}

impl Cond {
    /// Cheap tests first (bit masks, booleans, numbers), then the per-target
    /// conditions, then string matching; the stated-intent facts are computed only
    /// when a condition asks for them.
    pub(crate) fn matches(&self, p: &Compiled, f: &Facts) -> bool {
        let a = f.action;
        if !self.effects.contains(a.what.effect) || self.bulk.is_some_and(|b| b != a.what.bulk) {
            return false;
        }
        if self
            .irreversible
            .is_some_and(|i| i != a.magnitude.irreversible)
            || self
                .resources_over
                .is_some_and(|n| a.resources_affected() <= n)
        {
            return false;
        }
        // An unknown cost cannot be shown to exceed the limit.
        if let Some(limit) = self.cost_over
            && a.magnitude
                .cost_usd
                .is_none_or(|c| c.is_nan() || c <= limit)
        {
            return false;
        }
        if let Some(pt) = &self.per_target {
            let targets = a
                .targets
                .iter()
                .map(Some)
                .chain(a.targets.is_empty().then_some(None));
            let mut each = targets
                .zip(f.placements)
                .map(|(t, pl)| pt.matches(p, f, t, pl));
            let ok = match self.quantifier {
                Quantifier::Any => each.any(|m| m),
                Quantifier::All => each.all(|m| m),
            };
            if !ok {
                return false;
            }
        }
        if !opt_match(&self.ops, Some(&a.what.operation))
            || !opt_match(&self.tools, Some(&a.what.tool))
        {
            return false;
        }
        if let Some(sel) = &self.agent {
            let ag = &f.agent;
            if !labels_match(&sel.labels, ag.labels)
                || !opt_match(&sel.ids, Some(ag.id))
                || !opt_match(&sel.operators, ag.operator)
            {
                return false;
            }
            if let Some(roles) = &sel.roles
                && !roles.iter().any(|r| ag.roles.contains(r))
            {
                return false;
            }
            if let Some(z) = sel.zones
                && ag.zone.is_none_or(|az| z & (1 << az) == 0)
            {
                return false;
            }
        }
        if !opt_match(&self.tenants, f.agent.tenant) {
            return false;
        }
        if self.reason.is_some() || self.alternatives.is_some() || self.rollback.is_some() {
            let blank = |s: Option<&str>| s.is_none_or(|s| s.trim().is_empty());
            let intent = [
                (self.reason, a.reason_missing()),
                (
                    self.alternatives,
                    a.why.alternatives.iter().all(|s| blank(Some(s))),
                ),
                (self.rollback, blank(a.why.rollback.as_deref())),
            ];
            for (cond, missing) in intent {
                if cond.is_some_and(|c| (c == ReasonCond::Missing) != missing) {
                    return false;
                }
            }
        }
        if self.during.is_some_and(|w| !w.contains(f.now))
            || self.outside.is_some_and(|w| w.contains(f.now))
        {
            return false;
        }
        true
    }
}

impl Rule {
    pub(crate) fn matches(&self, p: &Compiled, f: &Facts) -> bool {
        self.when.matches(p, f) && !self.unless.as_ref().is_some_and(|u| u.matches(p, f))
    }
}

impl Exception {
    pub(crate) fn active(&self, now: i64) -> bool {
        self.starts.is_none_or(|s| now >= s) && now < self.expires
    }
}

/// ASCII-lowercased text for the case-insensitive index lookups, on the stack for
/// the usual short operation and tool names.
enum Lower {
    Stack([u8; 96], usize),
    Heap(String),
}

impl Lower {
    fn new(s: &str) -> Lower {
        if s.len() <= 96 {
            let mut buf = [0u8; 96];
            for (d, b) in buf.iter_mut().zip(s.bytes()) {
                *d = b.to_ascii_lowercase();
            }
            // ASCII lowercasing of valid UTF-8 is valid UTF-8; checked here once so
            // that `as_str` can never lose the text (a lost operation would skip the
            // rules indexed under it).
            if std::str::from_utf8(&buf[..s.len()]).is_ok() {
                return Lower::Stack(buf, s.len());
            }
        }
        Lower::Heap(s.to_ascii_lowercase())
    }

    fn as_str(&self) -> &str {
        match self {
            Lower::Stack(buf, len) => std::str::from_utf8(&buf[..*len]).unwrap_or_default(),
            Lower::Heap(h) => h,
        }
    }
}

struct Combine {
    tier: Option<Tier>,
    deciders: SmallVec<[Decider; 4]>,
}

impl Combine {
    fn add(&mut self, tier: Tier, d: Decider) {
        match self.tier {
            Some(t) if t > tier => {}
            Some(t) if t == tier => self.deciders.push(d),
            _ => {
                self.tier = Some(tier);
                self.deciders.clear();
                self.deciders.push(d);
            }
        }
    }
}

pub(crate) fn granted(p: &Compiled, f: &Facts) -> bool {
    f.agent
        .roles
        .iter()
        .any(|r| p.roles[*r as usize].grants.iter().any(|g| g.matches(p, f)))
}

/// The rules the index says may match, in policy order, each once. Entries whose
/// effect or environments rule them out are dropped without touching the rule.
fn candidates(p: &Compiled, action: &Action, f: &Facts) -> SmallVec<[u32; 32]> {
    let ix = &p.index;
    let effect = action.what.effect;
    let env_union = f.placements.iter().fold(0u64, |m, pl| m | 1 << pl.env);
    let mut out: SmallVec<[u32; 32]> = SmallVec::new();
    let mut take = |entries: Option<&Vec<Entry>>| {
        for e in entries.into_iter().flatten() {
            if e.may_match(effect, env_union) {
                out.push(e.rule);
            }
        }
    };
    let labels = |ix: &'_ LabelIndex,
                  have: &'_ BTreeMap<String, String>,
                  take: &mut dyn FnMut(Option<&Vec<Entry>>)| {
        for (k, v) in have {
            if let Some(by_value) = ix.get(k.as_str()) {
                take(by_value.get(v.as_str()));
            }
        }
    };
    let op = Lower::new(&action.what.operation);
    if let Some(b) = ix.by_op.get(op.as_str()) {
        take(Some(&b.any_agent));
        take(b.by_agent.get(action.who.agent.as_str()));
        labels(&b.by_label, f.agent.labels, &mut take);
    }
    take(ix.by_agent.get(action.who.agent.as_str()));
    labels(&ix.by_label, f.agent.labels, &mut take);
    let empty = Target::default();
    let targets = if action.targets.is_empty() {
        std::slice::from_ref(&empty)
    } else {
        &action.targets[..]
    };
    for t in targets {
        if !ix.by_target_name.is_empty() {
            take(ix.by_target_name.get(t.name.as_str()));
        }
        if !ix.by_target_label.is_empty() {
            labels(&ix.by_target_label, &t.labels, &mut take);
        }
        if !ix.by_target_kind.is_empty() {
            take(ix.by_target_kind.get(Lower::new(&t.kind).as_str()));
        }
    }
    if !ix.by_tool.is_empty() {
        take(ix.by_tool.get(Lower::new(&action.what.tool).as_str()));
    }
    take(Some(&ix.general[effect as usize]));
    // Target dimensions can yield a rule once per target; policy order also makes
    // the deciders come out sorted.
    out.sort_unstable();
    out.dedup();
    out
}

/// Which rules to look at: the index's candidates (the decision path), or every rule
/// (the reference the index is tested against).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    Indexed,
    Exhaustive,
}

pub(crate) fn evaluate(p: &Compiled, action: &Action, now: i64) -> Verdict {
    evaluate_with(p, action, now, Scan::Indexed)
}

pub(crate) fn evaluate_with(p: &Compiled, action: &Action, now: i64, scan: Scan) -> Verdict {
    let placements = place(p, action);
    let agent = resolve_agent(p, action);
    let mut out = Verdict {
        tier: Tier::Deny,
        deciders: SmallVec::new(),
        observed: SmallVec::new(),
        exceptions: SmallVec::new(),
        placements: SmallVec::new(),
    };
    if !agent.listed && p.unlisted == UnlistedAgents::Deny {
        out.deciders.push(Decider::UnlistedAgent);
        out.placements = placements;
        return out;
    }
    let listed = agent.listed;
    let facts = Facts {
        action,
        agent,
        placements: &placements,
        now,
    };
    let mut c = Combine {
        tier: None,
        deciders: SmallVec::new(),
    };
    if listed && !granted(p, &facts) {
        c.add(Tier::Deny, Decider::NotGranted);
    }

    let mut waived: SmallVec<[u32; 4]> = SmallVec::new();
    for (i, x) in p.exceptions.iter().enumerate() {
        if x.active(now) && x.when.matches(p, &facts) {
            c.add(x.tier, Decider::Exception(i as u32));
            out.exceptions.push(i as u32);
            waived.extend_from_slice(&x.waive);
        }
    }

    let mut visit = |ri: u32| {
        if waived.contains(&ri) {
            return;
        }
        let r = &p.rules[ri as usize];
        if r.matches(p, &facts) {
            match r.mode {
                Mode::Enforce => c.add(r.tier, Decider::Rule(ri)),
                Mode::Observe | Mode::Alert => out.observed.push((ri, r.tier)),
            }
        }
    };
    match scan {
        Scan::Exhaustive => (0..p.rules.len() as u32).for_each(&mut visit),
        Scan::Indexed => candidates(p, action, &facts)
            .into_iter()
            .for_each(&mut visit),
    }

    let (mut tier, mut deciders) = match c.tier {
        Some(t) => (t, c.deciders),
        None => {
            let mut d = SmallVec::new();
            d.push(Decider::DefaultDeny);
            (Tier::Deny, d)
        }
    };
    if action.what.effect == Effect::Unknown && tier < p.unknown_floor {
        tier = p.unknown_floor;
        deciders.clear();
        deciders.push(Decider::UnknownEffect);
    }
    deciders.sort_unstable();
    out.observed.sort_unstable();
    out.tier = tier;
    out.deciders = deciders;
    out.placements = placements;
    out
}
