//! The labelled corpus (`tests/corpus/*.jsonl`, see its README): every case is
//! classified, accuracy is reported, and the test fails when
//!
//! - a case labelled `delete`, `permissions` or `unknown` comes out as `read` or
//!   `write` (a destructive or unexplained call passing for a harmless one: the
//!   security bug this crate exists to prevent), or
//! - effect accuracy falls below [`MIN_ACCURACY`], or
//! - a line is malformed or repeats another's payload.
//!
//! Run `cargo test -p airlock-classify --test corpus -- --nocapture` to see the
//! report and every miss.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::Path;

use airlock_classify::{NoToolPolicy, RawCall, classify, shell, sql};
use airlock_model::Effect;
use serde_json::Value;

/// The accuracy the corpus is held to. It only ever goes up: raise it when the
/// classifier improves, never lower it to make a change pass.
const MIN_ACCURACY: f64 = 0.97;

struct Case {
    file: String,
    line: usize,
    input: String,
    expect: Effect,
    bulk: Option<bool>,
    got: Effect,
    got_bulk: bool,
    why: String,
}

fn effect_of(name: &str) -> Effect {
    serde_json::from_value(Value::String(name.into()))
        .unwrap_or_else(|e| panic!("`{name}` is not an effect: {e}"))
}

fn load() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut seen = HashSet::new();
    let mut cases = Vec::new();
    for path in files {
        let file = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let text = fs::read_to_string(&path).expect("readable corpus file");
        for (i, line) in text.lines().enumerate() {
            let at = format!("{file}:{}", i + 1);
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{at}: {e}"));
            let expect = effect_of(
                v["expect"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{at}: no expect")),
            );
            assert!(v["source"].is_string(), "{at}: every case names its source");
            let bulk = v
                .get("bulk")
                .map(|b| b.as_bool().expect("bulk is a boolean"));
            let (input, findings) = if let Some(cmd) = v["bash"].as_str() {
                (cmd.to_owned(), shell::classify(cmd).clone_parts())
            } else if let Some(q) = v["sql"].as_str() {
                let dialect = match v["dialect"].as_str() {
                    Some("postgres") => sql::Dialect::Postgres,
                    Some("mysql") => sql::Dialect::MySql,
                    Some("sqlite") => sql::Dialect::Sqlite,
                    Some("generic") => sql::Dialect::Generic,
                    other => panic!("{at}: unknown dialect {other:?}"),
                };
                (q.to_owned(), sql::classify(q, dialect).clone_parts())
            } else if let Some(call) = v.get("hook").or(v.get("mcp")) {
                let raw = RawCall::from_value(call.clone()).unwrap_or_else(|e| panic!("{at}: {e}"));
                let c = classify(&raw, &NoToolPolicy);
                (
                    call.to_string(),
                    (c.effect(), c.bulk(), why(&c.findings.parts)),
                )
            } else {
                panic!("{at}: no input key (bash, sql, hook or mcp)");
            };
            assert!(
                seen.insert(input.clone()),
                "{at}: repeats another case's input"
            );
            let (got, got_bulk, why) = findings;
            cases.push(Case {
                file: file.clone(),
                line: i + 1,
                input,
                expect,
                bulk,
                got,
                got_bulk,
                why,
            });
        }
    }
    cases
}

fn why(parts: &[airlock_classify::Part]) -> String {
    parts
        .iter()
        .map(|p| format!("{} ({}: {})", p.text, p.effect, p.why))
        .collect::<Vec<_>>()
        .join("; ")
}

trait Summary {
    fn clone_parts(&self) -> (Effect, bool, String);
}

impl Summary for airlock_classify::Findings {
    fn clone_parts(&self) -> (Effect, bool, String) {
        (self.effect(), self.bulk(), why(&self.parts))
    }
}

/// A destructive, access-changing or unexplained call that passes for a harmless one.
fn is_security_miss(expect: Effect, got: Effect) -> bool {
    matches!(
        expect,
        Effect::Delete | Effect::Permissions | Effect::Unknown
    ) && matches!(got, Effect::Read | Effect::Write)
}

#[test]
fn corpus_accuracy() {
    let cases = load();
    assert!(cases.len() >= 400, "the corpus holds at least 400 cases");
    let mut per_file: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let (mut right, mut bulk_cases, mut bulk_right) = (0, 0, 0);
    let mut security = Vec::new();
    let mut misses = Vec::new();
    let mut bulk_misses = Vec::new();
    for c in &cases {
        let entry = per_file.entry(&c.file).or_default();
        entry.0 += 1;
        if c.got == c.expect {
            right += 1;
            entry.1 += 1;
        } else {
            let line = format!(
                "{}:{}: expected {}, got {}: {}\n    {}",
                c.file, c.line, c.expect, c.got, c.input, c.why
            );
            if is_security_miss(c.expect, c.got) {
                security.push(line);
            } else {
                misses.push(line);
            }
        }
        if let Some(b) = c.bulk {
            bulk_cases += 1;
            if b == c.got_bulk {
                bulk_right += 1;
            } else if c.got == c.expect {
                bulk_misses.push(format!(
                    "{}:{}: expected bulk {b}: {}\n    {}",
                    c.file, c.line, c.input, c.why
                ));
            }
        }
    }
    let accuracy = right as f64 / cases.len() as f64;
    println!("corpus: {} cases", cases.len());
    for (file, (n, ok)) in &per_file {
        println!(
            "  {file:<24} {ok:>4}/{n:<4} {:.1}%",
            100.0 * *ok as f64 / *n as f64
        );
    }
    println!(
        "effect accuracy {:.1}% ({right}/{}); bulk accuracy {:.1}% ({bulk_right}/{bulk_cases})",
        100.0 * accuracy,
        cases.len(),
        100.0 * bulk_right as f64 / bulk_cases.max(1) as f64,
    );
    println!(
        "misses that err on the safe side or between ordinary effects ({}):",
        misses.len()
    );
    for m in &misses {
        println!("  {m}");
    }
    println!("bulk misses among right effects ({}):", bulk_misses.len());
    for m in &bulk_misses {
        println!("  {m}");
    }
    assert!(
        security.is_empty(),
        "{} destructive, access-changing or unexplained calls classified as read or write:\n{}",
        security.len(),
        security.join("\n")
    );
    assert!(
        accuracy >= MIN_ACCURACY,
        "effect accuracy {:.1}% is below {:.1}%",
        100.0 * accuracy,
        100.0 * MIN_ACCURACY
    );
}
