//! The generated rule set, in an engine-neutral model ([`GenRule`]) that
//! [`crate::yaml`], [`crate::cedar`] and [`crate::rego`] each write in their own
//! language.
//!
//! A policy of N rules is a few global rules plus rules from these families, drawn
//! in a fixed, repeating pattern until N rules exist:
//!
//! | family        | example                                                          | airlock index |
//! |---------------|------------------------------------------------------------------|---------------|
//! | team-op       | team t007 may `log` writes by `ec2:RunInstances` in staging       | operation     |
//! | team-service  | team t007 may `log` writes by `s3:*` in staging and dev           | agent label   |
//! | team-zone     | team t007's writes to the data plane in production are denied     | agent label   |
//! | agent         | agent-t007-2 may `log` AWS writes in staging                      | agent id      |
//! | operation     | `rds:DeleteDBInstance` in production is denied                     | operation     |
//! | service       | deletes of service `billing-3` in production are denied           | none (general)|
//! | zone          | changes to the management plane in production are denied          | none (general)|
//!
//! The organisation grows with the policy: one team per 25 rules (three agents
//! each), one application service per 50 rules; the operation catalog is fixed
//! (about 250 real operations). Rules are distinct and never shadowed by an earlier
//! one (the loader rejects those): each team's per-operation rules use disjoint
//! operations, its per-service rules other AWS services than those, and so on.

use airlock_model::{Effect, Tier};

use crate::catalog::{
    Env, OpDef, ZONE_DATA, ZONE_MANAGEMENT, ZONE_NETWORK, ZONE_OBSERVABILITY, ZONES, catalog,
};
use crate::rng::{Rng, SEED};

/// An operation condition: a literal, `prefix*` or `*suffix` (ignoring case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpPat {
    Exact(String),
    Prefix(String),
    Suffix(String),
}

impl OpPat {
    /// As written in an airlock policy.
    pub fn glob(&self) -> String {
        match self {
            OpPat::Exact(s) => s.clone(),
            OpPat::Prefix(p) => format!("{p}*"),
            OpPat::Suffix(s) => format!("*{s}"),
        }
    }

