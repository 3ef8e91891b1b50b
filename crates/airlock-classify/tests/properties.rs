//! Robustness properties of the classifiers, short enough for CI (the cargo-fuzz
//! targets in `fuzz/` run the same checks for longer).
//!
//! * For arbitrary strings and for inputs built from a small grammar (bash-ish command
//!   lines, SQL-ish scripts, plan-shaped JSON): no panic, `parts` is never empty, and
//!   the effect of the whole is `unknown` if any part is, otherwise the most severe
//!   part.
//! * Monotonicity: adding a destructive command never gives less than `delete`;
//!   wrapping a command in `sudo`, `timeout 5` or `bash -c '…'` never lowers its
//!   effect. Effects are compared by their order, in which `unknown` is the highest.
//! * A destructive command hidden in `$(…)`, backticks, a pipeline stage or `xargs` is
//!   still `delete`.
//! * Pathological input (deep nesting, megabyte-long input, tens of thousands of
//!   statements) returns, on the test thread's ordinary stack, without timing asserts.
//!
//! `PROPTEST_CASES=10000 cargo test -p airlock-classify --test properties` runs every
//! property longer.

use airlock_classify::k8s::{self, Verb};
use airlock_classify::sql::{self, Dialect};
use airlock_classify::{Findings, plan, shell};
use airlock_model::Effect;
use proptest::prelude::*;
use serde_json::{Value, json};

// ----- shared checks -----------------------------------------------------------------

/// The combine rule and the other cheap invariants of any Findings.
fn check(f: &Findings) -> Result<(), TestCaseError> {
    prop_assert!(!f.parts.is_empty(), "no parts: {:?}", f);
    let whole = f.effect();
    if f.parts.iter().any(|p| p.effect == Effect::Unknown) {
        prop_assert_eq!(whole, Effect::Unknown);
    } else {
        prop_assert_eq!(Some(whole), f.parts.iter().map(|p| p.effect).max());
    }
    let effects = f.effects();
    prop_assert!(effects.windows(2).all(|w| w[0] < w[1]), "{:?}", effects);
    prop_assert!(f.parts.iter().all(|p| effects.contains(&p.effect)));
    prop_assert_eq!(f.bulk(), f.parts.iter().any(|p| p.bulk));
    Ok(())
}

/// `Effect`'s order is `read < write < delete < permissions < unknown`, so `>=` is
/// "at least as severe", with unknown the most severe.
fn at_least(f: &Findings, floor: Effect, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        f.effect() >= floor,
        "{} is {:?}, expected at least {:?}: {:?}",
        what,
        f.effect(),
        floor,
        f
    );
    Ok(())
}

/// The number of cases of each property: `PROPTEST_CASES` when set, else `default`.
fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// sqlparser recurses; in unoptimised builds the classifier's own frames are large
/// too (see the module docs of `sql.rs`), so generated SQL runs on a big stack. The
/// pathological tests below do not: they must not recurse at all.
fn on_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match std::thread::Builder::new().stack_size(32 << 20).spawn(f) {
        Ok(h) => match h.join() {
            Ok(v) => v,
            Err(e) => std::panic::resume_unwind(e),
        },
        Err(e) => panic!("spawn: {e}"),
    }
}

// ----- shell ---------------------------------------------------------------------------

const SHELL_NAMES: &[&str] = &[
    "ls", "cat", "echo", "grep", "git", "kubectl", "rm", "cp", "mv", "mkdir", "touch", "curl",
    "jq", "find", "xargs", "sed", "awk", "make", "npm", "python3", "./run.sh", "chmod", "tar",
    "sort", "head", "env", "export", "cd", "true",
];

const SHELL_ARGS: &[&str] = &[
    "-la",
    "-rf",
    "-n",
    "prod",
    "--force",
    "status",
    "get",
    "pods",
    "delete",
    "src/",
    "/srv/data",
    "*.txt",
    "file.txt",
    "\"double quoted\"",
    "'single quoted'",
    "$HOME",
    "\"$VAR\"",
    "${X:-default}",
    "$((1 + 2))",
    "a\\ b",
    "-exec",
    "{}",
    "\\;",
    "+",
    "-delete",
    "x=1",
    "--",
    "'it'\\''s'",
    "\"a $(pwd) b\"",
    "https://example.com/api?x=1&y=2",
];

