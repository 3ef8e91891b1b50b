//! `airlock audit`: what an auditor runs against a ledger directory (a copy, or
//! the live one beside the gateway) with nothing but the log's public keys.
//!
//! - `verify` replays the directory end to end (`airlock_ledger::verify`) and
//!   checks that every entry is an `airlock_audit::Entry`; with `--checkpoint`,
//!   that the ledger extends checkpoints kept earlier (a fork is printed as
//!   portable evidence).
//! - `verify-receipt` checks one offline receipt.
//! - `log` and `export` read entries without the writer's lock
//!   (`airlock_ledger::read_entries`), filter them (`airlock_audit::Filter`) and
//!   print JSON lines or OCSF events.
//!
//! Exit codes: 0 when everything verified (or was printed), 1 when a problem was
//! found (damage, a bad signature, a fork, an entry that is not an airlock
//! entry), 2 on bad usage or unreadable input (errors returned to `main`).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use airlock_audit::personal::{FieldState, Lookup, Revealed};
use airlock_audit::{Entry, Filter};
use airlock_ledger::Consistency;
use airlock_model::Tier;
use airlock_server::personal::{Erase, PersonalStore};
use airlock_tlog::{
    Checkpoint, LogTrust, Note, Receipt, TLOG_PROOF_HEADER, VerifierKey, WitnessKey, verify_receipt,
};
use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use jiff::{SignedDuration, SpanRelativeTo, Timestamp};

/// The exit code of a check that found a problem.
fn problem_found() -> ExitCode {
    ExitCode::from(1)
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Replay a ledger directory end to end with only the log's public key(s).
    ///
    /// Checks the signed checkpoint (signature, origin), every record, every
    /// stored hash and the root, and that every entry is an airlock ledger entry
    /// (unless --raw). With --checkpoint, also that the ledger extends signed
    /// checkpoints you kept from earlier: a fork or a rollback is printed as
    /// portable evidence (both signed checkpoints and the proof). Reads only; the
    /// gateway may keep writing. Exits 0 when everything verifies, 1 on a problem
    /// (naming the first bad entry index when it can be located), 2 on bad usage
    /// or unreadable input.
    Verify(VerifyArgs),
    /// Check an offline receipt with only the log's public key(s).
    ///
    /// A receipt is an entry with its inclusion proof and the signed checkpoint
    /// (the JSON the gateway hands out), or a C2SP tlog-proof
    /// (c2sp.org/tlog-proof@v1) with the entry's bytes in --entry. Prints the
    /// entry, its index and the checkpoint's size. Exits 0 when it verifies, 1
    /// when it does not (saying why), 2 on bad usage or unreadable input.
    VerifyReceipt(ReceiptArgs),
    /// Print ledger entries, filtered, one JSON line each: {"index":N, ...}.
    ///
    /// Reads the directory without the writer's lock (the gateway may keep
    /// running) and without checking signatures: `airlock audit verify` proves
    /// what this shows. Only entries the signed checkpoint covers are shown
    /// unless --unsigned (they are then marked "signed":false). Filters combine:
    /// every one given must hold. Exits 1 if an entry is not an airlock entry or
    /// a signed entry is damaged.
    Log(QueryArgs),
    /// Export ledger entries for a SIEM or an archive: JSON lines or OCSF events.
    ///
    /// `jsonl`: each entry as stored, with its "index" first. `ocsf`: each entry
    /// as an OCSF API Activity (class 6003) event, metadata.uid = ORIGIN/INDEX
    /// (the origin from the directory's checkpoint). Same filters and rules as
    /// `audit log`. Exits 1 if an entry is not an airlock entry or a signed entry
    /// is damaged.
    Export(ExportArgs),
    /// Erase personal data kept apart from a ledger (`serve
    /// --ledger-personal-data separate`): a subject's, or some entries'.
    ///
    /// Deletes the values from DIR/personal-data.db; the entries keep their salted
    /// commitments, so the tree, every checkpoint, proof and receipt stay valid
    /// and `airlock audit log` shows the fields as erased. --subject erases every
    /// entry with a field naming NAME (an approver, `by`, reviewer, operator or
    /// human credential equal to NAME, or free text holding it as a word): all of
    /// that entry's personal data. Idempotent; runs beside a gateway. Entries
    /// written inline (format 1) are never changed: they are listed, and the exit
    /// code is 1. Not recorded in the ledger (this command does not hold the
    /// writer); the side store notes each erasure without the name.
    Erase(EraseArgs),
}

