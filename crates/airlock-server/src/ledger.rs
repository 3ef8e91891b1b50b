//! The service's side of the tamper-evident ledger: every decision and every human
//! act becomes an [`Entry`] appended to an [`airlock_ledger::Ledger`] before it is
//! answered.
//!
//! **Write-ahead.** A decision is answered only once its entry is durable (written
//! and fsynced with its batch), so nothing an agent was allowed to do is missing
//! from the ledger. The entry and the store's record are written concurrently.
//!
//! **Fail closed.** The ledger stops for good at its first write or fsync error
//! (it never retries after a failed fsync). From then on every decision is denied
//! (`airlock:ledger-unavailable`), reads included, and `/healthz` says so, until an
//! operator fixes the disk and restarts the service (opening recovers from the
//! files). A human act (a vote, a halt) that the store committed but the ledger
//! could not record is answered with an error; it cannot lead to an action that is
//! not recorded, because that action's own decision entry would be refused.
//!
//! **Personal data.** With [`PersonalData::Separate`], each entry keeps salted
//! commitments in place of its personal data (`airlock_audit::personal`), and
//! the values go to the side store (`crate::personal`), committed before the
//! entry is appended: an answered entry always has its values, until they are
//! erased ([`Recorder::erase`]); the tree never depends on them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use airlock_audit::personal::{SALT_LEN, Sealed};
use airlock_audit::retention::{check_retention_days, window_start_ms};
use airlock_audit::{
    DEFAULT_RETENTION_DAYS, Entry, Event, RetentionError, prune_boundary, sha256_hex,
};
use airlock_ledger::{CheckpointStore, FileCheckpointStore, Ledger, LedgerOptions};
use airlock_store::postgres::LedgerCheckpoints;
use airlock_tlog::{SignerKey, VerifierKey, WitnessKey};
use airlock_witness::HttpWitness;

use crate::personal::{Erase, Erased, PersonalData, PersonalStore};

/// Where the ledger lives and who signs it.
#[derive(Debug, Clone, Default)]
pub struct LedgerConfig {
    /// The ledger directory; `DATA_DIR/ledger` when `None`.
    pub dir: Option<PathBuf>,
    /// Files holding the log's signing keys (C2SP `PRIVATE+KEY+…`). Every checkpoint
    /// is signed with all of them (key rotation: old and new for a while). When
    /// empty, `DATA_DIR/ledger.key` is used, and created on first start.
    pub key_files: Vec<PathBuf>,
    /// Retired keys (C2SP verifier keys) whose signatures on the stored checkpoint
    /// are still accepted when opening.
    pub trusted_keys: Vec<String>,
    /// This gateway's name in entries, and in the generated key's name
    /// (`airlock/GATEWAY`). Give each replica its own. Empty: `gateway`, or with
    /// the replicas' shared PostgreSQL an id made on first start and kept in
    /// `DATA_DIR/gateway-id` (one ledger per replica, each with its own origin).
    pub gateway: String,
    /// Independent witnesses asked to cosign every checkpoint: `URL=VKEY` (the
    /// witness's URL prefix and its C2SP verifier key).
    pub witnesses: Vec<String>,
    /// How many of them must cosign; a checkpoint short of it is still signed by
    /// the log, and reported (`/metrics`, stderr).
    pub witness_quorum: usize,
    /// Also write C2SP entry bundles (`tile/entries/…`), so that the directory is a
    /// complete static tlog-tiles log for any C2SP client. Off by default: they copy
    /// every entry once more at each checkpoint, and `airlock audit` reads the
    /// `entries` file.
    pub entry_bundles: bool,
    /// How long entries are kept before `POST /v1/ledger/prune` may remove their
    /// bytes, in days; `None`: [`DEFAULT_RETENTION_DAYS`] (184, six months), the
    /// least accepted.
    pub retention_days: Option<u32>,
    /// Where personal data goes: in the entries (`Inline`, the default, entry
    /// format 1), or apart (`Separate`, format 2: salted commitments in the
    /// entries, the values in `DIR/personal-data.db`, erasable without breaking
    /// the tree). See `airlock_audit::personal`.
    pub personal_data: PersonalData,
}

/// The open ledger, and this gateway's name in its entries.
pub struct Recorder {
    ledger: Ledger,
    gateway: String,
    verifier: String,
    retention_days: u32,
    /// The side store, in the separate personal-data mode.
    personal: Option<Arc<PersonalStore>>,
}