const REDIRECTS: &[&str] = &[
    "> out.txt",
    ">> log.txt",
    "2>&1",
    "2>/dev/null",
    "< in.txt",
    "&>/dev/null",
    ">| forced.txt",
    "<<< 'here string'",
];

fn simple_command() -> impl Strategy<Value = String> {
    (
        prop::sample::select(SHELL_NAMES),
        prop::collection::vec(prop::sample::select(SHELL_ARGS), 0..4),
        prop::option::weighted(0.2, prop::sample::select(REDIRECTS)),
    )
        .prop_map(|(name, args, redirect)| {
            let mut s = name.to_string();
            for a in args {
                s.push(' ');
                s.push_str(a);
            }
            if let Some(r) = redirect {
                s.push(' ');
                s.push_str(r);
            }
            s
        })
}

/// Command lines without heredocs: simple commands combined with `|`, `&&`, `||`,
/// `;`, `$(…)`, backticks, subshells, groups, `if` and `for`.
fn shell_expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        4 => simple_command(),
        1 => simple_command().prop_map(|c| format!("echo `{c}`")),
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} | {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} && {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} || {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}; {b}")),
            inner.clone().prop_map(|a| format!("echo \"$({a})\"")),
            inner.clone().prop_map(|a| format!("out=$({a})")),
            inner.clone().prop_map(|a| format!("( {a} )")),
            inner.clone().prop_map(|a| format!("{{ {a}; }}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("if {a}; then {b}; fi")),
            inner
                .clone()
                .prop_map(|a| format!("for f in *.txt; do {a}; done")),
        ]
    })
}

/// A command line, possibly ending with a heredoc (which ends with a newline).
fn shell_script() -> impl Strategy<Value = String> {
    (
        shell_expr(),
        prop::option::weighted(
            0.25,
            prop_oneof![
                prop::collection::vec(prop::sample::select(SHELL_ARGS), 0..6)
                    .prop_map(|w| format!("cat <<'EOF' > out.txt\n{}\nEOF\n", w.join(" "))),
                prop::collection::vec(prop::sample::select(SHELL_ARGS), 0..6)
                    .prop_map(|w| format!("cat <<EOF\n{} $(date)\nEOF\n", w.join(" "))),
                shell_expr().prop_map(|a| format!("bash <<'EOF'\n{a}\nEOF\n")),
            ],
        ),
    )
        .prop_map(|(expr, heredoc)| match heredoc {
            Some(h) => format!("{expr}\n{h}"),
            None => expr,
        })
}

/// `a` followed by another command: a newline already ends a heredoc'd line.
fn then(a: &str, b: &str) -> String {
    if a.ends_with('\n') {
        format!("{a}{b}")
    } else {
        format!("{a}; {b}")
    }
}

const READ_ONLY: &[&str] = &[
    "ls -la",
    "cat README.md",
    "git status",
    "grep -rn TODO src",
    "echo hello",
    "pwd",
    "wc -l notes.txt",
    "head -n 5 app.log",
    "sort -u names.txt",
    "git log --oneline -5",
];

const DESTRUCTIVE: &[&str] = &[
    "rm -rf /srv/data",
    "rm -f /var/log/app.log",
    "rm -r build",
    "find /srv -name '*.tmp' -delete",
    "git clean -fdx",
];