#[derive(Args)]
pub struct EraseArgs {
    /// The ledger directory.
    dir: PathBuf,
    /// Erase every entry naming this person (exactly as recorded: a credential
    /// name, an e-mail address, …).
    #[arg(
        long,
        value_name = "NAME",
        conflicts_with = "indices",
        required_unless_present = "indices"
    )]
    subject: Option<String>,
    /// Erase this entry's personal data. Repeatable.
    #[arg(long = "index", value_name = "N")]
    indices: Vec<u64>,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The ledger directory.
    dir: PathBuf,
    /// The log's public key: a C2SP verifier key (`name+8 hex digits+base64`), or
    /// `@FILE` for a file of them (one per line). Repeat for several (a key
    /// rotation): a checkpoint signed by any one verifies.
    #[arg(long = "key", value_name = "VKEY", required = true)]
    keys: Vec<String>,
    /// The log's origin (the first line of its checkpoints). Default: the origin
    /// the directory's checkpoint names (printed, and still signature-checked).
    #[arg(long)]
    origin: Option<String>,
    /// A signed checkpoint kept from earlier (a file holding the signed note):
    /// the ledger must extend it. Repeatable.
    #[arg(long = "checkpoint", value_name = "FILE")]
    checkpoints: Vec<PathBuf>,
    /// Do not require the entries to be airlock ledger entries (a ledger of other data).
    #[arg(long)]
    raw: bool,
}

#[derive(Args)]
pub struct ReceiptArgs {
    /// The receipt: its JSON, or a C2SP tlog-proof.
    file: PathBuf,
    /// The entry's bytes, for a tlog-proof (which does not carry them).
    #[arg(long, value_name = "FILE")]
    entry: Option<PathBuf>,
    /// The log's public key (`name+id+base64`, or `@FILE`). Repeatable.
    #[arg(long = "key", value_name = "VKEY", required = true)]
    keys: Vec<String>,
    /// The log's origin. Default: the one the receipt's checkpoint names.
    #[arg(long)]
    origin: Option<String>,
    /// A witness's public key (cosignature/v1, `name+id+base64`, or `@FILE`).
    /// Repeatable.
    #[arg(long = "witness", value_name = "WKEY")]
    witnesses: Vec<String>,
    /// How many distinct witnesses must have cosigned. Default: all given.
    #[arg(long, requires = "witnesses")]
    quorum: Option<usize>,
    /// Do not require the entry to be an airlock ledger entry; print its bytes.
    #[arg(long)]
    raw: bool,
}

#[derive(Args)]
pub struct QueryArgs {
    /// The ledger directory.
    dir: PathBuf,
    /// Only entries of this kind: decision, vote, expiry, halt, resume, policy,
    /// credential, review, outcome, prune, erasure.
    #[arg(long, value_parser = parse_kind)]
    kind: Option<String>,
    /// Only this tenant's entries.
    #[arg(long)]
    tenant: Option<String>,
    /// Only this agent's decisions (and its halts, resumes and credentials).
    #[arg(long)]
    agent: Option<String>,
    /// Only decisions of this tier: allow, log, approve or deny.
    #[arg(long, value_parser = parse_tier)]
    decision: Option<Tier>,
    /// Only decisions this rule decided.
    #[arg(long)]
    rule: Option<String>,
    /// Only what this human did (votes, halts, resumes, policy and credential
    /// changes, reviews).
    #[arg(long, value_name = "HUMAN")]
    by: Option<String>,
    /// From this time on: RFC 3339 (2026-12-06T10:00:00Z) or how long ago (24h, 7d).
    #[arg(long, value_name = "TIME", value_parser = parse_when)]
    since: Option<When>,
    /// Before this time: RFC 3339 or how long ago.
    #[arg(long, value_name = "TIME", value_parser = parse_when)]
    until: Option<When>,
    /// At most this many entries (the first that match, in ledger order).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Also the entries written after the signed checkpoint (not yet vouched for).
    #[arg(long)]
    unsigned: bool,
}

#[derive(Args)]
pub struct ExportArgs {
    /// jsonl: the entries as stored; ocsf: OCSF API Activity events.
    #[arg(long, value_enum)]
    format: Format,
    #[command(flatten)]
    query: QueryArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Jsonl,
    Ocsf,
}

/// A `--since`/`--until` value: a time, or how long before now.
#[derive(Clone, Copy, Debug)]
pub enum When {
    At(Timestamp),
    Ago(SignedDuration),
}

impl When {
    fn resolve(self, now: Timestamp) -> anyhow::Result<i64> {
        let t = match self {
            When::At(t) => t,
            When::Ago(d) => now
                .checked_sub(d)
                .map_err(|e| anyhow!("{d:#} before now is out of range: {e}"))?,
        };
        Ok(t.as_millisecond())
    }
}