/// Why a prune was not done.
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    /// The cutoff lies inside the retention window: nothing was changed.
    #[error("{0}")]
    InsideWindow(String),
    /// The ledger could not sign, read, prune or record.
    #[error("{0}")]
    Ledger(String),
}

/// Why an erasure was not done.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    /// The ledger keeps personal data inline: nothing can be erased.
    #[error("{0}")]
    Inline(String),
    /// The side store or the ledger could not be read, changed or recorded.
    #[error("{0}")]
    Ledger(String),
}

impl Recorder {
    /// Opens (creating if needed) the ledger of `data_dir` as `config` says. The
    /// last signed checkpoint is also kept outside the ledger directory, so a
    /// directory restored from an old backup is refused: in the replicas' shared
    /// PostgreSQL when `shared` is given (where it also keeps a second writer of the
    /// same ledger, on any host, from signing), else beside the directory
    /// (`DIR.checkpoint`).
    pub fn open(
        data_dir: &Path,
        config: &LedgerConfig,
        shared: Option<LedgerCheckpoints>,
    ) -> anyhow::Result<Recorder> {
        let retention_days =
            check_retention_days(config.retention_days.unwrap_or(DEFAULT_RETENTION_DAYS))
                .map_err(|e| anyhow::anyhow!("--ledger-retention: {e}"))?;
        let dir = config
            .dir
            .clone()
            .unwrap_or_else(|| data_dir.join("ledger"));
        std::fs::create_dir_all(&dir).map_err(|e| {
            anyhow::anyhow!("cannot create the ledger directory {}: {e}", dir.display())
        })?;
        let gateway = match (config.gateway.as_str(), &shared) {
            ("", Some(_)) => replica_id(data_dir)?,
            ("", None) => "gateway".to_owned(),
            (named, _) => named.to_owned(),
        };
        let signers = if config.key_files.is_empty() {
            vec![default_key(data_dir, &gateway)?]
        } else {
            config
                .key_files
                .iter()
                .map(|f| read_key(f))
                .collect::<anyhow::Result<Vec<_>>>()?
        };
        let origin = signers[0].name().to_owned();
        let mut options = LedgerOptions::new(&origin, signers[0].clone());
        options.signers = signers;
        options.trusted = config
            .trusted_keys
            .iter()
            .map(|k| {
                VerifierKey::parse(k)
                    .map_err(|e| anyhow::anyhow!("--ledger-trusted-key `{k}`: {e}"))
            })
            .collect::<anyhow::Result<_>>()?;
        for w in &config.witnesses {
            let (url, vkey) = w.split_once('=').ok_or_else(|| {
                anyhow::anyhow!(
                    "--witness `{w}` must be URL=VKEY (the witness's URL and its verifier key)"
                )
            })?;
            let key = WitnessKey::parse(vkey).map_err(|e| {
                anyhow::anyhow!("--witness `{w}`: the key is not a witness verifier key: {e}")
            })?;
            let witness =
                HttpWitness::new(url, key).map_err(|e| anyhow::anyhow!("--witness `{w}`: {e}"))?;
            options.witnesses.push(Arc::new(witness));
        }
        if config.witness_quorum > options.witnesses.len() {
            anyhow::bail!(
                "--witness-quorum {} is more than the {} witnesses given",
                config.witness_quorum,
                options.witnesses.len()
            );
        }
        options.witness_quorum = config.witness_quorum;
        options.entry_bundles = config.entry_bundles;
        options.checkpoint_store = Some(match shared {
            Some(store) => Arc::new(PgCheckpoints::new(store, &origin)?),
            None => {
                let mut outside = dir.clone().into_os_string();
                outside.push(".checkpoint");
                Arc::new(FileCheckpointStore::new(PathBuf::from(outside)))
            }
        });
        let mut recorder = Recorder::with_options(&dir, options, &gateway)?;
        recorder.retention_days = retention_days;
        if config.personal_data == PersonalData::Separate {
            recorder.keep_personal_data_apart()?;
        }
        Ok(recorder)
    }