/// How a destructive command `{d}` is hidden among read-only ones `{r}`.
const HIDING_PLACES: &[&str] = &[
    "echo \"$({d})\"",
    "echo $({d})",
    "echo `{d}`",
    "x=$({d}); echo $x",
    "{r} | {d}",
    "{d} | {r}",
    "{r} | {r} | {d} | {r}",
    "{r} && {d}",
    "{r} || {d}",
    "{r}; ( {d} )",
    "{ {r}; {d}; }",
    "if {r}; then {d}; fi",
    "{r} | xargs {d}",
    "{r} | xargs -0 -n1 {d}",
    "{r} && echo \"$(echo `{d}`)\"",
];

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn shell_arbitrary_strings(s in prop_oneof!["\\PC{0,300}", "[ -~\n\t]{0,300}"]) {
        let f = shell::classify(&s);
        check(&f)?;
        prop_assert_eq!(&f, &shell::classify(&s));
        let prefixed = format!("rm -rf /x && {s}");
        let g = shell::classify(&prefixed);
        check(&g)?;
        at_least(&g, Effect::Delete, &prefixed)?;
    }

    #[test]
    fn shell_grammar(a in shell_script()) {
        let f = shell::classify(&a);
        check(&f)?;
        let before = f.effect();

        for other in [then(&a, "rm -rf /srv/data"), format!("rm -rf /x && {a}")] {
            let g = shell::classify(&other);
            check(&g)?;
            at_least(&g, Effect::Delete, &other)?;
        }
        let quoted = a.replace('\'', r"'\''");
        for wrapped in [
            format!("sudo {a}"),
            format!("timeout 5 {a}"),
            format!("bash -c '{quoted}'"),
        ] {
            let g = shell::classify(&wrapped);
            check(&g)?;
            at_least(&g, before, &wrapped)?;
        }
    }

    #[test]
    fn shell_hidden_destructive_command_is_delete(
        place in prop::sample::select(HIDING_PLACES),
        d in prop::sample::select(DESTRUCTIVE),
        r in prop::collection::vec(prop::sample::select(READ_ONLY), 3),
    ) {
        let mut cmd = place.replace("{d}", d);
        for r in r {
            cmd = cmd.replacen("{r}", r, 1);
        }
        let f = shell::classify(&cmd);
        check(&f)?;
        prop_assert_eq!(f.effect(), Effect::Delete, "{}: {:?}", cmd, f);
    }
}

// ----- SQL -----------------------------------------------------------------------------

const DIALECTS: [Dialect; 4] = [
    Dialect::Postgres,
    Dialect::MySql,
    Dialect::Sqlite,
    Dialect::Generic,
];

const TABLES: &[&str] = &[
    "users",
    "orders",
    "public.accounts",
    "\"Order Items\"",
    "audit_log",
    "s.t",
];
const COLUMNS: &[&str] = &["id", "name", "email", "created_at", "t.total", "\"delete\""];
const LITERALS: &[&str] = &[
    "1",
    "0",
    "42.5",
    "'x'",
    "'it''s'",
    "'DROP TABLE users; --'",
    "NULL",
    "true",
    "now()",
    "interval '7 days'",
];
const FUNCTIONS: &[&str] = &["lower", "coalesce", "count", "max", "length", "abs"];

fn sql_expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        prop::sample::select(COLUMNS).prop_map(str::to_string),
        prop::sample::select(LITERALS).prop_map(str::to_string),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(&["=", "<>", "<", "+", "AND", "OR", "||", "LIKE"][..]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|a| format!("NOT ({a})")),
            inner.clone().prop_map(|a| format!("({a})")),
            (prop::sample::select(FUNCTIONS), inner.clone()).prop_map(|(f, a)| format!("{f}({a})")),
            (inner.clone(), prop::sample::select(TABLES), inner.clone())
                .prop_map(|(a, t, w)| format!("{a} IN (SELECT id FROM {t} WHERE {w})")),
            (prop::sample::select(TABLES), inner.clone())
                .prop_map(|(t, w)| format!("EXISTS (SELECT 1 FROM {t} WHERE {w})")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, a, b)| format!("CASE WHEN {c} THEN {a} ELSE {b} END")),
        ]
    })
}

