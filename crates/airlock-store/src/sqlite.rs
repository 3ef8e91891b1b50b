//! The embedded backend: one SQLite file, `airlock.db`, in the data directory.
//!
//! # Writes: one writer thread, group commit
//!
//! Every mutating method becomes a job sent to a dedicated writer thread that owns
//! the only write connection of this store. The thread takes the first queued job
//! and up to [`MAX_BATCH`]` - 1` more that are already waiting, runs them all in
//! **one** `BEGIN IMMEDIATE` transaction (each inside its own SAVEPOINT, so that a
//! failing job — a duplicate id, say — is rolled back alone), commits, and only then
//! answers every job. While it commits (and fsyncs), new jobs queue up and form the
//! next batch: under load, one fsync covers many writes.
//!
//! Because one thread runs every write of the store, the read-check-write sequences
//! (votes, consuming an approval, limit counters) are atomic with respect to each
//! other in this process. `BEGIN IMMEDIATE` takes SQLite's write lock at the start
//! of the transaction, so another connection to the same file — a second store in
//! this process, or another process — waits (`busy_timeout`) instead of
//! interleaving: the checks stay atomic across connections too, and the file is
//! never corrupted. (Two *processes* serving one data directory is still not a
//! supported deployment; that is what the PostgreSQL backend is for.)
//!
//! # Durability
//!
//! WAL journal with `synchronous = FULL`: every COMMIT fsyncs the WAL before the
//! writer answers, so an acknowledged write survives a `kill -9` of the process
//! *and* a power loss or kernel crash. (`synchronous = NORMAL` in WAL mode survives
//! a process crash too, but can lose the last transactions on power loss.) Group
//! commit makes the per-commit fsync cheap per write.
//!
//! # Reads
//!
//! Reads run on a small pool of read connections via `spawn_blocking`, each in a
//! read transaction (a consistent WAL snapshot), never waiting for the writer.
//!
//! # Failures
//!
//! Any SQLite failure (disk full, I/O error, the writer thread gone) is
//! [`StoreError::Unavailable`] with SQLite's message, bad stored data
//! [`StoreError::Corrupt`]; nothing here panics.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, params};
use tokio::sync::oneshot;

use crate::quorum::{self, Tally, approved_by};
use crate::{
    Brief, Credential, Halt, Kind, ListFilter, Millis, NewRecord, Principal, Record, Requirement,
    Result, Review, ReviewOutcome, ReviewState, Scope, Status, StoreError, Summary, Vote,
    VoteOutcome,
};

/// The file in the data directory.
pub const DB_FILE: &str = "airlock.db";

/// At most this many writes share one transaction.
const MAX_BATCH: usize = 512;

/// How long a connection waits for another connection's lock before giving up.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Idle read connections kept open.
const READ_POOL: usize = 4;

/// The most records one `list` returns, and the default when the limit is 0.
const LIST_MAX: u32 = 10_000;
const LIST_DEFAULT: u32 = 100;

/// Resolution of a request that nobody approved in time.
const EXPIRED: &str = "expired: nobody approved in time";

/// Appended to the resolution of an approval that was not (fully) used in time.
const GRANT_EXPIRED: &str = "; expired: not used before the approval ran out";