    /// Opens the ledger in `dir` with `options` as they are (tests use this to run
    /// it on a file system with faults).
    pub fn with_options(
        dir: &Path,
        options: LedgerOptions,
        gateway: &str,
    ) -> anyhow::Result<Recorder> {
        let verifier = options
            .signers
            .first()
            .map(|k| k.verifier().to_string())
            .unwrap_or_default();
        let ledger = Ledger::open(dir, options).map_err(|e| {
            anyhow::anyhow!(
                "cannot open the ledger in {}: {e}. With several replicas, give each its own --data-dir (or --ledger-dir) and --gateway-id",
                dir.display()
            )
        })?;
        Ok(Recorder {
            ledger,
            gateway: gateway.to_owned(),
            verifier,
            retention_days: DEFAULT_RETENTION_DAYS,
            personal: None,
        })
    }

    /// From now on, keeps personal data apart: salted commitments in the entries
    /// (format 2), the values in the ledger directory's side store
    /// (`personal-data.db`, created if needed).
    pub fn keep_personal_data_apart(&mut self) -> anyhow::Result<()> {
        let store = PersonalStore::open(self.ledger.dir()).map_err(|e| {
            anyhow::anyhow!("{e}; --ledger-personal-data separate needs it writable")
        })?;
        self.personal = Some(Arc::new(store));
        Ok(())
    }

    /// The retention window, in days.
    pub fn retention_days(&self) -> u32 {
        self.retention_days
    }

    /// Prunes the bytes of the leading entries older than `before_ms` (every hash
    /// stays: roots and proofs still hold) and records the prune; answers the
    /// first entry kept. A `before_ms` inside the retention window is refused
    /// before anything changes. Everything appended so far is signed first, so
    /// that the boundary may reach it; the boundary stops at the first entry not
    /// older than `before_ms` (or not readable as an entry).
    pub async fn prune(&self, before_ms: i64, now_ms: i64, by: &str) -> Result<u64, PruneError> {
        let days = self.retention_days;
        let window_start = window_start_ms(now_ms, days);
        if before_ms > window_start {
            let refused = RetentionError::InsideWindow {
                before_ms,
                window_start_ms: window_start,
                days,
            };
            return Err(PruneError::InsideWindow(format!(
                "{refused}; nothing was pruned"
            )));
        }
        let ledger_error = |e: airlock_ledger::Error| PruneError::Ledger(e.to_string());
        let signed = self.ledger.sign_checkpoint().await.map_err(ledger_error)?;
        let entries = self.ledger.read_entries().map_err(ledger_error)?;
        let first = entries.pruned();
        let signed_size = signed.checkpoint.size();
        // Reading the entries is blocking file I/O: off the async workers.
        let counted = tokio::task::spawn_blocking(move || {
            let times = entries
                .take(usize::try_from(signed_size.saturating_sub(first)).unwrap_or(usize::MAX))
                .map(|item| {
                    item.ok()
                        .and_then(|(_, bytes)| Entry::parse(&bytes).ok())
                        .map_or(i64::MAX, |e| e.time_ms)
                });
            prune_boundary(times, before_ms, now_ms, days)
        })
        .await
        .map_err(|e| PruneError::Ledger(format!("reading the entries failed: {e}")))?
        .map_err(|e| PruneError::InsideWindow(e.to_string()))?;
        // Personal data kept apart goes with its entries, first: a value must
        // never outlive its entry's bytes (losing it a moment early, should the
        // prune then fail, is what retention allows anyway).
        if counted > 0 && PersonalStore::path_in(self.ledger.dir()).exists() {
            let dir = self.ledger.dir().to_path_buf();
            let below = first + counted;
            tokio::task::spawn_blocking(move || crate::personal::erase_below(&dir, below, now_ms))
                .await
                .map_err(|e| PruneError::Ledger(format!("erasing personal data failed: {e}")))?
                .map_err(|e| PruneError::Ledger(format!("{e}; nothing was pruned")))?;
        }
        let pruned = self
            .ledger
            .prune(first + counted)
            .await
            .map_err(ledger_error)?;
        let event = Event::Prune {
            below: pruned.below,
            before_ms,
            by: by.to_owned(),
        };
        self.record(now_ms, "*", event)
            .await
            .map_err(PruneError::Ledger)?;
        Ok(pruned.below)
    }