fn sql_statement() -> impl Strategy<Value = String> {
    let t = || prop::sample::select(TABLES);
    let c = || prop::sample::select(COLUMNS);
    let where_ = || {
        prop::option::of(sql_expr())
            .prop_map(|w| w.map(|w| format!(" WHERE {w}")).unwrap_or_default())
    };
    prop_oneof![
        (sql_expr(), t(), where_(), prop::option::of(1u32..100)).prop_map(|(e, t, w, l)| {
            let limit = l.map(|l| format!(" LIMIT {l}")).unwrap_or_default();
            format!("SELECT {e} FROM {t}{w} ORDER BY 1{limit}")
        }),
        (t(), t(), sql_expr(), where_())
            .prop_map(|(a, b, on, w)| format!("SELECT * FROM {a} JOIN {b} ON {on}{w}")),
        (t(), sql_statement_select())
            .prop_map(|(t, s)| format!("WITH x AS ({s}) SELECT * FROM x JOIN {t} USING (id)")),
        (t(), c(), sql_expr(), sql_expr())
            .prop_map(|(t, c, a, b)| format!("INSERT INTO {t} ({c}, name) VALUES ({a}, {b})")),
        (t(), sql_statement_select()).prop_map(|(t, s)| format!("INSERT INTO {t} {s}")),
        (t(), c(), sql_expr(), where_())
            .prop_map(|(t, c, e, w)| format!("UPDATE {t} SET {c} = {e}{w}")),
        (t(), where_()).prop_map(|(t, w)| format!("DELETE FROM {t}{w}")),
        (t(), any::<bool>(), any::<bool>()).prop_map(|(t, if_exists, cascade)| format!(
            "DROP TABLE {}{t}{}",
            if if_exists { "IF EXISTS " } else { "" },
            if cascade { " CASCADE" } else { "" }
        )),
        t().prop_map(|t| format!("TRUNCATE {t}")),
        (
            prop::sample::select(&["SELECT", "ALL PRIVILEGES", "INSERT, UPDATE"][..]),
            t()
        )
            .prop_map(|(p, t)| format!("GRANT {p} ON {t} TO analyst")),
        t().prop_map(|t| format!("REVOKE ALL ON {t} FROM PUBLIC")),
        t().prop_map(|t| format!("CREATE TABLE {t} (id int PRIMARY KEY, name text)")),
        (
            t(),
            prop::sample::select(&["shipped_at", "legacy_flag", "\"Note\""][..])
        )
            .prop_map(|(t, c)| format!("ALTER TABLE {t} ADD COLUMN {c} int")),
        (
            t(),
            prop::sample::select(&["shipped_at", "legacy_flag", "\"Note\""][..])
        )
            .prop_map(|(t, c)| format!("ALTER TABLE {t} DROP COLUMN {c}")),
        sql_statement_select().prop_map(|s| format!("EXPLAIN {s}")),
        Just("BEGIN".to_string()),
        Just("COMMIT".to_string()),
        sql_statement_select().prop_map(|s| format!("/* DROP TABLE users; */ {s}")),
    ]
}

fn sql_statement_select() -> impl Strategy<Value = String> {
    (sql_expr(), prop::sample::select(TABLES), sql_expr())
        .prop_map(|(e, t, w)| format!("SELECT {e} FROM {t} WHERE {w}"))
}

fn sql_script() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(sql_statement(), 1..4)
}

fn classify_sql(text: String, dialect: Dialect) -> Findings {
    on_big_stack(move || sql::classify(&text, dialect))
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn sql_arbitrary_strings(s in prop_oneof!["\\PC{0,300}", "[ -~\n\t]{0,300}"], d in 0usize..4) {
        let dialect = DIALECTS[d];
        let f = classify_sql(s.clone(), dialect);
        check(&f)?;
        let prefixed = format!("DROP TABLE x;\n{s}");
        let g = classify_sql(prefixed.clone(), dialect);
        check(&g)?;
        at_least(&g, Effect::Delete, &prefixed)?;
    }

    #[test]
    fn sql_grammar(stmts in sql_script(), d in 0usize..4) {
        let dialect = DIALECTS[d];
        let script = stmts.join(";\n");
        let f = classify_sql(script.clone(), dialect);
        check(&f)?;
        prop_assert_eq!(&f, &classify_sql(script.clone(), dialect));

        // A script is the combination of its statements.
        let each: Vec<Effect> = stmts
            .iter()
            .map(|s| classify_sql(s.clone(), dialect).effect())
            .collect();
        prop_assert_eq!(f.effect(), airlock_classify::combine(each.iter().copied()), "{:?}", each);

        for other in [
            format!("DROP TABLE x;\n{script}"),
            format!("{script};\nDELETE FROM audit_log WHERE id = 1"),
        ] {
            let g = classify_sql(other.clone(), dialect);
            check(&g)?;
            at_least(&g, Effect::Delete, &other)?;
        }
    }
}

// ----- Terraform plans -------------------------------------------------------------------

const PLAN_KEYS: &[&str] = &[
    "format_version",
    "resource_changes",
    "change",
    "actions",
    "address",
    "type",
    "mode",
    "name",
    "before",
    "after",
    "region",
    "arn",
    "force_destroy",
    "metadata",
    "namespace",
    "output_changes",
    "configuration",
    "provider_config",
    "root_module",
    "module_calls",
    "prior_state",
    "values",
    "importing",
    "previous_address",
    "deferred_changes",
    "action_invocations",
    "planned_values",
];