/// Schema migrations, in order; migration `i` brings the schema to version `i + 1`.
/// Never edit one that has shipped: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    "
    CREATE TABLE records (
        id            TEXT    NOT NULL PRIMARY KEY,
        tenant        TEXT    NOT NULL,
        agent         TEXT    NOT NULL,
        zone          TEXT,
        received_ms   INTEGER NOT NULL,
        call_json     TEXT    NOT NULL,
        action_json   TEXT    NOT NULL,
        decision_json TEXT    NOT NULL,
        tier          TEXT    NOT NULL,
        digest        TEXT    NOT NULL,
        status        TEXT    NOT NULL,
        expires_ms    INTEGER,
        requirements  TEXT    NOT NULL,
        resolved_ms   INTEGER,
        resolution    TEXT,
        consumed_ms   INTEGER
    );
    CREATE INDEX records_tenant_time ON records (tenant, received_ms, id);
    CREATE INDEX records_tenant_status_time ON records (tenant, status, received_ms, id);
    CREATE INDEX records_tenant_agent_time ON records (tenant, agent, received_ms, id);
    CREATE INDEX records_status_expiry ON records (status, expires_ms);

    CREATE TABLE votes (
        record_id TEXT    NOT NULL REFERENCES records (id),
        seq       INTEGER NOT NULL,
        approver  TEXT    NOT NULL,
        groups    TEXT    NOT NULL,
        approve   INTEGER NOT NULL,
        comment   TEXT    NOT NULL,
        at_ms     INTEGER NOT NULL,
        PRIMARY KEY (record_id, seq),
        UNIQUE (record_id, approver)
    ) WITHOUT ROWID;

    CREATE TABLE halts (
        tenant     TEXT    NOT NULL,
        scope_kind TEXT    NOT NULL,
        scope_name TEXT    NOT NULL,
        reason     TEXT    NOT NULL,
        by_whom    TEXT    NOT NULL,
        at_ms      INTEGER NOT NULL,
        PRIMARY KEY (tenant, scope_kind, scope_name)
    ) WITHOUT ROWID;

    CREATE TABLE halt_events (
        tenant     TEXT    NOT NULL,
        scope_kind TEXT    NOT NULL,
        scope_name TEXT    NOT NULL,
        event      TEXT    NOT NULL,
        reason     TEXT    NOT NULL,
        by_whom    TEXT    NOT NULL,
        at_ms      INTEGER NOT NULL
    );

    CREATE TABLE limit_counters (
        key          TEXT    NOT NULL,
        window_start INTEGER NOT NULL,
        count        INTEGER NOT NULL,
        PRIMARY KEY (key, window_start)
    ) WITHOUT ROWID;

    CREATE TABLE credentials (
        tenant     TEXT    NOT NULL,
        name       TEXT    NOT NULL,
        principal  TEXT    NOT NULL,
        roles      TEXT    NOT NULL,
        token_hash TEXT    NOT NULL UNIQUE,
        created_ms INTEGER NOT NULL,
        revoked    INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant, principal, name)
    );
    ",
    // 2: plans approved as a whole, grants that expire, spot checks.
    "
    ALTER TABLE records ADD COLUMN kind TEXT NOT NULL DEFAULT 'action';
    ALTER TABLE records ADD COLUMN steps_used INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE records ADD COLUMN use_within_ms INTEGER;
    ALTER TABLE records ADD COLUMN review TEXT;
    ALTER TABLE records ADD COLUMN review_json TEXT;
    CREATE INDEX records_tenant_review_time ON records (tenant, review, received_ms, id)
        WHERE review IS NOT NULL;
    ",
    // 3: indexes on held requests only. Most records are decided at once (allowed
    // or denied) and never looked up by status again; indexing only what can still
    // change halves the index pages every decision writes. Queries that use these
    // repeat the index's condition word for word, so SQLite can prove it applies.
    "
    DROP INDEX records_tenant_status_time;
    DROP INDEX records_status_expiry;
    CREATE INDEX records_held_time ON records (tenant, status, received_ms, id)
        WHERE status IN ('pending', 'approved');
    CREATE INDEX records_held_expiry ON records (expires_ms)
        WHERE status IN ('pending', 'approved');
    ",
    // 4: an agent's records form a chain instead of an index. The index on (tenant,
    // agent, time) had one insertion point per agent, so every decision dirtied a
    // page of its own (4 KiB to the WAL, 4 KiB again at checkpoint): half of what a
    // decision wrote. Each record now names the same agent's previous record, and
    // `agent_heads` (a few pages for every agent there is) names the newest. Held
    // requests of one agent are listed from the held-requests index (the tenant's
    // held requests, filtered). The summary columns let a listing read no JSON.
    "
    ALTER TABLE records ADD COLUMN prev_of_agent TEXT;
    ALTER TABLE records ADD COLUMN tool TEXT NOT NULL DEFAULT '';
    ALTER TABLE records ADD COLUMN operation TEXT NOT NULL DEFAULT '';
    ALTER TABLE records ADD COLUMN effect TEXT NOT NULL DEFAULT '';
    ALTER TABLE records ADD COLUMN reason TEXT NOT NULL DEFAULT '';
    ALTER TABLE records ADD COLUMN rules TEXT NOT NULL DEFAULT '[]';
    UPDATE records SET
        tool = COALESCE(CASE kind WHEN 'plan' THEN 'plan'
                        ELSE json_extract(action_json, '$.what.tool') END, ''),
        operation = COALESCE(CASE kind
                        WHEN 'plan' THEN (length(digest) - length(replace(digest, ' ', '')) + 1) || ' steps'
                        ELSE json_extract(action_json, '$.what.operation') END, ''),
        effect = COALESCE(CASE kind WHEN 'plan' THEN json_extract(decision_json, '$.effect')
                          ELSE json_extract(action_json, '$.what.effect') END, ''),
        reason = COALESCE(json_extract(decision_json, '$.reason'), ''),
        rules = COALESCE(json_extract(decision_json, '$.rules'), '[]')
        WHERE json_valid(action_json) AND json_valid(decision_json);

    CREATE TABLE agent_heads (
        tenant TEXT NOT NULL,
        agent  TEXT NOT NULL,
        last   TEXT NOT NULL,
        PRIMARY KEY (tenant, agent)
    ) WITHOUT ROWID;
    CREATE TEMP TABLE agent_chain (id TEXT NOT NULL PRIMARY KEY, prev TEXT) WITHOUT ROWID;
    INSERT INTO agent_chain
        SELECT id, LAG(id) OVER (PARTITION BY tenant, agent ORDER BY received_ms, id) FROM records;
    UPDATE records SET prev_of_agent = agent_chain.prev
        FROM agent_chain WHERE agent_chain.id = records.id;
    INSERT INTO agent_heads
        SELECT tenant, agent, id FROM (
            SELECT tenant, agent, id,
                   ROW_NUMBER() OVER (PARTITION BY tenant, agent ORDER BY received_ms DESC, id DESC) AS n
            FROM records)
        WHERE n = 1;
    DROP TABLE temp.agent_chain;
    DROP INDEX records_tenant_agent_time;
    ",
];

/// What a job tells the writer after running: whether to keep its changes, and how
/// to answer once the transaction's fate is known.
struct Finish {
    /// The job's own error, if it failed.
    outcome: Result<()>,
    reply: Box<dyn FnOnce(Result<()>) + Send>,
}

/// A write: given the writer's connection (inside the batch transaction), or the
/// reason it cannot run.
type Job = Box<dyn FnOnce(std::result::Result<&Connection, StoreError>) -> Finish + Send>;

struct Inner {
    writer: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    readers: Arc<ReadPool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel stops the writer after its current batch; waiting for it
        // means the file is closed cleanly when the store is gone.
        drop(self.writer.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The SQLite backend. Cheap to clone: clones share the writer and the read pool.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.readers.path)
            .finish()
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// Maps SQLite's errors: bad data is `Corrupt`, everything else `Unavailable`.
fn db_err(e: rusqlite::Error) -> StoreError {
    use rusqlite::Error as E;
    match &e {
        E::SqliteFailure(f, _)
            if matches!(f.code, ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) =>
        {
            StoreError::Corrupt(e.to_string())
        }
        E::FromSqlConversionFailure(..)
        | E::InvalidColumnType(..)
        | E::IntegralValueOutOfRange(..) => StoreError::Corrupt(e.to_string()),
        _ => StoreError::Unavailable(e.to_string()),
    }
}

fn is_constraint(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation)
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| corrupt("cannot encode", e))
}

fn kind_from(s: &str) -> Result<Kind> {
    Kind::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown record kind {s:?}")))
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| corrupt(what, e))
}

/// u64 → SQLite integer, saturating (no real counter comes near i64::MAX).
fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn scope_key(s: &Scope) -> (&'static str, &str) {
    match s {
        Scope::All => ("all", ""),
        Scope::Tenant => ("tenant", ""),
        Scope::Agent(a) => ("agent", a),
        Scope::Zone(z) => ("zone", z),
    }
}

fn scope_from(kind: &str, name: String) -> Result<Scope> {
    Ok(match kind {
        "all" => Scope::All,
        "tenant" => Scope::Tenant,
        "agent" => Scope::Agent(name),
        "zone" => Scope::Zone(name),
        _ => return Err(corrupt("unknown halt scope", kind)),
    })
}

fn principal_str(p: Principal) -> &'static str {
    match p {
        Principal::Agent => "agent",
        Principal::Human => "human",
    }
}

fn principal_from(s: &str) -> Result<Principal> {
    match s {
        "agent" => Ok(Principal::Agent),
        "human" => Ok(Principal::Human),
        _ => Err(corrupt("unknown principal", s)),
    }
}

fn status_from(s: &str) -> Result<Status> {
    Status::parse(s).ok_or_else(|| corrupt("unknown status", s))
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
    // WAL: readers never block the writer nor the writer them. FULL: every commit is
    // fsynced before it is acknowledged (see the module documentation).
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(db_err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unavailable(format!(
            "cannot use the WAL journal (got {mode})"
        )));
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .map_err(db_err)?;
    Ok(())
}

