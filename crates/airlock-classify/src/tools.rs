//! More command knowledge: migration tools and ORMs, platform CLIs (Supabase,
//! Firebase, Heroku, Vercel, Fly, WP-CLI, Pulumi, CDK, SST, Serverless), data-store
//! tools (dump and restore, etcd, Kafka, RabbitMQ, Cassandra), the GitHub
//! CLI, storage and security administration (LVM, ZFS, mounts, SELinux), and
//! wrappers that run other commands (`npx`, `parallel`, `ansible`, `salt`, `script`,
//! `cmd.exe /c`).
//!
//! Each tool reads the words of one command and reports one part. A subcommand a
//! tool does not recognise is `unknown` with a reason, never a guess: a destructive
//! call passing for a harmless one is the bug this crate exists to prevent.

use airlock_model::{Effect, Target};

use crate::shell::{Walker, access_control_file, clip, file_target, surely_exists};
use crate::{Findings, Part, sql};

use Effect::{Delete, Permissions, Read, Unknown, Write};

/// What a command does: its effect, whether it is unbounded, and why.
type Verdict = (Effect, bool, &'static str);

/// The reason of a verdict for a subcommand the tool's table does not know;
/// [`say`] turns it into "`tool verb` is not a tool command airlock knows".
const NOT_KNOWN: &str = "";

const fn unknown() -> Verdict {
    (Unknown, false, NOT_KNOWN)
}

/// Classifies a command [`crate::commands`] does not know. Returns false, having
/// added nothing, when this module does not know it either.
pub(crate) fn classify(
    w: &Walker,
    base: &str,
    rest: &[&str],
    text: &str,
    out: &mut Findings,
) -> bool {
    // Kafka ships its tools as `kafka-topics.sh` and (in packages) `kafka-topics`.
    let tool = base
        .strip_suffix(".sh")
        .filter(|b| b.starts_with("kafka-"))
        .unwrap_or(base);
    if is_cmd_exe(tool) {
        cmd_exe(rest, text, out);
        return true;
    }
    if !listed(KNOWN, tool) {
        return false;
    }
    // `help` and `version` are only subcommands of CLIs that have subcommands:
    // `dropdb help` drops the database named `help`.
    if let [only] = rest
        && (matches!(*only, "--version" | "-V" | "--help")
            || (!listed(WRAPPERS, tool) && matches!(*only, "-v" | "-h"))
            || (listed(SUBCOMMAND_CLIS, tool) && matches!(*only, "version" | "help")))
    {
        say(
            out,
            text,
            tool,
            only,
            (Read, false, "prints the version or help"),
        );
        return true;
    }
    match tool {
        "npx" | "bunx" | "pnpx" => node_runner(w, tool, rest, text, out),
        "parallel" => parallel(w, rest, text, out),
        "ansible" => ansible(w, rest, text, out),
        "salt" | "salt-call" | "salt-ssh" => salt(w, tool, rest, text, out),
        "script" => script(w, rest, text, out),
        "terragrunt" => terragrunt(w, rest, text, out),
        "heroku" => heroku(w, rest, text, out),
        "fly" | "flyctl" => fly(w, tool, rest, text, out),
        "gh" => gh(rest, text, out),
        "crictl" => crictl(w, rest, text, out),
        "cqlsh" => cqlsh(rest, text, out),
        "typeorm" => typeorm(rest, text, out),
        "wp" => wp(rest, text, out),
        _ => {
            let (verb, verdict) = table(tool, rest, out);
            say(out, text, tool, &verb, verdict);
        }
    }
    true
}

/// Every tool this module knows (its dispatch is in [`classify`] and [`table`]).
const KNOWN: &str = "npx bunx pnpx parallel ansible ansible-playbook ansible-inventory ansible-doc \
     ansible-galaxy salt salt-call salt-ssh script terragrunt heroku fly flyctl gh crictl cqlsh \
     typeorm wp prisma drizzle-kit sequelize sequelize-cli knex artisan dotnet supabase \
     firebase vercel pulumi cdk sst serverless sls mongorestore mongodump mongoexport mongoimport \
     pg_dump pg_dumpall pg_restore dropdb createdb dropuser createuser pg_isready vacuumdb \
     reindexdb mysqladmin mariadb-admin mysqldump mariadb-dump etcdctl kafka-topics kafka-acls \
     kafka-consumer-groups kafka-configs kafka-console-consumer kafka-console-producer \
     kafka-delete-records rabbitmqctl lvremove vgremove pvremove lvcreate lvextend lvresize \
     lvreduce vgcreate vgextend pvcreate lvs vgs pvs lvdisplay vgdisplay pvdisplay lvscan vgscan \
     pvscan zfs zpool mount umount findmnt swapon swapoff setenforce getenforce sestatus semanage \
     setsebool getsebool restorecon aa-disable aa-complain aa-enforce aa-teardown aa-status \
     apparmor_status apparmor_parser";

/// Tools that run another command: a lone `-v` or `-h` may belong to that command.
const WRAPPERS: &str = "npx bunx pnpx parallel ansible salt salt-call salt-ssh script";

/// Tools whose first word is a subcommand (so `help` and `version` are theirs).
const SUBCOMMAND_CLIS: &str = "gh heroku fly flyctl supabase firebase pulumi cdk sst serverless \
     sls prisma drizzle-kit sequelize sequelize-cli typeorm knex artisan dotnet wp etcdctl \
     rabbitmqctl crictl zfs zpool terragrunt ansible-galaxy";

/// Tools whose answer is one row of a table.
fn table(tool: &str, rest: &[&str], out: &mut Findings) -> (String, Verdict) {
    match tool {
        "prisma" => prisma(rest),
        "drizzle-kit" => drizzle(rest),
        "sequelize" | "sequelize-cli" => sequelize(rest),
        "knex" => knex(rest),
        "artisan" => artisan(rest),
        "dotnet" => dotnet(rest),
        "supabase" => supabase(rest),
        "firebase" => firebase(rest),
        "vercel" => vercel(rest),
        "pulumi" => pulumi(rest, out),
        "cdk" => cdk(rest),
        "sst" => sst(rest),
        "serverless" | "sls" => serverless(rest),
        "ansible-playbook" | "ansible-inventory" | "ansible-doc" | "ansible-galaxy" => {
            ansible_tools(tool, rest)
        }
        "mongorestore" | "mongodump" | "mongoexport" | "mongoimport" => {
            mongo_tools(tool, rest, out)
        }
        "pg_dump" | "pg_dumpall" | "pg_restore" | "dropdb" | "createdb" | "dropuser"
        | "createuser" | "pg_isready" | "vacuumdb" | "reindexdb" => postgres_tools(tool, rest, out),
        "mysqladmin" | "mariadb-admin" => mysqladmin(rest, out),
        "mysqldump" | "mariadb-dump" => mysqldump(rest),
        "etcdctl" => etcdctl(rest, out),
        "kafka-topics"
        | "kafka-acls"
        | "kafka-consumer-groups"
        | "kafka-configs"
        | "kafka-console-consumer"
        | "kafka-console-producer"
        | "kafka-delete-records" => kafka(tool, rest, out),
        "rabbitmqctl" => rabbitmqctl(rest),
        "zfs" | "zpool" => zfs(tool, rest),
        _ => system(tool, rest),
    }
}

/// Reports one part for `tool verb`.
fn say(out: &mut Findings, text: &str, tool: &str, verb: &str, (effect, bulk, why): Verdict) {
    let verb = clip(verb.trim());
    let shown = if verb.is_empty() {
        tool.to_owned()
    } else {
        format!("{tool} {verb}")
    };
    let why = if why.is_empty() {
        format!("`{shown}` is not a {tool} command airlock knows")
    } else {
        format!("`{shown}`: {why}")
    };
    let op = if verb.is_empty() {
        tool.to_owned()
    } else {
        format!("{tool}:{verb}")
    };
    out.part(Part::new(clip(text), effect, why).bulk(bulk).operation(op));
}

// ---------------------------------------------------------------------------
// Word helpers. Lists of option names are written as one string, space-separated
// (`"-a --app"`), which keeps the tables of options readable.

/// True when `word` is one of the space-separated `names`.
fn listed(names: &str, word: &str) -> bool {
    names.split_whitespace().any(|n| n == word)
}

/// Any of the long flags (`--x`, `--x=…`), or the short letter alone or in a `-abc`
/// cluster. A cluster is read up to the first letter that takes a value
/// (`value_letters`), so `-Fc` (format `c`) is not `-c`.
fn flag_in(words: &[&str], short: Option<char>, value_letters: &str, long: &str) -> bool {
    words.iter().take_while(|w| **w != "--").any(|w| {
        long.split_whitespace()
            .any(|l| *w == l || w.strip_prefix(l).is_some_and(|r| r.starts_with('=')))
            || short.is_some_and(|c| {
                w.strip_prefix('-')
                    .filter(|r| !r.starts_with('-'))
                    .is_some_and(|r| {
                        r.chars()
                            .take_while(|x| *x == c || !value_letters.contains(*x))
                            .any(|x| x == c)
                    })
            })
    })
}

fn has_flag(words: &[&str], short: Option<char>, long: &str) -> bool {
    flag_in(words, short, "", long)
}

/// The option at `words[i]`, when it is one of `names`: its value (`-o VALUE`,
/// `-oVALUE`, `--opt VALUE`, `--opt=VALUE`) and how many words it spans.
fn opt_at<'a>(words: &[&'a str], i: usize, names: &str) -> Option<(&'a str, usize)> {
    let w = *words.get(i)?;
    names.split_whitespace().find_map(|n| {
        if w == n {
            return words.get(i + 1).map(|v| (*v, 2));
        }
        let v = w.strip_prefix(n)?;
        if n.starts_with("--") {
            v.strip_prefix('=').map(|v| (v, 1))
        } else {
            (n.len() == 2 && !v.is_empty()).then_some((v, 1))
        }
    })
}

/// The value of the first of the options, before any `--`.
fn opt_value<'a>(words: &[&'a str], names: &str) -> Option<&'a str> {
    opt_values(words, names).first().copied()
}

/// Every value of a repeatable option, before any `--`.
fn opt_values<'a>(words: &[&'a str], names: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(w) = words.get(i) {
        if *w == "--" {
            break;
        }
        match opt_at(words, i, names) {
            Some((v, n)) => {
                found.push(v);
                i += n;
            }
            None => i += 1,
        }
    }
    found
}

/// Words that are not options, nor the values of the options in `with_value`.
fn positionals<'a>(words: &[&'a str], with_value: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let (mut skip, mut after_dashes) = (false, false);
    for w in words {
        if skip {
            skip = false;
        } else if after_dashes {
            out.push(*w);
        } else if *w == "--" {
            after_dashes = true;
        } else if w.starts_with('-') && w.len() > 1 {
            skip = listed(with_value, w);
        } else {
            out.push(*w);
        }
    }
    out
}

/// The first two positionals, as `("a", "b")` with `""` for a missing one.
fn two<'a>(pos: &[&'a str]) -> (&'a str, &'a str) {
    (
        pos.first().copied().unwrap_or(""),
        pos.get(1).copied().unwrap_or(""),
    )
}

/// Joins `a b` (or just `a`) as the verb shown in messages.
fn verb2(a: &str, b: &str) -> String {
    if b.is_empty() {
        a.to_owned()
    } else {
        format!("{a} {b}")
    }
}