    pub fn matches(&self, op: &str) -> bool {
        let op = op.to_ascii_lowercase();
        match self {
            OpPat::Exact(s) => op == s.to_ascii_lowercase(),
            OpPat::Prefix(p) => op.starts_with(&p.to_ascii_lowercase()),
            OpPat::Suffix(s) => op.ends_with(&s.to_ascii_lowercase()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Global,
    TeamOp,
    TeamService,
    TeamZone,
    Agent,
    Operation,
    Service,
    Zone,
}

/// One rule, engine-neutral. Empty lists mean "no condition".
#[derive(Debug, Clone)]
pub struct GenRule {
    pub id: String,
    pub family: Family,
    pub tier: Tier,
    /// The acting agent's `team` label.
    pub team: Option<String>,
    /// The acting agent's id.
    pub agent: Option<String>,
    pub tool: Option<String>,
    pub ops: Vec<OpPat>,
    /// The effects matched, after expanding `at_least` (all five: no condition).
    pub effects: Vec<Effect>,
    /// Written as `effect_at_least` in the airlock policy.
    pub at_least: Option<Effect>,
    /// Bulk actions only (there is no "not bulk" condition in the generated rules).
    pub bulk: bool,
    pub envs: Vec<Env>,
    /// Indices into [`ZONES`].
    pub zones: Vec<usize>,
    /// The target's `service` label.
    pub service: Option<String>,
    pub message: Option<String>,
}

impl GenRule {
    fn new(id: String, family: Family, tier: Tier) -> GenRule {
        GenRule {
            id,
            family,
            tier,
            team: None,
            agent: None,
            tool: None,
            ops: Vec::new(),
            effects: Effect::ALL.to_vec(),
            at_least: None,
            bulk: false,
            envs: Vec::new(),
            zones: Vec::new(),
            service: None,
            message: None,
        }
    }

    fn effects(mut self, e: &[Effect]) -> GenRule {
        let mut v = e.to_vec();
        v.sort();
        v.dedup();
        self.effects = v;
        self
    }

    /// `effect_at_least`: in a restricting rule (approve, deny) it also covers
    /// `unknown`, as the policy language says.
    fn at_least(mut self, floor: Effect) -> GenRule {
        let mut v: Vec<Effect> = Effect::ALL
            .into_iter()
            .filter(|e| e.at_least(floor))
            .collect();
        if self.strict() {
            v.push(Effect::Unknown);
        }
        self.effects = v;
        self.at_least = Some(floor);
        self
    }

    fn envs(mut self, e: &[Env]) -> GenRule {
        self.envs = e.to_vec();
        self
    }

    fn message(mut self, m: impl Into<String>) -> GenRule {
        self.message = Some(m.into());
        self
    }

    /// Restricting rules (approve, deny) apply when any target fits; relaxing ones
    /// (allow, log) only when every target does.
    pub fn strict(&self) -> bool {
        !self.tier.is_permissive()
    }

    pub fn any_effect(&self) -> bool {
        self.effects.len() == Effect::ALL.len()
    }

    /// Whether the rule has conditions checked per target.
    pub fn per_target(&self) -> bool {
        !self.envs.is_empty() || !self.zones.is_empty() || self.service.is_some()
    }

    /// The literal operations, when every operation condition is a literal.
    pub fn literal_ops(&self) -> Option<Vec<String>> {
        if self.ops.is_empty() {
            return None;
        }
        self.ops
            .iter()
            .map(|p| match p {
                OpPat::Exact(s) => Some(s.to_ascii_lowercase()),
                _ => None,
            })
            .collect()
    }
}

pub const AGENTS_PER_TEAM: usize = 3;

pub fn team_name(t: usize) -> String {
    format!("t{t:03}")
}

pub fn agent_name(team: usize, k: usize) -> String {
    format!("agent-{}-{k}", team_name(team))
}

pub fn teams_for(rule_count: usize) -> usize {
    (rule_count / 25).max(2)
}

pub fn services_for(rule_count: usize) -> usize {
    (rule_count / 50).max(3)
}

pub fn service_name(i: usize) -> String {
    let words = crate::catalog::SERVICE_WORDS;
    format!("{}-{}", words[i % words.len()], i / words.len())
}

/// A generated policy, engine-neutral.
#[derive(Debug, Clone)]
pub struct Generated {
    pub rule_count: usize,
    pub teams: usize,
    pub services: Vec<String>,
    pub catalog: Vec<OpDef>,
    pub rules: Vec<GenRule>,
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// Operations with their own (team-independent) rules: some deletes and a few writes.
pub fn sensitive(op: &OpDef) -> bool {
    let h = fnv(&op.op) % 10;
    op.tool == "aws"
        && !op.teardown
        && match op.effect {
            Effect::Delete => h < 5,
            Effect::Write => h < 2,
            _ => false,
        }
}

/// Operations a team's own per-operation rules may name.
fn regular(op: &OpDef) -> bool {
    (op.tool == "aws" || op.tool == "kubectl")
        && !op.teardown
        && matches!(op.effect, Effect::Write | Effect::Delete)
        && !sensitive(op)
}

fn globals() -> Vec<GenRule> {
    use Effect::*;
    use Env::*;
    let g = |id: &str, tier| GenRule::new(id.to_owned(), Family::Global, tier);
    let mut teardown = g("no-environment-teardown", Tier::Deny)
        .at_least(Delete)
        .message("environments are never deleted by an agent; fix the specific resource instead");
    teardown.tool = Some("aws".into());
    teardown.ops = crate::catalog::TEARDOWN_OPS
        .iter()
        .map(|p| OpPat::Suffix(p.trim_start_matches('*').to_owned()))
        .collect();
    let mut bulk = g("bulk-deletes", Tier::Deny)
        .effects(&[Delete])
        .message("unbounded deletes are never done by an agent; delete what you mean, by name");
    bulk.bulk = true;
    vec![
        g("reads", Tier::Allow).effects(&[Read]),
        g("permission-changes", Tier::Deny)
            .effects(&[Permissions])
            .message("permission changes are made by humans; ask an administrator"),
        g("unknown-effects", Tier::Approve).effects(&[Unknown]),
        g("production-writes", Tier::Approve)
            .effects(&[Write])
            .envs(&[Production])
            .message("a human approves changes to production"),
        g("production-deletes", Tier::Approve)
            .at_least(Delete)
            .envs(&[Production]),
        g("dev-changes", Tier::Allow)
            .effects(&[Write, Delete])
            .envs(&[Dev]),
        bulk,
        teardown,
    ]
}

struct TeamState {
    /// This team's operations for per-operation rules, by effect.
    writes: Vec<usize>,
    deletes: Vec<usize>,
    /// AWS services for this team's `service:*` rules (disjoint from the above).
    wide: Vec<&'static str>,
    zones: Vec<usize>,
}

struct State {
    rng: Rng,
    cat: Vec<OpDef>,
    teams: Vec<TeamState>,
    services: Vec<String>,
    cursor: [usize; 8],
    exhausted: [bool; 8],
    sensitive_ops: Vec<usize>,
}

const PATTERN: [Family; 20] = {
    use Family::*;
    [
        TeamOp,
        TeamOp,
        TeamZone,
        Operation,
        TeamOp,
        Service,
        TeamService,
        TeamOp,
        Agent,
        TeamOp,
        TeamZone,
        TeamOp,
        Operation,
        Service,
        TeamOp,
        TeamService,
        TeamOp,
        Zone,
        TeamOp,
        TeamZone,
    ]
};

fn slot(f: Family) -> usize {
    f as usize
}

impl State {
    fn new(rule_count: usize) -> State {
        let mut rng = Rng::derive(SEED, &format!("rules/{rule_count}"));
        let cat = catalog();
        let aws: Vec<&'static str> = crate::catalog::AWS.iter().map(|s| s.0).collect();
        let teams = (0..teams_for(rule_count))
            .map(|_| {
                let mut svcs = aws.clone();
                rng.shuffle(&mut svcs);
                let mut own: Vec<&str> = svcs[..7].to_vec();
                if rng.chance(50) {
                    own.push("kubectl");
                }
                let wide = svcs[7..10].to_vec();
                let mut writes = Vec::new();
                let mut deletes = Vec::new();
                for (i, op) in cat.iter().enumerate() {
                    if regular(op) && own.contains(&op.service) {
                        match op.effect {
                            Effect::Write => writes.push(i),
                            _ => deletes.push(i),
                        }
                    }
                }
                rng.shuffle(&mut writes);
                rng.shuffle(&mut deletes);
                let mut zones: Vec<usize> = (0..ZONES.len()).collect();
                rng.shuffle(&mut zones);
                TeamState {
                    writes,
                    deletes,
                    wide,
                    zones,
                }
            })
            .collect();
        let sensitive_ops = (0..cat.len()).filter(|&i| sensitive(&cat[i])).collect();
        State {
            rng,
            services: (0..services_for(rule_count)).map(service_name).collect(),
            cat,
            teams,
            cursor: [0; 8],
            exhausted: [false; 8],
            sensitive_ops,
        }
    }

    fn next(&mut self, f: Family) -> Option<GenRule> {
        if self.exhausted[slot(f)] {
            return None;
        }
        let r = match f {
            Family::Global => None,
            Family::TeamOp => self.team_op(),
            Family::TeamService => self.team_service(),
            Family::TeamZone => self.team_zone(),
            Family::Agent => self.agent(),
            Family::Operation => self.operation(),
            Family::Service => self.service(),
            Family::Zone => self.zone(),
        };
        if r.is_none() {
            self.exhausted[slot(f)] = true;
        }
        r
    }

    /// Round-robin over teams; gives up when no team has anything left.
    fn per_team(
        &mut self,
        f: Family,
        mut make: impl FnMut(&mut State, usize) -> Option<GenRule>,
    ) -> Option<GenRule> {
        for _ in 0..self.teams.len() {
            let t = self.cursor[slot(f)] % self.teams.len();
            self.cursor[slot(f)] += 1;
            if let Some(r) = make(self, t) {
                return Some(r);
            }
        }
        None
    }

    fn team_op(&mut self) -> Option<GenRule> {
        self.per_team(Family::TeamOp, |s, t| {
            use Env::*;
            // (tier, effects from, envs, max ops)
            let roll = s.rng.below(100);
            let (tier, from_w, from_d, envs, max): (Tier, bool, bool, &[Env], usize) = match roll {
                0..45 => (Tier::Log, true, false, &[Staging], 3),
                45..60 => (Tier::Allow, true, false, &[Staging, Dev], 2),
                60..75 => (Tier::Approve, false, true, &[Staging], 2),
                75..90 => (Tier::Deny, true, true, &[Production], 1),
                _ => (Tier::Log, true, true, &[Dev], 2),
            };
            let want = 1 + s.rng.below(max);
            let mut ops = Vec::new();
            for _ in 0..want {
                let ts = &mut s.teams[t];
                let take_w = from_w && (!from_d || s.rng.chance(60));
                let op = if take_w { ts.writes.pop() } else { None }
                    .or_else(|| if from_d { ts.deletes.pop() } else { None })
                    .or_else(|| if from_w { ts.writes.pop() } else { None });
                match op {
                    Some(op) => ops.push(op),
                    None => break,
                }
            }
            if ops.is_empty() {
                return None;
            }
            let k = s.cursor[slot(Family::TeamOp)];
            let team = team_name(t);
            let effects: Vec<Effect> = ops.iter().map(|&i| s.cat[i].effect).collect();
            let mut r = GenRule::new(format!("{team}-ops-{k}"), Family::TeamOp, tier)
                .effects(&effects)
                .envs(envs);
            let tools: Vec<&str> = ops.iter().map(|&i| s.cat[i].tool).collect();
            if tools.iter().all(|x| *x == "kubectl") {
                r.tool = Some("kubectl".into());
            }
            r.team = Some(team.clone());
            r.ops = ops
                .iter()
                .map(|&i| OpPat::Exact(s.cat[i].op.clone()))
                .collect();
            if tier == Tier::Deny {
                r.message = Some(format!(
                    "team {team} does not run {} in production",
                    s.cat[ops[0]].op
                ));
            }
            Some(r)
        })
    }

    fn team_service(&mut self) -> Option<GenRule> {
        self.per_team(Family::TeamService, |s, t| {
            let svc = s.teams[t].wide.pop()?;
            let team = team_name(t);
            let mut r = if s.rng.chance(70) {
                GenRule::new(
                    format!("{team}-{svc}-changes"),
                    Family::TeamService,
                    Tier::Log,
                )
                .effects(&[Effect::Write])
                .envs(&[Env::Staging, Env::Dev])
            } else {
                GenRule::new(
                    format!("{team}-{svc}-deletes"),
                    Family::TeamService,
                    Tier::Approve,
                )
                .effects(&[Effect::Delete])
                .envs(&[Env::Staging])
            };
            r.team = Some(team);
            r.tool = Some("aws".into());
            r.ops = vec![OpPat::Prefix(format!("{svc}:"))];
            Some(r)
        })
    }

    fn team_zone(&mut self) -> Option<GenRule> {
        self.per_team(Family::TeamZone, |s, t| {
            let z = s.teams[t].zones.pop()?;
            let team = team_name(t);
            let id = format!("{team}-{}", ZONES[z].0);
            let r = if z == ZONE_MANAGEMENT || z == ZONE_NETWORK {
                GenRule::new(id, Family::TeamZone, Tier::Approve)
                    .effects(&[Effect::Write])
                    .envs(&[Env::Staging])
            } else if z == ZONE_OBSERVABILITY {
                // Not "log writes in staging": the zone rule for everyone says so already.
                GenRule::new(id, Family::TeamZone, Tier::Log)
                    .effects(&[Effect::Write, Effect::Delete])
                    .envs(&[Env::Dev])
            } else {
                match s.rng.below(10) {
                    0..5 => GenRule::new(id, Family::TeamZone, Tier::Log)
                        .effects(&[Effect::Write])
                        .envs(&[Env::Staging]),
                    5..8 => GenRule::new(id, Family::TeamZone, Tier::Deny)
                        .effects(&[Effect::Write, Effect::Delete])
                        .envs(&[Env::Production])
                        .message(format!(
                            "team {team} changes {} in production through CI",
                            ZONES[z].0
                        )),
                    _ => GenRule::new(id, Family::TeamZone, Tier::Log)
                        .effects(&[Effect::Write, Effect::Delete])
                        .envs(&[Env::Dev]),
                }
            };
            let mut r = r;
            r.team = Some(team);
            r.zones = vec![z];
            Some(r)
        })
    }

    fn agent(&mut self) -> Option<GenRule> {
        let k = self.cursor[slot(Family::Agent)];
        self.cursor[slot(Family::Agent)] += 1;
        let teams = self.teams.len();
        if k >= teams * AGENTS_PER_TEAM {
            return None;
        }
        // Spread over teams first: agent 0 of every team, then agent 1, ...
        let agent = agent_name(k % teams, (k / teams) % AGENTS_PER_TEAM);
        let mut r = GenRule::new(format!("{agent}-staging"), Family::Agent, Tier::Log)
            .effects(&[Effect::Write])
            .envs(&[Env::Staging]);
        r.agent = Some(agent);
        r.tool = Some("aws".into());
        Some(r)
    }

    fn operation(&mut self) -> Option<GenRule> {
        let k = self.cursor[slot(Family::Operation)];
        self.cursor[slot(Family::Operation)] += 1;
        let op = &self.cat[*self.sensitive_ops.get(k / 2)?];
        let name = op.op.replace(':', "-").to_ascii_lowercase();
        let mut r = if k.is_multiple_of(2) {
            GenRule::new(format!("{name}-production"), Family::Operation, Tier::Deny)
                .envs(&[Env::Production])
                .message(format!("{} in production is done by a human", op.op))
        } else {
            GenRule::new(format!("{name}-staging"), Family::Operation, Tier::Approve)
                .envs(&[Env::Staging])
        };
        r.tool = Some(op.tool.into());
        r.ops = vec![OpPat::Exact(op.op.clone())];
        Some(r)
    }

    fn service(&mut self) -> Option<GenRule> {
        let k = self.cursor[slot(Family::Service)];
        self.cursor[slot(Family::Service)] += 1;
        let svc = self.services.get(k / 2)?.clone();
        let mut r = if k.is_multiple_of(2) {
            GenRule::new(
                format!("{svc}-production-deletes"),
                Family::Service,
                Tier::Deny,
            )
            .effects(&[Effect::Delete])
            .envs(&[Env::Production])
            .message(format!("{svc} is deleted in production only by its owners"))
        } else {
            GenRule::new(
                format!("{svc}-staging-changes"),
                Family::Service,
                Tier::Approve,
            )
            .effects(&[Effect::Write])
            .envs(&[Env::Staging])
        };
        r.service = Some(svc);
        Some(r)
    }

    fn zone(&mut self) -> Option<GenRule> {
        use Effect::*;
        let k = self.cursor[slot(Family::Zone)];
        self.cursor[slot(Family::Zone)] += 1;
        let z = |i: usize| ZONES[i].0;
        let mut r = match k {
            0 => GenRule::new(
                format!("{}-production", z(ZONE_MANAGEMENT)),
                Family::Zone,
                Tier::Deny,
            )
            .effects(&[Write, Delete])
            .envs(&[Env::Production])
            .message("infrastructure in production changes through CI"),
            1 => GenRule::new(
                format!("{}-bulk-writes", z(ZONE_DATA)),
                Family::Zone,
                Tier::Approve,
            )
            .effects(&[Write]),
            2 => GenRule::new(
                format!("{}-production", z(ZONE_NETWORK)),
                Family::Zone,
                Tier::Deny,
            )
            .effects(&[Write, Delete])
            .envs(&[Env::Production]),
            3 => GenRule::new(
                format!("{}-staging-deletes", z(ZONE_DATA)),
                Family::Zone,
                Tier::Approve,
            )
            .effects(&[Delete])
            .envs(&[Env::Staging]),
            4 => GenRule::new("observability-staging".into(), Family::Zone, Tier::Log)
                .effects(&[Write])
                .envs(&[Env::Staging]),
            _ => return None,
        };
        r.zones = vec![match k {
            0 => ZONE_MANAGEMENT,
            1 | 3 => ZONE_DATA,
            2 => ZONE_NETWORK,
            _ => ZONE_OBSERVABILITY,
        }];
        r.bulk = k == 1;
        Some(r)
    }
}

/// The generated policy of `rule_count` rules (at least the global ones).
pub fn generate(rule_count: usize) -> Generated {
    let mut st = State::new(rule_count);
    let mut rules = globals();
    let mut i = 0usize;
    while rules.len() < rule_count && !st.exhausted[1..].iter().all(|e| *e) {
        let f = PATTERN[i % PATTERN.len()];
        i += 1;
        if let Some(r) = st.next(f) {
            rules.push(r);
        }
    }
    Generated {
        rule_count,
        teams: st.teams.len(),
        services: st.services,
        catalog: st.cat,
        rules,
    }
}