const ACTIONS: &[&str] = &[
    "create", "delete", "update", "no-op", "read", "forget", "replace", "bogus",
];

/// The action lists Terraform writes for managed resources (data sources get
/// `read`).
const VALID_ACTIONS: &[&[&str]] = &[
    &["create"],
    &["create"],
    &["update"],
    &["update"],
    &["delete"],
    &["delete", "create"],
    &["create", "delete"],
    &["no-op"],
    &["forget"],
];

const RESOURCE_TYPES: &[&str] = &[
    "aws_s3_bucket",
    "aws_iam_role_policy",
    "aws_instance",
    "kubernetes_namespace",
    "google_project",
    "azurerm_resource_group",
    "null_resource",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z_\\-]{0,8}".prop_map(Value::String),
        prop::sample::select(ACTIONS).prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        let key = prop_oneof![
            prop::sample::select(PLAN_KEYS).prop_map(str::to_string),
            "[a-z_]{1,6}"
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn attrs() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        (
            prop::option::of(prop::sample::select(&["us-east-1", "eu-west-1", ""][..])),
            prop::option::of(any::<bool>()),
            prop::option::of(arb_json()),
        )
            .prop_map(|(region, force_destroy, other)| {
                let mut m = serde_json::Map::new();
                if let Some(r) = region {
                    m.insert("region".into(), json!(r));
                    m.insert(
                        "arn".into(),
                        json!(format!("arn:aws:s3:{r}:123456789012:b")),
                    );
                }
                if let Some(f) = force_destroy {
                    m.insert("force_destroy".into(), json!(f));
                }
                if let Some(o) = other {
                    m.insert("metadata".into(), o);
                }
                Value::Object(m)
            }),
        arb_json(),
    ]
}

/// A resource change, and whether it is a well-formed delete of a managed resource.
fn resource_change() -> impl Strategy<Value = (Value, bool)> {
    (
        prop::sample::select(RESOURCE_TYPES),
        0u32..5,
        prop_oneof![36 => Just("managed"), 3 => Just("data"), 1 => Just("other")],
        prop_oneof![
            19 => prop::sample::select(VALID_ACTIONS).prop_map(|a| a.to_vec()),
            1 => prop::collection::vec(prop::sample::select(ACTIONS), 0..3),
        ],
        attrs(),
        attrs(),
        prop::array::uniform4(prop::bool::weighted(0.02)),
    )
        .prop_map(|(rtype, i, mode, mut actions, before, after, missing)| {
            if mode == "data" {
                actions = vec!["read"];
            }
            let mut rc = serde_json::Map::new();
            let mut change = serde_json::Map::new();
            change.insert("actions".into(), json!(actions));
            change.insert("before".into(), before);
            change.insert("after".into(), after);
            let fields = [
                ("address", json!(format!("{rtype}.r[{i}]"))),
                ("type", json!(rtype)),
                ("mode", json!(mode)),
                ("change", Value::Object(change)),
            ];
            for ((k, v), missing) in fields.into_iter().zip(missing) {
                if !missing {
                    rc.insert(k.into(), v);
                }
            }
            rc.insert("name".into(), json!("r"));
            rc.insert("index".into(), json!(i));
            rc.insert(
                "provider_name".into(),
                json!("registry.terraform.io/hashicorp/aws"),
            );
            let deletes = !missing.contains(&true) && mode == "managed" && actions == ["delete"];
            (Value::Object(rc), deletes)
        })
}