/// A word as the shell would need it to come back unchanged.
fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn quote_all(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A word whose value is only known at run time (the walker shows its raw text).
fn computed(w: &str) -> bool {
    w.contains('$') || w.contains('`')
}

/// The host of `scheme://user:pw@host:port/path`, or of a bare `host:port`.
fn host_of(s: &str) -> Option<String> {
    let after_scheme = s.split_once("://").map_or(s, |(_, r)| r);
    let authority = after_scheme.split(['/', '?']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let first = host_port.split(',').next().unwrap_or("");
    let host = if first.starts_with('[') {
        first.split(']').next().map(|h| format!("{h}]"))
    } else {
        first.split(':').next().map(str::to_owned)
    };
    host.filter(|h| !h.is_empty() && !computed(h))
}

fn target(kind: &str, name: &str) -> Target {
    Target {
        kind: kind.into(),
        name: name.into(),
        ..Target::default()
    }
}

fn db_target(name: &str, host: Option<String>) -> Target {
    Target {
        host,
        ..target("db:database", name)
    }
}

// ---------------------------------------------------------------------------
// Node runners: `npx X …` runs the package X.

/// Node tools airlock knows, by the command `npx` would run, and the npm packages
/// that provide them under another name.
const NODE_TOOLS: &str = "prisma drizzle-kit sequelize sequelize-cli typeorm knex supabase \
     firebase vercel heroku cdk sst serverless tsc eslint prettier jest vitest";

fn node_bin(package: &str) -> Option<&str> {
    match package {
        "firebase-tools" => Some("firebase"),
        "aws-cdk" => Some("cdk"),
        "typescript" => Some("tsc"),
        p => listed(NODE_TOOLS, p).then_some(p),
    }
}

/// `prisma@5.2.0` → `prisma`, `@scope/x@latest` → `@scope/x`.
fn without_version(spec: &str) -> &str {
    let at = if let Some(r) = spec.strip_prefix('@') {
        r.find('@').map(|i| i + 1)
    } else {
        spec.find('@')
    };
    at.map_or(spec, |i| &spec[..i])
}

/// `npx`/`bunx` (and `pnpm dlx`/`yarn dlx`, routed here as `npx`): the package is
/// downloaded or taken from node_modules and run. Known tools are classified as
/// if run directly; any other package is code airlock has not read.
fn node_runner(w: &Walker, runner: &str, rest: &[&str], text: &str, out: &mut Findings) {
    const WITH_VALUE: &str = "--registry --cache --userconfig --workspace -w --node-options \
         --shell --prefix";
    let mut packages = Vec::new();
    let mut call = None;
    let mut i = 0;
    while let Some(word) = rest.get(i) {
        if let Some((p, n)) = opt_at(rest, i, "-p --package") {
            packages.push(p);
            i += n;
            continue;
        }
        if let Some((c, _)) = opt_at(rest, i, "-c --call") {
            call = Some(c);
            break;
        }
        if *word == "--" {
            i += 1;
            break;
        }
        if !word.starts_with('-') {
            break;
        }
        i += if listed(WITH_VALUE, word) { 2 } else { 1 };
    }
    if let Some(p) = packages
        .iter()
        .find(|p| node_bin(without_version(p)).is_none())
    {
        let why = (
            Unknown,
            false,
            "downloads and runs a package airlock does not know",
        );
        return say(out, text, runner, p, why);
    }
    if let Some(c) = call {
        out.extend(w.script(c));
        return;
    }
    let Some(spec) = rest.get(i) else {
        return say(
            out,
            text,
            runner,
            "",
            (Unknown, false, "names no package to run"),
        );
    };
    match node_bin(without_version(spec)) {
        Some(bin) if !computed(spec) => {
            let mut words = vec![bin];
            words.extend(rest.get(i + 1..).unwrap_or(&[]));
            out.extend(w.script(&quote_all(&words)));
        }
        _ => say(
            out,
            text,
            runner,
            spec,
            (
                Unknown,
                false,
                "downloads and runs a package airlock does not know",
            ),
        ),
    }
}

// ---------------------------------------------------------------------------
// Migration tools and ORMs.

fn prisma(rest: &[&str]) -> (String, Verdict) {
    const WITH_VALUE: &str = "--name -n --schema --file --url --applied --rolled-back --port";
    let (a, b) = two(&positionals(rest, WITH_VALUE));
    let flag = |f: &str| has_flag(rest, None, f);
    let v = match (a, b) {
        ("migrate", "reset") => (
            Delete,
            true,
            "drops the database and re-applies every migration",
        ),
        ("migrate", "dev" | "deploy" | "resolve") => {
            (Write, false, "applies or records migrations")
        }
        ("migrate", "status" | "diff") => (Read, false, "only reads the migration state"),
        ("db", "push") if flag("--force-reset") => (Delete, true, "resets the database first"),
        ("db", "push") if flag("--accept-data-loss") => (
            Delete,
            false,
            "`--accept-data-loss` lets the push drop tables and columns",
        ),
        ("db", "push") => (
            Write,
            false,
            "pushes the schema (it stops before losing data)",
        ),
        ("db", "pull") => (Write, false, "rewrites the schema file from the database"),
        ("db", "seed") => (Unknown, false, "runs the project's seed script"),
        ("db", "execute") => (Unknown, false, "runs SQL from a file airlock has not read"),
        ("generate" | "format" | "init", _) => (Write, false, "writes generated code or files"),
        ("validate" | "version" | "debug" | "", _) => (Read, false, "only reads"),
        ("studio", _) => (Unknown, false, "opens an interactive data editor"),
        _ => unknown(),
    };
    (verb2(a, b), v)
}

fn drizzle(rest: &[&str]) -> (String, Verdict) {
    let (a, _) = two(&positionals(
        rest,
        "--config --dialect --schema --out --url",
    ));
    let v = match a {
        "push" if has_flag(rest, None, "--force") => (
            Delete,
            false,
            "`--force` auto-approves statements that lose data",
        ),
        "push" | "migrate" => (Write, false, "changes the database schema"),
        "generate" | "pull" | "introspect" | "up" => {
            (Write, false, "writes migration or schema files")
        }
        "drop" => (Delete, false, "deletes a migration"),
        "check" | "export" | "" => (Read, false, "only reads or prints SQL"),
        "studio" => (Unknown, false, "opens an interactive data editor"),
        _ => unknown(),
    };
    (a.to_owned(), v)
}

fn sequelize(rest: &[&str]) -> (String, Verdict) {
    const WITH_VALUE: &str = "--env --config --url --name --to --from --seed --attributes \
         --options-path";
    let (a, _) = two(&positionals(rest, WITH_VALUE));
    let v = match a {
        "db:drop" => (Delete, true, "drops the database"),
        "db:migrate:undo:all" | "db:seed:undo:all" => {
            (Delete, true, "reverts every migration or seed")
        }
        "db:migrate:undo" | "db:seed:undo" => (Delete, false, "reverts a migration or seed"),
        "db:create" | "db:migrate" | "db:seed" | "db:seed:all" | "init" | "migration:generate"
        | "migration:create" | "model:generate" | "model:create" | "seed:generate"
        | "seed:create" => (
            Write,
            false,
            "creates or migrates the database or project files",
        ),
        "db:migrate:status" | "" => (Read, false, "only reads the migration state"),
        _ => unknown(),
    };
    (a.to_owned(), v)
}

/// TypeORM; `typeorm query "SQL"` runs the SQL.
fn typeorm(rest: &[&str], text: &str, out: &mut Findings) {
    let pos = positionals(rest, "-d --dataSource -c --connection -n --name");
    let (a, b) = two(&pos);
    let v = match a {
        "query" if !b.is_empty() && !computed(b) => {
            return out.extend(sql::classify(b, sql::Dialect::Generic));
        }
        "schema:drop" => (Delete, true, "drops every table of the database"),
        "schema:sync" => (
            Delete,
            false,
            "makes the schema match the entities, dropping columns they lack",
        ),
        "migration:revert" => (Delete, false, "reverts the last migration"),
        "cache:clear" => (Delete, false, "clears the query cache"),
        "migration:run" | "migration:generate" | "migration:create" | "entity:create"
        | "subscriber:create" | "init" => (Write, false, "migrates the database or writes files"),
        "schema:log" | "migration:show" | "" => (Read, false, "only reads or prints SQL"),
        _ => unknown(),
    };
    say(out, text, "typeorm", a, v);
}

fn knex(rest: &[&str]) -> (String, Verdict) {
    const WITH_VALUE: &str = "--knexfile --cwd --env --specific --migrations-directory --client -x";
    let (a, _) = two(&positionals(rest, WITH_VALUE));
    let v = match a {
        "migrate:rollback" => {
            let all = has_flag(rest, None, "--all");
            (
                Delete,
                all,
                "rolls migrations back, dropping what they created",
            )
        }
        "migrate:down" => (Delete, false, "rolls a migration back"),
        "migrate:latest" | "migrate:up" | "migrate:make" | "migrate:unlock" | "seed:make"
        | "seed:run" | "init" => (Write, false, "migrates the database or writes files"),
        "migrate:status" | "migrate:list" | "migrate:currentVersion" | "" => {
            (Read, false, "only reads the migration state")
        }
        _ => unknown(),
    };
    (a.to_owned(), v)
}

/// Laravel: `php artisan …` (routed here as `artisan`).
fn artisan(rest: &[&str]) -> (String, Verdict) {
    let (a, _) = two(&positionals(
        rest,
        "--database --path --class --env --seeder",
    ));
    let step = has_flag(rest, None, "--step");
    let v = match a {
        "migrate:fresh" | "db:wipe" | "migrate:reset" => (Delete, true, "drops every table"),
        "migrate:refresh" => (
            Delete,
            !step,
            "rolls migrations back, dropping their tables",
        ),
        "migrate:rollback" => (Delete, false, "rolls migrations back"),
        "queue:clear" | "queue:flush" => (Delete, true, "deletes queued or failed jobs"),
        "cache:clear" | "config:clear" | "route:clear" | "view:clear" | "event:clear"
        | "optimize:clear" => (Delete, false, "deletes cached files"),
        "migrate" | "migrate:install" | "db:seed" | "storage:link" | "config:cache"
        | "route:cache" | "view:cache" | "event:cache" | "optimize" | "down" | "up" | "serve"
        | "test" | "vendor:publish" => (Write, false, "migrates, builds or changes the app"),
        m if m.starts_with("make:") => (Write, false, "generates project files"),
        "migrate:status" | "route:list" | "about" | "list" | "env" | "db:show" | "db:table"
        | "model:show" | "schedule:list" | "event:list" | "" => (Read, false, "only reads"),
        "tinker" | "db" => (Unknown, false, "an interactive console"),
        _ => (
            Unknown,
            false,
            "a project's own artisan command, which airlock has not read",
        ),
    };
    (a.to_owned(), v)
}

/// `dotnet`: the SDK's own verbs and EF Core (`dotnet ef`).
fn dotnet(rest: &[&str]) -> (String, Verdict) {
    const WITH_VALUE: &str = "-p --project -s --startup-project -c --context --configuration -f \
         --framework -r --runtime -o --output --output-dir --connection --namespace";
    let pos = positionals(rest, WITH_VALUE);
    let (a, b) = two(&pos);
    if a != "ef" {
        let v = match a {
            "build" | "test" | "restore" | "format" | "publish" | "pack" | "new" | "add"
            | "tool" | "workload" | "watch" => {
                (Write, false, "builds, tests or changes the project")
            }
            "clean" => (Delete, false, "deletes the build outputs"),
            "list" | "sln" if b != "remove" && b != "add" => (Read, false, "only reads"),
            "" if has_flag(rest, None, "--info --list-sdks --list-runtimes") => {
                (Read, false, "only reads")
            }
            "run" | "exec" | "fsi" => (Unknown, false, "runs code airlock has not read"),
            _ => unknown(),
        };
        return (a.to_owned(), v);
    }
    let c = pos.get(2).copied().unwrap_or("");
    let v = match (b, c) {
        ("database", "drop") => (Delete, true, "drops the database"),
        ("database", "update") => match pos.get(3) {
            None => (Write, false, "applies pending migrations"),
            Some(&"0") => (
                Delete,
                true,
                "reverts every migration, dropping their tables",
            ),
            Some(_) => (
                Unknown,
                false,
                "migrating to a named migration may roll back",
            ),
        },
        ("migrations", "remove") => (Delete, false, "removes the last migration"),
        ("migrations", "add" | "bundle") | ("dbcontext", "scaffold" | "optimize") => {
            (Write, false, "writes migration or model code")
        }
        ("migrations", "list" | "script" | "has-pending-model-changes")
        | ("dbcontext", "info" | "list" | "script") => {
            if opt_value(rest, "-o --output").is_some() {
                (Write, false, "writes a script file")
            } else {
                (Read, false, "only reads or prints SQL")
            }
        }
        _ => unknown(),
    };
    (format!("ef {}", verb2(b, c)), v)
}

// ---------------------------------------------------------------------------
// Platform CLIs.

/// The usual meaning of a CLI verb, for tools whose subcommands follow the
/// list/create/delete convention. None when the verb is not one of those.
fn common_verb(verb: &str) -> Option<Verdict> {
    Some(match verb {
        "list" | "ls" | "get" | "show" | "view" | "status" | "info" | "describe" | "inspect"
        | "logs" | "search" | "diff" | "check" | "whoami" | "exists" | "count" | "verify" => {
            (Read, false, "only reads")
        }
        "delete" | "destroy" | "remove" | "rm" | "purge" | "reset" | "drop" | "wipe" | "unset"
        | "uninstall" | "prune" | "clear" | "flush" | "clean" | "empty" | "truncate" => {
            (Delete, false, "removes what it names")
        }
        "create" | "add" | "set" | "update" | "install" | "deploy" | "apply" | "import"
        | "generate" | "activate" | "deactivate" | "enable" | "disable" | "start" | "stop"
        | "restart" | "edit" | "patch" | "push" | "pull" | "sync" | "upgrade" | "scale"
        | "attach" | "detach" | "rename" | "move" | "copy" | "clone" | "fork" | "extend"
        | "promote" | "launch" | "new" | "init" | "link" | "unlink" | "build" | "release"
        | "allocate" | "suspend" | "resume" | "cancel" | "rollback" | "redeploy" => {
            (Write, false, "creates or changes resources")
        }
        _ => return None,
    })
}

fn supabase(rest: &[&str]) -> (String, Verdict) {
    const WITH_VALUE: &str = "--project-ref --db-url -f --file --schema -s --workdir -o";
    let (a, b) = two(&positionals(rest, WITH_VALUE));
    let to_file = opt_value(rest, "-f --file").is_some();
    let v = match (a, b) {
        ("db", "reset") => (Delete, true, "drops and recreates the database"),
        ("db", "push" | "pull" | "start") => {
            (Write, false, "changes the schema or migration files")
        }
        ("db", "dump" | "diff") if to_file => (Write, false, "writes a file"),
        ("db", "dump" | "diff" | "lint") => (Read, false, "only reads"),
        ("migration", "down") => (Delete, false, "reverts migrations"),
        ("migration", "list" | "fetch") => (Read, false, "only reads"),
        ("migration", "new" | "up" | "repair" | "squash") => (Write, false, "changes migrations"),
        ("projects", "delete") => (Delete, true, "deletes the whole project"),
        ("stop", _) if has_flag(rest, None, "--no-backup") => {
            (Delete, true, "`--no-backup` deletes the local data volumes")
        }
        ("start" | "stop" | "init" | "link" | "login", _) => (Write, false, "changes local setup"),
        ("status" | "inspect" | "gen" | "", _) => (Read, false, "only reads"),
        ("storage", "rm") => (
            Delete,
            has_flag(rest, Some('r'), "--recursive"),
            "deletes objects",
        ),
        ("storage", "cp" | "mv") => (Write, false, "copies objects"),
        (
            "functions"
            | "secrets"
            | "orgs"
            | "projects"
            | "branches"
            | "storage"
            | "domains"
            | "sso"
            | "snippets"
            | "network-restrictions"
            | "ssl-enforcement"
            | "postgres-config",
            v,
        ) => match common_verb(v) {
            Some(x) if matches!(a, "network-restrictions" | "ssl-enforcement") && x.0 != Read => {
                (Permissions, false, "changes who can reach the database")
            }
            Some(x) => x,
            None => unknown(),
        },
        _ => unknown(),
    };
    (verb2(a, b), v)
}

fn firebase(rest: &[&str]) -> (String, Verdict) {
    const WITH_VALUE: &str = "--project -P --only --except --instance --token";
    let pos = positionals(rest, WITH_VALUE);
    let (a, b) = two(&pos);
    let all = has_flag(rest, Some('r'), "--all-collections --recursive");
    let v = match a {
        "firestore:delete" => (Delete, all, "deletes documents"),
        "database:remove" => (Delete, b == "/", "deletes data at a path"),
        "database:set" => (Delete, b == "/", "replaces the data at a path"),
        "database:update"
        | "database:push"
        | "deploy"
        | "hosting:channel:deploy"
        | "hosting:clone"
        | "functions:config:set"
        | "functions:secrets:set"
        | "emulators:start"
        | "serve"
        | "init"
        | "use"
        | "firestore:indexes"
        | "database:instances:create" => (Write, false, "deploys or writes data or configuration"),
        "hosting:disable"
        | "hosting:channel:delete"
        | "functions:delete"
        | "functions:config:unset"
        | "functions:secrets:destroy"
        | "apps:delete" => (Delete, false, "deletes a deployed resource"),
        "auth:import" => (
            Permissions,
            false,
            "imports user accounts and their passwords",
        ),
        "database:get"
        | "auth:export"
        | "projects:list"
        | "apps:list"
        | "functions:list"
        | "functions:log"
        | "hosting:channel:list"
        | "remoteconfig:get"
        | "login:list"
        | "" => (Read, false, "only reads"),
        _ => unknown(),
    };
    (a.to_owned(), v)
}

fn vercel(rest: &[&str]) -> (String, Verdict) {
    const WITH_VALUE: &str = "--scope --token -t -e --env --cwd -A --local-config";
    let (a, b) = two(&positionals(rest, WITH_VALUE));
    let v = match a {
        "remove" | "rm" => (Delete, false, "removes deployments or a project"),
        "" | "deploy" | "redeploy" | "promote" | "rollback" | "build" | "dev" | "link" | "pull"
        | "init" | "login" | "logout" => (Write, false, "deploys or changes local setup"),
        "list" | "ls" | "inspect" | "logs" | "whoami" | "help" => (Read, false, "only reads"),
        "env" | "domains" | "dns" | "alias" | "certs" | "project" | "projects" | "teams"
        | "secrets" | "git" => common_verb(b).unwrap_or_else(unknown),
        // `vercel ./dir` deploys that directory.
        p if p.starts_with('.') || p.contains('/') => (Write, false, "deploys the directory"),
        _ => unknown(),
    };
    let verb = if matches!(v.0, Unknown) || (!b.is_empty() && common_verb(b).is_some()) {
        verb2(a, b)
    } else {
        a.to_owned()
    };
    (verb, v)
}

/// Heroku: `topic:command` words, `--app` names the app, `run` and `pg:psql` carry
/// a command or SQL to classify.
fn heroku(w: &Walker, rest: &[&str], text: &str, out: &mut Findings) {
    const WITH_VALUE: &str = "-a --app -r --remote -s --size -e --env";
    if let Some(app) = opt_value(rest, "-a --app") {
        out.target(target("heroku:app", app));
    }
    let Some((&cmd, after)) = positionals_until_command(rest, WITH_VALUE).split_first() else {
        return say(out, text, "heroku", "", (Read, false, "prints help"));
    };
    match cmd {
        "run" | "run:detached" | "run:inside" => {
            // `--app X` may also follow the command; it is heroku's, not the command's.
            let app = opt_value(rest, "-a --app");
            let mut inner: Vec<&str> = Vec::new();
            let mut words = positionals_until_command(after, WITH_VALUE).iter();
            while let Some(w) = words.next() {
                if matches!(*w, "-a" | "--app") && words.as_slice().first().copied() == app {
                    words.next();
                } else if app.is_none_or(|a| w.strip_prefix("--app=") != Some(a)) {
                    inner.push(w);
                }
            }
            if inner.is_empty() {
                say(
                    out,
                    text,
                    "heroku",
                    cmd,
                    (Unknown, false, "runs nothing airlock can see"),
                );
            } else {
                out.extend(w.script(&quote_all(&inner)));
            }
            return;
        }
        "pg:psql" => {
            return match opt_value(after, "-c --command") {
                Some(q) => out.extend(sql::classify(q, sql::Dialect::Postgres)),
                None => say(
                    out,
                    text,
                    "heroku",
                    cmd,
                    (Unknown, false, "an interactive psql session or a file"),
                ),
            };
        }
        _ => {}
    }
    // `web=0` or `web=0:standard-2x`.
    let scale_to_zero = after.iter().any(|a| {
        a.split_once('=')
            .is_some_and(|(_, n)| n.split(':').next() == Some("0"))
    });
    let v = match cmd {
        "pg:reset" | "apps:destroy" | "destroy" | "pg:backups:restore" | "pg:copy"
        | "addons:destroy" | "addons:remove" | "spaces:destroy" | "domains:clear" => {
            (Delete, true, "destroys the app, database or its data")
        }
        "ps:scale" | "scale" if scale_to_zero => (Delete, false, "scales dynos to zero"),
        "pg:backups:delete" | "config:unset" | "config:remove" | "domains:remove"
        | "certs:remove" | "drains:remove" | "webhooks:remove" | "pipelines:destroy" => {
            (Delete, false, "removes what it names")
        }
        "access:add"
        | "access:remove"
        | "access:update"
        | "apps:transfer"
        | "members:add"
        | "members:remove"
        | "members:set"
        | "authorizations:create"
        | "authorizations:revoke"
        | "authorizations:rotate"
        | "keys:add"
        | "keys:remove"
        | "keys:clear"
        | "pg:credentials:rotate"
        | "pg:credentials:create"
        | "pg:credentials:destroy" => (
            Permissions,
            false,
            "changes who can access the app or database",
        ),
        "config:set" | "config:add" | "apps:create" | "create" | "addons:create" | "addons:add"
        | "domains:add" | "ps:scale" | "scale" | "ps:restart" | "restart" | "ps:stop"
        | "ps:kill" | "ps:resize" | "ps:type" | "maintenance:on" | "maintenance:off"
        | "releases:rollback" | "rollback" | "pg:backups:capture" | "pg:promote" | "pg:killall"
        | "pg:kill" | "pg:pull" | "container:push" | "container:release" | "git:remote"
        | "buildpacks:set" | "buildpacks:add" | "apps:rename" | "rename" | "stack:set"
        | "features:enable" | "features:disable" | "labs:enable" | "labs:disable"
        | "webhooks:add" | "drains:add" | "certs:add" | "pipelines:create"
        | "pipelines:promote" | "login" | "logout" => {
            (Write, false, "creates or changes app resources")
        }
        "config" | "config:get" | "apps" | "apps:info" | "info" | "logs" | "ps" | "releases"
        | "releases:info" | "addons" | "addons:info" | "domains" | "pg" | "pg:info" | "pg:ps"
        | "pg:diagnose" | "pg:backups" | "pg:credentials" | "pg:outliers" | "status" | "access"
        | "keys" | "auth:whoami" | "whoami" | "regions" | "stack" | "features" | "labs"
        | "buildpacks" | "drains" | "certs" | "pipelines" | "spaces" | "teams" | "members"
        | "authorizations" | "webhooks" | "auth:token" => (Read, false, "only reads"),
        _ => unknown(),
    };
    say(out, text, "heroku", cmd, v);
}

/// The words of a wrapped command: what follows the wrapper's leading options.
fn positionals_until_command<'a, 'w>(words: &'w [&'a str], with_value: &str) -> &'w [&'a str] {
    let mut i = 0;
    while let Some(w) = words.get(i) {
        if *w == "--" {
            i += 1;
            break;
        }
        if !w.starts_with('-') || *w == "-" {
            break;
        }
        i += if listed(with_value, w) { 2 } else { 1 };
    }
    words.get(i..).unwrap_or(&[])
}

