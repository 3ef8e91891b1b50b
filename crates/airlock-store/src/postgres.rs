//! The PostgreSQL backend: several stateless replicas of the service share one
//! database.
//!
//! Every operation that must not over-admit is atomic in the database itself, so it
//! holds across replicas, not just across tasks of one process:
//!
//! - a vote locks its request row (`SELECT … FOR UPDATE`) for the whole transaction
//!   (read the votes, append one, [`tally`](crate::quorum::tally), resolve);
//! - consuming an approval is one `UPDATE … WHERE status = 'approved' AND digest = $`;
//! - a limit counter is one upsert whose `DO UPDATE … WHERE` refuses to pass the limit;
//! - expiry and halts are single `UPDATE`s (a halt in one transaction with its row),
//!   which lock their rows in id order, so two of them never deadlock.
//!
//! Inserts are group-committed: concurrent [`PgStore::insert`] calls are queued to a
//! couple of writer tasks, each of which takes everything queued (up to
//! [`BATCH_MAX`]) and writes it with one multi-row `INSERT` (one commit, one WAL
//! flush); every caller is answered after that commit.
//!
//! The schema is brought up to date by [`PgStore::connect`], in one transaction under
//! a transaction-scoped advisory lock, so replicas that start together do not race.
//! Every text column that is sorted or compared is `COLLATE "C"` (byte order, as in
//! SQLite and Rust), whatever the database's default collation.
//!
//! Connections are plain TCP (`NoTls`). TLS to the database (`tokio-postgres-rustls`
//! or `postgres-native-tls` as the connector) is a later option; until then run the
//! database on the same host or a private network.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio::sync::{Mutex, broadcast, mpsc, oneshot};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use crate::quorum::{Tally, approved_by, tally};
use crate::{
    Brief, Credential, Event, Halt, Kind, ListFilter, Millis, NewRecord, Principal, Record,
    Requirement, Result, Review, ReviewOutcome, ReviewState, Scope, Status, StoreError, Summary,
    Vote, VoteOutcome,
};

/// The most inserts written in one group commit.
pub const BATCH_MAX: usize = 2_000;
/// How many inserts may wait for a writer before `insert` itself waits (back-pressure).
const QUEUE: usize = 16_384;
/// Writer tasks: one writes while the next gathers its batch.
const WRITERS: usize = 2;
/// Connections in each replica's pool.
const POOL_SIZE: usize = 16;
/// The schema version this build writes and understands.
const SCHEMA_VERSION: i32 = 5;
/// The advisory lock key that serialises migrations (`airlock` in ASCII, as a number).
const MIGRATION_LOCK: i64 = 0x0061_6972_6c6f_636b;

/// Each migration, in order: `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE airlock_records (
    id            TEXT COLLATE "C" PRIMARY KEY,
    tenant        TEXT COLLATE "C" NOT NULL,
    agent         TEXT COLLATE "C" NOT NULL,
    zone          TEXT COLLATE "C",
    received_ms   BIGINT NOT NULL,
    call_json     TEXT NOT NULL,
    action_json   TEXT NOT NULL,
    decision_json TEXT NOT NULL,
    tier          TEXT NOT NULL,
    digest        TEXT COLLATE "C" NOT NULL,
    status        TEXT NOT NULL CHECK (status IN
                    ('allowed', 'denied', 'pending', 'approved', 'consumed', 'rejected', 'expired')),
    expires_ms    BIGINT,
    requirements  TEXT NOT NULL,
    resolved_ms   BIGINT,
    resolution    TEXT,
    consumed_ms   BIGINT
);
CREATE INDEX airlock_records_recent ON airlock_records (tenant, received_ms DESC, id DESC);
CREATE INDEX airlock_records_status ON airlock_records (tenant, status, received_ms DESC, id DESC);
CREATE INDEX airlock_records_agent ON airlock_records (tenant, agent, received_ms DESC, id DESC);
CREATE INDEX airlock_records_due ON airlock_records (expires_ms) WHERE status = 'pending';

CREATE TABLE airlock_votes (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_id TEXT COLLATE "C" NOT NULL REFERENCES airlock_records (id) ON DELETE CASCADE,
    approver  TEXT COLLATE "C" NOT NULL,
    groups    TEXT[] NOT NULL,
    approve   BOOLEAN NOT NULL,
    comment   TEXT NOT NULL,
    at_ms     BIGINT NOT NULL,
    UNIQUE (record_id, approver)
);

CREATE TABLE airlock_halts (
    tenant     TEXT COLLATE "C" NOT NULL,
    scope_kind TEXT NOT NULL CHECK (scope_kind IN ('all', 'tenant', 'agent', 'zone')),
    scope_name TEXT COLLATE "C" NOT NULL,
    reason     TEXT NOT NULL,
    by_who     TEXT NOT NULL,
    at_ms      BIGINT NOT NULL,
    PRIMARY KEY (tenant, scope_kind, scope_name)
);

CREATE TABLE airlock_halt_history (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant     TEXT NOT NULL,
    scope_kind TEXT NOT NULL,
    scope_name TEXT NOT NULL,
    reason     TEXT NOT NULL,
    by_who     TEXT NOT NULL,
    at_ms      BIGINT NOT NULL,
    resumed_by TEXT NOT NULL,
    resumed_ms BIGINT NOT NULL
);

CREATE TABLE airlock_limits (
    key          TEXT COLLATE "C" NOT NULL,
    window_start BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);

CREATE TABLE airlock_credentials (
    tenant     TEXT COLLATE "C" NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    principal  TEXT COLLATE "C" NOT NULL CHECK (principal IN ('agent', 'human')),
    roles      TEXT[] NOT NULL,
    token_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL,
    revoked    BOOLEAN NOT NULL,
    PRIMARY KEY (tenant, name, principal)
);
"#,
    // 2: plans approved as a whole, grants that expire, spot checks.
    r#"
ALTER TABLE airlock_records
    ADD COLUMN kind TEXT NOT NULL DEFAULT 'action' CHECK (kind IN ('action', 'plan')),
    ADD COLUMN steps_used INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN use_within_ms BIGINT,
    ADD COLUMN review TEXT CHECK (review IN ('due', 'ok', 'wrong')),
    ADD COLUMN review_json TEXT;
CREATE INDEX airlock_records_granted ON airlock_records (expires_ms) WHERE status = 'approved';
CREATE INDEX airlock_records_review ON airlock_records (tenant, review, received_ms DESC, id DESC)
    WHERE review IS NOT NULL;
"#,
    // 3: one index for everything that can still expire, matching expire_due's
    // predicate exactly (two partial indexes left it scanning all records).
    r#"
DROP INDEX airlock_records_due;
DROP INDEX airlock_records_granted;
CREATE INDEX airlock_records_open ON airlock_records (expires_ms)
    WHERE status IN ('pending', 'approved');
"#,
    // 4: what a listing shows, in columns of its own, so that listing reads no JSON.
    r#"
ALTER TABLE airlock_records
    ADD COLUMN tool TEXT NOT NULL DEFAULT '',
    ADD COLUMN operation TEXT NOT NULL DEFAULT '',
    ADD COLUMN effect TEXT NOT NULL DEFAULT '',
    ADD COLUMN reason TEXT NOT NULL DEFAULT '',
    ADD COLUMN rules TEXT NOT NULL DEFAULT '[]';