fn plan_json() -> impl Strategy<Value = (Value, bool)> {
    (
        prop_oneof![
            19 => prop::sample::select(&["1.2", "1.0", "0.1", "0.2"][..]),
            1 => prop::sample::select(&["2.0", "x", ""][..]),
        ],
        prop::collection::vec(
            prop_oneof![40 => resource_change(), 1 => arb_json().prop_map(|v| (v, false))],
            0..8,
        ),
        prop::option::of(prop::collection::vec(
            (
                "[a-z]{1,5}",
                prop::collection::vec(prop::sample::select(ACTIONS), 0..2),
                arb_json(),
            ),
            0..3,
        )),
        prop::collection::vec((prop::sample::select(PLAN_KEYS), arb_json()), 0..2),
    )
        .prop_map(|(version, changes, outputs, extra)| {
            let mut plan = serde_json::Map::new();
            let deletes = changes.iter().any(|(_, d)| *d);
            // Extra fields first: the plan's own fields below override them.
            for (k, v) in extra {
                plan.insert(k.into(), v);
            }
            plan.insert("format_version".into(), json!(version));
            plan.insert(
                "resource_changes".into(),
                Value::Array(changes.into_iter().map(|(v, _)| v).collect()),
            );
            if let Some(outputs) = outputs {
                let m = outputs
                    .into_iter()
                    .map(|(name, actions, after)| {
                        (name, json!({"actions": actions, "after": after}))
                    })
                    .collect();
                plan.insert("output_changes".into(), Value::Object(m));
            }
            (Value::Object(plan), deletes)
        })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn plan_arbitrary_strings(s in prop_oneof!["\\PC{0,300}", "\\{[ -~\n]{0,300}"]) {
        check(&plan::classify_plan(&s))?;
    }

    #[test]
    fn plan_arbitrary_json(v in arb_json()) {
        let text = v.to_string();
        check(&plan::classify_plan(&text))?;
        let wrapped = json!({"format_version": "1.2", "resource_changes": v}).to_string();
        check(&plan::classify_plan(&wrapped))?;
    }

    /// A plan that deletes a managed resource is at least `delete`, whatever else it
    /// holds.
    #[test]
    fn plan_shaped_json((plan_value, deletes) in plan_json()) {
        let text = plan_value.to_string();
        let f = plan::classify_plan(&text);
        check(&f)?;
        prop_assert_eq!(&f, &plan::classify_plan(&text));
        if deletes {
            at_least(&f, Effect::Delete, &text)?;
        }
    }

    #[test]
    fn manifests_arbitrary_strings(s in prop_oneof!["\\PC{0,300}", "[ -~\n]{0,300}"], v in 0usize..5) {
        let verb = [
            Verb::Apply,
            Verb::Create,
            Verb::Replace { force: false },
            Verb::Replace { force: true },
            Verb::Delete,
        ][v];
        check(&k8s::classify_manifests(&s, verb))?;
    }
}

// ----- pathological input: returns, on the test thread's ordinary stack -----------------

fn returns(f: &Findings) {
    if let Err(e) = check(f) {
        panic!("{e}");
    }
}

const DEEP: usize = 100_000;
const MANY: usize = 10_000;

#[test]
fn shell_nested_command_substitutions() {
    // 100,000 nested `$(`, closed and unclosed.
    let f = shell::classify(&format!(
        "echo {}rm -rf /{}",
        "$(".repeat(DEEP),
        ")".repeat(DEEP)
    ));
    returns(&f);
    assert!(f.effect() >= Effect::Delete, "{f:?}");
    returns(&shell::classify(&"$(".repeat(DEEP)));
}

#[test]
fn shell_many_backticks() {
    returns(&shell::classify(&format!("echo {}", "`".repeat(DEEP))));
}

#[test]
fn shell_nested_subshells_and_groups() {
    returns(&shell::classify(&format!(
        "{}ls{}",
        "( ".repeat(DEEP),
        " )".repeat(DEEP)
    )));
    returns(&shell::classify(&format!(
        "{}ls{}",
        "{ ".repeat(DEEP),
        "; }".repeat(DEEP)
    )));
    returns(&shell::classify(&format!(
        "echo $(({}1{}))",
        "(".repeat(DEEP),
        ")".repeat(DEEP)
    )));
}

/// `if`/`while`/`until`/`for`/`case` nested `depth` deep: nesting by keywords, which
/// the bracket pre-check does not count.
fn nested_compounds(depth: usize) -> [String; 4] {
    [
        format!(
            "{}ls{}",
            "if true; then ".repeat(depth),
            "; fi".repeat(depth)
        ),
        format!(
            "{}ls{}",
            "while true; do ".repeat(depth),
            "; done".repeat(depth)
        ),
        format!(
            "{}ls{}",
            "for i in 1; do ".repeat(depth),
            "; done".repeat(depth)
        ),
        format!(
            "{}ls{}",
            "case x in x) ".repeat(depth),
            ";; esac".repeat(depth)
        ),
    ]
}

#[test]
fn shell_nested_compound_commands_moderate() {
    for cmd in nested_compounds(100) {
        returns(&shell::classify(&cmd));
    }
}