/// Fly.io: `fly TOPIC VERB` (or a top-level verb like `deploy`).
fn fly(w: &Walker, tool: &str, rest: &[&str], text: &str, out: &mut Findings) {
    const WITH_VALUE: &str = "-a --app -c --config -r --region -C --command -o --org";
    let pos = positionals(rest, WITH_VALUE);
    let (a, b) = two(&pos);
    let named = pos
        .get(2)
        .copied()
        .filter(|_| a == "apps" && matches!(b, "destroy" | "delete"));
    if let Some(app) = opt_value(rest, "-a --app").or(named) {
        out.target(target("fly:app", app));
    }
    if a == "ssh" && b == "console" {
        return match opt_value(rest, "-C --command") {
            Some(cmd) => out.extend(w.script(cmd)),
            None => say(
                out,
                text,
                tool,
                "ssh console",
                (Unknown, false, "an interactive shell"),
            ),
        };
    }
    let v = match (a, b) {
        ("apps", "destroy" | "delete") | ("destroy", _) => {
            (Delete, true, "destroys the app and its machines")
        }
        ("scale", "count") if pos.iter().skip(2).any(|n| *n == "0" || n.ends_with("=0")) => {
            (Delete, false, "scales the app to zero")
        }
        ("scale", "show") => (Read, false, "only reads"),
        ("scale", _) => (Write, false, "changes the app's size"),
        ("auth", "token" | "whoami") | ("tokens", "list" | "ls") => (Read, false, "only reads"),
        ("auth", "login" | "logout") => (Write, false, "changes local credentials"),
        ("tokens", _) | ("orgs", "invite" | "remove" | "revoke") => (
            Permissions,
            false,
            "issues credentials or changes who can access the org",
        ),
        ("deploy" | "launch" | "restart", _) => (Write, false, "deploys or changes the app"),
        (
            "status" | "logs" | "info" | "releases" | "regions" | "version" | "doctor" | "ping"
            | "dashboard" | "open",
            _,
        ) => (Read, false, "only reads"),
        ("console" | "proxy", _) | ("postgres" | "pg" | "mysql" | "redis", "connect") => {
            (Unknown, false, "an interactive session")
        }
        (
            "apps" | "volumes" | "volume" | "vol" | "machine" | "machines" | "m" | "secrets"
            | "certs" | "ips" | "postgres" | "pg" | "redis" | "mysql" | "storage" | "extensions"
            | "consul" | "wireguard" | "image" | "config" | "checks" | "services",
            v,
        ) => common_verb(v).unwrap_or_else(unknown),
        _ => unknown(),
    };
    say(out, text, tool, &verb2(a, b), v);
}