fn parse_when(s: &str) -> Result<When, String> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(When::At(t));
    }
    let hint = "give RFC 3339 (2026-12-06T10:00:00Z) or how long ago (90m, 24h, 7d, 2w)";
    let span: jiff::Span = s
        .parse()
        .map_err(|_| format!("`{s}` is not a time: {hint}"))?;
    // "7d" means seven times 24 hours: an audit window, not a calendar.
    let d = span
        .to_duration(SpanRelativeTo::days_are_24_hours())
        .map_err(|_| format!("`{s}` is not a fixed length of time: {hint}"))?;
    // "24h ago" parses as a negative span; both mean 24 hours before now.
    Ok(When::Ago(d.abs()))
}

fn parse_tier(s: &str) -> Result<Tier, String> {
    Filter::parse_tier(s).map_err(|e| e.to_string())
}

fn parse_kind(s: &str) -> Result<String, String> {
    Filter::check_kind(s)
        .map(|()| s.to_owned())
        .map_err(|e| e.to_string())
}

pub fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify(args) => verify(&args),
        AuditCommand::VerifyReceipt(args) => receipt(&args),
        AuditCommand::Log(args) => query(&args, Output::Log),
        AuditCommand::Erase(args) => erase(&args),
        AuditCommand::Export(args) => query(
            &args.query,
            match args.format {
                Format::Jsonl => Output::Jsonl,
                Format::Ocsf => Output::Ocsf,
            },
        ),
    }
}

// ---------------------------------------------------------------------------------
// Keys.

/// Every key an argument names: the value itself, or each line of `@FILE` (blank
/// lines and `#` comments skipped), with where it came from for messages.
fn key_texts(flag: &str, arg: &str) -> anyhow::Result<Vec<(String, String)>> {
    let Some(path) = arg.strip_prefix('@') else {
        return Ok(vec![(flag.to_owned(), arg.trim().to_owned())]);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{flag} @{path}: cannot read the key file"))?;
    let keys: Vec<_> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (format!("{flag} @{path}:{}", i + 1), l.trim().to_owned()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if keys.is_empty() {
        bail!("{flag} @{path}: the file holds no key");
    }
    Ok(keys)
}

/// Parses keys with `parse`; a private key given by mistake is refused without
/// echoing it.
fn parse_keys<K, E: std::fmt::Display>(
    flag: &str,
    args: &[String],
    what: &str,
    parse: impl Fn(&str) -> Result<K, E>,
) -> anyhow::Result<Vec<K>> {
    let mut keys = Vec::new();
    for arg in args {
        for (from, text) in key_texts(flag, arg)? {
            if text.starts_with("PRIVATE+KEY+") {
                bail!(
                    "{from}: that is a private signing key; an auditor needs only the public {what} (`name+8 hex digits+base64`). Keep the private key secret (and rotate it if it was exposed)"
                );
            }
            keys.push(parse(&text).map_err(|e| {
                anyhow!(
                    "{from}: `{text}` is not a {what}: {e}; expected `name+8 hex digits+base64`"
                )
            })?);
        }
    }
    Ok(keys)
}

fn existing_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => bail!(
            "{}: not a directory; give the ledger's directory (the one holding `entries` and `checkpoint`)",
            dir.display()
        ),
        Err(e) => Err(e).with_context(|| format!("{}: cannot read the directory", dir.display())),
    }
}

/// The origin a checkpoint note names, without checking its signatures: used
/// only to choose what to verify against when `--origin` is not given.
fn origin_of(note: &str) -> Option<String> {
    let note = Note::parse(note.as_bytes()).ok()?;
    Some(Checkpoint::parse(note.text()).ok()?.origin().to_owned())
}

// ---------------------------------------------------------------------------------
// audit verify

fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let keys = parse_keys("--key", &args.keys, "log verifier key", VerifierKey::parse)?;
    let dir = args.dir.as_path();
    existing_dir(dir)?;
    let mut earlier = Vec::new();
    for path in &args.checkpoints {
        let note = std::fs::read_to_string(path)
            .with_context(|| format!("--checkpoint {}: cannot read", path.display()))?;
        earlier.push((path, note));
    }
    let origin = match &args.origin {
        Some(o) => o.clone(),
        // A damaged or missing checkpoint is reported by the verification itself.
        None => airlock_ledger::read_checkpoint(dir)
            .ok()
            .flatten()
            .map(|c| c.checkpoint.origin().to_owned())
            .unwrap_or_default(),
    };
    let trust = LogTrust::new(&origin, keys);

    let started = Instant::now();
    let report = airlock_ledger::verify(dir, &trust);
    let mut problems: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
    let mut first_bad = report.first_bad_index();
    // Entries past the first damage were not read (and cannot be trusted).
    let readable = first_bad.unwrap_or(report.entries).min(report.entries);
    let mut kinds: BTreeMap<&'static str, u64> = BTreeMap::new();
    // Personal data kept apart: not part of the tree (erasing it changes nothing
    // here), but a value that does not match its commitment is a problem.
    let personal = if args.raw {
        None
    } else {
        PersonalStore::open_existing(dir).map_err(|e| anyhow!("{e}"))?
    };
    let mut apart: BTreeMap<&'static str, u64> = BTreeMap::new();
    if !args.raw {
        let entries = airlock_ledger::read_entries(dir)
            .with_context(|| format!("{}: cannot read the entries", dir.display()))?;
        // The reader starts after the pruned prefix (its bytes are gone).
        let kept = readable.saturating_sub(entries.pruned());
        for item in entries.take(usize::try_from(kept).unwrap_or(usize::MAX)) {
            // Damage was reported by the verification above.
            let Ok((index, bytes)) = item else { break };
            match Entry::parse(&bytes) {
                Ok(e) => {
                    *kinds.entry(e.kind()).or_default() += 1;
                    if e.is_separate() {
                        *apart.entry("entries").or_default() += 1;
                        let kept = match &personal {
                            Some(store) => {
                                Some(store.lookup(&e.commitments()).map_err(|e| anyhow!("{e}"))?)
                            }
                            None => None,
                        };
                        let lookup = |c: &str| kept.as_ref().and_then(|k| k.get(c).cloned());
                        let r = e.reveal(kept.as_ref().map(|_| &lookup as &Lookup<'_>));
                        for state in r.fields.values() {
                            *apart.entry(state.as_str()).or_default() += 1;
                        }
                        let bad: Vec<&str> = r.tampered().collect();
                        if !bad.is_empty() {
                            problems.push(format!(
                                "entry {index}: the personal-data store's value of {} does not match the entry's commitment: {} was altered (the entry itself is intact)",
                                bad.join(", "),
                                PersonalStore::path_in(dir).display()
                            ));
                        }
                    }
                }
                Err(e) => {
                    problems.push(format!(
                        "entry {index}: {e} (use --raw for a ledger of other data)"
                    ));
                    first_bad = Some(first_bad.map_or(index, |b| b.min(index)));
                    break;
                }
            }
        }
    }
    let elapsed = started.elapsed();

    let mut evidence = Vec::new();
    let mut consistent = Vec::new();
    for (path, note) in &earlier {
        if report.checkpoint.is_none() {
            problems.push(format!(
                "{}: not compared: the ledger's own checkpoint does not verify",
                path.display()
            ));
            continue;
        }
        match airlock_ledger::verify_consistent(note, dir, &trust) {
            Ok(Consistency::Consistent { earlier, .. }) => {
                consistent.push(format!(
                    "{} ({} entries, root {})",
                    path.display(),
                    earlier.size(),
                    earlier.root()
                ));
            }
            Ok(Consistency::Inconsistent(e)) => {
                problems.push(format!("{}: {}", path.display(), e.reason));
                evidence.push((path, e));
            }
            Err(e) => problems.push(format!("{}: {e}", path.display())),
        }
    }

    let mut out = io::stdout().lock();
    writeln!(out, "ledger:     {}", dir.display())?;
    writeln!(out, "origin:     {origin}")?;
    match &report.checkpoint {
        Some(c) => writeln!(
            out,
            "checkpoint: {} entries, root {} (signature verified)",
            c.size(),
            c.root()
        )?,
        None => writeln!(out, "checkpoint: none verified")?,
    }
    // Without a verified checkpoint nothing is known to be signed; say nothing.
    let signed = report
        .checkpoint
        .as_ref()
        .map_or(report.entries, Checkpoint::size);
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        format!("{:.0} entries/s", report.entries as f64 / secs)
    } else {
        "-".to_owned()
    };
    writeln!(
        out,
        "entries:    {} checked in {secs:.3} s ({rate}){}",
        report.entries,
        match report.entries.checked_sub(signed) {
            Some(n) if n > 0 => format!("; the last {n} are not yet signed"),
            _ => String::new(),
        }
    )?;
    if report.pruned > 0 {
        writeln!(
            out,
            "pruned:     entries 0..{} (retention): their bytes are gone, their hashes were checked through the tiles against the signed root",
            report.pruned
        )?;
    }
    if !kinds.is_empty() {
        let list: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        writeln!(out, "kinds:      {}", list.join(", "))?;
    }
    if let Some(n) = apart.get("entries") {
        let fields: Vec<String> = ["shown", "erased", "withheld", "tampered"]
            .iter()
            .filter_map(|k| apart.get(k).map(|c| format!("{c} {k}")))
            .collect();
        writeln!(
            out,
            "personal:   {n} entries keep personal data apart (fields: {}){}",
            if fields.is_empty() {
                "none".to_owned()
            } else {
                fields.join(", ")
            },
            if personal.is_none() {
                "; no personal-data store here, so nothing is shown"
            } else {
                ""
            }
        )?;
    }
    if let Some((offset, bytes)) = report.unfinished_tail {
        writeln!(
            out,
            "note:       an incomplete record of {bytes} bytes at offset {offset} after the last entry (a write in progress, or a crash; the writer cuts it off when it next opens the ledger)"
        )?;
    }
    for c in &consistent {
        writeln!(out, "extends:    {c}")?;
    }
    for (path, e) in &evidence {
        writeln!(
            out,
            "\nFORK OR ROLLBACK: the ledger does not extend {}. Evidence (both signed checkpoints and the proof; anyone with the log's public key can check it):\n",
            path.display()
        )?;
        write!(out, "{}", e.to_text())?;
        writeln!(out)?;
    }
    if problems.is_empty() {
        writeln!(out, "OK")?;
        return Ok(ExitCode::SUCCESS);
    }
    for p in &problems {
        writeln!(out, "BAD {p}")?;
    }
    if let Some(i) = first_bad {
        writeln!(out, "first bad index: {i}")?;
    }
    writeln!(out, "FAILED: {} problem(s)", problems.len())?;
    Ok(problem_found())
}