// FOUND by this test (2026-11-23), since fixed: brush-parser's recursive descent
// (`__parse_compound_list` → `__parse_and_or` → … → `__parse_if_clause`, about 5 KiB
// of stack per level in release builds) overflowed the stack on compound commands
// nested by keywords: in a release build ~400 levels on a 2 MiB thread, ~1,000–2,000
// on 8 MiB. The bracket pre-check only counted `(`, `{` and backticks, so
// `if true; then ` × 10,000 + `ls` + `; fi` × 10,000 (230 KB) reached the parser and
// aborted the process. `shell.rs` now also bounds the keyword depth.
#[test]
fn shell_nested_compound_commands_deep() {
    for cmd in nested_compounds(MANY) {
        returns(&shell::classify(&cmd));
    }
}

#[test]
fn shell_many_bangs() {
    returns(&shell::classify(&format!("{}ls", "! ".repeat(MANY))));
}

#[test]
fn shell_wrappers_moderate() {
    for w in ["sudo ", "timeout 5 ", "env ", "nice ", "xargs "] {
        returns(&shell::classify(&format!("{}ls", w.repeat(100))));
    }
}

// FOUND by this test (2026-11-23), since fixed: repeated wrappers were unwrapped by
// recursion in `commands.rs` (`commands::classify` → `dispatch` → `wrapper` → …, one
// level per wrapper word, not counted against shell::MAX_DEPTH) in quadratic time: in
// a release build `sudo ` × 1,000 + `ls` took 145 ms (`xargs ` × 1,000: 440 ms), and
// 3,000 wrappers overflowed a 2 MiB stack. `commands.rs` now bounds the wrappers.
#[test]
fn shell_many_wrappers() {
    returns(&shell::classify(&format!("{}ls", "sudo ".repeat(DEEP))));
    returns(&shell::classify(&format!(
        "{}rm -rf /",
        "xargs ".repeat(MANY)
    )));
}

#[test]
fn shell_megabyte_commands() {
    // Longer than MAX_LEN, and just under it.
    let f = shell::classify(&format!("echo {}", "a".repeat(shell::MAX_LEN)));
    returns(&f);
    assert_eq!(f.effect(), Effect::Unknown);
    let words = format!("echo{}", " word".repeat((shell::MAX_LEN - 8) / 5));
    assert!(words.len() <= shell::MAX_LEN);
    returns(&shell::classify(&words));
    let body = "line of text\n".repeat(shell::MAX_LEN / 14);
    returns(&shell::classify(&format!(
        "cat <<'EOF' > out.txt\n{body}EOF\n"
    )));
}

#[test]
fn shell_ten_thousand_commands() {
    let f = shell::classify(
        &(0..MANY)
            .map(|i| format!("rm -rf /tmp/x{i}"))
            .collect::<Vec<_>>()
            .join("; "),
    );
    returns(&f);
    assert_eq!(f.effect(), Effect::Delete);
}

#[test]
fn shell_long_and_lists_and_pipelines() {
    returns(&shell::classify(&vec!["ls"; DEEP].join(" && ")));
    returns(&shell::classify(&vec!["cat"; DEEP].join(" | ")));
}

#[test]
fn sql_pathological_input_returns() {
    let n = 10_000;
    for dialect in DIALECTS {
        returns(&sql::classify(
            &format!("SELECT {}1{}", "(".repeat(n), ")".repeat(n)),
            dialect,
        ));
        returns(&sql::classify(
            &format!(
                "SELECT * FROM {}t{}",
                "(SELECT * FROM ".repeat(n),
                ")".repeat(n)
            ),
            dialect,
        ));
        returns(&sql::classify(
            &format!("SELECT {}1", "NOT ".repeat(10 * n)),
            dialect,
        ));
        returns(&sql::classify(
            &format!("SELECT {}1", "- ".repeat(10 * n)),
            dialect,
        ));
        returns(&sql::classify(
            &format!("SELECT {}1", "~".repeat(10 * n)),
            dialect,
        ));
        returns(&sql::classify(
            &format!(
                "SELECT {}1{}",
                "CASE WHEN x THEN ".repeat(n),
                " END".repeat(n)
            ),
            dialect,
        ));
        returns(&sql::classify(
            &format!("SELECT 1 WHERE {}", vec!["a = 1"; 10 * n].join(" OR ")),
            dialect,
        ));
        returns(&sql::classify(
            &vec!["SELECT 1"; 10 * n].join(" UNION "),
            dialect,
        ));
        returns(&sql::classify(
            &format!("SELECT x{}", "::int[]".repeat(n)),
            dialect,
        ));
        let f = sql::classify(&"DELETE FROM t; ".repeat(n), dialect);
        returns(&f);
        assert!(f.effect() >= Effect::Delete);
        let f = sql::classify(&format!("SELECT '{}'", "a".repeat(sql::MAX_INPUT)), dialect);
        returns(&f);
        assert_eq!(f.effect(), Effect::Unknown);
    }
}