/// Brings the schema to the latest version, in one transaction; a no-op when it is.
fn migrate(conn: &Connection) -> Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(db_err)?;
    let r = (|| {
        conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            .map_err(db_err)?;
        let current: Option<i64> = conn
            .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
            .map_err(db_err)?;
        let current = usize::try_from(current.unwrap_or(0))
            .map_err(|_| StoreError::Corrupt("negative schema version".into()))?;
        if current > MIGRATIONS.len() {
            return Err(StoreError::Corrupt(format!(
                "the database has schema version {current}, newer than this airlock ({})",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
            conn.execute_batch(sql).map_err(db_err)?;
            conn.execute("DELETE FROM schema_version", [])
                .map_err(db_err)?;
            conn.execute(
                "INSERT INTO schema_version (version) VALUES (?1)",
                [i as i64 + 1],
            )
            .map_err(db_err)?;
        }
        Ok(())
    })();
    match r {
        Ok(()) => conn.execute_batch("COMMIT").map_err(db_err),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

// ---------------------------------------------------------------------------------
// The writer thread.

fn writer_loop(conn: Connection, jobs: mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        run_batch(&conn, batch);
    }
}

fn run_batch(conn: &Connection, batch: Vec<Job>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let e = db_err(e);
        for job in batch {
            (job(Err(e.clone())).reply)(Err(e.clone()));
        }
        return;
    }
    let mut replies = Vec::with_capacity(batch.len());
    // Set when the transaction itself is lost (SQLite rolls back on some I/O errors):
    // nothing more may run, and nothing of the batch is committed.
    let mut broken: Option<StoreError> = None;
    for job in batch {
        if let Some(e) = &broken {
            replies.push(job(Err(e.clone())).reply);
            continue;
        }
        if conn.is_autocommit() {
            let e = unavailable("the write transaction was rolled back by SQLite");
            broken = Some(e.clone());
            replies.push(job(Err(e)).reply);
            continue;
        }
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            let e = db_err(e);
            broken = Some(e.clone());
            replies.push(job(Err(e)).reply);
            continue;
        }
        let fin = job(Ok(conn));
        replies.push(fin.reply);
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (disk full, I/O error): the
            // batch fails with the job's error, which says why.
            broken = Some(match fin.outcome {
                Err(e) => e,
                Ok(()) => unavailable("the write transaction was rolled back by SQLite"),
            });
            continue;
        }
        let end = if fin.outcome.is_ok() {
            conn.execute_batch("RELEASE job")
        } else {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")
        };
        if let Err(e) = end {
            broken = Some(db_err(e));
        }
    }
    let outcome = match broken {
        Some(e) => Err(e),
        None => conn.execute_batch("COMMIT").map_err(db_err),
    };
    if outcome.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for reply in replies {
        reply(outcome.clone());
    }
}

// ---------------------------------------------------------------------------------
// Read connections.

struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    fn take(&self) -> Result<Connection> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match idle {
            Some(c) => Ok(c),
            None => {
                let c = Connection::open(&self.path).map_err(db_err)?;
                c.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
                // Memory-mapped reads: listing 10,000 records reads megabytes, which
                // should not go through read() page by page. Pages read through the
                // map are not copied into the page cache, so that stays small: a
                // cache of 32 MiB per connection let the heap creep for as long as
                // the database grew.
                c.execute_batch(
                    "PRAGMA query_only = ON; PRAGMA mmap_size = 268435456; \
                     PRAGMA cache_size = -2048;",
                )
                .map_err(db_err)?;
                Ok(c)
            }
        }
    }

    fn give_back(&self, c: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < READ_POOL {
            idle.push(c);
        }
    }
}

// ---------------------------------------------------------------------------------
// Listing.

/// The records a listing shows, newest first, each read with `columns` and `map`.
///
/// Most filters are one query over an index. An agent's records at large (any
/// status, or one that is final) are found by walking the agent's chain from
/// `agent_heads` (migration 4): newest first in the order they were recorded, which
/// can differ from `received_ms` order by the few milliseconds between a request's
/// arrival and its commit.
fn select_records<T>(
    c: &Connection,
    tenant: &str,
    filter: &ListFilter,
    columns: &str,
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let limit = match filter.limit {
        0 => LIST_DEFAULT,
        n => n.min(LIST_MAX),
    };
    let held = matches!(filter.status, Some(Status::Pending | Status::Approved));
    if let Some(agent) = &filter.agent
        && !held
        && filter.review.is_none()
    {
        let ids = agent_chain(c, tenant, agent, filter.status, limit)?;
        let mut st = c
            .prepare_cached(&format!("SELECT {columns} FROM records WHERE id = ?1"))
            .map_err(db_err)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(row) = st.query_row([&id], map).optional().map_err(db_err)? {
                out.push(row);
            }
        }
        return Ok(out);
    }
    let mut cond = String::from("tenant = ?1");
    if held {
        // Held requests have their own indexes; SQLite uses them only when the query
        // repeats their condition.
        cond.push_str(" AND status = ?2 AND status IN ('pending', 'approved')");
    } else if filter.status.is_some() {
        cond.push_str(" AND status = ?2");
    } else {
        cond.push_str(" AND ?2 IS NULL");
    }
    cond.push_str(if filter.agent.is_some() {
        " AND agent = ?3"
    } else {
        " AND ?3 IS NULL"
    });
    cond.push_str(if filter.review.is_some() {
        " AND review = ?5"
    } else {
        " AND ?5 IS NULL"
    });
    c.prepare_cached(&format!(
        "SELECT {columns} FROM records WHERE {cond} ORDER BY received_ms DESC, id DESC LIMIT ?4"
    ))
    .map_err(db_err)?
    .query_map(
        params![
            tenant,
            filter.status.map(Status::as_str),
            filter.agent,
            i64::from(limit),
            filter.review.map(ReviewState::as_str),
        ],
        map,
    )
    .map_err(db_err)?
    .collect::<rusqlite::Result<Vec<_>>>()
    .map_err(db_err)
}

/// Up to `limit` ids of an agent's records (in `status`, if given), newest first,
/// following each record's `prev_of_agent`.
fn agent_chain(
    c: &Connection,
    tenant: &str,
    agent: &str,
    status: Option<Status>,
    limit: u32,
) -> Result<Vec<String>> {
    let mut next: Option<String> = c
        .prepare_cached("SELECT last FROM agent_heads WHERE tenant = ?1 AND agent = ?2")
        .map_err(db_err)?
        .query_row([tenant, agent], |r| r.get(0))
        .optional()
        .map_err(db_err)?;
    let mut step = c
        .prepare_cached("SELECT prev_of_agent, status FROM records WHERE id = ?1")
        .map_err(db_err)?;
    let mut ids = Vec::new();
    while let Some(id) = next.take() {
        if ids.len() >= limit as usize {
            break;
        }
        let Some((prev, st)) = step
            .query_row([&id], |r| {
                Ok((r.get::<_, Option<String>>(0)?, r.get::<_, String>(1)?))
            })
            .optional()
            .map_err(db_err)?
        else {
            break;
        };
        if status.is_none_or(|s| s.as_str() == st) {
            ids.push(id);
        }
        next = prev;
    }
    Ok(ids)
}