    /// Erases personal data kept apart (`what`: a subject, or entries by index)
    /// from the side store, and records the erasure (an [`Event::Erasure`] that
    /// never names the subject; none when nothing was left to erase, so that
    /// asking again changes nothing). The ledger's own files are not touched.
    /// `Ok((erased, index of the erasure entry))`.
    pub async fn erase(
        &self,
        what: Erase,
        now_ms: i64,
        by: &str,
    ) -> Result<(Erased, Option<u64>), EraseError> {
        let dir = self.ledger.dir().to_path_buf();
        if !PersonalStore::path_in(&dir).exists() {
            return Err(EraseError::Inline(
                "this ledger keeps personal data inline (the gateway runs without --ledger-personal-data separate): it is part of the tree and cannot be erased without breaking it; it goes when pruned after the retention window".into(),
            ));
        }
        let how = match &what {
            Erase::Subject(_) => "subject",
            Erase::Indices(_) => "index",
        };
        let by_index = matches!(what, Erase::Indices(_));
        let erased =
            tokio::task::spawn_blocking(move || crate::personal::erase(&dir, &what, now_ms))
                .await
                .map_err(|e| EraseError::Ledger(format!("the erasure failed: {e}")))?
                .map_err(EraseError::Ledger)?;
        if erased.fields == 0 {
            return Ok((erased, None));
        }
        let event = Event::Erasure {
            how: how.into(),
            indices: if by_index {
                erased.indices.clone()
            } else {
                Vec::new()
            },
            entries: erased.indices.len() as u64,
            fields: erased.fields,
            by: by.to_owned(),
        };
        let index = self
            .record(now_ms, "*", event)
            .await
            .map_err(EraseError::Ledger)?;
        Ok((erased, Some(index)))
    }

    /// Appends one entry; `Ok(index)` once it is durable. An error means the
    /// ledger cannot record (it has stopped, or the entry cannot be encoded).
    pub async fn record(&self, time_ms: i64, tenant: &str, event: Event) -> Result<u64, String> {
        let entry = Entry::new(time_ms, &self.gateway, tenant, event);
        let bytes = match &self.personal {
            None => entry
                .to_bytes()
                .map_err(|e| format!("this cannot be recorded: {e}"))?,
            Some(store) => {
                let (bytes, digest, sealed) = separate(&entry)?;
                // Durable before the entry is appended: an acknowledged entry
                // always has its values (until they are erased).
                let store = Arc::clone(store);
                tokio::task::spawn_blocking(move || store.put(&digest, &sealed))
                    .await
                    .map_err(|e| format!("the personal-data store failed: {e}"))?
                    .map_err(|e| format!("this cannot be recorded: {e}"))?;
                bytes
            }
        };
        self.ledger.append(bytes).await.map_err(|e| match self.failure() {
            Some(why) => format!(
                "the ledger has stopped ({why}); an operator must check its disk and restart the service"
            ),
            None => e.to_string(),
        })
    }

    /// Why the ledger stopped, if it has.
    pub fn failure(&self) -> Option<Arc<str>> {
        self.ledger.failure()
    }

    /// The ledger, for proofs and receipts.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The public key an auditor verifies this ledger with.
    pub fn verifier_key(&self) -> &str {
        &self.verifier
    }
}

/// The entry's separate-format bytes, their SHA-256 (hex), and the personal
/// data the side store must keep: only what the stored entry refers to (a
/// decision too large for an entry keeps its Action's digest, and with it the
/// Action's fields).
fn separate(entry: &Entry) -> Result<(Vec<u8>, String, Vec<Sealed>), String> {
    let mut salts = vec![[0u8; SALT_LEN]; entry.personal_count()];
    for salt in &mut salts {
        getrandom::fill(salt).map_err(|e| format!("no randomness for a salt: {e}"))?;
    }
    let fail = |e: airlock_audit::EntryError| format!("this cannot be recorded: {e}");
    let (separated, sealed) = entry.separate(&salts).map_err(fail)?;
    let bytes = separated.to_bytes().map_err(fail)?;
    let held: std::collections::HashSet<String> = Entry::parse(&bytes)
        .map_err(fail)?
        .commitments()
        .into_iter()
        .collect();
    let sealed = sealed
        .into_iter()
        .filter(|s| held.contains(&s.commitment))
        .collect();
    Ok((bytes.clone(), sha256_hex(&bytes), sealed))
}