// ---------------------------------------------------------------------------------
// audit verify-receipt

fn receipt(args: &ReceiptArgs) -> anyhow::Result<ExitCode> {
    let keys = parse_keys("--key", &args.keys, "log verifier key", VerifierKey::parse)?;
    let witnesses = parse_keys(
        "--witness",
        &args.witnesses,
        "witness key",
        WitnessKey::parse,
    )?;
    let quorum = args.quorum.unwrap_or(witnesses.len());
    if quorum > witnesses.len() {
        bail!(
            "--quorum {quorum} is more than the {} witness key(s) given",
            witnesses.len()
        );
    }
    let file = args.file.display();
    let text =
        std::fs::read(&args.file).with_context(|| format!("{file}: cannot read the receipt"))?;
    let text = String::from_utf8(text)
        .map_err(|_| anyhow!("{file}: not text; expected a receipt's JSON or a C2SP tlog-proof"))?;
    let receipt = if text.starts_with(TLOG_PROOF_HEADER) {
        let Some(entry_path) = &args.entry else {
            bail!(
                "{file} is a C2SP tlog-proof, which does not carry the entry; give the entry's bytes with --entry FILE"
            );
        };
        let entry = std::fs::read(entry_path)
            .with_context(|| format!("--entry {}: cannot read", entry_path.display()))?;
        Receipt::from_tlog_proof(entry, &text).map_err(|e| anyhow!("{file}: {e}"))?
    } else {
        if args.entry.is_some() {
            bail!(
                "--entry is for a C2SP tlog-proof; {file} is not one (a JSON receipt carries its entry)"
            );
        }
        Receipt::from_json(&text)
            .map_err(|e| anyhow!("{file}: {e}; expected a receipt's JSON or a C2SP tlog-proof"))?
    };
    let origin = args
        .origin
        .clone()
        .or_else(|| origin_of(&receipt.checkpoint))
        .unwrap_or_default();
    let trust = LogTrust::new(&origin, keys).with_witnesses(witnesses, quorum);

    let mut out = io::stdout().lock();
    let verified = match verify_receipt(&receipt, &trust) {
        Ok(v) => v,
        Err(e) => {
            writeln!(out, "BAD {file}: the receipt does not verify: {e}")?;
            return Ok(problem_found());
        }
    };
    let c = &verified.checkpoint.checkpoint;
    writeln!(out, "receipt:    {file}")?;
    writeln!(out, "origin:     {}", c.origin())?;
    writeln!(
        out,
        "index:      {} (leaf hash {})",
        verified.index, verified.leaf_hash
    )?;
    writeln!(
        out,
        "checkpoint: {} entries, root {}, signed by {}",
        c.size(),
        c.root(),
        verified
            .checkpoint
            .signed_by
            .iter()
            .map(|k| format!("{}+{:08x}", k.name(), k.key_id()))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    for w in &verified.checkpoint.cosignatures {
        let at = i64::try_from(w.timestamp)
            .ok()
            .and_then(|s| Timestamp::from_second(s).ok())
            .map_or_else(|| w.timestamp.to_string(), |t| t.to_string());
        writeln!(out, "cosigned:   {} at {at}", w.witness)?;
    }
    match Entry::parse(&receipt.entry) {
        Ok(entry) => {
            writeln!(out, "entry:")?;
            writeln!(out, "{}", serde_json::to_string_pretty(&entry)?)?;
        }
        Err(e) if !args.raw => {
            writeln!(
                out,
                "BAD the entry is in the log, but it is not an airlock ledger entry: {e} (use --raw for a log of other data)"
            )?;
            return Ok(problem_found());
        }
        Err(_) => {
            writeln!(out, "entry (raw):")?;
            writeln!(out, "{}", String::from_utf8_lossy(&receipt.entry))?;
        }
    }
    writeln!(out, "OK")?;
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------
// audit log, audit export

#[derive(Clone, Copy, PartialEq, Eq)]
enum Output {
    Log,
    Jsonl,
    Ocsf,
}

fn query(args: &QueryArgs, output: Output) -> anyhow::Result<ExitCode> {
    let dir = args.dir.as_path();
    let name = dir.display();
    existing_dir(dir)?;
    let now = Timestamp::now();
    let filter = Filter {
        kind: args.kind.clone(),
        tenant: args.tenant.clone(),
        agent: args.agent.clone(),
        decision: args.decision,
        rule: args.rule.clone(),
        by: args.by.clone(),
        since_ms: args.since.map(|w| w.resolve(now)).transpose()?,
        until_ms: args.until.map(|w| w.resolve(now)).transpose()?,
    };
    let checkpoint = airlock_ledger::read_checkpoint(dir).with_context(|| {
        format!(
            "{name}: the checkpoint cannot be read; run `airlock audit verify` on the directory"
        )
    })?;
    let signed = checkpoint.as_ref().map_or(0, |c| c.checkpoint.size());
    let origin = checkpoint
        .as_ref()
        .map(|c| c.checkpoint.origin().to_owned());
    if checkpoint.is_none() {
        eprintln!(
            "airlock: {name}: no checkpoint has been signed yet, so no entry is vouched for{}",
            if args.unsigned {
                ""
            } else {
                "; --unsigned shows the entries written so far"
            }
        );
    }
    let origin = match (output, origin) {
        (_, Some(o)) => o,
        (Output::Ocsf, None) if args.unsigned => bail!(
            "{name}: no signed checkpoint, so the ledger's origin (OCSF metadata.uid and log_name) is unknown; export once a checkpoint is signed"
        ),
        (_, None) => String::new(),
    };

    let personal = PersonalStore::open_existing(dir).map_err(|e| {
        anyhow!(
            "{e}; the personal-data store needs read access (or move it away to read without it)"
        )
    })?;
    let mut tampered = 0u64;
    let mut entries = airlock_ledger::read_entries(dir)
        .with_context(|| format!("{name}: cannot read the entries"))?;
    if entries.pruned() > 0 {
        eprintln!(
            "airlock: {name}: entries 0..{} were pruned (retention); starting at entry {}",
            entries.pruned(),
            entries.pruned()
        );
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut shown = 0usize;
    let mut not_entries = 0u64;
    let mut damaged = false;
    let mut unsigned_hidden = 0u64;
    while args.limit.is_none_or(|l| shown < l) {
        let (index, bytes) = match entries.next() {
            None => {
                let end = entries.next_index();
                if end < signed {
                    eprintln!(
                        "airlock: {name}: the entries file holds {end} entries, but the signed checkpoint covers {signed}: entries were removed; run `airlock audit verify`"
                    );
                    damaged = true;
                }
                break;
            }
            Some(Ok(item)) => item,
            Some(Err(e)) => {
                let index = entries.next_index();
                if index < signed {
                    eprintln!(
                        "airlock: {e}; entry {index} is covered by the signed checkpoint, so the ledger is damaged: run `airlock audit verify`"
                    );
                    damaged = true;
                } else {
                    eprintln!(
                        "airlock: {name}: stopped at entry {index}: its record is incomplete or damaged (a write in progress, or a crash); it is not signed"
                    );
                }
                break;
            }
        };
        let is_signed = index < signed;
        if !is_signed && !args.unsigned {
            // Count what is not shown, so that the note says how much.
            unsigned_hidden = 1 + entries.by_ref().take_while(Result::is_ok).count() as u64;
            break;
        }
        let entry = match Entry::parse(&bytes) {
            Ok(e) => e,
            Err(e) => {
                // The first one, with why; the rest are counted.
                if not_entries == 0 {
                    eprintln!("airlock: {name}: entry {index} is not an airlock ledger entry: {e}");
                }
                not_entries += 1;
                continue;
            }
        };
        // Personal data kept apart: put back where it is kept and matches.
        let revealed = if entry.is_separate() {
            let kept = match &personal {
                Some(store) => Some(
                    store
                        .lookup(&entry.commitments())
                        .map_err(|e| anyhow!("{e}"))?,
                ),
                None => None,
            };
            let lookup = |c: &str| kept.as_ref().and_then(|k| k.get(c).cloned());
            let r = entry.reveal(kept.as_ref().map(|_| &lookup as &Lookup<'_>));
            let bad: Vec<&str> = r.tampered().collect();
            if !bad.is_empty() {
                eprintln!(
                    "airlock: {name}: entry {index}: the personal-data store's value of {} does not match the entry's commitment: {} was altered (the value is not shown); the entry itself is checked by `airlock audit verify`",
                    bad.iter()
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    PersonalStore::path_in(dir).display()
                );
                tampered += 1;
            }
            Some(r)
        } else {
            None
        };
        let shown_entry = revealed.as_ref().map_or(&entry, |r| &r.entry);
        if !filter.matches(shown_entry) {
            continue;
        }
        let line = match (&revealed, output) {
            (None, Output::Log) => {
                entry_line(index, (!is_signed).then_some(false), &bytes, &entry)?
            }
            (None, Output::Jsonl) => entry_line(index, None, &bytes, &entry)?,
            (Some(r), Output::Log) => revealed_line(index, (!is_signed).then_some(false), r)?,
            (Some(r), Output::Jsonl) => revealed_line(index, None, r)?,
            (_, Output::Ocsf) => {
                let mut event = airlock_audit::ocsf::event(&origin, index, shown_entry);
                let mut labels = Vec::new();
                if !is_signed {
                    labels.push("airlock:unsigned".to_owned());
                }
                if let Some(r) = &revealed {
                    let states: std::collections::BTreeSet<&str> = r
                        .fields
                        .values()
                        .filter(|s| **s != FieldState::Shown)
                        .map(|s| s.as_str())
                        .collect();
                    labels.extend(states.iter().map(|s| format!("airlock:personal-data-{s}")));
                }
                if !labels.is_empty() {
                    event["metadata"]["labels"] = serde_json::json!(labels);
                }
                serde_json::to_string(&event)?
            }
        };
        match writeln!(out, "{line}") {
            Ok(()) => shown += 1,
            // The reader went away (`| head`): what it wanted was printed.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
            Err(e) => return Err(e).context("cannot write to stdout"),
        }
    }
    match out.flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        other => other.context("cannot write to stdout")?,
    }
    if unsigned_hidden > 0 {
        eprintln!(
            "airlock: {name}: {unsigned_hidden} entries after the signed checkpoint ({signed} entries) are not shown: not yet signed; --unsigned shows them"
        );
    }
    if not_entries > 1 {
        eprintln!(
            "airlock: {name}: {not_entries} entries in all are not airlock ledger entries (not shown)"
        );
    }
    if tampered > 0 {
        eprintln!(
            "airlock: {name}: {tampered} entries have personal data that does not match its commitment: the personal-data store was altered"
        );
    }
    if damaged || not_entries > 0 || tampered > 0 {
        return Ok(problem_found());
    }
    Ok(ExitCode::SUCCESS)
}

/// One output line for an entry that keeps its personal data apart:
/// `{"index":N,` (`"signed":false,`) `"personal":{FIELD:STATE,…},` and the entry
/// with each value shown where the side store still holds it and it matches its
/// commitment (`shown`); `erased`, `withheld` (no side store) and `tampered`
/// fields keep their commitment as stored.
fn revealed_line(index: u64, signed: Option<bool>, r: &Revealed) -> anyhow::Result<String> {
    let canonical = serde_json::to_string(&r.entry)?;
    let body = canonical
        .strip_prefix('{')
        .ok_or_else(|| anyhow!("entry {index} does not encode as a JSON object"))?;
    let states: serde_json::Map<String, serde_json::Value> = r
        .fields
        .iter()
        .map(|(f, s)| (f.clone(), serde_json::Value::from(s.as_str())))
        .collect();
    let mut line = format!("{{\"index\":{index},");
    if let Some(s) = signed {
        line.push_str(&format!("\"signed\":{s},"));
    }
    line.push_str(&format!(
        "\"personal\":{},",
        serde_json::Value::Object(states)
    ));
    line.push_str(body);
    Ok(line)
}

// ---------------------------------------------------------------------------------
// audit erase

fn erase(args: &EraseArgs) -> anyhow::Result<ExitCode> {
    let dir = args.dir.as_path();
    let name = dir.display();
    existing_dir(dir)?;
    let what = match &args.subject {
        Some(subject) if subject.trim().is_empty() => {
            bail!("--subject is empty; give the person's name as the ledger records it")
        }
        Some(subject) => Erase::Subject(subject.clone()),
        None => Erase::Indices(args.indices.clone()),
    };
    if !dir.join("entries").exists() {
        bail!("{name}: not a ledger directory (no `entries`)");
    }
    let done = airlock_server::personal::erase(dir, &what, Timestamp::now().as_millisecond())
        .map_err(|e| anyhow!("{name}: {e}; nothing was erased"))?;
    let mut out = io::stdout().lock();
    let list = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    writeln!(out, "ledger:     {name}")?;
    if !PersonalStore::path_in(dir).exists() {
        writeln!(
            out,
            "store:      none: this ledger keeps no personal data apart (written with --ledger-personal-data inline)"
        )?;
    }
    if done.fields > 0 {
        writeln!(
            out,
            "erased:     {} field(s) of entries {}{}",
            done.fields,
            list(&done.indices),
            if done.orphans > 0 {
                format!(
                    " (and {} of entries a crash kept out of the ledger)",
                    done.orphans
                )
            } else {
                String::new()
            }
        )?;
    } else if done.indices.is_empty() {
        writeln!(out, "erased:     nothing: no entry kept apart names it")?;
    } else {
        writeln!(
            out,
            "erased:     nothing left: entries {} were erased before",
            list(&done.indices)
        )?;
    }
    if !done.log_truncated && done.fields > 0 {
        writeln!(
            out,
            "note:       the store's write-ahead log is in use and was not emptied; the erased bytes may stay in personal-data.db-wal until its next checkpoint (run this again when the gateway is idle)"
        )?;
    }
    let mut incomplete = false;
    if !done.inline.is_empty() {
        incomplete = true;
        writeln!(
            out,
            "NOT ERASED: entries {} keep their personal data inline (format 1): it is part of the tree and cannot be erased without breaking every later root and proof; it goes when the entries are pruned after the retention window",
            list(&done.inline)
        )?;
    }
    if !done.missing.is_empty() {
        incomplete = true;
        writeln!(
            out,
            "NOT FOUND: entries {}: not in the ledger, or pruned (their bytes are gone already)",
            list(&done.missing)
        )?;
    }
    writeln!(
        out,
        "tree:       untouched: `airlock audit verify` and every receipt still verify"
    )?;
    writeln!(
        out,
        "recorded:   in personal-data.db (without the name), not in the ledger: this command does not hold the ledger's writer"
    )?;
    if incomplete {
        return Ok(problem_found());
    }
    Ok(ExitCode::SUCCESS)
}

/// One output line: `{"index":N,` (and `"signed":false,` when asked) followed by
/// the entry's fields exactly as stored. An entry stored with line breaks, or
/// with a field of its own named `index` or `signed` (the gateway writes
/// neither), is printed in its canonical encoding instead.
fn entry_line(
    index: u64,
    signed: Option<bool>,
    bytes: &[u8],
    entry: &Entry,
) -> anyhow::Result<String> {
    /// The keys this output adds.
    #[derive(serde::Deserialize)]
    struct Reserved {
        index: Option<serde::de::IgnoredAny>,
        signed: Option<serde::de::IgnoredAny>,
    }
    let reserved: Reserved = serde_json::from_slice(bytes)?;
    let as_stored = std::str::from_utf8(bytes)
        .ok()
        .map(str::trim)
        .filter(|_| reserved.index.is_none() && reserved.signed.is_none())
        .filter(|s| !s.contains(['\n', '\r']))
        .and_then(|s| s.strip_prefix('{'))
        .map(str::to_owned);
    let body = match as_stored {
        Some(b) => b,
        None => {
            let canonical = serde_json::to_string(entry)?;
            canonical
                .strip_prefix('{')
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("entry {index} does not encode as a JSON object"))?
        }
    };
    let mut line = format!("{{\"index\":{index},");
    if let Some(s) = signed {
        line.push_str(&format!("\"signed\":{s},"));
    }
    line.push_str(&body);
    Ok(line)
}