/// A listing's columns: no documents; the votes counted.
const BRIEF_COLUMNS: &str = "id, kind, agent, status, received_ms, expires_ms, requirements, \
     tool, operation, effect, reason, rules, \
     (SELECT COUNT(*) FROM votes WHERE votes.record_id = records.id)";

struct RawBrief {
    id: String,
    kind: String,
    agent: String,
    status: String,
    received_ms: Millis,
    expires_ms: Option<Millis>,
    requirements: String,
    tool: String,
    operation: String,
    effect: String,
    reason: String,
    rules: String,
    votes: i64,
}

fn raw_brief(r: &Row<'_>) -> rusqlite::Result<RawBrief> {
    Ok(RawBrief {
        id: r.get(0)?,
        kind: r.get(1)?,
        agent: r.get(2)?,
        status: r.get(3)?,
        received_ms: r.get(4)?,
        expires_ms: r.get(5)?,
        requirements: r.get(6)?,
        tool: r.get(7)?,
        operation: r.get(8)?,
        effect: r.get(9)?,
        reason: r.get(10)?,
        rules: r.get(11)?,
        votes: r.get(12)?,
    })
}

impl RawBrief {
    fn into_brief(self) -> Result<Brief> {
        Ok(Brief {
            kind: kind_from(&self.kind)?,
            status: status_from(&self.status)?,
            requirements: from_json("bad requirements", &self.requirements)?,
            summary: Summary {
                tool: self.tool,
                operation: self.operation,
                effect: self.effect,
                reason: self.reason,
                rules: from_json("bad rules", &self.rules)?,
            },
            votes: u32::try_from(self.votes).unwrap_or(u32::MAX),
            id: self.id,
            agent: self.agent,
            received_ms: self.received_ms,
            expires_ms: self.expires_ms,
        })
    }
}

// ---------------------------------------------------------------------------------
// Row mapping.

const RECORD_COLUMNS: &str = "id, tenant, agent, zone, received_ms, call_json, action_json, \
     decision_json, tier, digest, status, expires_ms, requirements, resolved_ms, resolution, \
     kind, steps_used, review, review_json, tool, operation, effect, reason, rules";

/// A record row before its JSON and status are checked (rusqlite's row closures can
/// only return rusqlite errors).
struct RawRecord {
    id: String,
    tenant: String,
    agent: String,
    zone: Option<String>,
    received_ms: Millis,
    call_json: String,
    action_json: String,
    decision_json: String,
    tier: String,
    digest: String,
    status: String,
    expires_ms: Option<Millis>,
    requirements: String,
    resolved_ms: Option<Millis>,
    resolution: Option<String>,
    kind: String,
    steps_used: i64,
    review: Option<String>,
    review_json: Option<String>,
    summary: (String, String, String, String, String),
}

fn raw_record(r: &Row<'_>) -> rusqlite::Result<RawRecord> {
    Ok(RawRecord {
        id: r.get(0)?,
        tenant: r.get(1)?,
        agent: r.get(2)?,
        zone: r.get(3)?,
        received_ms: r.get(4)?,
        call_json: r.get(5)?,
        action_json: r.get(6)?,
        decision_json: r.get(7)?,
        tier: r.get(8)?,
        digest: r.get(9)?,
        status: r.get(10)?,
        expires_ms: r.get(11)?,
        requirements: r.get(12)?,
        resolved_ms: r.get(13)?,
        resolution: r.get(14)?,
        kind: r.get(15)?,
        steps_used: r.get(16)?,
        review: r.get(17)?,
        review_json: r.get(18)?,
        summary: (r.get(19)?, r.get(20)?, r.get(21)?, r.get(22)?, r.get(23)?),
    })
}

impl RawRecord {
    fn into_record(self, votes: Vec<Vote>) -> Result<Record> {
        Ok(Record {
            requirements: from_json("bad requirements", &self.requirements)?,
            status: status_from(&self.status)?,
            id: self.id,
            tenant: self.tenant,
            agent: self.agent,
            zone: self.zone,
            received_ms: self.received_ms,
            call_json: self.call_json,
            action_json: self.action_json,
            decision_json: self.decision_json,
            tier: self.tier,
            digest: self.digest,
            expires_ms: self.expires_ms,
            resolved_ms: self.resolved_ms,
            resolution: self.resolution,
            votes,
            kind: kind_from(&self.kind)?,
            summary: Summary {
                tool: self.summary.0,
                operation: self.summary.1,
                effect: self.summary.2,
                reason: self.summary.3,
                rules: from_json("bad rules", &self.summary.4)?,
            },
            steps_used: u32::try_from(self.steps_used)
                .map_err(|_| StoreError::Corrupt(format!("bad steps_used {}", self.steps_used)))?,
            review_state: match &self.review {
                None => None,
                Some(r) => {
                    Some(ReviewState::parse(r).ok_or_else(|| {
                        StoreError::Corrupt(format!("unknown review state {r:?}"))
                    })?)
                }
            },
            review: match &self.review_json {
                None => None,
                Some(j) => Some(from_json("bad review", j)?),
            },
        })
    }
}

const VOTE_COLUMNS: &str = "approver, groups, approve, comment, at_ms";

type RawVote = (String, String, bool, String, Millis);

fn raw_vote(r: &Row<'_>, at: usize) -> rusqlite::Result<RawVote> {
    Ok((
        r.get(at)?,
        r.get(at + 1)?,
        r.get(at + 2)?,
        r.get(at + 3)?,
        r.get(at + 4)?,
    ))
}

fn to_vote((approver, groups, approve, comment, at_ms): RawVote) -> Result<Vote> {
    Ok(Vote {
        approver,
        groups: from_json("bad vote groups", &groups)?,
        approve,
        comment,
        at_ms,
    })
}

fn votes_of(conn: &Connection, id: &str) -> Result<Vec<Vote>> {
    let mut st = conn
        .prepare_cached(&format!(
            "SELECT {VOTE_COLUMNS} FROM votes WHERE record_id = ?1 ORDER BY seq"
        ))
        .map_err(db_err)?;
    let raw = st
        .query_map([id], |r| raw_vote(r, 0))
        .map_err(db_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err)?;
    raw.into_iter().map(to_vote).collect()
}