UPDATE airlock_records SET
    tool = coalesce(CASE kind WHEN 'plan' THEN 'plan'
                    ELSE action_json::jsonb #>> '{what,tool}' END, ''),
    operation = coalesce(CASE kind
                    WHEN 'plan' THEN (length(digest) - length(replace(digest, ' ', '')) + 1) || ' steps'
                    ELSE action_json::jsonb #>> '{what,operation}' END, ''),
    effect = coalesce(CASE kind WHEN 'plan' THEN decision_json::jsonb ->> 'effect'
                      ELSE action_json::jsonb #>> '{what,effect}' END, ''),
    reason = coalesce(decision_json::jsonb ->> 'reason', ''),
    rules = coalesce((decision_json::jsonb -> 'rules')::text, '[]');
"#,
    // 5: the last signed checkpoint of every replica's ledger, by origin, swapped
    // only from the checkpoint its writer last read: one writer per ledger across
    // hosts, and a ledger restored from an old backup is refused.
    r#"
CREATE TABLE airlock_ledger_checkpoints (
    origin     TEXT COLLATE "C" PRIMARY KEY,
    note       TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);
"#,
];

/// The columns of a [`Record`], its votes aggregated in cast order as JSON
/// (`[[approver, [groups], approve, comment, at_ms], …]`).
const RECORD_COLUMNS: &str = r#"r.id, r.tenant, r.agent, r.zone, r.received_ms, r.call_json,
    r.action_json, r.decision_json, r.tier, r.digest, r.status, r.expires_ms, r.requirements,
    r.resolved_ms, r.resolution,
    (SELECT coalesce(json_agg(json_build_array(v.approver, v.groups, v.approve, v.comment, v.at_ms)
                              ORDER BY v.seq), '[]'::json)::text
       FROM airlock_votes v WHERE v.record_id = r.id) AS votes,
    r.kind, r.steps_used, r.review, r.review_json,
    r.tool, r.operation, r.effect, r.reason, r.rules"#;

/// A listing's columns: no documents; the votes counted.
const BRIEF_COLUMNS: &str = "r.id, r.kind, r.agent, r.status, r.received_ms, r.expires_ms, \
    r.requirements, r.tool, r.operation, r.effect, r.reason, r.rules, \
    (SELECT count(*) FROM airlock_votes v WHERE v.record_id = r.id)";

const INSERT_BATCH: &str = "INSERT INTO airlock_records (id, tenant, agent, zone, received_ms, \
     call_json, action_json, decision_json, tier, digest, status, expires_ms, requirements, \
     kind, use_within_ms, review, tool, operation, effect, reason, rules) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[], \
     $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int8[], $13::text[], \
     $14::text[], $15::int8[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], \
     $21::text[]) \
     ON CONFLICT (id) DO NOTHING RETURNING id";

const CREDENTIAL_COLUMNS: &str = "tenant, name, principal, roles, token_hash, created_ms, revoked";

/// One queued insert and where to send its outcome.
type Pending = (NewRecord, oneshot::Sender<Result<()>>);

/// The PostgreSQL store: a connection pool and the group-commit writers.
///
/// Cheap to share behind an `Arc`; the writer tasks stop when it is dropped.
pub struct PgStore {
    pool: Pool,
    inserts: mpsc::Sender<Pending>,
    events: broadcast::Sender<Event>,
    listener: tokio::task::AbortHandle,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// The channel replicas notify each other on.
const CHANNEL: &str = "airlock_events";

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db` or a key=value string) and
    /// brings the schema up to date. Must be called inside a Tokio runtime: it starts
    /// the insert writers on it.
    pub async fn connect(url: &str) -> Result<PgStore> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Unavailable(format!("bad PostgreSQL URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        if config.get_application_name().is_none() {
            config.application_name("airlock");
        }
        let listen_config = config.clone();
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| StoreError::Unavailable(format!("connection pool: {e}")))?;
        migrate(&pool).await?;

        let (tx, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..WRITERS {
            tokio::spawn(writer(pool.clone(), Arc::clone(&rx)));
        }
        let (events, _) = broadcast::channel(1024);
        let listener = tokio::spawn(listen(listen_config, events.clone())).abort_handle();
        Ok(PgStore {
            pool,
            inserts: tx,
            events,
            listener,
        })
    }

    /// The replicas' record of their ledgers' last signed checkpoints.
    pub fn ledger_checkpoints(&self) -> LedgerCheckpoints {
        LedgerCheckpoints {
            pool: self.pool.clone(),
        }
    }

    /// Approvals and halts made by any replica (this one included), as they commit.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    async fn client(&self) -> Result<Object> {
        connection(&self.pool).await
    }

    /// Records a decided action; durable (committed) when it returns `Ok`. Concurrent
    /// calls are group-committed. A duplicate id is [`StoreError::Conflict`].
    pub async fn insert(&self, r: NewRecord) -> Result<()> {
        if let Some(field) = new_record_nul(&r) {
            return Err(nul_error(field));
        }
        let (tx, rx) = oneshot::channel();
        self.inserts
            .send((r, tx))
            .await
            .map_err(|_| StoreError::Unavailable("the insert writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Unavailable("the insert writer has stopped".into()))?
    }

    /// One record of `tenant`, with its votes in cast order.
    pub async fn get(&self, tenant: &str, id: &str) -> Result<Option<Record>> {
        if has_nul(&[tenant, id]) {
            return Ok(None);
        }
        let client = self.client().await?;
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM airlock_records r WHERE r.tenant = $1 AND r.id = $2"
        );
        let stmt = client.prepare_cached(&sql).await.map_err(db_err)?;
        let row = client
            .query_opt(&stmt, &[&tenant, &id])
            .await
            .map_err(db_err)?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// Newest first (by `received_ms`, then id), filtered, at most
    /// `min(limit, 10_000)` (limit 0 = 100).
    pub async fn list(&self, tenant: &str, filter: &ListFilter) -> Result<Vec<Record>> {
        self.select(tenant, filter, RECORD_COLUMNS, record_from_row)
            .await
    }

    /// The same records as [`PgStore::list`], as a listing shows them.
    pub async fn list_brief(&self, tenant: &str, filter: &ListFilter) -> Result<Vec<Brief>> {
        self.select(tenant, filter, BRIEF_COLUMNS, brief_from_row)
            .await
    }

    async fn select<T>(
        &self,
        tenant: &str,
        filter: &ListFilter,
        columns: &str,
        map: fn(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let agent = filter.agent.as_deref();
        if has_nul(&[tenant, agent.unwrap_or("")]) {
            return Ok(Vec::new());
        }
        let limit: i64 = match filter.limit {
            0 => 100,
            n => i64::from(n.min(10_000)),
        };
        let status = filter.status.map(Status::as_str);
        let review = filter.review.map(ReviewState::as_str);
        let client = self.client().await?;
        let sql = format!(
            "SELECT {columns} FROM airlock_records r WHERE r.tenant = $1 \
             AND ($2::text IS NULL OR r.status = $2) AND ($3::text IS NULL OR r.agent = $3) \
             AND ($5::text IS NULL OR r.review = $5) \
             ORDER BY r.received_ms DESC, r.id DESC LIMIT $4"
        );
        let stmt = client.prepare_cached(&sql).await.map_err(db_err)?;
        let rows = client
            .query(&stmt, &[&tenant, &status, &agent, &limit, &review])
            .await
            .map_err(db_err)?;
        rows.iter().map(map).collect()
    }

    /// Pending requests in one tenant, or (`None`) in all.
    pub async fn count_pending(&self, tenant: Option<&str>) -> Result<u64> {
        self.count_where("status = 'pending'", tenant).await
    }

    /// Records matching `condition` (a constant SQL predicate), in one tenant or all.
    async fn count_where(&self, condition: &'static str, tenant: Option<&str>) -> Result<u64> {
        if has_nul(&[tenant.unwrap_or("")]) {
            return Ok(0);
        }
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT count(*) FROM airlock_records \
                 WHERE {condition} AND ($1::text IS NULL OR tenant = $1)"
            ))
            .await
            .map_err(db_err)?;
        let row = client.query_one(&stmt, &[&tenant]).await.map_err(db_err)?;
        let n: i64 = row.try_get(0).map_err(corrupt)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Casts a vote. In one transaction, holding the request's row lock: the request
    /// must exist in `tenant`, be pending and not expired at `now` (an expired one is
    /// marked so), and the approver must not have voted yet; then the vote is
    /// appended and [`tally`] over all votes decides the status.
    pub async fn vote(
        &self,
        tenant: &str,
        id: &str,
        vote: Vote,
        now: Millis,
    ) -> Result<VoteOutcome> {
        if has_nul(&[tenant, id]) {
            return Ok(VoteOutcome::NotFound);
        }
        if has_nul(&[&vote.approver, &vote.comment]) || vote.groups.iter().any(|g| g.contains('\0'))
        {
            return Err(nul_error("vote"));
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let lock = tx
            .prepare_cached(
                "SELECT status, expires_ms, requirements FROM airlock_records \
                 WHERE tenant = $1 AND id = $2 FOR UPDATE",
            )
            .await
            .map_err(db_err)?;
        let Some(row) = tx.query_opt(&lock, &[&tenant, &id]).await.map_err(db_err)? else {
            return Ok(VoteOutcome::NotFound);
        };
        let status = parse_status(&row, 0)?;
        if status != Status::Pending {
            return Ok(VoteOutcome::NotPending(status));
        }
        let expires_ms: Option<i64> = row.try_get(1).map_err(corrupt)?;
        if expires_ms.is_some_and(|e| e <= now) {
            let expire = tx
                .prepare_cached(
                    "UPDATE airlock_records SET status = 'expired', resolved_ms = $3, \
                     resolution = 'expired: nobody approved in time' \
                     WHERE tenant = $1 AND id = $2",
                )
                .await
                .map_err(db_err)?;
            tx.execute(&expire, &[&tenant, &id, &now])
                .await
                .map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
            return Ok(VoteOutcome::NotPending(Status::Expired));
        }
        let requirements: String = row.try_get(2).map_err(corrupt)?;
        let requirements: Vec<Requirement> = serde_json::from_str(&requirements)
            .map_err(|e| StoreError::Corrupt(format!("requirements of {id}: {e}")))?;

        let read_votes = tx
            .prepare_cached(
                "SELECT approver, groups, approve, comment, at_ms FROM airlock_votes \
                 WHERE record_id = $1 ORDER BY seq",
            )
            .await
            .map_err(db_err)?;
        let mut votes = tx
            .query(&read_votes, &[&id])
            .await
            .map_err(db_err)?
            .iter()
            .map(vote_from_row)
            .collect::<Result<Vec<Vote>>>()?;
        if votes.iter().any(|v| v.approver == vote.approver) {
            return Ok(VoteOutcome::AlreadyVoted);
        }
        let append = tx
            .prepare_cached(
                "INSERT INTO airlock_votes (record_id, approver, groups, approve, comment, at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .await
            .map_err(db_err)?;
        match tx
            .execute(
                &append,
                &[
                    &id,
                    &vote.approver,
                    &vote.groups,
                    &vote.approve,
                    &vote.comment,
                    &vote.at_ms,
                ],
            )
            .await
        {
            Ok(_) => {}
            // Cannot happen under the row lock; refuse rather than fail if it does.
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                return Ok(VoteOutcome::AlreadyVoted);
            }
            Err(e) => return Err(db_err(e)),
        }
        votes.push(vote);
        let (status, resolution) = match tally(&requirements, &votes) {
            Tally::Waiting => (Status::Pending, None),
            Tally::Approved => (Status::Approved, Some(approved_by(&requirements, &votes))),
            Tally::Rejected => (Status::Rejected, Some(rejected_by(&votes))),
        };
        if let Some(resolution) = resolution {
            let resolve = tx
                .prepare_cached(
                    "UPDATE airlock_records SET status = $3, resolved_ms = $4, resolution = $5, \
                     expires_ms = CASE WHEN $3 = 'approved' AND use_within_ms IS NOT NULL \
                     THEN $4 + use_within_ms ELSE expires_ms END \
                     WHERE tenant = $1 AND id = $2",
                )
                .await
                .map_err(db_err)?;
            tx.execute(
                &resolve,
                &[&tenant, &id, &status.as_str(), &now, &resolution],
            )
            .await
            .map_err(db_err)?;
            // Delivered when (and only if) the transaction commits.
            tx.execute("SELECT pg_notify($1, 'resolved ' || $2)", &[&CHANNEL, &id])
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(VoteOutcome::Recorded(status))
    }

    /// Uses the next step of an approved grant if `digest` is that step's digest and
    /// the grant has not expired: one statement, so concurrent callers (on any
    /// replica) cannot use one step twice. Returns the step used.
    pub async fn consume(
        &self,
        tenant: &str,
        id: &str,
        digest: &str,
        now: Millis,
    ) -> Result<Option<u32>> {
        if has_nul(&[tenant, id, digest]) {
            return Ok(None);
        }
        let client = self.client().await?;
        // split_part is 1-based: step `steps_used` (0-based) is part `steps_used + 1`.
        let stmt = client
            .prepare_cached(
                "UPDATE airlock_records SET steps_used = steps_used + 1, \
                 status = CASE WHEN steps_used + 1 = array_length(string_to_array(digest, ' '), 1) \
                          THEN 'consumed' ELSE status END, \
                 consumed_ms = CASE WHEN steps_used + 1 = array_length(string_to_array(digest, ' '), 1) \
                          THEN $4 ELSE consumed_ms END \
                 WHERE tenant = $1 AND id = $2 AND status = 'approved' \
                   AND (expires_ms IS NULL OR expires_ms > $4) \
                   AND split_part(digest, ' ', steps_used + 1) = $3 \
                 RETURNING steps_used - 1",
            )
            .await
            .map_err(db_err)?;
        let row = client
            .query_opt(&stmt, &[&tenant, &id, &digest, &now])
            .await
            .map_err(db_err)?;
        match row {
            None => Ok(None),
            Some(r) => {
                let step: i32 = r.try_get(0).map_err(corrupt)?;
                Ok(u32::try_from(step).ok())
            }
        }
    }

    /// Records a reviewer's verdict on a sampled record, once (under its row lock).
    pub async fn review(&self, tenant: &str, id: &str, review: Review) -> Result<ReviewOutcome> {
        if has_nul(&[tenant, id]) {
            return Ok(ReviewOutcome::NotFound);
        }
        if has_nul(&[&review.reviewer, &review.comment]) {
            return Err(nul_error("review"));
        }
        let json = serde_json::to_string(&review)
            .map_err(|e| StoreError::Corrupt(format!("review: {e}")))?;
        let state = if review.wrong {
            ReviewState::Wrong
        } else {
            ReviewState::Ok
        };
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "UPDATE airlock_records SET review = $3, review_json = $4 \
                 WHERE tenant = $1 AND id = $2 AND review = 'due' RETURNING id",
            )
            .await
            .map_err(db_err)?;
        if client
            .query_opt(&stmt, &[&tenant, &id, &state.as_str(), &json])
            .await
            .map_err(db_err)?
            .is_some()
        {
            return Ok(ReviewOutcome::Recorded(state));
        }
        let why = client
            .prepare_cached(
                "SELECT review, review_json FROM airlock_records WHERE tenant = $1 AND id = $2",
            )
            .await
            .map_err(db_err)?;
        let Some(row) = client
            .query_opt(&why, &[&tenant, &id])
            .await
            .map_err(db_err)?
        else {
            return Ok(ReviewOutcome::NotFound);
        };
        let done: Option<String> = row.try_get(1).map_err(corrupt)?;
        match (row.try_get::<_, Option<String>>(0).map_err(corrupt)?, done) {
            (None, _) => Ok(ReviewOutcome::NotSampled),
            (Some(_), Some(j)) => Ok(ReviewOutcome::AlreadyReviewed(
                serde_json::from_str(&j)
                    .map_err(|e| StoreError::Corrupt(format!("review of {id}: {e}")))?,
            )),
            (Some(state), None) => Err(StoreError::Corrupt(format!(
                "record {id} is in review state {state:?} without a verdict"
            ))),
        }
    }

    /// Sampled records waiting for a reviewer, in one tenant or (`None`) all.
    pub async fn count_reviews_due(&self, tenant: Option<&str>) -> Result<u64> {
        self.count_where("review = 'due'", tenant).await
    }

    /// Expires every Pending record with `expires_ms <= now`; returns their
    /// (tenant, id), sorted.
    pub async fn expire_due(&self, now: Millis) -> Result<Vec<(String, String)>> {
        let client = self.client().await?;
        // The rows are locked in id order, as by `halt`: the two never deadlock.
        let stmt = client
            .prepare_cached(
                "UPDATE airlock_records SET status = 'expired', \
                 resolved_ms = CASE WHEN status = 'pending' THEN $1 ELSE resolved_ms END, \
                 resolution = CASE WHEN status = 'pending' THEN 'expired: nobody approved in time' \
                   ELSE coalesce(resolution, 'approved') \
                        || '; expired: not used before the approval ran out' END \
                 WHERE id IN (SELECT id FROM airlock_records \
                              WHERE status IN ('pending', 'approved') AND expires_ms <= $1 \
                              ORDER BY id FOR UPDATE) \
                   AND status IN ('pending', 'approved') AND expires_ms <= $1 \
                 RETURNING tenant, id",
            )
            .await
            .map_err(db_err)?;
        let rows = client.query(&stmt, &[&now]).await.map_err(db_err)?;
        let mut due = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get(0).map_err(corrupt)?,
                    r.try_get(1).map_err(corrupt)?,
                ))
            })
            .collect::<Result<Vec<(String, String)>>>()?;
        due.sort();
        Ok(due)
    }

    /// Records a halt (replacing the one for the same tenant and scope) and, in the
    /// same transaction, rejects every Pending record in its scope. Returns how many.
    pub async fn halt(&self, h: &Halt) -> Result<u64> {
        let (kind, name) = scope_key(&h.scope);
        if has_nul(&[&h.tenant, name, &h.reason, &h.by]) {
            return Err(nul_error("halt"));
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let upsert = tx
            .prepare_cached(
                "INSERT INTO airlock_halts (tenant, scope_kind, scope_name, reason, by_who, at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant, scope_kind, scope_name) \
                 DO UPDATE SET reason = EXCLUDED.reason, by_who = EXCLUDED.by_who, \
                 at_ms = EXCLUDED.at_ms",
            )
            .await
            .map_err(db_err)?;
        tx.execute(
            &upsert,
            &[&h.tenant, &kind, &name, &h.reason, &h.by, &h.at_ms],
        )
        .await
        .map_err(db_err)?;
        let resolution = format!("halted: {}", h.reason);
        let (in_scope, params): (&str, Vec<&(dyn ToSql + Sync)>) = match h.scope {
            Scope::All => ("TRUE", vec![&h.at_ms, &resolution]),
            Scope::Tenant => ("tenant = $3", vec![&h.at_ms, &resolution, &h.tenant]),
            Scope::Agent(_) => (
                "tenant = $3 AND agent = $4",
                vec![&h.at_ms, &resolution, &h.tenant, &name],
            ),
            Scope::Zone(_) => (
                "tenant = $3 AND zone = $4",
                vec![&h.at_ms, &resolution, &h.tenant, &name],
            ),
        };
        // Locks in id order (as `expire_due` does), so concurrent halts never deadlock.
        let sql = format!(
            "UPDATE airlock_records SET status = 'rejected', resolved_ms = $1, resolution = $2 \
             WHERE id IN (SELECT id FROM airlock_records \
                          WHERE status IN ('pending', 'approved') AND {in_scope} \
                          ORDER BY id FOR UPDATE) \
               AND status IN ('pending', 'approved')"
        );
        let reject = tx.prepare_cached(&sql).await.map_err(db_err)?;
        let n = tx.execute(&reject, &params).await.map_err(db_err)?;
        tx.execute("SELECT pg_notify($1, 'halts')", &[&CHANNEL])
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    /// Removes the active halt for (tenant, scope), keeping it with `by` and `now` in
    /// `airlock_halt_history`. Returns whether one existed.
    pub async fn resume(&self, tenant: &str, scope: &Scope, by: &str, now: Millis) -> Result<bool> {
        let (kind, name) = scope_key(scope);
        if has_nul(&[tenant, name]) {
            return Ok(false);
        }
        let by = by.replace('\0', "\u{FFFD}");
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "WITH gone AS (DELETE FROM airlock_halts \
                   WHERE tenant = $1 AND scope_kind = $2 AND scope_name = $3 RETURNING *) \
                 INSERT INTO airlock_halt_history \
                   (tenant, scope_kind, scope_name, reason, by_who, at_ms, resumed_by, resumed_ms) \
                 SELECT tenant, scope_kind, scope_name, reason, by_who, at_ms, $4, $5 FROM gone",
            )
            .await
            .map_err(db_err)?;
        let n = client
            .execute(&stmt, &[&tenant, &kind, &name, &by, &now])
            .await
            .map_err(db_err)?;
        if n > 0 {
            announce(&client, "halts").await;
        }
        Ok(n > 0)
    }

    /// Every active halt, all tenants (by tenant, then scope).
    pub async fn halts(&self) -> Result<Vec<Halt>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT tenant, scope_kind, scope_name, reason, by_who, at_ms FROM airlock_halts \
                 ORDER BY tenant, scope_kind, scope_name",
            )
            .await
            .map_err(db_err)?;
        let rows = client.query(&stmt, &[]).await.map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get(1).map_err(corrupt)?;
                let name: String = r.try_get(2).map_err(corrupt)?;
                let scope = match kind.as_str() {
                    "all" => Scope::All,
                    "tenant" => Scope::Tenant,
                    "agent" => Scope::Agent(name),
                    "zone" => Scope::Zone(name),
                    other => {
                        return Err(StoreError::Corrupt(format!("halt scope {other:?}")));
                    }
                };
                Ok(Halt {
                    tenant: r.try_get(0).map_err(corrupt)?,
                    scope,
                    reason: r.try_get(3).map_err(corrupt)?,
                    by: r.try_get(4).map_err(corrupt)?,
                    at_ms: r.try_get(5).map_err(corrupt)?,
                })
            })
            .collect()
    }

    /// Fixed-window counter, atomic across replicas: adds `amount` and returns true if
    /// the total stays `<= limit`, else changes nothing and returns false. Counts are
    /// stored as `BIGINT`: a `limit` above `i64::MAX` acts as `i64::MAX`.
    pub async fn take(
        &self,
        key: &str,
        window_start: Millis,
        amount: u64,
        limit: u64,
    ) -> Result<bool> {
        if key.contains('\0') {
            return Err(nul_error("limit key"));
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // An amount over the limit never fits, not even in an empty window; this also
        // keeps the first insert of a window within the limit.
        let Ok(amount) = i64::try_from(amount) else {
            return Ok(false);
        };
        if amount > limit {
            return Ok(false);
        }
        let client = self.client().await?;
        // `count <= limit - amount` cannot overflow: 0 <= amount <= limit.
        let stmt = client
            .prepare_cached(
                "INSERT INTO airlock_limits AS c (key, window_start, count) VALUES ($1, $2, $3) \
                 ON CONFLICT (key, window_start) DO UPDATE SET count = c.count + EXCLUDED.count \
                 WHERE c.count <= $4 - EXCLUDED.count \
                 RETURNING (xmax = 0) AS created",
            )
            .await
            .map_err(db_err)?;
        let row = client
            .query_opt(&stmt, &[&key, &window_start, &amount, &limit])
            .await
            .map_err(db_err)?;
        let Some(row) = row else {
            return Ok(false);
        };
        let created: bool = row.try_get(0).unwrap_or(false);
        if created {
            // A new window: drop the windows before the previous one. Best effort.
            if let Ok(prune) = client
                .prepare_cached(
                    "DELETE FROM airlock_limits WHERE key = $1 AND window_start < \
                     (SELECT max(window_start) FROM airlock_limits \
                      WHERE key = $1 AND window_start < $2)",
                )
                .await
            {
                let _ = client.execute(&prune, &[&key, &window_start]).await;
            }
        }
        Ok(true)
    }

    /// Inserts, or replaces (rotates) the credential with the same (tenant, name,
    /// principal). A token hash used by another credential is a
    /// [`StoreError::Conflict`].
    pub async fn put_credential(&self, c: &Credential) -> Result<()> {
        if has_nul(&[&c.tenant, &c.name, &c.token_hash]) || c.roles.iter().any(|r| r.contains('\0'))
        {
            return Err(nul_error("credential"));
        }
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO airlock_credentials \
                   (tenant, name, principal, roles, token_hash, created_ms, revoked) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (tenant, name, principal) DO UPDATE SET roles = EXCLUDED.roles, \
                   token_hash = EXCLUDED.token_hash, created_ms = EXCLUDED.created_ms, \
                   revoked = EXCLUDED.revoked",
            )
            .await
            .map_err(db_err)?;
        client
            .execute(
                &stmt,
                &[
                    &c.tenant,
                    &c.name,
                    &principal_str(c.principal),
                    &c.roles,
                    &c.token_hash,
                    &c.created_ms,
                    &c.revoked,
                ],
            )
            .await
            .map_err(db_err)?;
        announce(&client, "credentials").await;
        Ok(())
    }

    /// The credential with this token hash, revoked or not.
    pub async fn credential(&self, token_hash: &str) -> Result<Option<Credential>> {
        if token_hash.contains('\0') {
            return Ok(None);
        }
        let client = self.client().await?;
        let sql =
            format!("SELECT {CREDENTIAL_COLUMNS} FROM airlock_credentials WHERE token_hash = $1");
        let stmt = client.prepare_cached(&sql).await.map_err(db_err)?;
        let row = client
            .query_opt(&stmt, &[&token_hash])
            .await
            .map_err(db_err)?;
        row.as_ref().map(credential_from_row).transpose()
    }

    /// A tenant's credentials, sorted by principal, then name.
    pub async fn credentials(&self, tenant: &str) -> Result<Vec<Credential>> {
        if tenant.contains('\0') {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let sql = format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM airlock_credentials WHERE tenant = $1 \
             ORDER BY principal, name"
        );
        let stmt = client.prepare_cached(&sql).await.map_err(db_err)?;
        let rows = client.query(&stmt, &[&tenant]).await.map_err(db_err)?;
        rows.iter().map(credential_from_row).collect()
    }

    /// Revokes a credential; returns whether a live one was revoked.
    pub async fn revoke(&self, tenant: &str, name: &str, principal: Principal) -> Result<bool> {
        if has_nul(&[tenant, name]) {
            return Ok(false);
        }
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "UPDATE airlock_credentials SET revoked = TRUE \
                 WHERE tenant = $1 AND name = $2 AND principal = $3 AND NOT revoked",
            )
            .await
            .map_err(db_err)?;
        let n = client
            .execute(&stmt, &[&tenant, &name, &principal_str(principal)])
            .await
            .map_err(db_err)?;
        if n > 0 {
            announce(&client, "credentials").await;
        }
        Ok(n > 0)
    }
}

/// The last signed checkpoint of every replica's ledger, by origin
/// (`airlock_ledger_checkpoints`): what the ledger's compare-and-swap record is on
/// PostgreSQL. Shares the store's connection pool.
#[derive(Clone)]
pub struct LedgerCheckpoints {
    pool: Pool,
}

impl std::fmt::Debug for LedgerCheckpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerCheckpoints").finish_non_exhaustive()
    }
}

impl LedgerCheckpoints {
    /// The last signed checkpoint (a C2SP signed note) recorded for the ledger
    /// `origin`, if any.
    pub async fn ledger_checkpoint(&self, origin: &str) -> Result<Option<String>> {
        let c = connection(&self.pool).await?;
        let row = c
            .query_opt(
                "SELECT note FROM airlock_ledger_checkpoints WHERE origin = $1",
                &[&origin],
            )
            .await
            .map_err(db_err)?;
        row.map(|r| r.try_get(0).map_err(corrupt)).transpose()
    }

    /// Records `new` as the last signed checkpoint of `origin` if the record
    /// still holds `old` (`None`: no record yet). `Ok(false)`: it holds something
    /// else, which another writer signed.
    pub async fn swap_ledger_checkpoint(
        &self,
        origin: &str,
        old: Option<&str>,
        new: &str,
        now: Millis,
    ) -> Result<bool> {
        let c = connection(&self.pool).await?;
        let changed = match old {
            None => c
                .execute(
                    "INSERT INTO airlock_ledger_checkpoints (origin, note, updated_ms) \
                     VALUES ($1, $2, $3) ON CONFLICT (origin) DO NOTHING",
                    &[&origin, &new, &now],
                )
                .await
                .map_err(db_err)?,
            Some(old) => c
                .execute(
                    "UPDATE airlock_ledger_checkpoints SET note = $3, updated_ms = $4 \
                     WHERE origin = $1 AND note = $2",
                    &[&origin, &old, &new, &now],
                )
                .await
                .map_err(db_err)?,
        };
        Ok(changed == 1)
    }
}

/// Creates or updates the schema, in one transaction under an advisory lock held
/// until its commit: replicas starting together take turns, and the later ones find
/// the work done.
async fn migrate(pool: &Pool) -> Result<()> {
    let mut client = connection(pool).await?;
    let tx = client.transaction().await.map_err(db_err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(db_err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS airlock_schema_version (
             version    INTEGER PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(db_err)?;
    let row = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM airlock_schema_version",
            &[],
        )
        .await
        .map_err(db_err)?;
    let current: i32 = row.try_get(0).map_err(corrupt)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::Corrupt(format!(
            "the database schema is version {current}, newer than this build's {SCHEMA_VERSION}"
        )));
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        tx.batch_execute(sql).await.map_err(db_err)?;
        let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
        tx.execute(
            "INSERT INTO airlock_schema_version (version) VALUES ($1)",
            &[&version],
        )
        .await
        .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)
}

/// Tells the other replicas, after the fact, that `what` changed. Best effort: a
/// lost announcement only delays them until their own re-read (halts every 100 ms,
/// cached credentials within 1 s). Changes that must reach them with the commit
/// notify inside their transaction instead.
async fn announce(client: &Object, what: &str) {
    let _ = client
        .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &what])
        .await;
}

/// Listens on [`CHANNEL`] on a connection of its own and forwards what replicas
/// announce. Reconnects after a second when the connection is lost; meanwhile the
/// replicas' own polling covers for it.
async fn listen(config: tokio_postgres::Config, events: broadcast::Sender<Event>) {
    loop {
        if let Ok((client, mut conn)) = config.connect(NoTls).await {
            let (tx, mut rx) = mpsc::unbounded_channel::<String>();
            let driver = tokio::spawn(async move {
                while let Some(Ok(message)) = std::future::poll_fn(|cx| conn.poll_message(cx)).await
                {
                    if let tokio_postgres::AsyncMessage::Notification(n) = message
                        && tx.send(n.payload().to_owned()).is_err()
                    {
                        break;
                    }
                }
            });
            if client
                .batch_execute(&format!("LISTEN {CHANNEL}"))
                .await
                .is_ok()
            {
                while let Some(payload) = rx.recv().await {
                    let event = match payload.split_once(' ') {
                        Some(("resolved", id)) => Event::Resolved(id.to_owned()),
                        _ if payload == "halts" => Event::Halts,
                        _ if payload == "credentials" => Event::Credentials,
                        _ => continue,
                    };
                    // No subscriber yet is fine: nobody is waiting.
                    let _ = events.send(event);
                }
            }
            driver.abort();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn connection(pool: &Pool) -> Result<Object> {
    pool.get()
        .await
        .map_err(|e| StoreError::Unavailable(format!("PostgreSQL: {e}")))
}

/// A group-commit writer: waits for one insert, takes whatever else is queued (up to
/// [`BATCH_MAX`]), writes them in one statement and answers each after the commit.
/// Stops when the store (the channel's sender) is dropped.
async fn writer(pool: Pool, rx: Arc<Mutex<mpsc::Receiver<Pending>>>) {
    loop {
        let mut batch: Vec<Pending> = Vec::new();
        {
            let mut rx = rx.lock().await;
            if rx.recv_many(&mut batch, BATCH_MAX).await == 0 {
                return;
            }
        }
        write_batch(&pool, batch).await;
    }
}

async fn write_batch(pool: &Pool, batch: Vec<Pending>) {
    // A second insert of an id in the same batch is a duplicate of the first.
    let mut seen = HashSet::with_capacity(batch.len());
    let mut todo = Vec::with_capacity(batch.len());
    for (record, reply) in batch {
        if seen.insert(record.id.clone()) {
            todo.push((record, reply));
        } else {
            let _ = reply.send(Err(duplicate(&record.id)));
        }
    }
    let client = match connection(pool).await {
        Ok(c) => c,
        Err(e) => {
            for (_, reply) in todo {
                let _ = reply.send(Err(e.clone()));
            }
            return;
        }
    };
    let records: Vec<&NewRecord> = todo.iter().map(|(r, _)| r).collect();
    match insert_rows(&client, &records).await {
        Ok(inserted) => {
            for (record, reply) in todo {
                let outcome = if inserted.contains(&record.id) {
                    Ok(())
                } else {
                    Err(duplicate(&record.id))
                };
                let _ = reply.send(outcome);
            }
        }
        // One bad record must not fail the others: write them one by one.
        Err(e) if todo.len() > 1 && !is_unavailable(&e) => {
            for (record, reply) in todo {
                let outcome = match insert_rows(&client, &[&record]).await {
                    Ok(inserted) if inserted.contains(&record.id) => Ok(()),
                    Ok(_) => Err(duplicate(&record.id)),
                    Err(e) => Err(db_err(e)),
                };
                let _ = reply.send(outcome);
            }
        }
        Err(e) => {
            let e = db_err(e);
            for (_, reply) in todo {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

/// Inserts the records in one statement; returns the ids it inserted (the others
/// exist already).
async fn insert_rows(
    client: &Object,
    records: &[&NewRecord],
) -> std::result::Result<HashSet<String>, tokio_postgres::Error> {
    let n = records.len();
    let mut id = Vec::with_capacity(n);
    let mut tenant = Vec::with_capacity(n);
    let mut agent = Vec::with_capacity(n);
    let mut zone = Vec::with_capacity(n);
    let mut received = Vec::with_capacity(n);
    let mut call = Vec::with_capacity(n);
    let mut action = Vec::with_capacity(n);
    let mut decision = Vec::with_capacity(n);
    let mut tier = Vec::with_capacity(n);
    let mut digest = Vec::with_capacity(n);
    let mut status = Vec::with_capacity(n);
    let mut expires = Vec::with_capacity(n);
    let mut requirements = Vec::with_capacity(n);
    let mut kind = Vec::with_capacity(n);
    let mut use_within = Vec::with_capacity(n);
    let mut review = Vec::with_capacity(n);
    let mut tool = Vec::with_capacity(n);
    let mut operation = Vec::with_capacity(n);
    let mut effect = Vec::with_capacity(n);
    let mut reason = Vec::with_capacity(n);
    let mut rules = Vec::with_capacity(n);
    for r in records {
        tool.push(r.summary.tool.as_str());
        operation.push(r.summary.operation.as_str());
        effect.push(r.summary.effect.as_str());
        reason.push(r.summary.reason.as_str());
        rules.push(serde_json::to_string(&r.summary.rules).unwrap_or_else(|_| "[]".into()));
        kind.push(r.kind.as_str());
        use_within.push(r.use_within_ms);
        review.push(r.review_due.then_some(ReviewState::Due.as_str()));
        id.push(r.id.as_str());
        tenant.push(r.tenant.as_str());
        agent.push(r.agent.as_str());
        zone.push(r.zone.as_deref());
        received.push(r.received_ms);
        call.push(r.call_json.as_str());
        action.push(r.action_json.as_str());
        decision.push(r.decision_json.as_str());
        tier.push(r.tier.as_str());
        digest.push(r.digest.as_str());
        status.push(r.status.as_str());
        expires.push(r.expires_ms);
        // Serialising plain strings and numbers cannot fail; "[]" would be the
        // harmless fallback.
        requirements.push(serde_json::to_string(&r.requirements).unwrap_or_else(|_| "[]".into()));
    }
    let stmt = client.prepare_cached(INSERT_BATCH).await?;
    let rows = client
        .query(
            &stmt,
            &[
                &id,
                &tenant,
                &agent,
                &zone,
                &received,
                &call,
                &action,
                &decision,
                &tier,
                &digest,
                &status,
                &expires,
                &requirements,
                &kind,
                &use_within,
                &review,
                &tool,
                &operation,
                &effect,
                &reason,
                &rules,
            ],
        )
        .await?;
    let mut inserted = HashSet::with_capacity(rows.len());
    for row in rows {
        if let Ok(id) = row.try_get::<_, String>(0) {
            inserted.insert(id);
        }
    }
    Ok(inserted)
}

fn duplicate(id: &str) -> StoreError {
    StoreError::Conflict(format!("a record with id {id:?} exists already"))
}

fn record_from_row(row: &Row) -> Result<Record> {
    let id: String = row.try_get(0).map_err(corrupt)?;
    let requirements: String = row.try_get(12).map_err(corrupt)?;
    let requirements = serde_json::from_str(&requirements)
        .map_err(|e| StoreError::Corrupt(format!("requirements of {id}: {e}")))?;
    let votes: String = row.try_get(15).map_err(corrupt)?;
    let votes: Vec<(String, Vec<String>, bool, String, Millis)> = serde_json::from_str(&votes)
        .map_err(|e| StoreError::Corrupt(format!("votes of {id}: {e}")))?;
    let kind: String = row.try_get(16).map_err(corrupt)?;
    let steps_used: i32 = row.try_get(17).map_err(corrupt)?;
    let review_state: Option<String> = row.try_get(18).map_err(corrupt)?;
    let review: Option<String> = row.try_get(19).map_err(corrupt)?;
    let summary = summary_from_row(row, 20, &id)?;
    Ok(Record {
        summary,
        kind: Kind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("kind of {id}: {kind:?}")))?,
        steps_used: u32::try_from(steps_used)
            .map_err(|_| StoreError::Corrupt(format!("steps_used of {id}: {steps_used}")))?,
        review_state: match review_state {
            None => None,
            Some(r) => Some(
                ReviewState::parse(&r)
                    .ok_or_else(|| StoreError::Corrupt(format!("review of {id}: {r:?}")))?,
            ),
        },
        review: match review {
            None => None,
            Some(j) => Some(
                serde_json::from_str(&j)
                    .map_err(|e| StoreError::Corrupt(format!("review of {id}: {e}")))?,
            ),
        },
        tenant: row.try_get(1).map_err(corrupt)?,
        agent: row.try_get(2).map_err(corrupt)?,
        zone: row.try_get(3).map_err(corrupt)?,
        received_ms: row.try_get(4).map_err(corrupt)?,
        call_json: row.try_get(5).map_err(corrupt)?,
        action_json: row.try_get(6).map_err(corrupt)?,
        decision_json: row.try_get(7).map_err(corrupt)?,
        tier: row.try_get(8).map_err(corrupt)?,
        digest: row.try_get(9).map_err(corrupt)?,
        status: parse_status(row, 10)?,
        expires_ms: row.try_get(11).map_err(corrupt)?,
        requirements,
        resolved_ms: row.try_get(13).map_err(corrupt)?,
        resolution: row.try_get(14).map_err(corrupt)?,
        votes: votes
            .into_iter()
            .map(|(approver, groups, approve, comment, at_ms)| Vote {
                approver,
                groups,
                approve,
                comment,
                at_ms,
            })
            .collect(),
        id,
    })
}

/// The five summary columns, from `at` on.
fn summary_from_row(row: &Row, at: usize, id: &str) -> Result<Summary> {
    let rules: String = row.try_get(at + 4).map_err(corrupt)?;
    Ok(Summary {
        tool: row.try_get(at).map_err(corrupt)?,
        operation: row.try_get(at + 1).map_err(corrupt)?,
        effect: row.try_get(at + 2).map_err(corrupt)?,
        reason: row.try_get(at + 3).map_err(corrupt)?,
        rules: serde_json::from_str(&rules)
            .map_err(|e| StoreError::Corrupt(format!("rules of {id}: {e}")))?,
    })
}

fn brief_from_row(row: &Row) -> Result<Brief> {
    let id: String = row.try_get(0).map_err(corrupt)?;
    let kind: String = row.try_get(1).map_err(corrupt)?;
    let requirements: String = row.try_get(6).map_err(corrupt)?;
    let votes: i64 = row.try_get(12).map_err(corrupt)?;
    Ok(Brief {
        kind: Kind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("kind of {id}: {kind:?}")))?,
        agent: row.try_get(2).map_err(corrupt)?,
        status: parse_status(row, 3)?,
        received_ms: row.try_get(4).map_err(corrupt)?,
        expires_ms: row.try_get(5).map_err(corrupt)?,
        requirements: serde_json::from_str(&requirements)
            .map_err(|e| StoreError::Corrupt(format!("requirements of {id}: {e}")))?,
        summary: summary_from_row(row, 7, &id)?,
        votes: u32::try_from(votes).unwrap_or(u32::MAX),
        id,
    })
}

fn vote_from_row(row: &Row) -> Result<Vote> {
    Ok(Vote {
        approver: row.try_get(0).map_err(corrupt)?,
        groups: row.try_get(1).map_err(corrupt)?,
        approve: row.try_get(2).map_err(corrupt)?,
        comment: row.try_get(3).map_err(corrupt)?,
        at_ms: row.try_get(4).map_err(corrupt)?,
    })
}

fn credential_from_row(row: &Row) -> Result<Credential> {
    let principal: String = row.try_get(2).map_err(corrupt)?;
    let principal = match principal.as_str() {
        "agent" => Principal::Agent,
        "human" => Principal::Human,
        other => return Err(StoreError::Corrupt(format!("principal {other:?}"))),
    };
    Ok(Credential {
        tenant: row.try_get(0).map_err(corrupt)?,
        name: row.try_get(1).map_err(corrupt)?,
        principal,
        roles: row.try_get(3).map_err(corrupt)?,
        token_hash: row.try_get(4).map_err(corrupt)?,
        created_ms: row.try_get(5).map_err(corrupt)?,
        revoked: row.try_get(6).map_err(corrupt)?,
    })
}

fn parse_status(row: &Row, idx: usize) -> Result<Status> {
    let s: String = row.try_get(idx).map_err(corrupt)?;
    Status::parse(&s).ok_or_else(|| StoreError::Corrupt(format!("status {s:?}")))
}

fn principal_str(p: Principal) -> &'static str {
    match p {
        Principal::Agent => "agent",
        Principal::Human => "human",
    }
}

/// How a scope is keyed in `airlock_halts`: its kind and its name ("" when none).
fn scope_key(scope: &Scope) -> (&'static str, &str) {
    match scope {
        Scope::All => ("all", ""),
        Scope::Tenant => ("tenant", ""),
        Scope::Agent(a) => ("agent", a),
        Scope::Zone(z) => ("zone", z),
    }
}

/// "rejected by a: comment" (or "rejected by a" without a comment), for the first
/// rejection.
fn rejected_by(votes: &[Vote]) -> String {
    match votes.iter().find(|v| !v.approve) {
        Some(v) if v.comment.is_empty() => format!("rejected by {}", v.approver),
        Some(v) => format!("rejected by {}: {}", v.approver, v.comment),
        None => "rejected".into(),
    }
}

/// PostgreSQL text cannot hold NUL characters.
fn has_nul(fields: &[&str]) -> bool {
    fields.iter().any(|f| f.contains('\0'))
}

fn new_record_nul(r: &NewRecord) -> Option<&'static str> {
    let fields: [(&'static str, &str); 9] = [
        ("id", &r.id),
        ("tenant", &r.tenant),
        ("agent", &r.agent),
        ("call_json", &r.call_json),
        ("action_json", &r.action_json),
        ("decision_json", &r.decision_json),
        ("tier", &r.tier),
        ("digest", &r.digest),
        ("zone", r.zone.as_deref().unwrap_or("")),
    ];
    if let Some((name, _)) = fields.iter().find(|(_, v)| v.contains('\0')) {
        return Some(name);
    }
    r.requirements
        .iter()
        .any(|q| q.group.contains('\0'))
        .then_some("requirements")
}

fn nul_error(what: &str) -> StoreError {
    StoreError::Conflict(format!(
        "the {what} contains a NUL character, which PostgreSQL cannot store"
    ))
}

/// A row that does not convert to the expected type.
fn corrupt(e: tokio_postgres::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// Whether the error is about the connection or the server rather than the input.
fn is_unavailable(e: &tokio_postgres::Error) -> bool {
    matches!(db_err_ref(e), StoreError::Unavailable(_))
}

fn db_err(e: tokio_postgres::Error) -> StoreError {
    db_err_ref(&e)
}

fn db_err_ref(e: &tokio_postgres::Error) -> StoreError {
    let Some(db) = e.as_db_error() else {
        // I/O, a closed connection, a timeout, a protocol error.
        return StoreError::Unavailable(format!("PostgreSQL: {e}"));
    };
    let code = db.code();
    let message = format!("PostgreSQL: {} ({})", db.message(), code.code());
    if *code == SqlState::UNIQUE_VIOLATION {
        return StoreError::Conflict(message);
    }
    match &code.code()[..2] {
        // Data exceptions and integrity constraints: the input cannot be stored.
        "22" | "23" => StoreError::Conflict(message),
        // Undefined table or column, wrong types: the schema is not what we expect.
        "42" => StoreError::Corrupt(message),
        // Connection, resources, operator intervention, system errors, serialization
        // failures and deadlocks (retryable): the store cannot serve this now.
        _ => StoreError::Unavailable(message),
    }
}

#[cfg(test)]
mod tests {
    //! Run against a real database: `AIRLOCK_TEST_POSTGRES_URL=postgres://… cargo test`.
    //! Without the variable every test returns at once. Each test uses its own tenants,
    //! so runs and tests do not collide; the one test that halts every tenant runs
    //! alone (`EXCLUSIVE`).

    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    static EXCLUSIVE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());
    /// Far in the future: records of other tests never expire in `expire_due` tests.
    const NEVER: Millis = 4_000_000_000_000;

    async fn store() -> Option<PgStore> {
        let url = std::env::var("AIRLOCK_TEST_POSTGRES_URL").ok()?;
        Some(PgStore::connect(&url).await.expect("connect"))
    }

    fn unique(prefix: &str) -> String {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!(
            "{prefix}-{}-{nanos:x}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn record(tenant: &str, id: &str, status: Status) -> NewRecord {
        NewRecord {
            id: id.into(),
            tenant: tenant.into(),
            agent: "agent-1".into(),
            zone: Some("prod".into()),
            received_ms: 1_000,
            call_json: r#"{"tool":"sql"}"#.into(),
            action_json: r#"{"kind":"query"}"#.into(),
            decision_json: r#"{"tier":"approve"}"#.into(),
            tier: "approve".into(),
            digest: "d1".into(),
            status,
            expires_ms: (status == Status::Pending).then_some(NEVER),
            requirements: if status == Status::Pending {
                vec![Requirement {
                    group: "leads".into(),
                    approvals: 2,
                }]
            } else {
                Vec::new()
            },
            kind: Kind::Action,
            use_within_ms: None,
            review_due: false,
            summary: Default::default(),
        }
    }

    fn vote(who: &str, approve: bool) -> Vote {
        Vote {
            approver: who.into(),
            groups: vec!["leads".into()],
            approve,
            comment: if approve {
                String::new()
            } else {
                "no way".into()
            },
            at_ms: 2_000,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn insert_get_list_count() {
        let _g = EXCLUSIVE.read().await;
        let Some(s) = store().await else { return };
        let t = unique("t");
        assert_eq!(s.get(&t, "nope").await.unwrap(), None);
        let mut a = record(&t, &unique("a"), Status::Allowed);
        a.zone = None;
        let mut b = record(&t, &unique("b"), Status::Pending);
        b.received_ms = 2_000;
        b.agent = "agent-2".into();
        let mut c = record(&t, &unique("c"), Status::Denied);
        c.received_ms = 2_000;
        s.insert(a.clone()).await.unwrap();
        s.insert(b.clone()).await.unwrap();
        s.insert(c.clone()).await.unwrap();
        assert!(matches!(
            s.insert(a.clone()).await,
            Err(StoreError::Conflict(_))
        ));

        let got = s.get(&t, &b.id).await.unwrap().unwrap();
        assert_eq!(got.requirements, b.requirements);
        assert_eq!(got.status, Status::Pending);
        assert_eq!(got.expires_ms, Some(NEVER));
        assert_eq!(got.zone, Some("prod".into()));
        assert_eq!(got.votes, Vec::new());
        assert_eq!(got.resolution, None);
        assert_eq!(s.get(&t, &a.id).await.unwrap().unwrap().zone, None);
        assert_eq!(s.get("other-tenant", &a.id).await.unwrap(), None);

        // Newest first, then by id descending.
        let all = s.list(&t, &ListFilter::default()).await.unwrap();
        let ids: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
        let (first, second) = if b.id > c.id {
            (&b.id, &c.id)
        } else {
            (&c.id, &b.id)
        };
        assert_eq!(ids, vec![first.as_str(), second.as_str(), a.id.as_str()]);
        let pending = ListFilter {
            status: Some(Status::Pending),
            ..ListFilter::default()
        };
        assert_eq!(s.list(&t, &pending).await.unwrap().len(), 1);
        let agent2 = ListFilter {
            agent: Some("agent-2".into()),
            ..ListFilter::default()
        };
        assert_eq!(s.list(&t, &agent2).await.unwrap()[0].id, b.id);
        let one = ListFilter {
            limit: 1,
            ..ListFilter::default()
        };
        assert_eq!(s.list(&t, &one).await.unwrap().len(), 1);
        assert_eq!(s.count_pending(Some(&t)).await.unwrap(), 1);
        assert!(s.count_pending(None).await.unwrap() >= 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_inserts_are_batched_and_duplicates_conflict() {
        let _g = EXCLUSIVE.read().await;
        let Some(s) = store().await else { return };
        let s = Arc::new(s);
        let t = unique("t");
        let dup = unique("dup");
        let mut tasks = Vec::new();
        for i in 0..300 {
            let s = Arc::clone(&s);
            let id = if i % 10 == 0 {
                dup.clone()
            } else {
                format!("{t}-{i}")
            };
            let r = record(&t, &id, Status::Allowed);
            tasks.push(tokio::spawn(async move { s.insert(r).await }));
        }
        let mut ok = 0;
        let mut conflicts = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => ok += 1,
                Err(StoreError::Conflict(_)) => conflicts += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!((ok, conflicts), (271, 29));
        let all = ListFilter {
            limit: 10_000,
            ..ListFilter::default()
        };
        assert_eq!(s.list(&t, &all).await.unwrap().len(), 271);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn votes_approve_reject_and_expire() {
        let _g = EXCLUSIVE.read().await;
        let Some(s) = store().await else { return };
        let t = unique("t");
        let id = unique("r");
        s.insert(record(&t, &id, Status::Pending)).await.unwrap();
        assert_eq!(
            s.vote("elsewhere", &id, vote("alice", true), 3_000)
                .await
                .unwrap(),
            VoteOutcome::NotFound
        );
        assert_eq!(
            s.vote(&t, &id, vote("alice", true), 3_000).await.unwrap(),
            VoteOutcome::Recorded(Status::Pending)
        );
        assert_eq!(
            s.vote(&t, &id, vote("alice", true), 3_000).await.unwrap(),
            VoteOutcome::AlreadyVoted
        );
        let mut outsider = vote("eve", true);
        outsider.groups = vec!["devs".into()];
        assert_eq!(
            s.vote(&t, &id, outsider, 3_000).await.unwrap(),
            VoteOutcome::Recorded(Status::Pending)
        );
        assert_eq!(
            s.vote(&t, &id, vote("bob", true), 4_000).await.unwrap(),
            VoteOutcome::Recorded(Status::Approved)
        );
        let r = s.get(&t, &id).await.unwrap().unwrap();
        assert_eq!(r.status, Status::Approved);
        assert_eq!(r.resolved_ms, Some(4_000));
        assert_eq!(r.resolution.as_deref(), Some("approved by alice, bob"));
        let names: Vec<&str> = r.votes.iter().map(|v| v.approver.as_str()).collect();
        assert_eq!(names, ["alice", "eve", "bob"]);
        assert_eq!(r.votes[1].groups, ["devs"]);
        assert_eq!(
            s.vote(&t, &id, vote("carol", true), 5_000).await.unwrap(),
            VoteOutcome::NotPending(Status::Approved)
        );

        let rejected = unique("r");
        s.insert(record(&t, &rejected, Status::Pending))
            .await
            .unwrap();
        assert_eq!(
            s.vote(&t, &rejected, vote("bob", false), 3_000)
                .await
                .unwrap(),
            VoteOutcome::Recorded(Status::Rejected)
        );
        let r = s.get(&t, &rejected).await.unwrap().unwrap();
        assert_eq!(r.resolution.as_deref(), Some("rejected by bob: no way"));

        let late = unique("r");
        let mut rec = record(&t, &late, Status::Pending);
        rec.expires_ms = Some(10_000);
        s.insert(rec).await.unwrap();
        assert_eq!(
            s.vote(&t, &late, vote("alice", true), 10_000)
                .await
                .unwrap(),
            VoteOutcome::NotPending(Status::Expired)
        );
        let r = s.get(&t, &late).await.unwrap().unwrap();
        assert_eq!((r.status, r.resolved_ms), (Status::Expired, Some(10_000)));
        assert_eq!(
            r.resolution.as_deref(),
            Some("expired: nobody approved in time")
        );
        assert!(r.votes.is_empty());

        let allowed = unique("r");
        s.insert(record(&t, &allowed, Status::Allowed))
            .await
            .unwrap();
        assert_eq!(
            s.vote(&t, &allowed, vote("alice", true), 3_000)
                .await
                .unwrap(),
            VoteOutcome::NotPending(Status::Allowed)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn twenty_concurrent_votes_resolve_once() {
        let _g = EXCLUSIVE.read().await;
        let Some(s) = store().await else { return };
        let s = Arc::new(s);
        let t = unique("t");
        let id = unique("r");
        let mut rec = record(&t, &id, Status::Pending);
        rec.requirements[0].approvals = 3;
        s.insert(rec).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (s, t, id) = (Arc::clone(&s), t.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                s.vote(&t, &id, vote(&format!("human-{i}"), true), 3_000)
                    .await
            }));
        }
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap().unwrap());
        }
        let count = |o: VoteOutcome| outcomes.iter().filter(|x| **x == o).count();
        assert_eq!(count(VoteOutcome::Recorded(Status::Approved)), 1);
        assert_eq!(count(VoteOutcome::Recorded(Status::Pending)), 2);
        assert_eq!(count(VoteOutcome::NotPending(Status::Approved)), 17);
        let r = s.get(&t, &id).await.unwrap().unwrap();
        assert_eq!(r.votes.len(), 3);
        assert_eq!(r.status, Status::Approved);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn consume_once_with_the_right_digest() {
        let _g = EXCLUSIVE.read().await;
        let Some(s) = store().await else { return };
        let s = Arc::new(s);
        let t = unique("t");
        let id = unique("r");
        let mut rec = record(&t, &id, Status::Pending);
        rec.requirements.clear();
        s.insert(rec).await.unwrap();
        assert!(
            s.consume(&t, &id, "d1", 1).await.unwrap().is_none(),
            "pending"
        );
        assert_eq!(
            s.vote(&t, &id, vote("alice", true), 3_000).await.unwrap(),
            VoteOutcome::Recorded(Status::Approved)
        );
        assert!(s.consume(&t, &id, "other", 1).await.unwrap().is_none());
        assert!(s.consume("other", &id, "d1", 1).await.unwrap().is_none());
        let a = tokio::spawn({
            let (s, t, id) = (Arc::clone(&s), t.clone(), id.clone());
            async move { s.consume(&t, &id, "d1", 5).await }
        });
        let b = tokio::spawn({
            let (s, t, id) = (Arc::clone(&s), t.clone(), id.clone());
            async move { s.consume(&t, &id, "d1", 5).await }
        });
        let (a, b) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());
        assert!(
            a.is_some() ^ b.is_some(),
            "exactly one consume wins: {a:?} {b:?}"
        );
        assert_eq!(
            s.get(&t, &id).await.unwrap().unwrap().status,
            Status::Consumed
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn expire_due_expires_only_the_due() {
        let _g = EXCLUSIVE.read().await;
        let Some(s) = store().await else { return };
        let t = unique("t");
        let (due, later) = (unique("due"), unique("later"));
        let mut rec = record(&t, &due, Status::Pending);
        rec.expires_ms = Some(50_000);
        s.insert(rec).await.unwrap();
        let mut rec = record(&t, &later, Status::Pending);
        rec.expires_ms = Some(NEVER - 1);
        s.insert(rec).await.unwrap();
        let expired = s.expire_due(60_000).await.unwrap();
        assert!(expired.contains(&(t.clone(), due.clone())));
        let ours: Vec<_> = expired.iter().filter(|(tenant, _)| *tenant == t).collect();
        assert_eq!(ours.len(), 1);
        let r = s.get(&t, &due).await.unwrap().unwrap();
        assert_eq!(r.status, Status::Expired);
        assert_eq!(r.resolved_ms, Some(60_000));
        assert_eq!(
            r.resolution.as_deref(),
            Some("expired: nobody approved in time")
        );
        assert_eq!(
            s.get(&t, &later).await.unwrap().unwrap().status,
            Status::Pending
        );
        assert!(
            !s.expire_due(60_000)
                .await
                .unwrap()
                .iter()
                .any(|(tenant, _)| *tenant == t)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn halts_by_scope_and_resume() {
        let _g = EXCLUSIVE.read().await;
        let Some(s) = store().await else { return };
        let t = unique("t");
        let mk = |agent: &str, zone: Option<&str>| {
            let mut r = record(&t, &unique("r"), Status::Pending);
            r.agent = agent.into();
            r.zone = zone.map(Into::into);
            r
        };
        let a_prod = mk("a", Some("prod"));
        let b_prod = mk("b", Some("prod"));
        let b_dev = mk("b", Some("dev"));
        let c_none = mk("c", None);
        for r in [&a_prod, &b_prod, &b_dev, &c_none] {
            s.insert(r.clone()).await.unwrap();
        }
        let halt = |scope: Scope| Halt {
            tenant: t.clone(),
            scope,
            reason: "incident".into(),
            by: "admin".into(),
            at_ms: 7_000,
        };
        assert_eq!(s.halt(&halt(Scope::Agent("a".into()))).await.unwrap(), 1);
        let r = s.get(&t, &a_prod.id).await.unwrap().unwrap();
        assert_eq!(r.status, Status::Rejected);
        assert_eq!(r.resolution.as_deref(), Some("halted: incident"));
        assert_eq!(r.resolved_ms, Some(7_000));
        assert_eq!(s.halt(&halt(Scope::Zone("prod".into()))).await.unwrap(), 1);
        assert_eq!(
            s.get(&t, &b_dev.id).await.unwrap().unwrap().status,
            Status::Pending
        );
        // Replacing the same halt: one row, new reason.
        let mut again = halt(Scope::Zone("prod".into()));
        again.reason = "still".into();
        assert_eq!(s.halt(&again).await.unwrap(), 0);
        let ours: Vec<Halt> = s
            .halts()
            .await
            .unwrap()
            .into_iter()
            .filter(|h| h.tenant == t)
            .collect();
        assert_eq!(ours.len(), 2);
        assert!(ours.contains(&again));
        assert!(ours.contains(&halt(Scope::Agent("a".into()))));
        assert_eq!(s.halt(&halt(Scope::Tenant)).await.unwrap(), 2);
        assert_eq!(s.count_pending(Some(&t)).await.unwrap(), 0);

        assert!(
            s.resume(&t, &Scope::Zone("prod".into()), "admin", 8_000)
                .await
                .unwrap()
        );
        assert!(
            !s.resume(&t, &Scope::Zone("prod".into()), "admin", 8_000)
                .await
                .unwrap()
        );
        assert!(
            !s.resume(&t, &Scope::Zone("dev".into()), "admin", 8_000)
                .await
                .unwrap()
        );
        assert!(s.resume(&t, &Scope::Tenant, "admin", 8_000).await.unwrap());
        assert!(
            s.resume(&t, &Scope::Agent("a".into()), "admin", 8_000)
                .await
                .unwrap()
        );
        assert!(!s.halts().await.unwrap().iter().any(|h| h.tenant == t));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_halt_of_all_covers_every_tenant() {
        let _g = EXCLUSIVE.write().await;
        let Some(s) = store().await else { return };
        let (t1, t2) = (unique("t"), unique("t"));
        let (r1, r2) = (unique("r"), unique("r"));
        s.insert(record(&t1, &r1, Status::Pending)).await.unwrap();
        s.insert(record(&t2, &r2, Status::Pending)).await.unwrap();
        let h = Halt {
            tenant: t1.clone(),
            scope: Scope::All,
            reason: "everything".into(),
            by: "root".into(),
            at_ms: 1,
        };
        assert!(s.halt(&h).await.unwrap() >= 2);
        assert_eq!(s.count_pending(Some(&t2)).await.unwrap(), 0);
        assert!(s.halts().await.unwrap().contains(&h));
        assert!(s.resume(&t1, &Scope::All, "root", 2).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn take_counts_within_the_limit() {
        let _g = EXCLUSIVE.read().await;
        let Some(s) = store().await else { return };
        let s = Arc::new(s);
        let k = unique("k");
        assert!(
            !s.take(&k, 0, 11, 10).await.unwrap(),
            "over the limit at once"
        );
        assert!(s.take(&k, 0, 0, 0).await.unwrap());
        assert!(s.take(&k, 0, 6, 10).await.unwrap());
        assert!(!s.take(&k, 0, 5, 10).await.unwrap());
        assert!(s.take(&k, 0, 4, 10).await.unwrap());
        assert!(!s.take(&k, 0, 1, 10).await.unwrap());
        assert!(s.take(&k, 60, 10, 10).await.unwrap(), "a new window");
        assert!(s.take(&k, 120, 1, 10).await.unwrap());
        // Window 0 is older than the previous one (60) of window 120: pruned.
        let client = s.client().await.unwrap();
        let windows: Vec<i64> = client
            .query(
                "SELECT window_start FROM airlock_limits WHERE key = $1 ORDER BY 1",
                &[&k],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(windows, [60, 120]);
        assert!(s.take(&k, 180, i64::MAX as u64, u64::MAX).await.unwrap());
        assert!(
            !s.take(&k, 180, 1, u64::MAX).await.unwrap(),
            "BIGINT caps the limit"
        );
        assert!(!s.take(&k, 240, u64::MAX, u64::MAX).await.unwrap());

        let k = unique("k");
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (s, k) = (Arc::clone(&s), k.clone());
            tasks.push(tokio::spawn(async move { s.take(&k, 1_000, 3, 100).await }));
        }
        let mut granted = 0;
        for task in tasks {
            granted += u32::from(task.await.unwrap().unwrap());
        }
        assert_eq!(granted, 33);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn credentials_rotate_and_revoke() {
        let _g = EXCLUSIVE.read().await;
        let Some(s) = store().await else { return };
        let t = unique("t");
        let cred = |name: &str, principal: Principal, hash: &str| Credential {
            tenant: t.clone(),
            name: name.into(),
            principal,
            roles: vec!["approver".into(), "group:leads".into()],
            token_hash: format!("{t}-{hash}"),
            created_ms: 1,
            revoked: false,
        };
        let alice = cred("alice", Principal::Human, "h1");
        s.put_credential(&alice).await.unwrap();
        s.put_credential(&cred("bot", Principal::Agent, "h2"))
            .await
            .unwrap();
        s.put_credential(&cred("Zed", Principal::Human, "h3"))
            .await
            .unwrap();
        assert_eq!(
            s.credential(&alice.token_hash).await.unwrap(),
            Some(alice.clone())
        );
        let mut rotated = cred("alice", Principal::Human, "h4");
        rotated.created_ms = 2;
        s.put_credential(&rotated).await.unwrap();
        assert_eq!(s.credential(&alice.token_hash).await.unwrap(), None);
        assert_eq!(
            s.credential(&rotated.token_hash).await.unwrap(),
            Some(rotated.clone())
        );
        // Another credential's token hash is a conflict.
        assert!(matches!(
            s.put_credential(&cred("carol", Principal::Human, "h4"))
                .await,
            Err(StoreError::Conflict(_))
        ));
        let names: Vec<String> = s
            .credentials(&t)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["bot", "Zed", "alice"]);
        assert!(s.revoke(&t, "alice", Principal::Human).await.unwrap());
        assert!(!s.revoke(&t, "alice", Principal::Human).await.unwrap());
        assert!(!s.revoke(&t, "alice", Principal::Agent).await.unwrap());
        let revoked = s.credential(&rotated.token_hash).await.unwrap().unwrap();
        assert!(revoked.revoked);
    }

    /// What one replica commits, the other hears about: a resolved request (to wake
    /// its waiter) and halts and resumes (to refresh its cache).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn replicas_hear_resolutions_and_halts() {
        let _g = EXCLUSIVE.read().await;
        let (Some(a), Some(b)) = tokio::join!(store(), store()) else {
            return;
        };
        let mut heard = b.events();
        // The listener connects in the background: announce until it hears.
        let t = unique("t");
        let id = unique("r");
        let mut rec = record(&t, &id, Status::Pending);
        rec.requirements = vec![Requirement {
            group: "leads".into(),
            approvals: 1,
        }];
        a.insert(rec).await.unwrap();
        let h = Halt {
            tenant: t.clone(),
            scope: Scope::Agent("x".into()),
            reason: "r".into(),
            by: "admin".into(),
            at_ms: 1,
        };
        let next = |heard: &mut broadcast::Receiver<Event>| {
            let mut heard = heard.resubscribe();
            async move {
                tokio::time::timeout(Duration::from_secs(10), async {
                    loop {
                        match heard.recv().await {
                            Ok(e) => return e,
                            Err(broadcast::error::RecvError::Lagged(_)) => {}
                            Err(broadcast::error::RecvError::Closed) => panic!("closed"),
                        }
                    }
                })
                .await
            }
        };
        // Wait until b's listener is up: halts announced by a until b hears one.
        let mut up = false;
        for _ in 0..50 {
            let listening = next(&mut heard);
            let waiter = tokio::spawn(async move {
                tokio::time::timeout(Duration::from_millis(200), listening).await
            });
            a.halt(&h).await.unwrap();
            if matches!(waiter.await.unwrap(), Ok(Ok(Event::Halts))) {
                up = true;
                break;
            }
        }
        assert!(up, "b never heard a's halt");
        let mut rx = b.events();
        assert_eq!(
            a.vote(&t, &id, vote("alice", true), 2).await.unwrap(),
            VoteOutcome::Recorded(Status::Approved)
        );
        // Other tests' events may come first: wait for this one.
        let heard_it = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match rx.recv().await {
                    Ok(Event::Resolved(x)) if x == id => return true,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return false,
                }
            }
        })
        .await;
        assert_eq!(heard_it, Ok(true), "b heard a's approval of {id}");
        assert!(a.resume(&t, &h.scope, "admin", 3).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_replicas_share_halts_limits_and_votes() {
        let _g = EXCLUSIVE.read().await;
        let (Some(a), Some(b)) = tokio::join!(store(), store()) else {
            return;
        };
        let (a, b) = (Arc::new(a), Arc::new(b));
        let t = unique("t");
        let h = Halt {
            tenant: t.clone(),
            scope: Scope::Agent("x".into()),
            reason: "r".into(),
            by: "admin".into(),
            at_ms: 1,
        };
        a.halt(&h).await.unwrap();
        assert!(b.halts().await.unwrap().contains(&h));
        assert!(b.resume(&t, &h.scope, "admin", 2).await.unwrap());
        assert!(!a.halts().await.unwrap().contains(&h));

        let k = unique("k");
        let mut tasks = Vec::new();
        for i in 0..40 {
            let s = Arc::clone(if i % 2 == 0 { &a } else { &b });
            let k = k.clone();
            tasks.push(tokio::spawn(async move { s.take(&k, 0, 1, 25).await }));
        }
        let mut granted = 0;
        for task in tasks {
            granted += u32::from(task.await.unwrap().unwrap());
        }
        assert_eq!(granted, 25);

        let id = unique("r");
        a.insert(record(&t, &id, Status::Pending)).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..10 {
            let s = Arc::clone(if i % 2 == 0 { &a } else { &b });
            let (t, id) = (t.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                s.vote(&t, &id, vote(&format!("h{i}"), true), 3).await
            }));
        }
        let mut approved = 0;
        for task in tasks {
            approved += usize::from(
                task.await.unwrap().unwrap() == VoteOutcome::Recorded(Status::Approved),
            );
        }
        assert_eq!(approved, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn replicas_starting_together_migrate_once() {
        let _g = EXCLUSIVE.read().await;
        let Ok(url) = std::env::var("AIRLOCK_TEST_POSTGRES_URL") else {
            return;
        };
        let (a, b, c, d) = tokio::join!(
            PgStore::connect(&url),
            PgStore::connect(&url),
            PgStore::connect(&url),
            PgStore::connect(&url)
        );
        for s in [a, b, c, d] {
            s.unwrap();
        }
        assert!(matches!(
            PgStore::connect("postgres://nobody@127.0.0.1:1/none").await,
            Err(StoreError::Unavailable(_))
        ));
        assert!(matches!(
            PgStore::connect("not a url at all ://").await,
            Err(StoreError::Unavailable(_))
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn nul_characters_are_refused_not_fatal() {
        let _g = EXCLUSIVE.read().await;
        let Some(s) = store().await else { return };
        let s = Arc::new(s);
        let t = unique("t");
        // A bad record in a batch does not fail the good ones queued with it.
        let mut tasks = Vec::new();
        for i in 0..20 {
            let s = Arc::clone(&s);
            let mut r = record(&t, &format!("{t}-{i}"), Status::Allowed);
            if i == 7 {
                r.call_json = "a\0b".into();
            }
            tasks.push(tokio::spawn(async move { s.insert(r).await }));
        }
        let mut ok = 0;
        for task in tasks {
            ok += usize::from(task.await.unwrap().is_ok());
        }
        assert_eq!(ok, 19);
        assert_eq!(s.get("a\0", "b").await.unwrap(), None);
        assert_eq!(
            s.vote("a\0", "b", vote("x", true), 1).await.unwrap(),
            VoteOutcome::NotFound
        );
        assert!(s.take("k\0", 0, 1, 1).await.is_err());
        assert!(s.consume(&t, "x\0", "d", 1).await.unwrap().is_none());
        assert_eq!(s.credential("\0").await.unwrap(), None);
    }

    /// Informal throughput of durable (committed) inserts:
    /// `AIRLOCK_TEST_POSTGRES_URL=… cargo test --release -- --ignored --nocapture insert_throughput`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore]
    async fn insert_throughput() {
        let Some(s) = store().await else { return };
        let s = Arc::new(s);
        let t = unique("bench");
        let total: usize = 100_000;
        let concurrency: usize = std::env::var("AIRLOCK_BENCH_CONCURRENCY")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(1_000);
        let start = std::time::Instant::now();
        let mut tasks = Vec::new();
        for w in 0..concurrency {
            let (s, t) = (Arc::clone(&s), t.clone());
            tasks.push(tokio::spawn(async move {
                for i in (w..total).step_by(concurrency) {
                    let mut r = record(&t, &format!("{t}-{i}"), Status::Allowed);
                    r.call_json = format!(r#"{{"tool":"sql","args":{{"q":"SELECT {i}"}}}}"#);
                    s.insert(r).await.unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{total} durable inserts by {concurrency} callers in {secs:.2}s: {:.0}/s",
            total as f64 / secs
        );
    }
}
