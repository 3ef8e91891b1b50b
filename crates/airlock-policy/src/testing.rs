//! Policy tests, like `opa test`: YAML files of cases, each an Action with the tier
//! the policy must give it and, optionally, the rule that must decide it.
//!
//! ```yaml
//! policy: policy.yaml            # relative to this file; `--policy` overrides
//! at: 2026-11-23T10:00:00Z       # time the cases are decided at (optional)
//! cases:
//!   - name: the agent deletes the production stack
//!     action: { who: {agent: kiro}, what: {tool: aws, operation: cloudformation:DeleteStack, effect: delete}, ... }
//!     expect: deny
//!     rule: no-environment-teardown
//!   - name: the same, as the raw call the agent sent
//!     who: { agent: kiro }
//!     call: { hook_event_name: PreToolUse, tool_name: Bash, tool_input: { command: "aws cloudformation delete-stack --stack-name cost-explorer-prod" } }
//!     expect: deny
//! ```
//!
//! A case gives either an `action` or a raw `call` (a hook payload or an MCP
//! `tools/call`) with `who` is acting. This crate does not classify: the runner is
//! handed a function that turns a call into an Action ([`TestFile::run_with`]).

use airlock_model::{Action, Decision, Tier, Who};
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::Policy;
use crate::diag::{self, Diagnostic, PolicyError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// Policy file, relative to the test file.
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub at: Option<Spanned<String>>,
    pub cases: Vec<Spanned<Case>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    #[serde(default)]
    pub at: Option<Spanned<String>>,
    #[serde(default)]
    pub action: Option<Action>,
    /// A raw call, classified into an Action before deciding.
    #[serde(default)]
    pub call: Option<serde_json::Value>,
    /// Who makes the raw call.
    #[serde(default)]
    pub who: Option<Who>,
    pub expect: Tier,
    /// A rule id (or `airlock:…` check, or `exception:ID`) that must be among the
    /// deciding rules.
    #[serde(default)]
    pub rule: Option<String>,
    /// The total number of approvals required, when `expect: approve`.
    #[serde(default)]
    pub approvals: Option<u32>,
    /// Exactly these non-enforced (observe or alert) rules must have matched.
    #[serde(default)]
    pub observed: Option<Vec<String>>,
    /// Exactly these alert-mode rules must have matched.
    #[serde(default)]
    pub alerts: Option<Vec<String>>,
    /// Exactly these exceptions must have applied.
    #[serde(default)]
    pub exceptions: Option<Vec<String>>,
}

/// Compares an expected list of ids with the actual one, ignoring order.
fn same_ids(what: &str, expected: &Option<Vec<String>>, actual: &[String]) -> Option<String> {
    let expected = expected.as_ref()?;
    let (mut e, mut a) = (expected.clone(), actual.to_vec());
    e.sort();
    a.sort();
    (e != a).then(|| format!("expected {what} [{}], got [{}]", e.join(", "), a.join(", ")))
}

/// The outcome of one case.
#[derive(Debug)]
pub struct CaseResult {
    pub name: String,
    pub line: usize,
    pub decision: Decision,
    /// Why the case failed; `None` when it passed.
    pub failure: Option<String>,
}

impl TestFile {
    pub fn parse(file: &str, source: &str) -> Result<TestFile, PolicyError> {
        let tf: TestFile = serde_saphyr::from_str(source).map_err(|e| PolicyError {
            file: file.to_owned(),
            diagnostics: vec![diag::from_yaml_error(source, &e)],
        })?;
        // Validate every time up front so a typo fails loudly instead of silently
        // deciding at another time.
        let mut errors = Vec::new();
        let mut check = |at: &Option<Spanned<String>>, key: &str| {
            if let Some(t) = at
                && crate::compile::parse_time(&t.value).is_none()
            {
                errors.push(Diagnostic::error(
                    t.referenced,
                    key,
                    format!(
                        "`{}` is not a time; expected RFC 3339, e.g. 2026-11-23T10:00:00Z",
                        t.value
                    ),
                ));
            }
        };
        check(&tf.at, "at");
        let mut shape = Vec::new();
        for (i, c) in tf.cases.iter().enumerate() {
            check(&c.value.at, &format!("cases[{i}].at"));
            let case = &c.value;
            let problem = match (&case.action, &case.call, &case.who) {
                (Some(_), None, None) | (None, Some(_), Some(_)) => None,
                (Some(_), Some(_), _) => Some("give either `action` or `call`, not both"),
                (None, None, _) => Some("a case needs an `action` or a raw `call`"),
                (None, Some(_), None) => Some(
                    "a raw `call` needs `who` (e.g. `who: {agent: kiro}`): a call does not say who makes it",
                ),
                (Some(_), None, Some(_)) => {
                    Some("`who` goes with `call`; an `action` carries its own `who`")
                }
            };
            if let Some(p) = problem {
                shape.push(Diagnostic::error(c.referenced, format!("cases[{i}]"), p));
            }
        }
        errors.extend(shape);
        if errors.is_empty() {
            Ok(tf)
        } else {
            Err(PolicyError {
                file: file.to_owned(),
                diagnostics: errors,
            })
        }
    }