/// WP-CLI: `wp NOUN VERB …`.
fn wp(rest: &[&str], text: &str, out: &mut Findings) {
    let pos = positionals(rest, "");
    let (a, b) = two(&pos);
    if a == "db" && b == "query" {
        if let Some(q) = pos.get(2).filter(|q| !computed(q)) {
            return out.extend(sql::classify(q, sql::Dialect::MySql));
        }
        return say(
            out,
            text,
            "wp",
            "db query",
            (Unknown, false, "runs SQL from stdin"),
        );
    }
    // Ids computed at run time (`$(wp post list …)`) can be any number of items.
    let many = has_flag(rest, None, "--all") || pos.iter().skip(2).any(|p| computed(p));
    let v = match (a, b) {
        ("db", "reset" | "drop" | "clean") => (Delete, true, "drops the database or its tables"),
        ("db", "import") => (Unknown, false, "runs SQL from a file airlock has not read"),
        ("db", "export") => (Write, false, "writes a dump file"),
        ("db", "create" | "optimize" | "repair") => (Write, false, "changes the database"),
        ("db", "tables" | "size" | "check" | "columns" | "prefix" | "search") => {
            (Read, false, "only reads")
        }
        ("db", "cli") | ("shell" | "eval" | "eval-file", _) => {
            (Unknown, false, "runs code or SQL airlock has not read")
        }
        ("search-replace", _) if has_flag(rest, None, "--dry-run") => (Read, false, "a dry run"),
        ("search-replace", _) => (Write, false, "rewrites matching values in the database"),
        ("site", "delete" | "empty") => (Delete, true, "deletes a site or all its content"),
        ("user" | "role" | "cap" | "super-admin" | "application-password", v) => match v {
            "list" | "get" | "exists" => (Read, false, "only reads"),
            // User meta holds the capabilities too.
            _ => (Permissions, false, "changes accounts, roles or credentials"),
        },
        (
            "core" | "plugin" | "theme" | "language",
            "version" | "is-installed" | "is-active" | "path" | "check-update" | "verify-checksums",
        ) => (Read, false, "only reads"),
        ("cron", "event") if pos.get(2) == Some(&"run") => {
            (Unknown, false, "runs scheduled jobs airlock has not read")
        }
        ("cache" | "transient" | "rewrite", "flush" | "delete") => {
            (Delete, true, "empties a cache")
        }
        (_, v) => match common_verb(v) {
            Some((Delete, _, why)) => (Delete, many, why),
            Some(x) => x,
            None => unknown(),
        },
    };
    say(out, text, "wp", &verb2(a, b), v);
}

fn pulumi(rest: &[&str], out: &mut Findings) -> (String, Verdict) {
    const WITH_VALUE: &str = "-s --stack -C --cwd --target -t -c --config -m --message --replace";
    if let Some(stack) = opt_value(rest, "-s --stack") {
        out.target(target("pulumi:stack", stack));
    }
    let (a, b) = two(&positionals(rest, WITH_VALUE));
    let v = match (a, b) {
        ("destroy" | "down", _) if has_flag(rest, None, "--preview-only") => {
            (Read, false, "only previews")
        }
        ("destroy" | "down", _) => (Delete, true, "destroys every resource of the stack"),
        ("up" | "update", _) if opt_value(rest, "--replace").is_some() => (
            Delete,
            false,
            "`--replace` destroys and recreates resources",
        ),
        (
            "up" | "update" | "refresh" | "import" | "cancel" | "new" | "watch" | "login"
            | "logout",
            _,
        ) => (Write, false, "changes the stack or its state"),
        ("preview" | "whoami" | "about" | "logs" | "version", _) => (Read, false, "only reads"),
        ("stack", "rm" | "remove") => (Delete, false, "removes the stack and its state"),
        ("stack", "ls" | "output" | "history" | "export" | "graph" | "") => {
            (Read, false, "only reads")
        }
        (
            "stack",
            "select"
            | "init"
            | "tag"
            | "import"
            | "rename"
            | "change-secrets-provider"
            | "unselect",
        ) => (Write, false, "changes stacks"),
        ("state", "delete") => (Delete, false, "removes resources from the state"),
        ("state", "unprotect" | "rename" | "move" | "edit" | "repair" | "upgrade" | "protect") => {
            (Write, false, "changes the state")
        }
        ("config", "" | "get") => (Read, false, "only reads"),
        ("config", "rm" | "rm-all") => (Delete, false, "removes configuration"),
        ("config", "set" | "set-all" | "refresh" | "cp") => (Write, false, "changes configuration"),
        ("plugin", "ls") => (Read, false, "only reads"),
        ("plugin", "install") => (Write, false, "installs a plugin"),
        ("plugin", "rm") => (Delete, false, "removes a plugin"),
        _ => unknown(),
    };
    (verb2(a, b), v)
}

fn cdk(rest: &[&str]) -> (String, Verdict) {
    const WITH_VALUE: &str = "--app -a --context -c --profile --output -o --role-arn -r \
         --require-approval --trust --trust-for-lookup";
    let (a, _) = two(&positionals(rest, WITH_VALUE));
    let v = match a {
        "destroy" => (Delete, true, "deletes every resource of the stacks"),
        "gc" => (Delete, true, "deletes unused assets"),
        "bootstrap" if has_flag(rest, None, "--trust --trust-for-lookup") => (
            Permissions,
            false,
            "creates deployment roles trusted by other accounts",
        ),
        "deploy" | "synth" | "synthesize" | "bootstrap" | "init" | "import" | "watch"
        | "migrate" | "rollback" | "acknowledge" | "ack" => {
            (Write, false, "deploys stacks or writes the cloud assembly")
        }
        "diff" | "ls" | "list" | "doctor" | "notices" | "docs" | "drift" | "metadata" | "" => {
            (Read, false, "only reads")
        }
        "context" if has_flag(rest, None, "--reset --clear") => {
            (Write, false, "changes cached context")
        }
        "context" => (Read, false, "only reads"),
        _ => unknown(),
    };
    (a.to_owned(), v)
}

fn sst(rest: &[&str]) -> (String, Verdict) {
    let (a, b) = two(&positionals(rest, "--stage --profile"));
    let v = match (a, b) {
        ("remove", _) => (Delete, true, "removes every resource of the stage"),
        ("deploy" | "dev" | "build" | "install" | "upgrade" | "refresh" | "unlock" | "init", _) => {
            (Write, false, "deploys or changes the app")
        }
        ("diff" | "version", _) => (Read, false, "only reads"),
        ("shell" | "console", _) => (
            Unknown,
            false,
            "runs a command or console airlock cannot see",
        ),
        ("secret" | "state", v) => common_verb(v).unwrap_or_else(unknown),
        _ => unknown(),
    };
    (verb2(a, b), v)
}

fn serverless(rest: &[&str]) -> (String, Verdict) {
    const WITH_VALUE: &str = "--stage -s --region -r --function -f --config -c";
    let (a, b) = two(&positionals(rest, WITH_VALUE));
    let v = match (a, b) {
        ("remove", _) => (Delete, true, "removes the service and all its resources"),
        ("deploy", "list") | ("info" | "logs" | "print" | "metrics" | "doctor", _) => {
            (Read, false, "only reads")
        }
        ("deploy" | "package" | "rollback" | "offline" | "create" | "plugin", _) => {
            (Write, false, "deploys or writes the package")
        }
        ("invoke", _) => (Unknown, false, "runs function code airlock has not read"),
        _ => unknown(),
    };
    (verb2(a, b), v)
}

/// `terragrunt run-all CMD` (and `run --all -- CMD`) runs the Terraform command in
/// every module below the directory.
fn terragrunt(w: &Walker, rest: &[&str], text: &str, out: &mut Findings) {
    let inner: &[&str] = match rest {
        ["run-all", inner @ ..] => inner,
        ["run", tail @ ..] if tail.contains(&"--all") => tail,
        _ => &[],
    };
    // `run --all -- plan` or `run --all plan`: terragrunt's own flags are dropped.
    let inner = match inner.iter().position(|t| *t == "--") {
        Some(i) => inner.get(i + 1..).unwrap_or(&[]),
        None => inner,
    };
    if inner.is_empty() {
        return say(
            out,
            text,
            "terragrunt",
            rest.first().copied().unwrap_or(""),
            unknown(),
        );
    }
    let words: Vec<&str> = std::iter::once("terraform")
        .chain(inner.iter().copied().filter(|w| {
            !w.starts_with("--terragrunt") && !matches!(*w, "--all" | "--non-interactive")
        }))
        .collect();
    let mut f = w.script(&quote_all(&words));
    for p in &mut f.parts {
        if matches!(p.effect, Write | Delete | Permissions) {
            p.bulk = true;
        }
    }
    out.extend(f);
}

// ---------------------------------------------------------------------------
// Data-store tools.

fn mongo_tools(tool: &str, rest: &[&str], out: &mut Findings) -> (String, Verdict) {
    let host = opt_value(rest, "--uri")
        .and_then(host_of)
        .or_else(|| opt_value(rest, "--host -h").and_then(host_of));
    let db = opt_value(rest, "--db -d").or_else(|| {
        opt_value(rest, "--uri")
            .and_then(|u| u.split_once("://").map(|x| x.1))
            .and_then(|r| r.split_once('/').map(|x| x.1))
            .map(|d| d.split('?').next().unwrap_or(d))
            .filter(|d| !d.is_empty())
    });
    out.target(Target {
        host,
        ..target("mongodb:database", db.unwrap_or("*"))
    });
    let to_stdout = matches!(opt_value(rest, "--out -o"), Some("-")) || rest.contains(&"--archive");
    let v = match tool {
        "mongorestore" | "mongoimport" if has_flag(rest, None, "--drop") => (
            Delete,
            true,
            "drops each collection before restoring into it",
        ),
        "mongorestore" | "mongoimport" => (Write, false, "inserts documents"),
        "mongodump" if to_stdout => (Read, false, "dumps to standard output"),
        "mongodump" => (Write, false, "reads the database and writes dump files"),
        _ if opt_value(rest, "--out -o").is_some() => (Write, false, "writes an export file"),
        _ => (Read, false, "exports to standard output"),
    };
    (String::new(), v)
}

fn postgres_tools(tool: &str, rest: &[&str], out: &mut Findings) -> (String, Verdict) {
    // The dump tools' `-f` is a file; `dropdb -f` is `--force`.
    const DUMP_VALUE: &str = "-h --host -p --port -U --username -d --dbname -f --file -F --format \
         -j --jobs -n -t";
    const ADMIN_VALUE: &str = "-h --host -p --port -U --username --maintenance-db -T --template -O \
         --owner -E";
    let dump = matches!(tool, "pg_dump" | "pg_dumpall" | "pg_restore");
    let host = opt_value(rest, "-h --host").map(str::to_owned);
    let pos = positionals(rest, if dump { DUMP_VALUE } else { ADMIN_VALUE });
    if matches!(tool, "dropuser" | "createuser")
        && let Some(role) = pos.first()
    {
        out.target(Target {
            host: host.clone(),
            ..target("db:role", role)
        });
    }
    // `createuser -d` is `--createdb`, not a database name.
    let by_flag = !matches!(tool, "dropdb" | "createdb" | "dropuser" | "createuser");
    let by_position = !matches!(
        tool,
        "pg_restore" | "pg_dumpall" | "dropuser" | "createuser" | "pg_isready"
    );
    let db = opt_value(rest, "-d --dbname")
        .filter(|_| by_flag)
        .or(pos.first().copied().filter(|_| by_position));
    if let Some(d) = db {
        let (name, h) = match host_of(d) {
            Some(h) if d.contains("://") => {
                let path = d.rsplit('/').next().unwrap_or(d);
                (path.split('?').next().unwrap_or(path), Some(h))
            }
            _ => (d, host.clone()),
        };
        out.target(db_target(name, h));
    } else if let Some(h) = host {
        out.target(db_target("*", Some(h)));
    }
    let to_file = dump && opt_value(rest, "-f --file").is_some();
    let v = match tool {
        "pg_dump" | "pg_dumpall" if to_file => {
            (Write, false, "reads the database and writes a dump file")
        }
        "pg_dump" | "pg_dumpall" => (Read, false, "dumps the database to standard output"),
        "pg_restore" if flag_in(rest, Some('c'), "dfFhpUjnItPTLNS", "--clean") => (
            Delete,
            true,
            "`--clean` drops objects before recreating them",
        ),
        "pg_restore" if db.is_some() => (Write, false, "restores objects into the database"),
        "pg_restore" if to_file => (Write, false, "writes the restore script to a file"),
        "pg_restore" => (Read, false, "prints the restore script"),
        "dropdb" => (Delete, true, "drops the whole database"),
        "createdb" | "vacuumdb" | "reindexdb" => (Write, false, "creates or maintains a database"),
        "dropuser" | "createuser" => (Permissions, false, "creates or removes a database role"),
        _ => (Read, false, "checks the server"),
    };
    (String::new(), v)
}