#[test]
fn plan_pathological_input_returns() {
    let n = 100_000;
    let deep_array = format!("{}{}", "[".repeat(n), "]".repeat(n));
    let deep_object = format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
    returns(&plan::classify_plan(&deep_array));
    returns(&plan::classify_plan(&"[".repeat(n)));
    returns(&plan::classify_plan(&deep_object));
    returns(&plan::classify_plan(&"{\"a\":".repeat(n)));
    for deep in [&deep_array, &deep_object] {
        // Skipped fields, read fields, and fields of the resource's values.
        for plan in [
            format!(r#"{{"format_version":"1.2","variables":{deep}}}"#),
            format!(r#"{{"format_version":"1.2","planned_values":{deep}}}"#),
            format!(r#"{{"format_version":"1.2","resource_changes":{deep}}}"#),
            format!(
                r#"{{"format_version":"1.2","resource_changes":[{{"address":"aws_s3_bucket.b","mode":"managed","type":"aws_s3_bucket","name":"b","change":{{"actions":["delete"],"before":{deep},"after":{{"region":{deep},"x":{deep}}}}}}}]}}"#
            ),
            format!(
                r#"{{"format_version":"1.2","output_changes":{{"o":{{"actions":["create"],"after":{deep}}}}}}}"#
            ),
            format!(
                r#"{{"format_version":"1.2","configuration":{{"provider_config":{{"aws":{{"expressions":{{"region":{deep}}}}}}}}}}}"#
            ),
        ] {
            returns(&plan::classify_plan(&plan));
        }
    }
    // Modules nested 10,000 deep in the configuration.
    let m = 10_000;
    let modules = format!(
        r#"{{"format_version":"1.2","configuration":{{"root_module":{}{{}}{}}}}}"#,
        r#"{"module_calls":{"m":{"module":"#.repeat(m),
        "}}}".repeat(m)
    );
    returns(&plan::classify_plan(&modules));
}

#[test]
fn manifests_pathological_input_returns() {
    let n = 100_000;
    returns(&k8s::classify_manifests(
        &format!("{}{}", "[".repeat(n), "]".repeat(n)),
        Verb::Apply,
    ));
    returns(&k8s::classify_manifests(
        &format!("a: {}", "{b: ".repeat(n)),
        Verb::Delete,
    ));
    let block: String = (0..10_000)
        .map(|i| format!("{}- x\n", "  ".repeat(i)))
        .collect();
    returns(&k8s::classify_manifests(&block, Verb::Apply));
    // An alias bomb: 9 levels of 9 references each.
    let mut bomb = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..10 {
        let refs = vec![format!("*l{}", i - 1); 9].join(", ");
        bomb.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
    }
    returns(&k8s::classify_manifests(&bomb, Verb::Apply));
    returns(&k8s::classify_manifests(&"---\n".repeat(n), Verb::Apply));
}

// ----- regressions ---------------------------------------------------------------------

// FOUND BY FUZZING (fuzz target `classify_shell`, 2026-11-23), since fixed:
// brush-parser 0.4.0 panics on an I/O number that does not fit in an i32
// (`peg.rs:695`, `io_number()`: `w.parse().unwrap()` → `ParseIntError { kind:
// PosOverflow }`), reached from `shell::classify` → `Walker::script` → `parse`. The
// walker now refuses such input before parsing (`unknown`).
#[test]
fn shell_io_number_overflow_is_not_a_panic() {
    for cmd in [
        "echo hi 2147483648>out.txt",
        "cat 99999999999999999999<in.txt",
        "while read -r l; do ls 2444444444444>/dev/null; done",
    ] {
        let f = shell::classify(cmd);
        returns(&f);
    }
}
