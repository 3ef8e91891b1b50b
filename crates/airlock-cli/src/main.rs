//! `airlock`: decide what an agent may do, check policies, run policy tests.
//!
//! This is an edge crate: it reads files, stdin and the clock, and hands pure data to
//! `airlock-policy`.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use airlock_model::Action;
use airlock_policy::testing::TestFile;
use airlock_policy::{DEFAULT_POLICY_YAML, Loaded, Policy, PolicyError, Severity};
use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

/// airlock stands between AI agents and the systems they act on: every tool call
/// becomes an Action, and a reviewable policy decides allow, log, approve or deny.
#[derive(Parser)]
#[command(name = "airlock", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decide Actions read as JSON (one object, or JSON lines) from a file or stdin.
    ///
    /// Prints one Decision per line as JSON. Exits 0 whatever the decisions are, and 2
    /// on malformed input or an invalid policy.
    Decide {
        /// Policy file; the built-in default policy when omitted.
        #[arg(long, short)]
        policy: Option<PathBuf>,
        /// Print a human-readable trace of each decision instead of JSON.
        #[arg(long)]
        explain: bool,
        /// Decide as of this time (RFC 3339) instead of now.
        #[arg(long)]
        at: Option<String>,
        /// Read Actions from this file instead of stdin.
        input: Option<PathBuf>,
    },
    /// Work with policy files.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Run policy test files (like `opa test`) and print `N passed, M failed`.
    Test {
        /// Test files (YAML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Policy to test, overriding each file's `policy:`.
        #[arg(long, short)]
        policy: Option<PathBuf>,
        /// Print every case, not only failures.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Print the JSON Schema of an Action or a Decision.
    Schema {
        #[arg(value_enum)]
        which: SchemaKind,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate policy files: every error with file, line, column and key.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print findings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the built-in default policy.
    Default,
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaKind {
    Action,
    Decision,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decide {
            policy,
            explain,
            at,
            input,
        } => decide(policy.as_deref(), explain, at.as_deref(), input.as_deref()),
        Command::Policy {
            command: PolicyCommand::Check { files, json },
        } => check(&files, json),
        Command::Policy {
            command: PolicyCommand::Default,
        } => {
            print!("{DEFAULT_POLICY_YAML}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Test {
            files,
            policy,
            verbose,
        } => test(&files, policy.as_deref(), verbose),
        Command::Schema { which } => {
            let schema = match which {
                SchemaKind::Action => airlock_model::action_schema(),
                SchemaKind::Decision => airlock_model::decision_schema(),
            };
            serde_json::to_string_pretty(&schema)
                .map(|s| {
                    println!("{s}");
                    ExitCode::SUCCESS
                })
                .map_err(Into::into)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("airlock: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

fn parse_at(at: Option<&str>) -> anyhow::Result<jiff::Timestamp> {
    match at {
        None => Ok(now()),
        Some(s) => s.parse().with_context(|| {
            format!("--at `{s}` is not a time; expected RFC 3339, e.g. 2026-11-23T10:00:00Z")
        }),
    }
}

fn read_file(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Loads a policy, printing its warnings to stderr. An invalid policy is an error:
/// nothing is decided with it.
fn load_policy(path: Option<&Path>) -> anyhow::Result<Policy> {
    let Some(path) = path else {
        return Ok(Policy::builtin_default()?);
    };
    let src = read_file(path)?;
    let Loaded { policy, warnings } = Policy::load(&path.display().to_string(), &src, now())?;
    for w in warnings {
        eprintln!("{}", w.render(&path.display().to_string()));
    }
    Ok(policy)
}

fn decide(
    policy: Option<&Path>,
    explain: bool,
    at: Option<&str>,
    input: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let policy = load_policy(policy)?;
    let at = parse_at(at)?;
    let (name, text) = match input {
        Some(p) => (p.display().to_string(), read_file(p)?),
        None => {
            let mut s = String::new();
            io::stdin()
                .lock()
                .read_to_string(&mut s)
                .context("cannot read stdin")?;
            ("stdin".to_owned(), s)
        }
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut stream = serde_json::Deserializer::from_str(&text).into_iter::<Action>();
    let mut count = 0usize;
    loop {
        let action = match stream.next() {
            None => break,
            Some(Ok(a)) => a,
            Some(Err(e)) => {
                out.flush()?;
                // serde_json reports line/column relative to the whole input.
                anyhow::bail!(
                    "{name}:{}:{}: not a valid Action: {e}\n(expected one JSON object per Action, e.g. {{\"who\":{{\"agent\":\"a\"}},\"what\":{{\"tool\":\"aws\",\"operation\":\"s3:ListBucket\",\"effect\":\"read\"}}}}; see `airlock schema action`)",
                    e.line(),
                    e.column()
                );
            }
        };
        count += 1;
        if explain {
            writeln!(out, "{}", policy.trace(&action, at))?;
        } else {
            let d = policy.decide(&action, at);
            serde_json::to_writer(&mut out, &d)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    if count == 0 {
        anyhow::bail!("{name}: no Action found; expected JSON (one object, or one per line)");
    }
    Ok(ExitCode::SUCCESS)
}

fn check(files: &[PathBuf], json: bool) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    let mut findings = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let src = read_file(f)?;
        let diags = match Policy::load(&name, &src, now()) {
            Ok(l) => {
                if !json {
                    println!(
                        "{name}: ok ({} rules, version {}){}",
                        l.policy.rule_count(),
                        l.policy.version(),
                        if l.warnings.is_empty() {
                            String::new()
                        } else {
                            format!(", {} warning(s)", l.warnings.len())
                        }
                    );
                }
                l.warnings
            }
            Err(PolicyError { diagnostics, .. }) => {
                failed = true;
                diagnostics
            }
        };
        for d in diags {
            if json {
                findings.push(serde_json::json!({
                    "file": name, "line": d.line, "column": d.column, "key": d.key,
                    "severity": if d.severity == Severity::Error { "error" } else { "warning" },
                    "message": d.message,
                }));
            } else {
                eprintln!("{}", d.render(&name));
            }
        }
        if failed && !json {
            eprintln!("{name}: rejected; nothing was loaded");
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&findings)?);
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn test(
    files: &[PathBuf],
    policy_override: Option<&Path>,
    verbose: bool,
) -> anyhow::Result<ExitCode> {
    let (mut passed, mut failed) = (0usize, 0usize);
    let overridden = policy_override.map(|p| load_policy(Some(p))).transpose()?;
    for f in files {
        let name = f.display().to_string();
        let tf = TestFile::parse(&name, &read_file(f)?)?;
        let policy = match (&overridden, &tf.policy) {
            (Some(p), _) => p.clone(),
            (None, Some(rel)) => {
                let path = f.parent().unwrap_or(Path::new(".")).join(rel);
                load_policy(Some(&path))?
            }
            (None, None) => Policy::builtin_default()?,
        };
        for r in tf.run(&policy, now()) {
            match &r.failure {
                None => {
                    passed += 1;
                    if verbose {
                        println!(
                            "ok   {name}:{}: {} ({})",
                            r.line, r.name, r.decision.decision
                        );
                    }
                }
                Some(why) => {
                    failed += 1;
                    println!("FAIL {name}:{}: {}: {why}", r.line, r.name);
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