    /// Runs every case against `policy`. `now` is used for cases without `at`.
    /// Cases with a raw `call` fail: use [`TestFile::run_with`] to classify them.
    pub fn run(&self, policy: &Policy, now: jiff::Timestamp) -> Vec<CaseResult> {
        self.run_with(policy, now, &|_, _| {
            Err("this case is a raw call and this runner cannot classify; run it with `airlock test`".into())
        })
    }

    /// Runs every case, turning raw calls into Actions with `classify`.
    pub fn run_with(
        &self,
        policy: &Policy,
        now: jiff::Timestamp,
        classify: &dyn Fn(&serde_json::Value, &Who) -> Result<Action, String>,
    ) -> Vec<CaseResult> {
        let time = |at: &Option<Spanned<String>>| {
            at.as_ref()
                .and_then(|t| t.value.parse::<jiff::Timestamp>().ok())
        };
        let file_now = time(&self.at).unwrap_or(now);
        self.cases
            .iter()
            .map(|c| {
                let case = &c.value;
                let at = time(&case.at).unwrap_or(file_now);
                let action = match (&case.action, &case.call, &case.who) {
                    (Some(a), _, _) => Ok(a.clone()),
                    (None, Some(call), Some(who)) => classify(call, who),
                    _ => Err("the case has neither an action nor a call with who".to_owned()),
                };
                let (d, mut failure) = match action {
                    Ok(a) => (policy.decide(&a, at), None),
                    Err(why) => {
                        // Fail closed: an unreadable call is decided as nothing at all
                        // and reported, never skipped.
                        let empty = Action {
                            id: None,
                            who: case.who.clone().unwrap_or_default(),
                            what: airlock_model::What {
                                tool: String::new(),
                                operation: String::new(),
                                effect: airlock_model::Effect::Unknown,
                                bulk: false,
                            },
                            targets: Vec::new(),
                            magnitude: Default::default(),
                            why: Default::default(),
                        };
                        (
                            policy.decide(&empty, at),
                            Some(format!("cannot classify the call: {why}")),
                        )
                    }
                };
                if failure.is_some() {
                    // Already failed: the call could not be classified.
                } else if d.decision != case.expect {
                    failure = Some(format!(
                        "expected {}, got {}: {}",
                        case.expect, d.decision, d.reason
                    ));
                } else if let Some(rule) = case.rule.as_ref().filter(|r| !d.rules.contains(r)) {
                    failure = Some(format!(
                        "expected rule `{rule}` to decide, but the deciding rules were [{}]",
                        d.rules.join(", ")
                    ));
                } else if let Some(n) = case.approvals {
                    let total: u32 = d
                        .approval
                        .as_ref()
                        .map_or(0, |a| a.requirements.iter().map(|r| r.approvals).sum());
                    if total != n {
                        failure = Some(format!(
                            "expected {n} approvals in total, the decision requires {total}"
                        ));
                    }
                }
                if failure.is_none() {
                    let observed: Vec<String> = d.observed.iter().map(|o| o.rule.clone()).collect();
                    failure = same_ids("observed rules", &case.observed, &observed)
                        .or_else(|| same_ids("alerts", &case.alerts, &d.alerts))
                        .or_else(|| same_ids("exceptions", &case.exceptions, &d.exceptions));
                }
                CaseResult {
                    name: case.name.clone(),
                    line: c.referenced.line() as usize,
                    decision: d,
                    failure,
                }
            })
            .collect()
    }
}