/// `mysqladmin [options] COMMAND [ARG] [COMMAND …]`: each command is classified.
fn mysqladmin(rest: &[&str], out: &mut Findings) -> (String, Verdict) {
    const WITH_VALUE: &str = "-u --user -h --host -P --port -S --socket -c --count -i --sleep";
    let host = opt_value(rest, "-h --host").map(str::to_owned);
    let pos = positionals(rest, WITH_VALUE);
    let mut worst: Option<(String, Verdict)> = None;
    let mut i = 0;
    while let Some(cmd) = pos.get(i) {
        let arg = pos.get(i + 1).copied();
        let (v, takes_arg) = match cmd.to_ascii_lowercase().as_str() {
            "drop" => ((Delete, true, "drops the whole database"), true),
            "create" => ((Write, false, "creates a database"), true),
            "password" | "old-password" => ((Permissions, false, "changes a password"), true),
            "flush-privileges" | "reload" => {
                ((Permissions, false, "reloads the grant tables"), false)
            }
            "kill" => ((Write, false, "kills server threads"), true),
            "status" | "ping" | "variables" | "extended-status" | "processlist" | "version" => {
                ((Read, false, "only reads server state"), false)
            }
            "shutdown" | "flush-hosts" | "flush-logs" | "flush-status" | "flush-tables"
            | "flush-threads" | "refresh" | "start-replica" | "stop-replica" | "start-slave"
            | "stop-slave" | "debug" => ((Write, false, "changes server state"), false),
            _ => (unknown(), false),
        };
        if matches!(cmd.to_ascii_lowercase().as_str(), "drop" | "create")
            && let Some(d) = arg
        {
            out.target(db_target(d, host.clone()));
        }
        if worst.as_ref().is_none_or(|(_, w)| v.0 > w.0) {
            worst = Some(((*cmd).to_owned(), v));
        }
        i += if takes_arg { 2 } else { 1 };
    }
    worst.unwrap_or_else(|| (String::new(), (Read, false, "prints help")))
}

fn mysqldump(rest: &[&str]) -> (String, Verdict) {
    let v = if opt_value(rest, "-r --result-file --tab -T").is_some() {
        (Write, false, "reads the database and writes dump files")
    } else {
        (Read, false, "dumps the database to standard output")
    };
    (String::new(), v)
}

/// `cqlsh [host [port]] -e 'CQL'`: CQL is close enough to SQL for the statements
/// that matter, with Cassandra's own keyspace and describe statements read here.
fn cqlsh(rest: &[&str], text: &str, out: &mut Findings) {
    let pos = positionals(
        rest,
        "-u --username -p --password -k --keyspace -f --file -e --execute --cqlshrc \
         --request-timeout --connect-timeout --encoding",
    );
    let host = pos.first().map(|h| (*h).to_owned());
    if opt_value(rest, "-f --file").is_some() {
        return say(
            out,
            text,
            "cqlsh",
            "-f",
            (Unknown, false, "runs CQL from a file airlock has not read"),
        );
    }
    let Some(cql) = opt_value(rest, "-e --execute") else {
        return say(
            out,
            text,
            "cqlsh",
            "",
            (Unknown, false, "an interactive CQL session"),
        );
    };
    let mut any = false;
    for stmt in cql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        any = true;
        let upper = stmt.to_ascii_uppercase();
        let words: Vec<&str> = upper.split_whitespace().collect();
        let v = match words.as_slice() {
            ["DROP", "KEYSPACE", ..] => (Delete, true, "drops a keyspace and every table in it"),
            ["TRUNCATE", ..] => (Delete, true, "empties a table"),
            ["CREATE" | "ALTER", "KEYSPACE", ..] => (Write, false, "creates or changes a keyspace"),
            [
                "DESCRIBE" | "DESC" | "USE" | "CONSISTENCY" | "TRACING" | "SHOW" | "EXPAND"
                | "PAGING",
                ..,
            ]
            | ["LIST", "ROLES" | "USERS" | "PERMISSIONS" | "ALL", ..] => {
                (Read, false, "only reads")
            }
            _ => {
                let mut f = sql::classify(stmt, sql::Dialect::Generic);
                for t in &mut f.targets {
                    t.host = t.host.take().or_else(|| host.clone());
                }
                out.extend(f);
                continue;
            }
        };
        say(
            out,
            stmt,
            "cqlsh",
            &words[..words.len().min(2)].join(" "),
            v,
        );
    }
    if let Some(h) = host {
        out.target(Target {
            host: Some(h.clone()),
            ..target("cassandra:cluster", &h)
        });
    }
    if !any {
        say(out, text, "cqlsh", "-e", (Read, false, "no statement"));
    }
}

fn etcdctl(rest: &[&str], out: &mut Findings) -> (String, Verdict) {
    const WITH_VALUE: &str = "--endpoints --user --password --cacert --cert --key -w --write-out \
         --limit --rev --order --sort-by --lease --dial-timeout";
    let pos = positionals(rest, WITH_VALUE);
    let (a, b) = two(&pos);
    if let Some(e) = opt_value(rest, "--endpoints").and_then(host_of) {
        out.target(Target {
            host: Some(e.clone()),
            ..target("etcd:cluster", &e)
        });
    }
    let prefix = has_flag(rest, None, "--prefix --from-key");
    if matches!(a, "get" | "put" | "del" | "watch") && !b.is_empty() {
        out.target(target("etcd:key", b));
    }
    let v = match (a, b) {
        ("get" | "watch", _) => (Read, false, "only reads keys"),
        ("put", _) => (Write, false, "writes a key"),
        ("del", _) => (Delete, prefix, "deletes keys"),
        ("compaction", _) => (Delete, true, "discards the history before a revision"),
        ("txn", _) => (
            Unknown,
            false,
            "runs a transaction read from standard input",
        ),
        ("user" | "role", "list" | "get") | ("auth", "status") => (Read, false, "only reads"),
        ("user" | "role" | "auth", _) => (Permissions, false, "changes who can do what"),
        ("lease", "revoke") | ("member", "remove") => {
            (Delete, false, "revokes a lease or removes a member")
        }
        ("lease", "grant" | "keep-alive")
        | ("member", "add" | "update" | "promote")
        | ("snapshot", "save" | "restore")
        | ("alarm", "disarm")
        | ("defrag" | "move-leader", _) => {
            (Write, false, "changes the cluster or writes a snapshot")
        }
        ("lease", _)
        | ("member", "list")
        | ("endpoint", _)
        | ("snapshot", "status")
        | ("alarm", "list")
        | ("version" | "", _) => (Read, false, "only reads"),
        _ => unknown(),
    };
    (verb2(a, b), v)
}

fn kafka(tool: &str, rest: &[&str], out: &mut Findings) -> (String, Verdict) {
    let server = opt_value(rest, "--bootstrap-server --zookeeper --broker-list");
    let host = server.and_then(host_of);
    if let Some(t) = opt_value(rest, "--topic") {
        out.target(Target {
            host: host.clone(),
            ..target("kafka:topic", t)
        });
    } else if let Some(h) = host {
        out.target(Target {
            host: Some(h.clone()),
            ..target("kafka:cluster", &h)
        });
    }
    let f = |names: &str| has_flag(rest, None, names);
    let (verb, v) = match tool {
        "kafka-acls" if f("--list") => ("list", (Read, false, "lists ACLs")),
        "kafka-acls" => ("change", (Permissions, false, "adds or removes ACLs")),
        "kafka-topics" | "kafka-configs" if f("--delete") => (
            "delete",
            (Delete, true, "deletes topics and every message in them"),
        ),
        "kafka-topics" | "kafka-configs" if f("--create --alter") => (
            "change",
            (Write, false, "creates or changes topics or configs"),
        ),
        "kafka-topics" | "kafka-configs" if f("--list --describe") => {
            ("list", (Read, false, "only reads"))
        }
        "kafka-consumer-groups" if f("--delete --delete-offsets") => (
            "delete",
            (Delete, false, "deletes consumer groups or their offsets"),
        ),
        "kafka-consumer-groups" if f("--reset-offsets") && f("--execute") => {
            ("reset-offsets", (Write, false, "moves the group's offsets"))
        }
        "kafka-consumer-groups" if f("--reset-offsets --list --describe") => (
            "list",
            (Read, false, "only reads (offset resets need --execute)"),
        ),
        "kafka-console-consumer" => ("consume", (Read, false, "reads messages")),
        "kafka-console-producer" => ("produce", (Write, false, "publishes messages")),
        "kafka-delete-records" => ("delete", (Delete, false, "deletes records")),
        _ => ("", unknown()),
    };
    (verb.to_owned(), v)
}

fn rabbitmqctl(rest: &[&str]) -> (String, Verdict) {
    let (a, _) = two(&positionals(rest, "-p --vhost -n --node -t --timeout"));
    let v = match a {
        "purge_queue" | "delete_queue" | "delete_vhost" | "reset" | "force_reset" => {
            (Delete, true, "deletes queues, messages or the node's data")
        }
        "add_user"
        | "delete_user"
        | "change_password"
        | "clear_password"
        | "set_user_tags"
        | "set_permissions"
        | "clear_permissions"
        | "set_topic_permissions"
        | "clear_topic_permissions" => (Permissions, false, "changes users or their permissions"),
        "add_vhost"
        | "set_policy"
        | "clear_policy"
        | "set_parameter"
        | "clear_parameter"
        | "stop_app"
        | "start_app"
        | "stop"
        | "shutdown"
        | "close_connection"
        | "close_all_connections"
        | "join_cluster"
        | "forget_cluster_node"
        | "rotate_logs"
        | "set_vm_memory_high_watermark" => (Write, false, "changes the broker"),
        "status" | "cluster_status" | "environment" | "report" | "ping" | "node_health_check"
        | "await_startup" | "authenticate_user" | "" => (Read, false, "only reads"),
        l if l.starts_with("list_") => (Read, false, "only reads"),
        "eval" => (Unknown, false, "runs Erlang code airlock does not read"),
        _ => unknown(),
    };
    (a.to_owned(), v)
}

// ---------------------------------------------------------------------------
// The GitHub CLI.

const GH_VALUE: &str = "-R --repo -t --title -b --body -F --body-file -B --base -H --head -s \
     --state -L --limit -q --jq --json --template -w --workflow -l --label -a --assignee -A \
     --author -m --milestone -r --reviewer --visibility --description";

fn gh(rest: &[&str], text: &str, out: &mut Findings) {
    let pos = positionals(rest, GH_VALUE);
    let (group, verb) = two(&pos);
    if group == "api" {
        return gh_api(rest.get(1..).unwrap_or(&[]), text, out);
    }
    let named = pos.get(2).copied().filter(|_| group == "repo");
    let repo = opt_value(rest, "-R --repo").or(named);
    if let Some(r) = repo.filter(|r| r.contains('/')) {
        out.target(target("github:repo", r));
    }
    let f = |s: Option<char>, names: &str| has_flag(rest, s, names);
    let v = match (group, verb) {
        ("pr", "merge" | "close") if f(Some('d'), "--delete-branch") => {
            (Delete, false, "`--delete-branch` deletes the branch")
        }
        ("repo", "delete") => (Delete, true, "deletes the repository"),
        ("repo", "edit") if f(None, "--visibility") => {
            (Permissions, false, "changes who can see the repository")
        }
        ("repo", "deploy-key") | ("ssh-key" | "gpg-key", _) => {
            let sub = if group == "repo" {
                pos.get(2).copied().unwrap_or("")
            } else {
                verb
            };
            match sub {
                "list" => (Read, false, "only reads"),
                _ => (
                    Permissions,
                    false,
                    "adds or removes a key that grants access",
                ),
            }
        }
        ("auth", "status" | "token") => (Read, false, "only reads"),
        ("auth", "login" | "refresh") => (Permissions, false, "issues a token for the CLI"),
        ("auth", "logout" | "setup-git" | "switch") => (Write, false, "changes local credentials"),
        ("workflow", "run") => (Unknown, false, "what the workflow does is not in the call"),
        ("run" | "release", "download") => (Write, false, "downloads files"),
        ("cache", "delete") => (Delete, f(None, "--all"), "deletes caches"),
        ("release", "delete" | "delete-asset") => (Delete, false, "deletes a release or asset"),
        ("codespace", "ssh" | "code" | "jupyter") | ("extension", "exec") => {
            (Unknown, false, "an interactive session or extension")
        }
        ("status" | "browse" | "search", _) => (Read, false, "only reads"),
        (
            "pr" | "issue" | "run" | "repo" | "release" | "secret" | "variable" | "cache" | "label"
            | "gist" | "workflow" | "org" | "ruleset" | "codespace" | "extension" | "config"
            | "project" | "attestation",
            v,
        ) => gh_verb(v),
        _ => unknown(),
    };
    say(out, text, "gh", &verb2(group, verb), v);
}