const CREDENTIAL_COLUMNS: &str = "tenant, name, principal, roles, token_hash, created_ms, revoked";

type RawCredential = (String, String, String, String, String, Millis, bool);

fn raw_credential(r: &Row<'_>) -> rusqlite::Result<RawCredential> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn to_credential(
    (tenant, name, principal, roles, token_hash, created_ms, revoked): RawCredential,
) -> Result<Credential> {
    Ok(Credential {
        tenant,
        name,
        principal: principal_from(&principal)?,
        roles: from_json("bad credential roles", &roles)?,
        token_hash,
        created_ms,
        revoked,
    })
}

// ---------------------------------------------------------------------------------
// The operations.

impl SqliteStore {
    /// Opens (creating the directory and the file if needed) `dir/airlock.db`,
    /// migrates it, and starts the writer thread.
    pub async fn open(dir: &Path) -> Result<SqliteStore> {
        let dir = dir.to_owned();
        tokio::task::spawn_blocking(move || Self::open_blocking(&dir))
            .await
            .map_err(unavailable)?
    }

    fn open_blocking(dir: &Path) -> Result<SqliteStore> {
        std::fs::create_dir_all(dir)
            .map_err(|e| unavailable(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join(DB_FILE);
        let conn = Connection::open(&path).map_err(db_err)?;
        configure(&conn)?;
        migrate(&conn)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("airlock-store-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(|e| unavailable(format!("cannot start the writer thread: {e}")))?;
        let readers = Arc::new(ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
        });
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer: Some(tx),
                thread: Some(thread),
                readers,
            }),
        })
    }

    /// Runs `f` on the writer thread, inside a group-commit transaction; answers
    /// after COMMIT. `f`'s changes are kept only if it returns `Ok`.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let job: Job = Box::new(move |conn| {
            let r = conn.and_then(f);
            Finish {
                outcome: r.as_ref().map(|_| ()).map_err(Clone::clone),
                reply: Box::new(move |committed: Result<()>| {
                    let _ = tx.send(committed.and(r));
                }),
            }
        });
        let writer = self
            .inner
            .writer
            .as_ref()
            .ok_or_else(|| unavailable("the store is closed"))?;
        writer
            .send(job)
            .map_err(|_| unavailable("the store's writer thread has stopped"))?;
        rx.await
            .map_err(|_| unavailable("the store's writer thread stopped before answering"))?
    }

    /// Runs `f` on a read connection, in a read transaction (one snapshot).
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let pool = Arc::clone(&self.inner.readers);
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.take()?;
            let r = (|| {
                let tx = conn.transaction().map_err(db_err)?;
                let r = f(&tx)?;
                tx.finish().map_err(db_err)?;
                Ok(r)
            })();
            pool.give_back(conn);
            r
        })
        .await
        .map_err(unavailable)?
    }

    pub async fn insert(&self, r: NewRecord) -> Result<()> {
        let requirements = to_json(&r.requirements)?;
        let rules = to_json(&r.summary.rules)?;
        self.write(move |c| {
            let mut st = c
                .prepare_cached(
                    "INSERT INTO records (id, tenant, agent, zone, received_ms, call_json, \
                     action_json, decision_json, tier, digest, status, expires_ms, requirements, \
                     kind, use_within_ms, review, tool, operation, effect, reason, rules, \
                     prev_of_agent) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
                     ?17, ?18, ?19, ?20, ?21, \
                     (SELECT last FROM agent_heads WHERE tenant = ?2 AND agent = ?3))",
                )
                .map_err(db_err)?;
            st.execute(params![
                r.id,
                r.tenant,
                r.agent,
                r.zone,
                r.received_ms,
                r.call_json,
                r.action_json,
                r.decision_json,
                r.tier,
                r.digest,
                r.status.as_str(),
                r.expires_ms,
                requirements,
                r.kind.as_str(),
                r.use_within_ms,
                r.review_due.then_some(ReviewState::Due.as_str()),
                r.summary.tool,
                r.summary.operation,
                r.summary.effect,
                r.summary.reason,
                rules,
            ])
            .map_err(|e| {
                if is_constraint(&e) {
                    StoreError::Conflict(format!("a record with id {:?} exists", r.id))
                } else {
                    db_err(e)
                }
            })?;
            c.prepare_cached(
                "INSERT INTO agent_heads (tenant, agent, last) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (tenant, agent) DO UPDATE SET last = excluded.last",
            )
            .map_err(db_err)?
            .execute([&r.tenant, &r.agent, &r.id])
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    pub async fn get(&self, tenant: &str, id: &str) -> Result<Option<Record>> {
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        self.read(move |c| {
            let raw = c
                .prepare_cached(&format!(
                    "SELECT {RECORD_COLUMNS} FROM records WHERE tenant = ?1 AND id = ?2"
                ))
                .map_err(db_err)?
                .query_row([&tenant, &id], raw_record)
                .optional()
                .map_err(db_err)?;
            match raw {
                None => Ok(None),
                Some(raw) => {
                    let votes = votes_of(c, &id)?;
                    raw.into_record(votes).map(Some)
                }
            }
        })
        .await
    }

    pub async fn list(&self, tenant: &str, filter: &ListFilter) -> Result<Vec<Record>> {
        let tenant = tenant.to_owned();
        let filter = filter.clone();
        self.read(move |c| {
            let raws = select_records(c, &tenant, &filter, RECORD_COLUMNS, raw_record)?;
            // One query for all their votes.
            let ids = serde_json::to_string(&raws.iter().map(|r| &r.id).collect::<Vec<_>>())
                .map_err(|e| corrupt("cannot encode", e))?;
            let mut votes: HashMap<String, Vec<Vote>> = HashMap::new();
            {
                let mut st = c
                    .prepare_cached(&format!(
                        "SELECT record_id, {VOTE_COLUMNS} FROM votes WHERE record_id IN \
                         (SELECT value FROM json_each(?1)) ORDER BY record_id, seq"
                    ))
                    .map_err(db_err)?;
                let mut rows = st.query([ids]).map_err(db_err)?;
                while let Some(row) = rows.next().map_err(db_err)? {
                    let id: String = row.get(0).map_err(db_err)?;
                    let v = to_vote(raw_vote(row, 1).map_err(db_err)?)?;
                    votes.entry(id).or_default().push(v);
                }
            }
            raws.into_iter()
                .map(|raw| {
                    let v = votes.remove(&raw.id).unwrap_or_default();
                    raw.into_record(v)
                })
                .collect()
        })
        .await
    }

    pub async fn list_brief(&self, tenant: &str, filter: &ListFilter) -> Result<Vec<Brief>> {
        let tenant = tenant.to_owned();
        let filter = filter.clone();
        self.read(move |c| {
            select_records(c, &tenant, &filter, BRIEF_COLUMNS, raw_brief)?
                .into_iter()
                .map(RawBrief::into_brief)
                .collect()
        })
        .await
    }

    pub async fn count_pending(&self, tenant: Option<&str>) -> Result<u64> {
        self.count_where(
            "status IN ('pending', 'approved') AND status = 'pending'",
            tenant,
        )
        .await
    }

    /// Records matching `condition` (a constant SQL predicate), in one tenant or all.
    async fn count_where(&self, condition: &'static str, tenant: Option<&str>) -> Result<u64> {
        let tenant = tenant.map(str::to_owned);
        self.read(move |c| {
            let n: i64 = match &tenant {
                Some(t) => c.query_row(
                    &format!("SELECT COUNT(*) FROM records WHERE tenant = ?1 AND {condition}"),
                    [t],
                    |r| r.get(0),
                ),
                None => c.query_row(
                    &format!("SELECT COUNT(*) FROM records WHERE {condition}"),
                    [],
                    |r| r.get(0),
                ),
            }
            .map_err(db_err)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    pub async fn vote(
        &self,
        tenant: &str,
        id: &str,
        vote: Vote,
        now: Millis,
    ) -> Result<VoteOutcome> {
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        let groups = to_json(&vote.groups)?;
        self.write(move |c| {
            let row: Option<(String, Option<Millis>, String)> = c
                .prepare_cached(
                    "SELECT status, expires_ms, requirements FROM records \
                     WHERE tenant = ?1 AND id = ?2",
                )
                .map_err(db_err)?
                .query_row([&tenant, &id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
                .map_err(db_err)?;
            let Some((status, expires_ms, requirements)) = row else {
                return Ok(VoteOutcome::NotFound);
            };
            let status = status_from(&status)?;
            if status != Status::Pending {
                return Ok(VoteOutcome::NotPending(status));
            }
            if expires_ms.is_some_and(|e| e <= now) {
                c.execute(
                    "UPDATE records SET status = 'expired', resolved_ms = ?2, resolution = ?3 \
                     WHERE id = ?1",
                    params![id, now, EXPIRED],
                )
                .map_err(db_err)?;
                return Ok(VoteOutcome::NotPending(Status::Expired));
            }
            let voted: bool = c
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM votes WHERE record_id = ?1 AND approver = ?2)",
                )
                .map_err(db_err)?
                .query_row([&id, &vote.approver], |r| r.get(0))
                .map_err(db_err)?;
            if voted {
                return Ok(VoteOutcome::AlreadyVoted);
            }
            c.prepare_cached(
                "INSERT INTO votes (record_id, seq, approver, groups, approve, comment, at_ms) \
                 VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM votes WHERE record_id = ?1), \
                 ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(db_err)?
            .execute(params![
                id,
                vote.approver,
                groups,
                vote.approve,
                vote.comment,
                vote.at_ms
            ])
            .map_err(db_err)?;
            let requirements: Vec<Requirement> = from_json("bad requirements", &requirements)?;
            let votes = votes_of(c, &id)?;
            let (status, resolution) = match quorum::tally(&requirements, &votes) {
                Tally::Waiting => return Ok(VoteOutcome::Recorded(Status::Pending)),
                Tally::Approved => (Status::Approved, approved_by(&requirements, &votes)),
                Tally::Rejected => (Status::Rejected, rejected_by(&votes)),
            };
            // An approval starts the grant's own clock when it has one.
            c.execute(
                "UPDATE records SET status = ?2, resolved_ms = ?3, resolution = ?4, \
                 expires_ms = CASE WHEN ?2 = 'approved' AND use_within_ms IS NOT NULL \
                 THEN ?3 + use_within_ms ELSE expires_ms END WHERE id = ?1",
                params![id, status.as_str(), now, resolution],
            )
            .map_err(db_err)?;
            Ok(VoteOutcome::Recorded(status))
        })
        .await
    }

    pub async fn consume(
        &self,
        tenant: &str,
        id: &str,
        digest: &str,
        now: Millis,
    ) -> Result<Option<u32>> {
        let (tenant, id, digest) = (tenant.to_owned(), id.to_owned(), digest.to_owned());
        self.write(move |c| {
            let row: Option<(String, i64)> = c
                .prepare_cached(
                    "SELECT digest, steps_used FROM records WHERE tenant = ?1 AND id = ?2 \
                     AND status = 'approved' AND (expires_ms IS NULL OR expires_ms > ?3)",
                )
                .map_err(db_err)?
                .query_row(params![tenant, id, now], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(db_err)?;
            let Some((digests, used)) = row else {
                return Ok(None);
            };
            let steps: Vec<&str> = digests.split(' ').collect();
            let Some(next) = usize::try_from(used).ok().filter(|&u| u < steps.len()) else {
                return Err(StoreError::Corrupt(format!(
                    "approved record {id} has used {used} of {} steps",
                    steps.len()
                )));
            };
            if steps[next] != digest {
                return Ok(None);
            }
            let last = next + 1 == steps.len();
            c.execute(
                "UPDATE records SET steps_used = steps_used + 1, \
                 status = CASE WHEN ?3 THEN 'consumed' ELSE status END, \
                 consumed_ms = CASE WHEN ?3 THEN ?2 ELSE consumed_ms END WHERE id = ?1",
                params![id, now, last],
            )
            .map_err(db_err)?;
            Ok(u32::try_from(next).ok())
        })
        .await
    }

    pub async fn review(&self, tenant: &str, id: &str, review: Review) -> Result<ReviewOutcome> {
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        let json = to_json(&review)?;
        self.write(move |c| {
            let row: Option<(Option<String>, Option<String>)> = c
                .prepare_cached(
                    "SELECT review, review_json FROM records WHERE tenant = ?1 AND id = ?2",
                )
                .map_err(db_err)?
                .query_row([&tenant, &id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(db_err)?;
            match row {
                None => Ok(ReviewOutcome::NotFound),
                Some((None, _)) => Ok(ReviewOutcome::NotSampled),
                Some((Some(state), Some(done))) if state != ReviewState::Due.as_str() => Ok(
                    ReviewOutcome::AlreadyReviewed(from_json("bad review", &done)?),
                ),
                Some((Some(state), None)) if state != ReviewState::Due.as_str() => {
                    Err(StoreError::Corrupt(format!(
                        "record {id} is reviewed ({state}) without a verdict"
                    )))
                }
                Some(_) => {
                    let state = if review.wrong {
                        ReviewState::Wrong
                    } else {
                        ReviewState::Ok
                    };
                    c.execute(
                        "UPDATE records SET review = ?2, review_json = ?3 WHERE id = ?1",
                        params![id, state.as_str(), json],
                    )
                    .map_err(db_err)?;
                    Ok(ReviewOutcome::Recorded(state))
                }
            }
        })
        .await
    }

    pub async fn count_reviews_due(&self, tenant: Option<&str>) -> Result<u64> {
        self.count_where("review = 'due'", tenant).await
    }

    pub async fn expire_due(&self, now: Millis) -> Result<Vec<(String, String)>> {
        self.write(move |c| {
            let mut st = c
                .prepare_cached(
                    "UPDATE records SET status = 'expired', \
                     resolved_ms = CASE WHEN status = 'pending' THEN ?1 ELSE resolved_ms END, \
                     resolution = CASE WHEN status = 'pending' THEN ?2 \
                     ELSE COALESCE(resolution, 'approved') || ?3 END \
                     WHERE status IN ('pending', 'approved') AND expires_ms <= ?1 \
                     RETURNING tenant, id",
                )
                .map_err(db_err)?;
            let mut out = st
                .query_map(params![now, EXPIRED, GRANT_EXPIRED], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(db_err)?
                .collect::<rusqlite::Result<Vec<(String, String)>>>()
                .map_err(db_err)?;
            out.sort();
            Ok(out)
        })
        .await
    }

    pub async fn halt(&self, h: &Halt) -> Result<u64> {
        let h = h.clone();
        self.write(move |c| {
            let (kind, name) = scope_key(&h.scope);
            c.execute(
                "INSERT OR REPLACE INTO halts (tenant, scope_kind, scope_name, reason, by_whom, at_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![h.tenant, kind, name, h.reason, h.by, h.at_ms],
            )
            .map_err(db_err)?;
            c.execute(
                "INSERT INTO halt_events (tenant, scope_kind, scope_name, event, reason, by_whom, at_ms) \
                 VALUES (?1, ?2, ?3, 'halt', ?4, ?5, ?6)",
                params![h.tenant, kind, name, h.reason, h.by, h.at_ms],
            )
            .map_err(db_err)?;
            // Unused grants go too: a halt stops what was approved before it.
            let set = "UPDATE records SET status = 'rejected', resolved_ms = ?1, resolution = ?2 \
                       WHERE status IN ('pending', 'approved')";
            let resolution = format!("halted: {}", h.reason);
            let n = match &h.scope {
                Scope::All => c.execute(set, params![h.at_ms, resolution]),
                Scope::Tenant => c.execute(
                    &format!("{set} AND tenant = ?3"),
                    params![h.at_ms, resolution, h.tenant],
                ),
                Scope::Agent(a) => c.execute(
                    &format!("{set} AND tenant = ?3 AND agent = ?4"),
                    params![h.at_ms, resolution, h.tenant, a],
                ),
                Scope::Zone(z) => c.execute(
                    &format!("{set} AND tenant = ?3 AND zone = ?4"),
                    params![h.at_ms, resolution, h.tenant, z],
                ),
            }
            .map_err(db_err)?;
            Ok(n as u64)
        })
        .await
    }

    pub async fn resume(&self, tenant: &str, scope: &Scope, by: &str, now: Millis) -> Result<bool> {
        let (tenant, scope, by) = (tenant.to_owned(), scope.clone(), by.to_owned());
        self.write(move |c| {
            let (kind, name) = scope_key(&scope);
            let n = c
                .execute(
                    "DELETE FROM halts WHERE tenant = ?1 AND scope_kind = ?2 AND scope_name = ?3",
                    params![tenant, kind, name],
                )
                .map_err(db_err)?;
            if n > 0 {
                c.execute(
                    "INSERT INTO halt_events (tenant, scope_kind, scope_name, event, reason, by_whom, at_ms) \
                     VALUES (?1, ?2, ?3, 'resume', '', ?4, ?5)",
                    params![tenant, kind, name, by, now],
                )
                .map_err(db_err)?;
            }
            Ok(n > 0)
        })
        .await
    }

    pub async fn halts(&self) -> Result<Vec<Halt>> {
        self.read(|c| {
            let raw = c
                .prepare_cached(
                    "SELECT tenant, scope_kind, scope_name, reason, by_whom, at_ms FROM halts \
                     ORDER BY tenant, scope_kind, scope_name",
                )
                .map_err(db_err)?
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, Millis>(5)?,
                    ))
                })
                .map_err(db_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db_err)?;
            raw.into_iter()
                .map(|(tenant, kind, name, reason, by, at_ms)| {
                    Ok(Halt {
                        tenant,
                        scope: scope_from(&kind, name)?,
                        reason,
                        by,
                        at_ms,
                    })
                })
                .collect()
        })
        .await
    }

    pub async fn take(
        &self,
        key: &str,
        window_start: Millis,
        amount: u64,
        limit: u64,
    ) -> Result<bool> {
        let key = key.to_owned();
        let (amount, limit) = (int(amount), int(limit));
        self.write(move |c| {
            let current: Option<i64> = c
                .prepare_cached(
                    "SELECT count FROM limit_counters WHERE key = ?1 AND window_start = ?2",
                )
                .map_err(db_err)?
                .query_row(params![key, window_start], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            let used = current.unwrap_or(0);
            if used.saturating_add(amount) > limit {
                return Ok(false);
            }
            if current.is_none() {
                // A new window: drop this key's windows older than the previous one.
                c.prepare_cached(
                    "DELETE FROM limit_counters WHERE key = ?1 AND window_start < \
                     (SELECT MAX(window_start) FROM limit_counters \
                      WHERE key = ?1 AND window_start < ?2)",
                )
                .map_err(db_err)?
                .execute(params![key, window_start])
                .map_err(db_err)?;
            }
            c.prepare_cached(
                "INSERT INTO limit_counters (key, window_start, count) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (key, window_start) DO UPDATE SET count = count + excluded.count",
            )
            .map_err(db_err)?
            .execute(params![key, window_start, amount])
            .map_err(db_err)?;
            Ok(true)
        })
        .await
    }

    pub async fn put_credential(&self, cred: &Credential) -> Result<()> {
        let cred = cred.clone();
        let roles = to_json(&cred.roles)?;
        self.write(move |c| {
            c.execute(
                "INSERT INTO credentials (tenant, name, principal, roles, token_hash, created_ms, revoked) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (tenant, principal, name) DO UPDATE SET roles = excluded.roles, \
                 token_hash = excluded.token_hash, created_ms = excluded.created_ms, \
                 revoked = excluded.revoked",
                params![
                    cred.tenant,
                    cred.name,
                    principal_str(cred.principal),
                    roles,
                    cred.token_hash,
                    cred.created_ms,
                    cred.revoked
                ],
            )
            .map_err(|e| {
                if is_constraint(&e) {
                    StoreError::Conflict("another credential has this token hash".into())
                } else {
                    db_err(e)
                }
            })?;
            Ok(())
        })
        .await
    }

    pub async fn credential(&self, token_hash: &str) -> Result<Option<Credential>> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE token_hash = ?1"
            ))
            .map_err(db_err)?
            .query_row([token_hash], raw_credential)
            .optional()
            .map_err(db_err)?
            .map(to_credential)
            .transpose()
        })
        .await
    }

    pub async fn credentials(&self, tenant: &str) -> Result<Vec<Credential>> {
        let tenant = tenant.to_owned();
        self.read(move |c| {
            let raw = c
                .prepare_cached(&format!(
                    "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE tenant = ?1 \
                     ORDER BY principal, name"
                ))
                .map_err(db_err)?
                .query_map([tenant], raw_credential)
                .map_err(db_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db_err)?;
            raw.into_iter().map(to_credential).collect()
        })
        .await
    }

    pub async fn revoke(&self, tenant: &str, name: &str, principal: Principal) -> Result<bool> {
        let (tenant, name) = (tenant.to_owned(), name.to_owned());
        self.write(move |c| {
            let n = c
                .execute(
                    "UPDATE credentials SET revoked = 1 \
                     WHERE tenant = ?1 AND principal = ?2 AND name = ?3 AND revoked = 0",
                    params![tenant, principal_str(principal), name],
                )
                .map_err(db_err)?;
            Ok(n > 0)
        })
        .await
    }
}

/// "rejected by bob: too risky" (without the colon when there is no comment).
fn rejected_by(votes: &[Vote]) -> String {
    match votes.iter().find(|v| !v.approve) {
        Some(v) if v.comment.is_empty() => format!("rejected by {}", v.approver),
        Some(v) => format!("rejected by {}: {}", v.approver, v.comment),
        None => "rejected".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, size: usize) -> NewRecord {
        NewRecord {
            id: id.into(),
            tenant: "t".into(),
            agent: "a".into(),
            zone: None,
            received_ms: 1,
            call_json: "x".repeat(size),
            action_json: "{}".into(),
            decision_json: "{}".into(),
            tier: "allow".into(),
            digest: "d".into(),
            status: Status::Allowed,
            expires_ms: None,
            requirements: vec![],
            kind: Kind::Action,
            use_within_ms: None,
            review_due: false,
            summary: Default::default(),
        }
    }

    /// A data directory written by the first schema opens, migrates, and keeps its
    /// records and pending approvals usable.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_version_1_database_migrates_in_place() {
        let dir = std::env::temp_dir().join(format!("airlock-store-v1-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        {
            let c = Connection::open(dir.join(DB_FILE)).unwrap();
            c.execute_batch(MIGRATIONS[0]).unwrap();
            c.execute_batch(
                "CREATE TABLE schema_version (version INTEGER NOT NULL);
                 INSERT INTO schema_version (version) VALUES (1);
                 INSERT INTO records (id, tenant, agent, received_ms, call_json, action_json,
                   decision_json, tier, digest, status, expires_ms, requirements)
                 VALUES ('old', 't', 'a', 1, '{}', '{}', '{}', 'approve', 'd', 'pending',
                   4000000000000, '[{\"group\":\"leads\",\"approvals\":1}]');
                 INSERT INTO records (id, tenant, agent, received_ms, call_json, action_json,
                   decision_json, tier, digest, status, requirements)
                 VALUES ('older', 't', 'a', 0, '{}',
                   '{\"what\":{\"tool\":\"kubectl\",\"operation\":\"delete\",\"effect\":\"delete\"}}',
                   '{\"reason\":\"no\",\"rules\":[\"r\"]}', 'deny', 'e', 'denied', '[]'),
                   ('other', 't', 'b', 2, '{}', '{}', '{}', 'allow', 'f', 'allowed', '[]');",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&dir).await.unwrap();
        let got = store.get("t", "old").await.unwrap().unwrap();
        assert_eq!(
            (got.kind, got.steps_used, got.review_state),
            (Kind::Action, 0, None)
        );
        let vote = Vote {
            approver: "alice".into(),
            groups: vec!["leads".into()],
            approve: true,
            comment: String::new(),
            at_ms: 2,
        };
        assert_eq!(
            store.vote("t", "old", vote, 2).await.unwrap(),
            VoteOutcome::Recorded(Status::Approved)
        );
        assert_eq!(store.consume("t", "old", "d", 3).await.unwrap(), Some(0));
        // Schema 4 filled in the summaries and each agent's chain.
        let older = store.get("t", "older").await.unwrap().unwrap();
        assert_eq!(
            older.summary,
            Summary {
                tool: "kubectl".into(),
                operation: "delete".into(),
                effect: "delete".into(),
                reason: "no".into(),
                rules: vec!["r".into()],
            }
        );
        let mut newest = record("new", 10);
        newest.agent = "a".into();
        store.insert(newest).await.unwrap();
        let of_a = ListFilter {
            agent: Some("a".into()),
            ..ListFilter::default()
        };
        let history: Vec<String> = store
            .list("t", &of_a)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(history, ["new", "old", "older"]);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A full disk (simulated with `max_page_count`) is `Unavailable`, fails only the
    /// writes that do not fit, and the store works again once there is room.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn disk_full_is_unavailable_and_recoverable() {
        let dir = std::env::temp_dir().join(format!("airlock-store-full-{}", std::process::id()));
        let store = SqliteStore::open(&dir).await.unwrap();
        store
            .write(|c| {
                let pages: i64 = c
                    .query_row("PRAGMA page_count", [], |r| r.get(0))
                    .map_err(db_err)?;
                c.query_row(
                    &format!("PRAGMA max_page_count = {}", pages + 8),
                    [],
                    |_| Ok(()),
                )
                .map_err(db_err)
            })
            .await
            .unwrap();
        store.insert(record("small", 10)).await.unwrap();
        let big = store.insert(record("big", 1 << 20)).await;
        match &big {
            Err(StoreError::Unavailable(m)) => assert!(m.contains("full"), "{m}"),
            other => panic!("expected Unavailable: {other:?}"),
        }
        store.insert(record("small2", 10)).await.unwrap();
        assert!(store.get("t", "small2").await.unwrap().is_some());
        assert!(store.get("t", "big").await.unwrap().is_none());
        store
            .write(|c| {
                c.query_row("PRAGMA max_page_count = 1073741823", [], |_| Ok(()))
                    .map_err(db_err)
            })
            .await
            .unwrap();
        store.insert(record("big", 1 << 20)).await.unwrap();
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
