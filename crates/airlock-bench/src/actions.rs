//! A realistic mix of Actions for a generated policy: mostly reads and writes, some
//! deletes, a few permission changes, unknown commands and coding-agent file work,
//! across teams, environments and operations. About half of the writes and deletes
//! are aimed at one of the policy's rules (its team, an operation it names, an
//! environment it covers) so that rules hit as well as miss.

use std::collections::BTreeMap;

use airlock_model::{Action, Effect, Magnitude, Target, What, Who, Why};

use crate::catalog::{Env, OpDef, SERVICE_WORDS, ZONES, zone_of_kind};
use crate::rng::{Rng, SEED};
use crate::rules::{AGENTS_PER_TEAM, Family, GenRule, Generated, agent_name, team_name};

/// How many actions the benchmark cycles through.
pub const ACTION_COUNT: usize = 2000;

struct Ctx<'a> {
    g: &'a Generated,
    rng: Rng,
    by_effect: BTreeMap<Effect, Vec<usize>>,
    files: Vec<usize>,
    aimed: Vec<&'a GenRule>,
}

fn random_env(rng: &mut Rng) -> Option<Env> {
    match rng.below(100) {
        0..35 => Some(Env::Production),
        35..70 => Some(Env::Staging),
        70..95 => Some(Env::Dev),
        _ => None, // unplaced: counts as production
    }
}

impl Ctx<'_> {
    fn op(&self, i: usize) -> &OpDef {
        &self.g.catalog[i]
    }

    fn random_service(&mut self) -> String {
        let s = &self.g.services;
        if self.rng.chance(85) {
            s[self.rng.below(s.len())].clone()
        } else {
            // A service no rule names.
            format!("{}-x{}", self.rng.pick(&SERVICE_WORDS), self.rng.below(9))
        }
    }

    fn who(&mut self) -> Who {
        let teams = self.g.teams;
        let (agent, team) = match self.rng.below(100) {
            0..85 => {
                let t = self.rng.below(teams);
                (
                    agent_name(t, self.rng.below(AGENTS_PER_TEAM)),
                    Some(team_name(t)),
                )
            }
            // A team the policy does not know.
            85..95 => {
                let t = teams + self.rng.below(50);
                (agent_name(t, 0), Some(team_name(t)))
            }
            _ => (format!("agent-adhoc-{}", self.rng.below(5)), None),
        };
        who(agent, team)
    }

    fn target(&mut self, kind: &str, env: Option<Env>, service: Option<String>) -> Target {
        let resource = kind.rsplit(':').next().unwrap_or("resource");
        let svc = service.clone().unwrap_or_else(|| "shared".into());
        let base = format!("{svc}-{resource}{}", self.rng.below(20));
        let name = match env {
            Some(e) if self.rng.chance(80) => format!("{}{base}", e.prefix()),
            Some(e) => format!("{base}{}", e.suffix()),
            None => base,
        };
        let mut labels = BTreeMap::new();
        if let Some(s) = service.filter(|_| self.rng.chance(90)) {
            labels.insert("service".to_owned(), s);
        }
        Target {
            kind: kind.to_owned(),
            name,
            region: Some("eu-west-1".into()),
            labels,
            ..Target::default()
        }
    }

    /// An operation with this effect whose target lands in one of `zones` (any zone
    /// when empty).
    fn op_for(&mut self, effect: Effect, zones: &[usize]) -> usize {
        let fits = |o: &OpDef| {
            zones.is_empty() || zone_of_kind(o.kind).is_some_and(|z| zones.contains(&z))
        };
        let pool: Vec<usize> = self.by_effect[&effect]
            .iter()
            .copied()
            .filter(|&i| fits(self.op(i)))
            .collect();
        if pool.is_empty() {
            *self.rng.pick(&self.by_effect[&effect])
        } else {
            *self.rng.pick(&pool)
        }
    }

    /// A write or delete, aimed at a rule or not.
    fn change(&mut self, effect: Effect) -> (Who, usize, Option<Env>, Option<String>) {
        if self.aimed.is_empty() || self.rng.chance(40) {
            let op = self.op_for(effect, &[]);
            let env = random_env(&mut self.rng);
            let svc = self.random_service();
            return (self.who(), op, env, Some(svc));
        }
        let r = *self.rng.pick(&self.aimed);
        let who = if let Some(a) = &r.agent {
            let team = a
                .trim_start_matches("agent-")
                .rsplit_once('-')
                .map(|(t, _)| t.to_owned());
            who(a.clone(), team)
        } else if let Some(t) = &r.team {
            who(
                format!("agent-{t}-{}", self.rng.below(AGENTS_PER_TEAM)),
                Some(t.clone()),
            )
        } else {
            self.who()
        };
        let effect = if r.effects.contains(&effect) {
            effect
        } else {
            *r.effects
                .iter()
                .find(|e| matches!(e, Effect::Write | Effect::Delete))
                .unwrap_or(&effect)
        };
        let op = match r.ops.as_slice() {
            [] => self.op_for(effect, &r.zones),
            pats => {
                let pat = self.rng.pick(pats).clone();
                let matching: Vec<usize> = (0..self.g.catalog.len())
                    .filter(|&i| pat.matches(&self.op(i).op))
                    .collect();
                let with_effect: Vec<usize> = matching
                    .iter()
                    .copied()
                    .filter(|&i| self.op(i).effect == effect)
                    .collect();
                if !with_effect.is_empty() {
                    *self.rng.pick(&with_effect)
                } else if !matching.is_empty() {
                    *self.rng.pick(&matching)
                } else {
                    self.op_for(effect, &[])
                }
            }
        };
        let env = if !r.envs.is_empty() && self.rng.chance(75) {
            Some(*self.rng.pick(&r.envs))
        } else {
            random_env(&mut self.rng)
        };
        let svc = match &r.service {
            Some(s) if self.rng.chance(85) => s.clone(),
            _ => self.random_service(),
        };
        (who, op, env, Some(svc))
    }
}