fn gh_verb(verb: &str) -> Verdict {
    match verb {
        "list" | "view" | "status" | "diff" | "checks" | "watch" | "verify" | "check" | "get"
        | "ls" => (Read, false, "only reads"),
        "create" | "comment" | "edit" | "review" | "ready" | "reopen" | "close" | "checkout"
        | "lock" | "unlock" | "update-branch" | "merge" | "pin" | "unpin" | "transfer"
        | "develop" | "rerun" | "cancel" | "enable" | "disable" | "clone" | "fork" | "sync"
        | "rename" | "archive" | "unarchive" | "set-default" | "upload" | "set" | "install"
        | "upgrade" | "item-add" | "item-edit" => (Write, false, "creates or changes"),
        "delete" | "remove" => (Delete, false, "deletes what it names"),
        _ => unknown(),
    }
}

/// `gh api`: the method (`-X`, else POST when fields are sent, else GET) and the
/// path decide. Paths that hold access control are permissions when changed.
fn gh_api(args: &[&str], text: &str, out: &mut Findings) {
    const VALUE: &str = "-X --method -H --header -f --raw-field -F --field --input -q --jq -t \
         --template --cache --hostname -p";
    let fields = opt_values(args, "-f -F --field --raw-field");
    let method = match opt_value(args, "-X --method") {
        Some(m) => m.to_ascii_uppercase(),
        None if !fields.is_empty() || opt_value(args, "--input").is_some() => "POST".into(),
        None => "GET".into(),
    };
    let Some(endpoint) = positionals(args, VALUE).first().copied() else {
        return say(
            out,
            text,
            "gh",
            "api",
            (Unknown, false, "names no endpoint"),
        );
    };
    let path = endpoint
        .trim_start_matches("https://api.github.com")
        .trim_start_matches('/')
        .split('?')
        .next()
        .unwrap_or("");
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if let ["repos", owner, repo, ..] = segs.as_slice() {
        out.target(target("github:repo", &format!("{owner}/{repo}")));
    }
    let field_names: Vec<&str> = fields
        .iter()
        .map(|f| f.split('=').next().unwrap_or(f))
        .collect();
    let v = if path == "graphql" {
        let query = fields
            .iter()
            .find_map(|f| f.strip_prefix("query="))
            .unwrap_or("@");
        if query.starts_with('@') || query.to_ascii_lowercase().contains("mutation") {
            (
                Unknown,
                false,
                "a GraphQL mutation or query file airlock does not read",
            )
        } else {
            (Read, false, "a GraphQL query")
        }
    } else if method == "GET" || method == "HEAD" {
        (Read, false, "only reads")
    } else if !matches!(method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE") || computed(path) {
        (Unknown, false, "an API call airlock cannot read")
    } else if segs.iter().any(|s| listed(GH_ACCESS, s))
        || (method == "PATCH"
            && field_names
                .iter()
                .any(|n| matches!(*n, "visibility" | "private")))
    {
        (
            Permissions,
            false,
            "changes who can access the repository or organisation",
        )
    } else if method == "DELETE" {
        let whole_repo = matches!(segs.as_slice(), ["repos", _, _]);
        (Delete, whole_repo, "deletes the resource")
    } else if segs.contains(&"refs") && fields.contains(&"force=true") {
        (Delete, false, "force-updates a ref, dropping commits")
    } else {
        (Write, false, "creates or changes the resource")
    };
    say(out, text, "gh", &format!("api {method}"), v);
}

/// Path segments of the GitHub API that hold access control.
const GH_ACCESS: &str = "collaborators protection permissions teams keys gpg_keys ssh_signing_keys \
     members memberships invitations outside_collaborators rulesets restrictions \
     security-managers transfer blocks interaction-limits";

// ---------------------------------------------------------------------------
// Infrastructure and the operating system.

fn crictl(w: &Walker, rest: &[&str], text: &str, out: &mut Findings) {
    let pos = positionals(
        rest,
        "-r --runtime-endpoint -i --image-endpoint -c --config -o --output --timeout",
    );
    let (a, _) = two(&pos);
    let all = has_flag(rest, Some('a'), "--all --prune");
    if a == "exec" {
        let at = rest.iter().position(|r| *r == "exec").map_or(0, |i| i + 1);
        let after = positionals_until_command(rest.get(at..).unwrap_or(&[]), "-t --timeout");
        let interactive = has_flag(rest, Some('i'), "--interactive --tty");
        if let Some(cmd) = after.get(1..).filter(|c| !c.is_empty() && !interactive) {
            return out.extend(w.script(&quote_all(cmd)));
        }
        return say(
            out,
            text,
            "crictl",
            a,
            (Unknown, false, "an interactive shell in a container"),
        );
    }
    let v = match a {
        "rm" | "rmi" | "rmp" => (Delete, all, "removes containers, images or pods"),
        "ps" | "images" | "img" | "logs" | "inspect" | "inspecti" | "inspectp" | "pods"
        | "stats" | "statsp" | "info" | "version" | "imagefsinfo" | "config" | "" => {
            (Read, false, "only reads")
        }
        "pull" | "create" | "run" | "runp" | "start" | "stop" | "stopp" | "update"
        | "checkpoint" => (Write, false, "creates, starts or stops containers"),
        "attach" | "port-forward" => (Unknown, false, "an interactive session"),
        _ => unknown(),
    };
    say(out, text, "crictl", a, v);
}

fn zfs(tool: &str, rest: &[&str]) -> (String, Verdict) {
    // The verb comes first; `zfs destroy`'s own options take no value.
    let (a, b) = two(&positionals(rest, ""));
    let recursive = has_flag(rest, Some('r'), "") || has_flag(rest, Some('R'), "");
    let v = match (tool, a) {
        ("zpool", "destroy") => (Delete, true, "destroys the pool and every dataset in it"),
        ("zpool", "labelclear") => (Delete, true, "wipes a device's pool label"),
        // A filesystem takes all its files with it; a snapshot only itself.
        ("zfs", "destroy") if has_flag(rest, Some('n'), "") => (Read, false, "a dry run"),
        ("zfs", "destroy") => {
            let bulk = recursive || b.contains('%') || !b.contains('@');
            (Delete, bulk, "destroys the dataset or snapshot")
        }
        ("zfs", "rollback") => (
            Delete,
            recursive,
            "discards changes made after the snapshot",
        ),
        ("zfs", "receive" | "recv") if has_flag(rest, Some('F'), "") => {
            (Delete, true, "`-F` rolls back and overwrites the target")
        }
        ("zfs", "allow" | "unallow" | "change-key") => (
            Permissions,
            false,
            "changes who can administer or decrypt datasets",
        ),
        (
            "zfs",
            "list" | "get" | "diff" | "holds" | "userspace" | "groupspace" | "projectspace"
            | "send" | "version" | "",
        )
        | ("zpool", "list" | "status" | "iostat" | "get" | "history" | "events" | "version" | "") => {
            (Read, false, "only reads")
        }
        (
            "zfs",
            "snapshot" | "snap" | "create" | "clone" | "set" | "inherit" | "mount" | "unmount"
            | "umount" | "rename" | "receive" | "recv" | "promote" | "hold" | "release"
            | "bookmark" | "share" | "unshare" | "upgrade" | "load-key" | "unload-key",
        )
        | (
            "zpool",
            "create" | "add" | "attach" | "replace" | "online" | "offline" | "scrub" | "trim"
            | "export" | "import" | "upgrade" | "set" | "clear" | "resilver" | "reguid" | "split"
            | "checkpoint" | "detach" | "remove" | "initialize" | "sync",
        ) => (Write, false, "creates or changes datasets or pools"),
        _ => unknown(),
    };
    (a.to_owned(), v)
}

/// Storage, mounts and mandatory access control.
fn system(tool: &str, rest: &[&str]) -> (String, Verdict) {
    let listing = has_flag(rest, Some('l'), "--list");
    let v = match tool {
        "lvremove" | "vgremove" | "pvremove" => {
            (Delete, true, "removes a volume and all data on it")
        }
        "lvreduce" => (
            Delete,
            false,
            "shrinking a volume destroys data beyond the new end",
        ),
        "lvcreate" | "lvextend" | "lvresize" | "vgcreate" | "vgextend" | "pvcreate" => {
            (Write, false, "creates or grows a volume")
        }
        "lvs" | "vgs" | "pvs" | "lvdisplay" | "vgdisplay" | "pvdisplay" | "lvscan" | "vgscan"
        | "pvscan" | "findmnt" | "getenforce" | "sestatus" | "getsebool" | "aa-status"
        | "apparmor_status" => (Read, false, "only reads"),
        "mount" if rest.is_empty() || rest == ["-l"] => (Read, false, "lists mounts"),
        "mount" | "umount" | "swapon" | "swapoff" => (Write, false, "changes what is mounted"),
        "semanage" if listing => (Read, false, "only lists the policy"),
        "setenforce" | "semanage" | "setsebool" | "restorecon" | "aa-disable" | "aa-complain"
        | "aa-enforce" | "aa-teardown" | "apparmor_parser" => (
            Permissions,
            false,
            "changes the mandatory access control policy",
        ),
        _ => unknown(),
    };
    let verb = match tool {
        "semanage" | "setenforce" | "setsebool" => rest.first().copied().unwrap_or(""),
        _ => "",
    };
    (verb.to_owned(), v)
}

// ---------------------------------------------------------------------------
// Wrappers: tools that run other commands.

/// GNU parallel: `parallel [options] CMD … ::: ARGS`. The command words are joined
/// and run by a shell, once per argument; arguments are quoted.
fn parallel(w: &Walker, rest: &[&str], text: &str, out: &mut Findings) {
    const WITH_VALUE: &str = "-j --jobs -n -N --max-args -I --colsep -d --delimiter -a --arg-file \
         -S --sshlogin --halt --joblog --results --tmpdir --timeout --retries --env --block \
         --sshloginfile --wd -E -L --max-lines";
    let words = positionals_until_command(rest, WITH_VALUE);
    // Options of parallel itself come before the command.
    let own = rest.get(..rest.len() - words.len()).unwrap_or(&[]);
    if has_flag(own, None, "--dry-run") {
        return say(
            out,
            text,
            "parallel",
            "--dry-run",
            (Read, false, "only prints the commands"),
        );
    }
    let end = words
        .iter()
        .position(|w| w.starts_with(":::"))
        .unwrap_or(words.len());
    let (cmd, args) = words.split_at(end);
    if cmd.is_empty() {
        return say(
            out,
            text,
            "parallel",
            "",
            (Unknown, false, "runs each input line as a command"),
        );
    }
    let mut script = if has_flag(own, Some('q'), "--quote") {
        quote_all(cmd)
    } else {
        cmd.join(" ")
    };
    let values: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| !a.starts_with(":::"))
        .collect();
    // `:::: FILE` takes the arguments from the file's lines.
    let from_files = args.iter().any(|a| a.starts_with("::::"));
    if !script.contains('{') {
        script.push(' ');
        script.push_str(&if values.is_empty() || from_files {
            "ARG".to_owned()
        } else {
            quote_all(&values)
        });
    }
    out.extend(w.script(&script));
}

