//! What is sent: the generated policy of airlock-bench and its Action mix, as
//! request bodies with the key of the agent each Action names.

use std::collections::{BTreeSet, HashMap};

use airlock_bench::{actions, rules, yaml};
use airlock_model::{Action, Tier};
use anyhow::{Context, Result, anyhow, bail};
use hyper::Method;
use hyper::body::Bytes;
use hyper::header::HeaderValue;
use serde_json::{Value, json};

use crate::client::{Conn, bearer};

/// The approver the load generator registers (roles `approver`, `viewer` and
/// `group:oncall`: the generated policy's approvals come `from: oncall`, a group
/// without a `members` list, so membership comes from the token's roles).
pub const APPROVER: &str = "loadgen-approver";
pub const APPROVER_GROUP: &str = "oncall";

/// The generated policy (YAML) of `rule_count` rules.
pub fn policy_yaml(rule_count: usize) -> Result<String> {
    let g = rules::generate(rule_count);
    if g.rules.len() != rule_count {
        bail!(
            "the generator made {} rules instead of {rule_count}",
            g.rules.len()
        );
    }
    let y = yaml::policy_yaml(&g);
    if !y.contains(&format!("from: {APPROVER_GROUP}")) {
        bail!("the generated policy has no approvals from `{APPROVER_GROUP}`");
    }
    Ok(y)
}

/// One request of the mix: its body and the `Authorization` of its agent.
#[derive(Clone)]
pub struct Item {
    pub body: Bytes,
    pub auth: HeaderValue,
    /// What the policy decides for it (for an Action; `None` for a raw call).
    pub tier: Option<Tier>,
}

/// One-line shell commands agents run (as in BENCHMARKS.md's classifier cases): sent
/// as Claude Code hook payloads when `--raw-percent` asks for raw calls, so that the
/// service classifies them.
const SHELL: &[&str] = &[
    "git status",
    "kubectl get pods -n prod -o wide",
    "rm -rf build/ && npm run build",
    "find . -name '*.pyc' -delete",
    "psql -h db.prod -c \"DELETE FROM sessions WHERE expires < now()\"",
    "aws cloudformation delete-stack --stack-name cost-explorer-prod",
    "grep -rn \"TODO\" src/ | head -20",
    "docker compose -f docker-compose.prod.yml up -d --build",
    "git add -A && git commit -m 'wip' && git push origin HEAD",
    "ls -la /var/log/app/ 2>/dev/null | tail -n 5",
];

/// The generated Actions for the policy of `rule_count` rules, and that policy
/// loaded here (to know which Actions it holds for approval).
pub struct Mix {
    pub actions: Vec<Action>,
    pub policy: airlock_policy::Policy,
}

impl Mix {
    pub fn new(rule_count: usize, count: usize) -> Result<Mix> {
        if count == 0 {
            bail!("the mix needs at least one action");
        }
        let g = rules::generate(rule_count);
        let y = yaml::policy_yaml(&g);
        let loaded = airlock_policy::Policy::load("generated.yaml", &y, jiff::Timestamp::now())
            .map_err(|e| anyhow!("the generated policy does not load: {e}"))?;
        Ok(Mix {
            actions: actions::actions(&g, count),
            policy: loaded.policy,
        })
    }

    /// The agents the Actions name.
    pub fn agents(&self) -> BTreeSet<String> {
        self.actions.iter().map(|a| a.who.agent.clone()).collect()
    }

    pub fn tier(&self, a: &Action) -> Tier {
        self.policy.decide(a, jiff::Timestamp::now()).decision
    }

    /// The requests: every Action as its agent, with `raw_percent` of them replaced
    /// by a shell command in a hook payload (same agent).
    pub fn items(
        &self,
        keys: &HashMap<String, HeaderValue>,
        raw_percent: u32,
    ) -> Result<Vec<Item>> {
        self.actions
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let auth = keys
                    .get(&a.who.agent)
                    .ok_or_else(|| anyhow!("no key for agent {}", a.who.agent))?
                    .clone();
                // Spread the raw calls evenly over the mix.
                let raw = (i as u64 * 37 % 100) < u64::from(raw_percent);
                let (body, tier) = if raw {
                    let cmd = SHELL[i % SHELL.len()];
                    let v = json!({
                        "hook_event_name": "PreToolUse", "tool_name": "Bash",
                        "tool_input": {"command": cmd, "description": "the ticket asks for it"},
                        "cwd": "/home/dev/app",
                    });
                    (v.to_string(), None)
                } else {
                    (serde_json::to_string(a)?, Some(self.tier(a)))
                };
                Ok(Item {
                    body: Bytes::from(body),
                    auth,
                    tier,
                })
            })
            .collect()
    }

    /// The Actions the policy holds for approval.
    pub fn held(&self, keys: &HashMap<String, HeaderValue>) -> Result<Vec<Item>> {
        let items: Vec<Item> = self
            .items(keys, 0)?
            .into_iter()
            .filter(|i| i.tier == Some(Tier::Approve))
            .collect();
        if items.is_empty() {
            bail!("the generated policy holds none of the generated actions for approval");
        }
        Ok(items)
    }
}

/// Issues a key for each agent (`POST /v1/agents`; an existing key is rotated).
pub async fn register_agents(
    conn: &mut Conn,
    admin: &HeaderValue,
    names: impl IntoIterator<Item = String>,
) -> Result<HashMap<String, HeaderValue>> {
    let mut keys = HashMap::new();
    for name in names {
        let v = conn
            .json(
                Method::POST,
                "/v1/agents",
                admin,
                Some(&json!({ "name": name })),
            )
            .await
            .with_context(|| format!("registering agent {name}"))?;
        keys.insert(name, bearer(token_of(&v)?)?);
    }
    Ok(keys)
}

/// Issues the approver's token (`POST /v1/humans`).
pub async fn register_approver(conn: &mut Conn, admin: &HeaderValue) -> Result<HeaderValue> {
    let v = conn
        .json(
            Method::POST,
            "/v1/humans",
            admin,
            Some(&json!({
                "name": APPROVER,
                "roles": ["approver", "viewer", format!("group:{APPROVER_GROUP}")],
            })),
        )
        .await
        .context("registering the approver")?;
    bearer(token_of(&v)?)
}

fn token_of(v: &Value) -> Result<&str> {
    v["token"]
        .as_str()
        .ok_or_else(|| anyhow!("the service answered without a token: {v}"))
}

/// Checks that the service runs a policy of the expected size, so that the Actions
/// sent are the ones it was generated with.
pub async fn check_policy(conn: &mut Conn, admin: &HeaderValue, rule_count: usize) -> Result<()> {
    let v = conn
        .json(Method::GET, "/v1/policy", admin, None)
        .await
        .context("asking for the policy in force")?;
    let expected = format!("bench-{rule_count}");
    if v["name"].as_str() == Some(expected.as_str())
        && v["rules"].as_u64() == Some(rule_count as u64)
    {
        return Ok(());
    }
    bail!(
        "the service runs policy {} with {} rules, not the generated `{expected}`: start it with `--policy` on the output of `airlock-loadgen policy --rules {rule_count}`",
        v["name"],
        v["rules"]
    )
}