fn who(agent: String, team: Option<String>) -> Who {
    let mut labels = BTreeMap::new();
    if let Some(t) = team {
        labels.insert("team".to_owned(), t);
    }
    labels.insert("kind".to_owned(), "coding-agent".to_owned());
    Who {
        agent,
        labels,
        ..Who::default()
    }
}

fn action(i: usize, who: Who, op: &OpDef, effect: Effect, targets: Vec<Target>) -> Action {
    Action {
        id: Some(format!("a{i}")),
        who,
        what: What {
            tool: op.tool.to_owned(),
            operation: op.op.clone(),
            effect,
            bulk: false,
        },
        targets,
        magnitude: Magnitude::default(),
        why: Why {
            reason: i
                .is_multiple_of(2)
                .then(|| "the ticket asks for it".to_owned()),
            ..Why::default()
        },
    }
}

/// `count` actions for the generated policy, deterministic.
pub fn actions(g: &Generated, count: usize) -> Vec<Action> {
    let mut by_effect: BTreeMap<Effect, Vec<usize>> = BTreeMap::new();
    let mut files = Vec::new();
    for (i, op) in g.catalog.iter().enumerate() {
        if op.kind == "file" {
            files.push(i);
        } else {
            by_effect.entry(op.effect).or_default().push(i);
        }
    }
    let mut cx = Ctx {
        g,
        rng: Rng::derive(SEED, &format!("actions/{}", g.rule_count)),
        by_effect,
        files,
        aimed: g
            .rules
            .iter()
            .filter(|r| r.family != Family::Global)
            .collect(),
    };
    let unknown_op = OpDef {
        tool: "bash",
        service: "bash",
        op: "sh".into(),
        effect: Effect::Unknown,
        kind: "file",
        teardown: false,
    };
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let a = match cx.rng.below(100) {
            0..50 => {
                let op = cx.op_for(Effect::Read, &[]);
                let env = random_env(&mut cx.rng);
                let svc = cx.random_service();
                let kind = g.catalog[op].kind;
                let t = cx.target(kind, env, Some(svc));
                action(i, cx.who(), &g.catalog[op], Effect::Read, vec![t])
            }
            r @ 50..91 => {
                let effect = if r < 80 {
                    Effect::Write
                } else {
                    Effect::Delete
                };
                let (who, op, env, svc) = cx.change(effect);
                let op = &g.catalog[op];
                let mut targets = Vec::new();
                match cx.rng.below(100) {
                    0..3 => {} // no target: placed as unplaced (production)
                    3..8 => {
                        targets.push(cx.target(op.kind, env, svc));
                        let env2 = random_env(&mut cx.rng);
                        let svc2 = cx.random_service();
                        targets.push(cx.target(op.kind, env2, Some(svc2)));
                    }
                    _ => targets.push(cx.target(op.kind, env, svc)),
                }
                let mut a = action(i, who, op, op.effect, targets);
                a.what.bulk = cx.rng.chance(3);
                a
            }
            91..94 => {
                let op = cx.op_for(Effect::Permissions, &[]);
                let env = random_env(&mut cx.rng);
                let svc = cx.random_service();
                let kind = g.catalog[op].kind;
                let t = cx.target(kind, env, Some(svc));
                action(i, cx.who(), &g.catalog[op], Effect::Permissions, vec![t])
            }
            94..96 => {
                let mut targets = Vec::new();
                if cx.rng.chance(50) {
                    let env = random_env(&mut cx.rng);
                    let kind = cx.rng.pick(&ZONES).2[0].replace('*', "thing");
                    targets.push(cx.target(&kind, env, None));
                }
                action(i, cx.who(), &unknown_op, Effect::Unknown, targets)
            }
            _ => {
                let op = *cx.rng.pick(&cx.files);
                let op = &g.catalog[op];
                let name = if cx.rng.chance(90) {
                    format!(
                        "src/{}/mod{}.rs",
                        cx.rng.pick(&SERVICE_WORDS),
                        cx.rng.below(30)
                    )
                } else {
                    "/etc/hosts".to_owned()
                };
                let t = Target {
                    kind: "file".into(),
                    name,
                    ..Target::default()
                };
                action(i, cx.who(), op, op.effect, vec![t])
            }
        };
        out.push(a);
    }
    out
}