/// Ansible ad-hoc: `ansible HOSTS -m MODULE -a ARGS`.
fn ansible(w: &Walker, rest: &[&str], text: &str, out: &mut Findings) {
    let module = opt_value(rest, "-m --module-name").unwrap_or("command");
    let args = opt_value(rest, "-a --args").unwrap_or("");
    let module = module.rsplit('.').next().unwrap_or(module);
    let kv = |key: &str| -> Option<&str> {
        args.split_whitespace()
            .find_map(|t| t.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim_matches(['"', '\'']))
    };
    let path = kv("path").or(kv("dest")).or(kv("name"));
    let perms = kv("mode").is_some() || kv("owner").is_some() || kv("group").is_some();
    let absent = kv("state") == Some("absent");
    let v = match module {
        "shell" | "command" | "raw" => {
            // Leading `chdir=… creates=…` options configure the module.
            let cmd: Vec<&str> = args
                .split_whitespace()
                .skip_while(|t| {
                    [
                        "chdir=",
                        "creates=",
                        "removes=",
                        "executable=",
                        "warn=",
                        "stdin=",
                    ]
                    .iter()
                    .any(|k| t.starts_with(k))
                })
                .collect();
            if cmd.is_empty() {
                (Unknown, false, "runs an empty command")
            } else {
                return out.extend(w.script(&cmd.join(" ")));
            }
        }
        "ping" | "setup" | "gather_facts" | "debug" | "stat" | "slurp" | "find"
        | "service_facts" | "package_facts" => (Read, false, "only reads"),
        "user" | "group" | "authorized_key" | "sudoers" | "acl" | "seboolean" | "selinux"
        | "firewalld" | "ufw" | "iptables" => (Permissions, false, "changes who can do what"),
        _ if perms || path.is_some_and(access_control_file) => (
            Permissions,
            false,
            "changes owners, modes or access-control files",
        ),
        "file" if absent => (Delete, false, "removes the file or directory tree"),
        "file" => (Write, false, "creates files or directories"),
        "copy" | "template" if path.is_some_and(surely_exists) => {
            (Delete, false, "overwrites a file that exists")
        }
        "copy" | "template" | "lineinfile" | "blockinfile" | "replace" | "get_url"
        | "unarchive" | "fetch" | "mount" => (Write, false, "writes files"),
        "apt" | "yum" | "dnf" | "package" | "pip" | "cron" if absent => {
            (Delete, false, "removes packages or jobs")
        }
        "apt" | "yum" | "dnf" | "package" | "pip" | "cron" | "service" | "systemd"
        | "systemd_service" | "reboot" => (Write, false, "installs or changes services"),
        _ => (Unknown, false, "a module airlock does not know"),
    };
    if let Some(p) = path.filter(|p| p.starts_with('/') || p.starts_with('~')) {
        out.target(file_target(p));
    }
    say(out, text, "ansible", &format!("-m {module}"), v);
}

fn ansible_tools(tool: &str, rest: &[&str]) -> (String, Verdict) {
    let (a, b) = two(&positionals(
        rest,
        "-i --inventory -e --extra-vars -l --limit -p",
    ));
    let v = match tool {
        "ansible-playbook"
            if has_flag(
                rest,
                None,
                "--syntax-check --list-tasks --list-hosts --list-tags",
            ) =>
        {
            (Read, false, "only lists or checks the playbook")
        }
        "ansible-playbook" => (Unknown, false, "runs a playbook airlock has not read"),
        "ansible-inventory" | "ansible-doc" => (Read, false, "only reads"),
        _ => match (a, b) {
            (_, "list" | "info" | "search") | ("list" | "info" | "search", _) => {
                (Read, false, "only reads")
            }
            (_, "install" | "init" | "build" | "download") | ("install" | "init", _) => {
                (Write, false, "installs roles or collections")
            }
            (_, "remove") => (Delete, false, "removes a role"),
            _ => unknown(),
        },
    };
    (verb2(a, b), v)
}

/// SaltStack: `salt TARGET FUNCTION ARGS…` (`salt-call` has no target).
fn salt(w: &Walker, tool: &str, rest: &[&str], text: &str, out: &mut Findings) {
    const WITH_VALUE: &str = "-t --timeout -b --batch-size --out --output -l --log-level --subset \
         -c --config-dir --return";
    let pos = positionals(rest, WITH_VALUE);
    let skip = usize::from(tool != "salt-call");
    let func = pos.get(skip).copied().unwrap_or("");
    let args: Vec<&str> = pos
        .get(skip + 1..)
        .unwrap_or(&[])
        .iter()
        .copied()
        .filter(|a| {
            ![
                "cwd=",
                "runas=",
                "shell=",
                "env=",
                "timeout=",
                "python_shell=",
            ]
            .iter()
            .any(|k| a.starts_with(k))
        })
        .collect();
    let test_mode = args.iter().any(|a| a.eq_ignore_ascii_case("test=true"));
    let (module, fun) = func.split_once('.').unwrap_or((func, ""));
    let v = match (module, fun) {
        ("cmd", "run" | "run_all" | "run_stdout" | "shell" | "run_stderr") if !args.is_empty() => {
            return out.extend(w.script(&args.join(" ")));
        }
        ("cmd", _) => (Unknown, false, "runs a script or code airlock has not read"),
        ("state", _) if test_mode => (Read, false, "a test run"),
        ("state", _) => (Unknown, false, "applies states airlock has not read"),
        ("test", _)
        | ("grains" | "pillar", "items" | "get" | "item" | "ls")
        | ("status" | "disk" | "network" | "sys", _)
        | ("saltutil", "running") => (Read, false, "only reads"),
        ("pkg", "version" | "list_pkgs" | "list_upgrades")
        | ("service", "status" | "get_all")
        | ("file", "file_exists" | "stat" | "directory_exists" | "read" | "find")
        | ("user" | "group", "info" | "list_users" | "getent" | "list_groups") => {
            (Read, false, "only reads")
        }
        ("pkg", "remove" | "purge") | ("file", "remove") => {
            (Delete, false, "removes packages or files")
        }
        ("pkg", "install" | "upgrade" | "refresh_db")
        | ("service", _)
        | ("system", "reboot")
        | ("file", "write" | "append" | "touch" | "mkdir" | "copy" | "replace") => {
            (Write, false, "installs or changes files or services")
        }
        ("user" | "group" | "ssh", _) | ("file", "chown" | "set_mode" | "chgrp") => {
            (Permissions, false, "changes accounts, keys or permissions")
        }
        _ => unknown(),
    };
    say(out, text, tool, func, v);
}

/// `script [options] [FILE] -c CMD` records a terminal session while CMD runs.
fn script(w: &Walker, rest: &[&str], text: &str, out: &mut Findings) {
    let pos = positionals(
        rest,
        "-c --command -t --timing -O --log-out -I --log-in -B --log-io -E --echo -T \
         --log-timing -m --logging-format",
    );
    if let Some(file) = pos.first().filter(|f| !f.starts_with("/dev/")) {
        let effect = if has_flag(rest, Some('a'), "--append") {
            "appends to"
        } else {
            "writes"
        };
        out.part(
            Part::new(
                clip(text),
                Write,
                format!("`script` {effect} the log file {file}"),
            )
            .operation("script:log"),
        );
        out.target(file_target(file));
    }
    match opt_value(rest, "-c --command") {
        Some(cmd) => out.extend(w.script(cmd)),
        None => say(
            out,
            text,
            "script",
            "",
            (Unknown, false, "an interactive shell"),
        ),
    }
}

fn is_cmd_exe(tool: &str) -> bool {
    tool.eq_ignore_ascii_case("cmd") || tool.eq_ignore_ascii_case("cmd.exe")
}

/// `cmd.exe /c "…"`: Windows commands, which bash cannot parse. Each command of the
/// line (split on `&`, `&&`, `||`, `|`) is read here.
fn cmd_exe(rest: &[&str], text: &str, out: &mut Findings) {
    let Some(at) = rest.iter().position(|r| {
        r.eq_ignore_ascii_case("/c") || r.eq_ignore_ascii_case("/k") || r.eq_ignore_ascii_case("/r")
    }) else {
        return say(
            out,
            text,
            "cmd",
            "",
            (Unknown, false, "an interactive Windows shell"),
        );
    };
    let line = rest.get(at + 1..).unwrap_or(&[]).join(" ");
    let mut any = false;
    for cmd in line
        .split(['&', '|'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        any = true;
        let words = win_words(cmd);
        let name = words
            .first()
            .map(|n| n.trim_start_matches('@').to_ascii_lowercase())
            .unwrap_or_default();
        let args: Vec<String> = words
            .iter()
            .skip(1)
            .map(|a| a.to_ascii_lowercase())
            .collect();
        let sw = |s: &str| args.iter().any(|a| a == s);
        let wild = args.iter().any(|a| a.contains('*') || a.contains('?'));
        let v = match name.as_str() {
            "rmdir" | "rd" => (
                Delete,
                sw("/s"),
                "removes a directory (with /s, its whole tree)",
            ),
            "del" | "erase" => (Delete, sw("/s") || wild, "deletes files"),
            // Several files moved onto one name overwrite each other.
            "move" if wild || sw("/y") => {
                (Delete, wild, "moves files, overwriting the destination")
            }
            "move" | "copy" | "xcopy" | "mkdir" | "md" | "ren" | "rename" => {
                (Write, false, "copies, moves or creates files")
            }
            "robocopy" if sw("/mir") || sw("/purge") => {
                (Delete, true, "mirrors, deleting extra files")
            }
            "robocopy" => (Write, false, "copies files"),
            "format" => (Delete, true, "formats a drive"),
            "icacls" | "cacls" | "takeown" => (Permissions, false, "changes file permissions"),
            "net" => net(&args),
            "reg" if args.first().is_some_and(|a| a == "query") => (Read, false, "only reads"),
            "reg" if args.first().is_some_and(|a| a == "delete") => {
                (Delete, false, "deletes registry keys")
            }
            "reg" if args.first().is_some_and(|a| a == "add") => {
                (Write, false, "changes the registry")
            }
            "dir" | "type" | "echo" | "where" | "ver" | "cd" | "chdir" | "findstr" | "find"
            | "tree" | "whoami" | "hostname" | "ipconfig" | "tasklist" | "systeminfo" | "more"
            | "set" | "vol" => (Read, false, "only reads"),
            "taskkill" | "shutdown" => (Write, false, "stops processes or the machine"),
            _ => (Unknown, false, "a Windows command airlock does not know"),
        };
        say(out, cmd, "cmd", &name, v);
        win_redirect(cmd, out);
    }
    if !any {
        say(
            out,
            text,
            "cmd",
            "/c",
            (Unknown, false, "runs nothing airlock can see"),
        );
    }
}

/// `net`: listing is a read; accounts, groups and password policy are permissions;
/// services and shares are changes.
fn net(args: &[String]) -> Verdict {
    let sub = args.first().map_or("", String::as_str);
    match (sub, args.len()) {
        ("view" | "statistics" | "config" | "", _)
        | ("user" | "localgroup" | "group" | "accounts" | "use" | "share" | "session", 1) => {
            (Read, false, "only reads")
        }
        ("user" | "localgroup" | "group" | "accounts", _) => (
            Permissions,
            false,
            "changes accounts, groups or password policy",
        ),
        ("stop" | "start" | "pause" | "continue" | "use" | "share" | "session", _) => {
            (Write, false, "changes services, shares or sessions")
        }
        _ => unknown(),
    }
}

/// A `>` or `>>` in a Windows command writes a file; onto a system file, `>`
/// destroys its content.
fn win_redirect(cmd: &str, out: &mut Findings) {
    let Some((_, after)) = cmd.split_once('>') else {
        return;
    };
    let append = after.starts_with('>');
    let target = win_words(after.trim_start_matches('>'))
        .into_iter()
        .next()
        .unwrap_or_default();
    let lower = target.to_ascii_lowercase();
    if lower == "nul" || lower.is_empty() {
        return;
    }
    let system = lower.contains("\\windows\\") || lower.contains("\\system32\\");
    let (effect, why) = match (append, system) {
        (false, true) => (Delete, "`>` replaces a system file"),
        (true, _) => (Write, "`>>` appends to a file"),
        (false, false) => (Write, "`>` writes a file"),
    };
    out.part(Part::new(clip(cmd), effect, why).operation("cmd:redirect"));
    out.target(file_target(&target));
}

/// Windows words: split on blanks outside double quotes, quotes removed.
fn win_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let (mut cur, mut quoted, mut started) = (String::new(), false, false);
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    words.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            c => {
                cur.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(cur);
    }
    words
}

#[cfg(test)]
mod tests {
    use crate::Findings;
    use crate::shell::{Walker, classify};
    use airlock_model::Effect::{self, Delete, Permissions, Read, Unknown, Write};

    /// Calls this module directly, for commands `commands.rs` does not route here yet.
    fn direct(base: &str, rest: &[&str]) -> Findings {
        let mut out = Findings::default();
        let text = rest.join(" ");
        assert!(
            super::classify(&Walker::new(0), base, rest, &text, &mut out),
            "{base} {text}"
        );
        out
    }

    fn check(cmd: &str, effect: Effect, bulk: Option<bool>) {
        let f = classify(cmd);
        assert_eq!(f.effect(), effect, "{cmd}: {:#?}", f.parts);
        if let Some(b) = bulk {
            assert_eq!(f.bulk(), b, "{cmd}: bulk {:#?}", f.parts);
        }
    }