/// This replica's id, made on its first start (`gw-` and 12 random hex digits)
/// and kept in `DATA_DIR/gateway-id`: replicas sharing a PostgreSQL each keep
/// their own ledger, and each ledger needs its own origin.
fn replica_id(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("gateway-id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_owned()),
        Ok(_) => anyhow::bail!(
            "{} is empty: write this replica's id in it, or give --gateway-id",
            path.display()
        ),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            anyhow::bail!("cannot read {}: {e}", path.display())
        }
        Err(_) => {}
    }
    let token = crate::auth::new_token()?;
    let id = format!("gw-{}", token.get(3..15).unwrap_or("0"));
    std::fs::create_dir_all(data_dir)
        .and_then(|()| std::fs::write(&path, format!("{id}\n")))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(id)
}

/// `DATA_DIR/ledger.key`, created with a fresh key named `airlock/GATEWAY` (and
/// its public half in `ledger.vkey`) the first time.
fn default_key(data_dir: &Path, gateway: &str) -> anyhow::Result<SignerKey> {
    let path = data_dir.join("ledger.key");
    if path.exists() {
        return read_key(&path);
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| anyhow::anyhow!("no randomness for the ledger key: {e}"))?;
    let key = SignerKey::from_seed(&format!("airlock/{gateway}"), &seed).map_err(|e| {
        anyhow::anyhow!(
            "--gateway-id `{gateway}` cannot name a ledger key ({e}); use letters, digits, '.', '-' and '/'"
        )
    })?;
    write_secret(&path, &key.to_secret_string())?;
    let vkey = data_dir.join("ledger.vkey");
    std::fs::write(&vkey, format!("{}\n", key.verifier()))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", vkey.display()))?;
    Ok(key)
}

fn read_key(path: &Path) -> anyhow::Result<SignerKey> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read the ledger key {}: {e}", path.display()))?;
    SignerKey::parse(text.trim()).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a ledger signing key (C2SP PRIVATE+KEY+…): {e}",
            path.display()
        )
    })
}

/// Writes a secret readable by its owner only, atomically.
fn write_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("key.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut f = options
        .open(&tmp)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", tmp.display()))?;
    f.write_all(format!("{secret}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

/// The last signed checkpoint of a replica's ledger, in the replicas' shared
/// PostgreSQL (`airlock_ledger_checkpoints`, by origin), swapped only from the
/// checkpoint this writer last read. A second writer of the same origin (the
/// same `--gateway-id` on another host) fails its first swap and its ledger stops,
/// so the gateway fails closed instead of forking the log; a ledger directory
/// restored from an old backup finds the record ahead of it and refuses to open.
///
/// The ledger calls it from its own threads and from `open`; the queries run on
/// the service's runtime.
#[derive(Debug)]
struct PgCheckpoints {
    store: LedgerCheckpoints,
    origin: String,
    runtime: tokio::runtime::Handle,
}

impl PgCheckpoints {
    fn new(store: LedgerCheckpoints, origin: &str) -> anyhow::Result<PgCheckpoints> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            anyhow::anyhow!("the PostgreSQL checkpoint record needs the service's runtime")
        })?;
        Ok(PgCheckpoints {
            store,
            origin: origin.to_owned(),
            runtime,
        })
    }

    /// Runs a query to completion from a plain thread or from the runtime's own.
    fn run<T>(&self, query: impl std::future::Future<Output = T>) -> T {
        if tokio::runtime::Handle::try_current().is_ok() {
            tokio::task::block_in_place(|| self.runtime.block_on(query))
        } else {
            self.runtime.block_on(query)
        }
    }

    fn failed(&self, action: &'static str, e: airlock_store::StoreError) -> airlock_ledger::Error {
        airlock_ledger::Error::Io {
            path: self.location(),
            action,
            source: std::io::Error::other(e.to_string()),
        }
    }
}

impl CheckpointStore for PgCheckpoints {
    fn load(&self) -> airlock_ledger::Result<Option<String>> {
        self.run(self.store.ledger_checkpoint(&self.origin))
            .map_err(|e| self.failed("read the last signed checkpoint", e))
    }

    fn compare_and_swap(&self, old: Option<&str>, new: &str) -> airlock_ledger::Result<bool> {
        let now = crate::state::now_ms();
        self.run(
            self.store
                .swap_ledger_checkpoint(&self.origin, old, new, now),
        )
        .map_err(|e| self.failed("record the signed checkpoint", e))
    }

    fn location(&self) -> PathBuf {
        PathBuf::from(format!(
            "postgresql:airlock_ledger_checkpoints[{}]",
            self.origin
        ))
    }
}