    #[test]
    fn migration_tools_and_npx() {
        check("npx prisma migrate reset --force", Delete, Some(true));
        check("npx -y prisma@5.2.0 migrate status", Read, None);
        check("npx prisma db push --accept-data-loss", Delete, Some(false));
        check("npx prisma db push", Write, None);
        check("npx prisma frobnicate", Unknown, None);
        check(
            "npx drizzle-kit push --force --config=drizzle.config.ts",
            Delete,
            None,
        );
        check("npx sequelize-cli db:migrate:undo:all", Delete, Some(true));
        check("npx typeorm query 'DROP TABLE users'", Delete, None);
        check("npx knex migrate:rollback", Delete, Some(false));
        check("npx knex migrate:rollback --all", Delete, Some(true));
        check("npx -y @someone/unknown-cli@latest init", Unknown, None);
        check("npx -p evil prisma migrate status", Unknown, None);
        check("npx --package=aws-cdk cdk diff", Read, None);
        check("bunx tsc --noEmit", Write, None);
        check("php artisan migrate:fresh --force", Delete, Some(true));
        check("php artisan migrate:status", Read, None);
        check("php artisan tinker", Unknown, None);
        check("dotnet ef database update 0", Delete, Some(true));
        check("dotnet ef database update", Write, None);
        check(
            "dotnet ef migrations add AddOrders --project src/Data",
            Write,
            None,
        );
        check("dotnet run", Unknown, None);
    }

    #[test]
    fn platform_clis() {
        check("supabase db reset --linked", Delete, Some(true));
        check("supabase db push", Write, None);
        check(
            "firebase firestore:delete --all-collections --force",
            Delete,
            Some(true),
        );
        check("firebase firestore:delete users/alice", Delete, Some(false));
        check(
            "heroku pg:reset DATABASE_URL --app prod-app --confirm prod-app",
            Delete,
            Some(true),
        );
        check(
            "heroku access:add a@example.com --app prod-app",
            Permissions,
            None,
        );
        check("heroku ps:scale web=0 -a prod-app", Delete, None);
        check("heroku run bash --app prod-app", Unknown, None);
        check(
            "heroku --app prod-app pg:reset DATABASE_URL",
            Delete,
            Some(true),
        );
        check("heroku ps:scale web=0:basic -a prod-app", Delete, None);
        check("gh --version", Read, None);
        check("heroku run -a prod-app rm -rf /app/tmp", Delete, Some(true));
        check("heroku pg:psql -a x -c 'SELECT 1'", Read, None);
        check("vercel --prod", Write, None);
        check("vercel env rm API_KEY production --yes", Delete, None);
        check("fly apps destroy prod-api --yes", Delete, Some(true));
        check("fly volumes destroy vol_1 --yes", Delete, Some(false));
        check("flyctl status -a prod-api", Read, None);
        check("fly ssh console -C 'rm -rf /data'", Delete, None);
        check("wp plugin list", Read, None);
        check("wp db reset --yes", Delete, Some(true));
        check(
            "wp post delete $(wp post list --format=ids) --force",
            Delete,
            Some(true),
        );
        check("wp post delete 12", Delete, Some(false));
        check(
            "wp user create agent a@example.com --role=administrator",
            Permissions,
            None,
        );
        check("wp db query 'DELETE FROM wp_posts'", Delete, Some(true));
        check("pulumi preview --stack prod", Read, None);
        check("pulumi destroy --yes --stack prod", Delete, Some(true));
        check("pulumi stack rm prod --force --yes", Delete, None);
        check("cdk destroy X --force && cdk deploy X", Delete, Some(true));
        check("cdk synth", Write, None);
        check("sls remove --stage prod", Delete, Some(true));
        check("sst remove --stage prod", Delete, Some(true));
    }

    #[test]
    fn data_store_tools() {
        check(
            "mongorestore --drop --uri mongodb://prod-mongo-1 dump/",
            Delete,
            Some(true),
        );
        check(
            "mongodump --uri mongodb://h/app --out /backups/x",
            Write,
            None,
        );
        check("pg_dump -h prod-db -U app app", Read, None);
        check("pg_dump -h prod-db -f out.sql app", Write, None);
        check(
            "pg_restore --clean --if-exists -d app backup.dump",
            Delete,
            Some(true),
        );
        check("pg_restore -Fc -d app backup.dump", Write, None);
        check("dropdb -h prod-db prod_analytics", Delete, Some(true));
        check("dropdb help", Delete, Some(true));
        check("dropdb -f prod", Delete, Some(true));
        check("createuser -h db agent", Permissions, None);
        check("mysqladmin -u root -f drop prod", Delete, Some(true));
        check("mysqladmin -u root status", Read, None);
        check("mysqladmin -u root password s3cret", Permissions, None);
        check("mysqldump --all-databases -r all.sql", Write, None);
        check(
            "cqlsh prod-cassandra-1 -e 'DROP KEYSPACE prod;'",
            Delete,
            Some(true),
        );
        check(
            "cqlsh h -e 'DESCRIBE KEYSPACES; SELECT * FROM ks.t'",
            Read,
            None,
        );
        check("cqlsh h", Unknown, None);
        check("etcdctl del --prefix /registry/", Delete, Some(true));
        check("etcdctl del /a", Delete, Some(false));
        check("etcdctl get / --prefix --keys-only", Read, None);
        check("etcdctl user grant-role agent root", Permissions, None);
        check(
            "kafka-topics --bootstrap-server k:9092 --delete --topic orders",
            Delete,
            Some(true),
        );
        check("kafka-topics --bootstrap-server k:9092 --list", Read, None);
        check("kafka-acls --bootstrap-server k:9092 --list", Read, None);
        check(
            "kafka-acls --bootstrap-server k:9092 --add --allow-principal User:a",
            Permissions,
            None,
        );
        check(
            "kafka-consumer-groups --bootstrap-server k:9092 --group g --reset-offsets --to-earliest --execute --topic t",
            Write,
            None,
        );
        check(
            "kafka-consumer-groups --bootstrap-server k:9092 --group g --reset-offsets --to-earliest --topic t",
            Read,
            None,
        );
        let f = direct(
            "kafka-topics.sh",
            &["--bootstrap-server", "k:9092", "--delete", "--topic", "t"],
        );
        assert_eq!((f.effect(), f.bulk()), (Delete, true), "{f:?}");
        assert!(
            f.targets
                .iter()
                .any(|t| t.kind == "kafka:topic" && t.host.as_deref() == Some("k"))
        );
        check("rabbitmqctl purge_queue payments", Delete, Some(true));
        check(
            "rabbitmqctl set_permissions -p / agent '.*' '.*' '.*'",
            Permissions,
            None,
        );
        check("rabbitmqctl list_queues", Read, None);
    }

    #[test]
    fn github_cli() {
        check("gh pr list --state open", Read, None);
        check(
            "gh pr create --title 'Delete DELETE' --body 'drops'",
            Write,
            None,
        );
        check("gh pr merge 1234 --squash", Write, None);
        check("gh pr merge 1234 --squash --delete-branch", Delete, None);
        check("gh pr merge 1234 -d", Delete, None);
        check("gh repo delete acme/prod-infra --yes", Delete, Some(true));
        check("gh repo edit acme/x --visibility public", Permissions, None);
        check("gh ssh-key add k.pub --title laptop", Permissions, None);
        check(
            "gh repo deploy-key add deploy.pub --repo acme/api",
            Permissions,
            None,
        );
        check("gh workflow run deploy.yml", Unknown, None);
        check("gh frob", Unknown, None);
        check("gh api repos/acme/api/pulls", Read, None);
        check("gh api repos/acme/api/issues -f title=x", Write, None);
        check(
            "gh api -X DELETE repos/acme/api/git/refs/heads/x",
            Delete,
            Some(false),
        );
        check("gh api -X DELETE repos/acme/api", Delete, Some(true));
        check(
            "gh api -X PUT repos/acme/api/collaborators/bob -f permission=admin",
            Permissions,
            None,
        );
        check(
            "gh api -X DELETE repos/acme/api/branches/main/protection",
            Permissions,
            None,
        );
        check(
            "gh api -X PATCH repos/acme/api -f visibility=public",
            Permissions,
            None,
        );
        check(
            "gh api graphql -f query='mutation { deleteRepository }'",
            Unknown,
            None,
        );
        let f = classify("gh api -X DELETE repos/acme/api/git/refs/heads/x");
        assert!(
            f.targets
                .iter()
                .any(|t| t.kind == "github:repo" && t.name == "acme/api")
        );
    }

    #[test]
    fn infrastructure_and_os() {
        check("crictl ps", Read, None);
        check("crictl rmi --prune", Delete, Some(true));
        check("crictl rm abc", Delete, Some(false));
        check("lvremove -f /dev/vg0/data", Delete, Some(true));
        check("lvcreate -L 10G -n data vg0", Write, None);
        check("zfs destroy -r tank/backups", Delete, Some(true));
        check("zfs destroy tank/data@snap1", Delete, Some(false));
        check("zfs list -t snapshot", Read, None);
        check("zpool destroy tank", Delete, Some(true));
        check("umount /mnt/data", Write, None);
        check("mount", Read, None);
        check("sudo setenforce 0", Permissions, None);
        check("semanage fcontext -l", Read, None);
        check(
            "semanage port -a -t http_port_t -p tcp 8080",
            Permissions,
            None,
        );
        let f = direct(
            "terragrunt",
            &["run-all", "destroy", "--terragrunt-non-interactive"],
        );
        assert_eq!((f.effect(), f.bulk()), (Delete, true), "{f:?}");
        let f = direct("terragrunt", &["run", "--all", "--", "plan"]);
        assert_eq!(f.effect(), Read, "{f:?}");
    }

    #[test]
    fn wrappers_hide_nothing() {
        check("parallel rm -rf ::: build dist .cache", Delete, Some(true));
        check("parallel -j4 'wc -l {}' ::: a b", Read, None);
        check("parallel --dry-run rm ::: a", Read, None);
        check("ls | parallel", Unknown, None);
        check(
            "ansible prod -i hosts -m shell -a 'rm -rf /var/cache/app/*'",
            Delete,
            Some(true),
        );
        check("ansible all -i hosts -m ping", Read, None);
        check(
            "ansible all -m user -a 'name=bob state=absent'",
            Permissions,
            None,
        );
        check(
            "ansible all -m file -a 'path=/srv/x state=absent'",
            Delete,
            None,
        );
        check("ansible all -m community.general.frob", Unknown, None);
        check(
            "ansible-playbook -i inventories/prod site.yml",
            Unknown,
            None,
        );
        check("salt '*' cmd.run 'systemctl restart nginx'", Write, None);
        check("salt '*' cmd.run 'rm -rf /srv'", Delete, None);
        check("salt '*' state.apply", Unknown, None);
        check("salt '*' test.ping", Read, None);
        check(
            "script -q /dev/null -c 'rm -rf ~/Downloads/tmp'",
            Delete,
            Some(true),
        );
        check("script", Unknown, None);
        check(r#"cmd.exe /c "rmdir /s /q D:\\""#, Delete, Some(true));
        check(
            r#"cmd.exe /c "move * \"..\\proj dir\"""#,
            Delete,
            Some(true),
        );
        check(r#"cmd /c "dir C:\\ & type a.txt""#, Read, None);
        check(r#"cmd /c "del /q C:\\tmp\\x.log""#, Delete, Some(false));
        check("cmd.exe", Unknown, None);
        check(
            r#"cmd /c "echo x > C:\Windows\System32\drivers\etc\hosts""#,
            Delete,
            None,
        );
        check(r#"cmd /c "dir >> list.txt""#, Write, None);
        check(r#"cmd /c "net user agent P@ss /add""#, Permissions, None);
        check(r#"cmd /c "net stop spooler""#, Write, None);
        check("parallel rm :::: files.txt", Delete, None);
        // `pnpm dlx` and `yarn dlx` are routed here as `npx`.
        let f = direct("npx", &["prisma", "migrate", "reset", "--force"]);
        assert_eq!((f.effect(), f.bulk()), (Delete, true), "{f:?}");
        check("cmd /c frobnicate", Unknown, None);
    }

    #[test]
    fn hostile_words_do_not_panic() {
        for cmd in [
            "gh api",
            "gh api -X",
            "npx",
            "npx -p",
            "npx --package=",
            "parallel :::",
            "ansible",
            "ansible -m",
            "salt",
            "salt-call",
            "cmd /c",
            "cmd /c \"",
            "cqlsh -e ';;;'",
            "mysqladmin drop",
            "heroku",
            "heroku run",
            "fly",
            "wp",
            "etcdctl",
            "terragrunt run --all",
            "dotnet ef database update",
            "zfs destroy",
            "crictl exec",
            "gh api 'https://api.github.com/repos/ä/ö'",
            "npx @",
            "npx @@@",
            "mongodump --uri ://@",
        ] {
            let _ = classify(cmd);
        }
    }
}
