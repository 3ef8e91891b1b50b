//! What commands do: the knowledge of the tools agents run on infrastructure.
//!
//! Each family reads the command's words and reports parts with an effect and a
//! reason. Wrappers (`sudo`, `env`, `timeout`, `xargs`, `find -exec`, `bash -c`,
//! `ssh`, `kubectl exec`, `docker exec`) hand the wrapped command back to the
//! classifier. A command not known here is `unknown`.

use airlock_model::{Effect, Target};

use crate::shell::{
    Arg, Stdin, Walker, access_control_file, clip, file_target, is_block_device, surely_exists,
};
use crate::{Findings, Part, aws, gcloud, k8s, sql, tools};

use Effect::{Delete, Permissions, Read, Unknown, Write};

/// The words of one command, with helpers for flags and positionals.
struct Cmd<'a> {
    args: &'a [Arg],
    text: String,
}

impl<'a> Cmd<'a> {
    fn new(args: &'a [Arg]) -> Cmd<'a> {
        let text = args
            .iter()
            .map(|a| a.raw.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        Cmd {
            args,
            text: clip(&text),
        }
    }

    /// The words after the command name.
    fn rest(&self) -> Vec<&'a str> {
        self.args.iter().skip(1).map(Arg::text).collect()
    }

    fn part(&self, out: &mut Findings, effect: Effect, why: impl Into<String>) -> usize {
        out.part(Part::new(self.text.clone(), effect, why));
        out.parts.len() - 1
    }
}

/// Any of the long flags, or the short flag letter inside a `-xyz` cluster.
fn has_flag(words: &[&str], short: Option<char>, long: &[&str]) -> bool {
    words.iter().take_while(|w| **w != "--").any(|w| {
        long.iter()
            .any(|l| *w == *l || w.strip_prefix(l).is_some_and(|r| r.starts_with('=')))
            || short
                .is_some_and(|c| w.starts_with('-') && !w.starts_with("--") && w[1..].contains(c))
    })
}

/// The value of an option: `-o VALUE`, `-oVALUE`, `--opt VALUE`, `--opt=VALUE`.
fn opt_value<'a>(words: &[&'a str], names: &[&str]) -> Option<&'a str> {
    let mut it = words.iter();
    while let Some(w) = it.next() {
        for n in names {
            if w == n {
                return it.next().copied();
            }
            if let Some(v) = w.strip_prefix(n) {
                if n.starts_with("--") && v.starts_with('=') {
                    return Some(&v[1..]);
                }
                if !n.starts_with("--") && n.len() == 2 && !v.is_empty() {
                    return Some(v);
                }
            }
        }
    }
    None
}

/// Words that are not options (and not the values of the given options).
fn positionals<'a>(words: &[&'a str], with_value: &[&str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut skip = false;
    let mut after_dashes = false;
    for w in words {
        if skip {
            skip = false;
            continue;
        }
        if after_dashes {
            out.push(*w);
        } else if *w == "--" {
            after_dashes = true;
        } else if w.starts_with('-') && w.len() > 1 {
            skip = with_value.contains(w);
        } else {
            out.push(*w);
        }
    }
    out
}

fn literal_args(words: &[&str]) -> Vec<Arg> {
    words
        .iter()
        .map(|w| Arg {
            literal: Some((*w).to_owned()),
            raw: (*w).to_owned(),
        })
        .collect()
}

/// Classifies one simple command. Every part it yields names the command that does
/// it; a wrapper's inner command names itself first (`sudo rm` → `rm`).
pub(crate) fn classify(
    w: &Walker,
    args: &[Arg],
    stdin: Option<&Stdin>,
    file_stdin: bool,
    out: &mut Findings,
) {
    /// Wrappers (`sudo`, `env`, `timeout`, `xargs`, …) around one command.
    const MAX_WRAPPERS: usize = 16;
    let before = out.parts.len();
    if w.wrapped.get() >= MAX_WRAPPERS {
        out.part(Part::new(
            clip(
                &args
                    .iter()
                    .map(|a| a.raw.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Unknown,
            "commands wrapped too deeply to follow",
        ));
        return;
    }
    w.wrapped.set(w.wrapped.get() + 1);
    dispatch(w, args, stdin, file_stdin, out);
    w.wrapped.set(w.wrapped.get().saturating_sub(1));
    // Arguments produced at run time (`rm $(ls)`, xargs' input) name any number of
    // targets.
    if args.iter().skip(1).any(|a| {
        a.literal.is_none()
            && (a.raw.contains("$(") || a.raw.contains('`') || a.raw == "<stdin items>")
    }) {
        crate::shell::repeated(out, before, "over targets listed at run time");
    }
    let name = args.first().and_then(|a| a.literal.as_deref());
    if let Some(name) = name {
        let base = name.rsplit('/').next().unwrap_or(name);
        for p in out.parts.iter_mut().skip(before) {
            if p.tool.is_none() {
                p.tool = Some(base.to_owned());
            }
        }
    }
}

fn dispatch(w: &Walker, args: &[Arg], stdin: Option<&Stdin>, file_stdin: bool, out: &mut Findings) {
    let c = Cmd::new(args);
    let Some(name) = args.first().and_then(|a| a.literal.as_deref()) else {
        c.part(out, Unknown, "the command name is computed at run time");
        return;
    };
    let base = name.rsplit('/').next().unwrap_or(name);
    let rest = c.rest();
    match base {
        // Shell built-ins and plain readers.
        "ls" | "cat" | "head" | "tail" | "less" | "more" | "grep" | "egrep" | "fgrep" | "rg"
        | "ag" | "ack" | "wc" | "sort" | "uniq" | "cut" | "tr" | "echo" | "printf" | "pwd"
        | "whoami" | "id" | "date" | "uname" | "hostname" | "which" | "type" | "file" | "stat"
        | "du" | "df" | "ps" | "pgrep" | "top" | "htop" | "free" | "uptime" | "diff" | "cmp"
        | "comm" | "md5sum" | "sha1sum" | "sha256sum" | "shasum" | "base64" | "jq" | "yq"
        | "tree" | "realpath" | "readlink" | "dirname" | "basename" | "test" | "[" | "true"
        | "false" | ":" | "sleep" | "seq" | "yes" | "nl" | "column" | "fold" | "expand" | "rev"
        | "tac" | "od" | "xxd" | "hexdump" | "strings" | "nslookup" | "dig" | "host" | "ping"
        | "traceroute" | "netstat" | "ss" | "lsof" | "history" | "man" | "help" | "whatis"
        | "apropos" | "locate" | "fd" | "fzf" | "bat" | "cd" | "pushd" | "popd" | "export"
        | "set" | "unset" | "alias" | "read" | "wait" | "jobs" | "shift" | "return" | "exit"
        | "break" | "continue" | "getent" | "groups" | "last" | "w" | "who" | "lscpu" | "lsblk"
        | "lsmod" | "printenv" | "vmstat" | "iostat" | "dmesg" | "journalctl" | "nproc"
        | "arch" | "cal" | "bc" | "expr" | "sha512sum" | "xmllint" | "tput" | "clear" | "stty"
        | "locale" | "tee" | "sed" | "awk" | "gawk" | "nc" | "openssl" | "gpg" | "zcat"
        | "zgrep" | "gunzip" | "gzip" | "tar" | "zip" | "unzip" | "wget" | "curl" | "http"
        | "https" => readers(&c, base, &rest, out),
        "rm" | "rmdir" | "unlink" | "shred" | "srm" | "wipe" | "wipefs" | "truncate" | "dd"
        | "fdisk" | "sfdisk" | "parted" | "sgdisk" | "gdisk" | "blkdiscard" => {
            destroyers(&c, base, &rest, out)
        }
        _ if base.starts_with("mkfs") => {
            let i = c.part(
                out,
                Delete,
                format!("`{base}` makes a new filesystem, destroying what was on the device"),
            );
            out.parts[i].bulk = true;
        }
        "touch" | "mkdir" | "cp" | "ln" | "install" | "mktemp" | "rsync" | "scp" | "mv"
        | "rename" | "patch" => movers(&c, base, &rest, out),
        "chmod" | "chown" | "chgrp" | "setfacl" | "chattr" | "chcon" | "setcap" | "usermod"
        | "useradd" | "userdel" | "groupadd" | "groupdel" | "gpasswd" | "passwd" | "chpasswd"
        | "visudo" | "ssh-copy-id" | "su" | "newgrp" => {
            // Removing an account also changes who can do what, the more severe part
            // (`userdel -r` deleting the home directory is reported with it).
            let effect = Permissions;
            let i = c.part(out, effect, format!("`{base}` changes who can do what"));
            out.parts[i].bulk = has_flag(&rest, Some('R'), &["--recursive"]);
            for p in positionals(&rest, &["-m", "-g", "-G", "-s", "-u", "-d"])
                .into_iter()
                .skip(usize::from(matches!(
                    base,
                    "chmod" | "chown" | "chgrp" | "setfacl"
                )))
            {
                out.target(file_target(p));
            }
        }
        "sudo" | "doas" => wrapper(
            w,
            &c,
            &rest,
            &[
                "-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "--user", "--group",
            ],
            stdin,
            file_stdin,
            out,
            "a root shell",
        ),
        "nice" | "ionice" | "nohup" | "time" | "stdbuf" | "setsid" | "chronic" | "unbuffer"
        | "caffeinate" | "command" | "builtin" | "exec" | "env" | "timeout" | "watch" | "flock"
        | "doppler" | "op" | "aws-vault" => wrappers(w, &c, base, &rest, stdin, file_stdin, out),
        "xargs" => {
            let cmd = positionals_for_wrapper(
                &rest,
                &[
                    "-n",
                    "-I",
                    "-i",
                    "-P",
                    "-d",
                    "-L",
                    "-l",
                    "-s",
                    "-a",
                    "-E",
                    "-e",
                    "--max-args",
                    "--replace",
                    "--max-procs",
                    "--delimiter",
                    "--arg-file",
                ],
            );
            if cmd.is_empty() {
                c.part(out, Read, "`xargs` without a command echoes its input");
            } else {
                let mut inner = literal_args(cmd);
                inner.push(Arg {
                    literal: None,
                    raw: "<stdin items>".into(),
                });
                classify(w, &inner, None, false, out);
            }
        }
        "find" => find(w, &c, &rest, out),
        "bash" | "sh" | "zsh" | "dash" | "ksh" | "fish" | "ash" | "busybox" => {
            shells(w, &c, base, args, stdin, file_stdin, out)
        }
        "trap" => match rest.first() {
            // `trap 'CMD' SIGNALS…`: CMD runs later, on the signal or at exit.
            Some(cmd) if rest.len() >= 2 && !cmd.starts_with('-') => {
                out.extend(w.script(cmd));
            }
            _ => {
                c.part(out, Read, "lists or resets signal handlers");
            }
        },
        "eval" => {
            c.part(out, Unknown, "`eval` runs text built at run time");
        }
        "source" | "." => {
            c.part(out, Unknown, "runs a script airlock has not read");
        }
        "ssh" => ssh(w, &c, &rest, out),
        "psql" | "mysql" | "mariadb" | "sqlite3" | "clickhouse-client" | "cockroach" => {
            sql_client(&c, base, &rest, stdin, file_stdin, out)
        }
        "git" => git(w, &c, &rest, out),
        "kubectl" | "oc" | "k" => kubectl(w, &c, &rest, stdin, out),
        "helm" => helm(&c, &rest, out),
        "terragrunt"
            if rest.first() == Some(&"run-all")
                || (rest.first() == Some(&"run") && rest.contains(&"--all")) =>
        {
            if !tools::classify(w, base, &rest, &c.text, out) {
                c.part(out, Unknown, "a terragrunt command airlock does not know");
            }
        }
        "terraform" | "tofu" | "terragrunt" => terraform(&c, &rest, out),
        "pnpm" | "yarn" | "bun" | "npm"
            if matches!(
                (base, rest.first().copied()),
                ("pnpm", Some("dlx" | "exec"))
                    | ("yarn", Some("dlx"))
                    | ("bun", Some("x"))
                    | ("npm", Some("exec" | "x"))
            ) =>
        {
            // `pnpm dlx PKG …` is `npx PKG …`.
            if !tools::classify(w, "npx", &rest[1..], &c.text, out) {
                c.part(out, Unknown, "runs a package airlock does not know");
            }
        }
        "docker" | "podman" | "nerdctl" => containers(w, &c, &rest, out),
        "docker-compose" => containers(
            w,
            &c,
            &["compose"]
                .into_iter()
                .chain(rest.iter().copied())
                .collect::<Vec<_>>(),
            out,
        ),
        "redis-cli" | "valkey-cli" => redis(&c, &rest, stdin, out),
        "mongosh" | "mongo" => mongo(&c, &rest, stdin, out),
        "aws" => out.extend(aws::classify_at(w.depth, &rest)),
        "gcloud" => out.extend(gcloud::classify_gcloud_at(w.depth, &rest)),
        "az" => out.extend(gcloud::classify_az_at(w.depth, &rest)),
        "bq" => out.extend(gcloud::classify_bq(&rest)),
        "gsutil" => gsutil(&c, &rest, out),
        "apt" | "apt-get" | "yum" | "dnf" | "apk" | "brew" | "pip" | "pip3" | "pipx" | "uv"
        | "npm" | "yarn" | "pnpm" | "bun" | "gem" | "cargo" | "go" | "poetry" | "composer"
        | "conda" | "mamba" | "snap" | "dpkg" | "rpm" => packages(&c, base, &rest, out),
        "make" | "cmake" | "ninja" | "mvn" | "gradle" | "gradlew" | "./gradlew" | "bazel"
        | "pytest" | "tox" | "nox" | "jest" | "vitest" | "tsc" | "eslint" | "prettier"
        | "black" | "ruff" | "rustfmt" | "gofmt" | "mypy" | "rustc" | "gcc" | "g++" | "clang"
        | "javac" => {
            if matches!(
                base,
                "mvn" | "gradle" | "gradlew" | "./gradlew" | "make" | "bazel"
            ) && rest
                .iter()
                .any(|r| matches!(*r, "clean" | "distclean" | "clobber" | "expunge"))
            {
                c.part(
                    out,
                    Delete,
                    format!("`{base} clean` deletes the build outputs"),
                );
            } else {
                c.part(
                    out,
                    Write,
                    format!(
                        "`{base}` builds, checks or tests the project in the working directory"
                    ),
                );
            }
        }
        "python" | "python3" | "node" | "ruby" | "perl" | "php" | "deno" | "java" | "dotnet"
        | "Rscript" | "lua" => interpreters(w, &c, base, &rest, out),
        "rails" | "rake" | "bundle" | "alembic" | "flyway" | "liquibase" | "mix"
        | "django-admin" | "manage.py" => frameworks(w, &c, base, &rest, out),
        "systemctl" | "service" => services(&c, &rest, out),
        "kill" | "pkill" | "killall" => {
            c.part(out, Write, "stops processes");
        }
        "reboot" | "shutdown" | "halt" | "poweroff" => {
            c.part(
                out,
                Write,
                "stops the machine (disruptive, no data destroyed)",
            );
        }
        "crontab" => {
            let effect = if has_flag(&rest, Some('r'), &[]) {
                Delete
            } else if has_flag(&rest, Some('l'), &[]) {
                Read
            } else {
                Write
            };
            let i = c.part(out, effect, "edits scheduled jobs");
            // `crontab -r` removes every job at once.
            out.parts[i].bulk = effect == Delete;
        }
        "iptables" | "ip6tables" | "nft" | "ufw" | "firewall-cmd" | "pfctl" => {
            let listing = has_flag(
                &rest,
                Some('L'),
                &["--list", "--list-all", "list", "status"],
            ) || rest.first().is_some_and(|r| *r == "status" || *r == "list");
            let effect = if listing { Read } else { Permissions };
            let i = c.part(out, effect, "changes who can reach what over the network");
            // Flushing drops every rule of the chain or table.
            out.parts[i].bulk = effect == Permissions
                && has_flag(&rest, Some('F'), &["--flush", "flush", "reset", "--reset"]);
        }
        "vault" => {
            let verb = rest.first().copied().unwrap_or("");
            let effect = match verb {
                "read" | "list" | "status" | "version" | "login" => Read,
                "delete" | "destroy" => Delete,
                "policy" | "auth" | "token" => Permissions,
                "write" | "kv" => {
                    if rest
                        .get(1)
                        .is_some_and(|s| matches!(*s, "get" | "list" | "metadata"))
                    {
                        Read
                    } else if rest
                        .get(1)
                        .is_some_and(|s| matches!(*s, "delete" | "destroy"))
                    {
                        Delete
                    } else {
                        Write
                    }
                }
                _ => Unknown,
            };
            c.part(out, effect, format!("`vault {verb}`"));
        }
        _ if base.starts_with("kafka-")
            && base.ends_with(".sh")
            && tools::classify(w, base, &rest, &c.text, out) => {}
        _ if base.ends_with(".sh")
            || base.ends_with(".py")
            || base.ends_with(".rb")
            || base.ends_with(".pl")
            || name.starts_with("./") =>
        {
            c.part(
                out,
                Unknown,
                format!("runs {name}, which airlock has not read"),
            );
        }
        _ => {
            if !tools::classify(w, base, &rest, &c.text, out) {
                c.part(
                    out,
                    Unknown,
                    format!("airlock does not know what `{base}` does"),
                );
            }
        }
    }
}

/// The index of the first word after a command's leading options: options listed in
/// `with_value` take the next word too, `--` ends the options (and is skipped), and a
/// lone `-` is not an option.
fn skip_options(words: &[&str], with_value: &[&str]) -> usize {
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        if w == "--" {
            return i + 1;
        }
        if !w.starts_with('-') || w == "-" {
            return i;
        }
        i += if with_value.contains(&w) { 2 } else { 1 };
    }
    words.len()
}

/// The command words of a wrapper: what follows its options.
fn positionals_for_wrapper<'a, 'w>(words: &'w [&'a str], with_value: &[&str]) -> &'w [&'a str] {
    words.get(skip_options(words, with_value)..).unwrap_or(&[])
}

fn readers(c: &Cmd, base: &str, rest: &[&str], out: &mut Findings) {
    match base {
        "journalctl"
            if rest
                .iter()
                .any(|r| r.starts_with("--vacuum") || *r == "--rotate") =>
        {
            let i = c.part(out, Delete, "`journalctl --vacuum-*` deletes archived logs");
            out.parts[i].bulk = true;
        }
        "unzip" if has_flag(rest, Some('o'), &[]) => {
            c.part(
                out,
                Delete,
                "`unzip -o` overwrites existing files without asking",
            );
        }
        "tar"
            if rest.first().is_some_and(|f| {
                !f.starts_with("--") && f.trim_start_matches('-').contains('x')
            }) || has_flag(rest, None, &["--extract", "--get"]) =>
        {
            let dir = opt_value(rest, &["-C", "--directory"]).unwrap_or(".");
            if dir == "/" || surely_exists(&format!("{}/", dir.trim_end_matches('/'))) {
                let i = c.part(
                    out,
                    Delete,
                    format!("extracting into {dir} overwrites existing system files"),
                );
                out.parts[i].bulk = dir == "/";
            } else {
                c.part(out, Write, format!("extracts files into {dir}"));
            }
            out.target(file_target(dir));
        }
        "tee" => {
            let files = positionals(rest, &[]);
            if files.is_empty() {
                c.part(out, Read, "copies its input to its output");
            } else {
                let overwrites = !has_flag(rest, Some('a'), &["--append"])
                    && files.iter().any(|f| surely_exists(f));
                let effect = if files.iter().any(|f| is_block_device(f)) || overwrites {
                    Delete
                } else {
                    Write
                };
                c.part(out, effect, "writes its input to files");
                for f in files {
                    out.target(file_target(f));
                }
            }
        }
        "sed" => {
            if has_flag(rest, Some('i'), &["--in-place"]) {
                c.part(out, Write, "`sed -i` edits files in place");
            } else {
                c.part(out, Read, "`sed` prints the edited text");
            }
        }
        "awk" | "gawk" => {
            let program = rest
                .iter()
                .find(|r| !r.starts_with('-'))
                .copied()
                .unwrap_or("");
            if program.contains("system(")
                || program.contains('>')
                || program.contains("| getline")
                || program.contains("|&")
            {
                c.part(
                    out,
                    Unknown,
                    "the awk program runs commands or writes files",
                );
            } else if has_flag(rest, Some('i'), &[]) {
                c.part(out, Write, "edits files in place");
            } else {
                c.part(out, Read, "`awk` prints what it computes");
            }
        }
        "curl" | "wget" | "http" | "https" => http(c, base, rest, out),
        "nc" => {
            c.part(out, Unknown, "`nc` sends arbitrary data over the network");
        }
        "gzip" | "gunzip" | "zip" | "unzip" | "tar" => {
            let extract_or_create = match base {
                "tar" => {
                    rest.first()
                        .is_some_and(|f| f.trim_start_matches('-').contains(['x', 'c', 'r', 'u']))
                        || has_flag(
                            rest,
                            None,
                            &["--extract", "--create", "--append", "--delete"],
                        )
                }
                "zcat" => false,
                _ => {
                    !has_flag(rest, Some('l'), &["--list"])
                        && !has_flag(rest, Some('t'), &["--test"])
                        && !has_flag(rest, Some('c'), &["--stdout"])
                }
            };
            if base == "tar" && has_flag(rest, None, &["--delete"]) {
                c.part(
                    out,
                    Delete,
                    "`tar --delete` removes members from an archive",
                );
            } else {
                c.part(
                    out,
                    if extract_or_create { Write } else { Read },
                    format!("`{base}` reads or writes archives"),
                );
            }
        }
        "openssl" | "gpg" => {
            let writes = has_flag(
                rest,
                None,
                &[
                    "-out",
                    "--output",
                    "-o",
                    "--gen-key",
                    "--import",
                    "--delete-key",
                    "--delete-secret-key",
                ],
            );
            let deletes = has_flag(
                rest,
                None,
                &[
                    "--delete-key",
                    "--delete-secret-key",
                    "--delete-secret-and-public-key",
                ],
            );
            c.part(
                out,
                if deletes {
                    Delete
                } else if writes {
                    Write
                } else {
                    Read
                },
                format!("`{base}`"),
            );
        }
        "env" | "printenv" => {
            c.part(out, Read, "prints the environment");
        }
        _ => {
            c.part(out, Read, format!("`{base}` only reads"));
        }
    }
}

fn destroyers(c: &Cmd, base: &str, rest: &[&str], out: &mut Findings) {
    match base {
        "dd" => {
            let of = rest.iter().find_map(|a| a.strip_prefix("of="));
            match of {
                Some("/dev/null") => {
                    c.part(out, Read, "`dd` to /dev/null only reads");
                }
                Some(dev) => {
                    let i = c.part(out, Delete, format!("`dd of={dev}` overwrites {dev}"));
                    out.parts[i].bulk = is_block_device(dev);
                    out.target(file_target(dev));
                }
                None => {
                    c.part(out, Read, "`dd` without `of=` writes to standard output");
                }
            }
        }
        "truncate" => {
            let i = c.part(
                out,
                Delete,
                "`truncate` cuts files, destroying their content",
            );
            out.parts[i].operation = Some("truncate".into());
            for p in positionals(rest, &["-s", "--size", "-r", "--reference"]) {
                out.target(file_target(p));
            }
        }
        _ => {
            let recursive = has_flag(rest, Some('r'), &["--recursive"])
                || has_flag(rest, Some('R'), &[])
                || base == "wipefs"
                || base == "blkdiscard";
            let i = c.part(
                out,
                Delete,
                format!(
                    "`{base}` removes or destroys {}",
                    if recursive {
                        "files recursively"
                    } else {
                        "files"
                    }
                ),
            );
            out.parts[i].bulk = recursive
                || rest
                    .iter()
                    .any(|p| matches!(*p, "/" | "/*" | "*" | "~" | ".") || is_block_device(p));
            out.parts[i].operation = Some(base.to_owned());
            for p in positionals(rest, &[]) {
                out.target(file_target(p));
            }
        }
    }
}

fn movers(c: &Cmd, base: &str, rest: &[&str], out: &mut Findings) {
    let paths = positionals(
        rest,
        &[
            "-t",
            "--target-directory",
            "-S",
            "--suffix",
            "-m",
            "--mode",
            "-e",
        ],
    );
    let dest = paths.last().copied();
    let effect = match base {
        "rsync"
            if has_flag(
                rest,
                None,
                &[
                    "--delete",
                    "--delete-before",
                    "--delete-after",
                    "--delete-during",
                    "--delete-excluded",
                    "--remove-source-files",
                ],
            ) =>
        {
            Delete
        }
        "mv" | "cp" | "install" | "rsync" | "scp"
            if dest.is_some_and(|d| is_block_device(d) || d == "/dev/null") =>
        {
            Delete
        }
        "mv" | "cp" | "install" if dest.is_some_and(surely_exists) => Delete,
        _ => Write,
    };
    let why = match (base, effect) {
        ("rsync", Delete) => "`rsync --delete` removes files missing from the source".to_owned(),
        (_, Delete) => format!(
            "`{base}` replaces the existing {}",
            dest.unwrap_or("destination")
        ),
        ("mv", _) => "moves files (replacing the destination if it exists)".to_owned(),
        _ => format!("`{base}` creates or copies files"),
    };
    let i = c.part(out, effect, why);
    let whole_tree = paths
        .iter()
        .any(|p| matches!(*p, "~" | "~/" | "/" | "$HOME" | "/home" | "/*" | "*"));
    out.parts[i].bulk = effect == Delete && (base == "rsync" || whole_tree);
    for p in paths {
        out.target(file_target(p));
    }
}

#[allow(clippy::too_many_arguments)]
fn wrapper(
    w: &Walker,
    c: &Cmd,
    rest: &[&str],
    with_value: &[&str],
    stdin: Option<&Stdin>,
    file_stdin: bool,
    out: &mut Findings,
    alone: &str,
) {
    let inner = positionals_for_wrapper(rest, with_value);
    if inner.is_empty() {
        c.part(out, Unknown, format!("opens {alone} airlock cannot follow"));
    } else {
        classify(w, &literal_args(inner), stdin, file_stdin, out);
    }
}

fn wrappers(
    w: &Walker,
    c: &Cmd,
    base: &str,
    rest: &[&str],
    stdin: Option<&Stdin>,
    file_stdin: bool,
    out: &mut Findings,
) {
    match base {
        "env" => {
            let mut i = 0;
            while i < rest.len() {
                let a = rest[i];
                if a == "-u" || a == "--unset" || a == "-C" || a == "--chdir" || a == "-S" {
                    i += 2;
                } else if a.starts_with('-') || a.contains('=') {
                    i += 1;
                } else {
                    break;
                }
            }
            if i >= rest.len() {
                c.part(out, Read, "prints the environment");
            } else {
                classify(w, &literal_args(&rest[i..]), stdin, file_stdin, out);
            }
        }
        "timeout" => {
            let i = skip_options(rest, &["-s", "--signal", "-k", "--kill-after"]);
            // Skip the duration.
            classify_or_nothing(
                w,
                c,
                rest.get(i + 1..).unwrap_or(&[]),
                stdin,
                file_stdin,
                out,
            );
        }
        "watch" => {
            let i = skip_options(rest, &["-n", "--interval", "-d"]);
            let script = rest.get(i..).unwrap_or(&[]).join(" ");
            out.extend(w.script(&script));
        }
        "flock" => classify_or_nothing(w, c, rest.get(1..).unwrap_or(&[]), stdin, file_stdin, out),
        "command" if rest.first().is_some_and(|a| *a == "-v" || *a == "-V") => {
            c.part(out, Read, "looks a command up");
        }
        "nice" => wrapper(
            w,
            c,
            rest,
            &["-n", "--adjustment"],
            stdin,
            file_stdin,
            out,
            "nothing",
        ),
        "ionice" => wrapper(
            w,
            c,
            rest,
            &["-c", "-n", "-p", "-t"],
            stdin,
            file_stdin,
            out,
            "nothing",
        ),
        "stdbuf" => wrapper(
            w,
            c,
            rest,
            &["-i", "-o", "-e"],
            stdin,
            file_stdin,
            out,
            "nothing",
        ),
        "doppler" | "op" | "aws-vault" => {
            // `doppler run -- cmd`, `op run -- cmd`, `aws-vault exec profile -- cmd`.
            match rest.iter().position(|a| *a == "--") {
                Some(i) => classify_or_nothing(w, c, &rest[i + 1..], stdin, file_stdin, out),
                None => {
                    c.part(
                        out,
                        Unknown,
                        format!("`{base}` without `--` runs nothing airlock can see"),
                    );
                }
            }
        }
        _ => wrapper(w, c, rest, &[], stdin, file_stdin, out, "nothing"),
    }
}

fn classify_or_nothing(
    w: &Walker,
    c: &Cmd,
    inner: &[&str],
    stdin: Option<&Stdin>,
    file_stdin: bool,
    out: &mut Findings,
) {
    if inner.is_empty() {
        c.part(out, Unknown, "a wrapper with no command");
    } else {
        classify(w, &literal_args(inner), stdin, file_stdin, out);
    }
}

fn find(w: &Walker, c: &Cmd, rest: &[&str], out: &mut Findings) {
    let mut found = false;
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            "-delete" => {
                let k = c.part(out, Delete, "`find -delete` removes every file it matches");
                out.parts[k].bulk = true;
                found = true;
            }
            "-exec" | "-execdir" | "-ok" | "-okdir" => {
                let end = rest[i + 1..]
                    .iter()
                    .position(|a| *a == ";" || *a == "\\;" || *a == "+")
                    .map_or(rest.len(), |p| i + 1 + p);
                let inner = &rest[i + 1..end];
                if inner.is_empty() {
                    c.part(out, Unknown, "`find -exec` without a command");
                } else {
                    let before = out.parts.len();
                    classify(w, &literal_args(inner), None, false, out);
                    // Run once per match: a destructive command is unbounded.
                    crate::shell::repeated(out, before, "for every file `find` matches");
                }
                found = true;
                i = end;
            }
            "-fprint" | "-fprint0" | "-fprintf" | "-fls" => {
                c.part(out, Write, "writes the list of matches to a file");
                found = true;
            }
            _ => {}
        }
        i += 1;
    }
    if !found {
        c.part(out, Read, "`find` lists files");
    }
}

fn shells(
    w: &Walker,
    c: &Cmd,
    base: &str,
    args: &[Arg],
    stdin: Option<&Stdin>,
    file_stdin: bool,
    out: &mut Findings,
) {
    let rest: Vec<&Arg> = args
        .iter()
        .skip(if base == "busybox" { 2 } else { 1 })
        .collect();
    if base == "busybox" {
        if args.len() > 1 {
            classify(w, &args[1..], stdin, file_stdin, out);
        } else {
            c.part(out, Read, "lists busybox applets");
        }
        return;
    }
    let mut i = 0;
    while i < rest.len() {
        let t = rest[i].text();
        if t == "-c" || (t.starts_with('-') && !t.starts_with("--") && t.contains('c')) {
            match rest.get(i + 1).and_then(|a| a.literal.as_deref()) {
                Some(script) => out.extend(w.script(script)),
                None => {
                    c.part(
                        out,
                        Unknown,
                        format!("`{base} -c` runs a script built at run time"),
                    );
                }
            }
            return;
        }
        if t.starts_with('-') || t.starts_with('+') {
            i += if matches!(t, "-o" | "+o" | "-O" | "+O" | "--rcfile" | "--init-file") {
                2
            } else {
                1
            };
            continue;
        }
        c.part(
            out,
            Unknown,
            format!("runs the script {t}, which airlock has not read"),
        );
        return;
    }
    match stdin {
        Some(s) => {
            let mut f = w.script(&s.text);
            if s.expands {
                f.part(Part::new(
                    clip(&s.text),
                    Unknown,
                    "the script fed to the shell expands variables at run time",
                ));
            }
            out.extend(f);
        }
        None if file_stdin => {
            c.part(
                out,
                Unknown,
                format!("`{base}` runs a script from a file airlock has not read"),
            );
        }
        None => {
            c.part(
                out,
                Unknown,
                format!("`{base}` runs whatever it is fed (a pipe or an interactive shell)"),
            );
        }
    }
}

fn ssh(w: &Walker, c: &Cmd, rest: &[&str], out: &mut Findings) {
    const WITH_VALUE: [&str; 17] = [
        "-p", "-i", "-l", "-o", "-F", "-J", "-L", "-R", "-D", "-b", "-c", "-E", "-e", "-m", "-O",
        "-S", "-W",
    ];
    let i = skip_options(rest, &WITH_VALUE);
    let Some(host) = rest.get(i) else {
        c.part(out, Unknown, "`ssh` without a host");
        return;
    };
    let host_name = host.rsplit('@').next().unwrap_or(host);
    out.target(Target {
        kind: "host".into(),
        name: host_name.into(),
        host: Some(host_name.into()),
        ..Target::default()
    });
    let remote = rest.get(i + 1..).unwrap_or(&[]);
    if remote.is_empty() {
        c.part(out, Unknown, format!("an interactive shell on {host_name}"));
    } else {
        // The remote shell parses the words again, joined by spaces.
        out.extend(w.script(&remote.join(" ")));
    }
}

fn sql_client(
    c: &Cmd,
    base: &str,
    rest: &[&str],
    stdin: Option<&Stdin>,
    file_stdin: bool,
    out: &mut Findings,
) {
    let dialect = match base {
        "psql" | "cockroach" => sql::Dialect::Postgres,
        "mysql" | "mariadb" => sql::Dialect::MySql,
        "sqlite3" => sql::Dialect::Sqlite,
        _ => sql::Dialect::Generic,
    };
    let mut statements: Vec<String> = Vec::new();
    let mut host = None;
    let mut db = None;
    let mut it = rest.iter().peekable();
    let mut positional = Vec::new();
    while let Some(a) = it.next() {
        let value = |it: &mut std::iter::Peekable<std::slice::Iter<&str>>| {
            it.next().map(|s| (*s).to_owned())
        };
        match *a {
            "-c" | "--command" | "-e" | "--execute" | "--query" | "-q" if base != "sqlite3" => {
                statements.extend(value(&mut it))
            }
            "-h" | "--host" => host = value(&mut it),
            "-d" | "--dbname" | "-D" | "--database" => db = value(&mut it),
            "-f" | "--file" => {
                let f = value(&mut it).unwrap_or_default();
                if f != "-" {
                    c.part(
                        out,
                        Unknown,
                        format!("runs SQL from {f}, which airlock has not read"),
                    );
                    return;
                }
            }
            "-U" | "-u" | "--user" | "--username" | "-p" | "--port" | "-P" | "--password" => {
                if !(base.starts_with("mysql") || base == "mariadb") || *a != "-p" {
                    it.next();
                }
            }
            _ if a.starts_with("--command=") || a.starts_with("--execute=") => {
                statements.push(a.split_once('=').map_or("", |x| x.1).to_owned())
            }
            _ if a.starts_with("--host=") => host = a.split_once('=').map(|x| x.1.to_owned()),
            _ if a.starts_with("--dbname=") || a.starts_with("--database=") => {
                db = a.split_once('=').map(|x| x.1.to_owned())
            }
            _ if a.starts_with('-') => {}
            _ => positional.push(*a),
        }
    }
    // A connection URL or a database name.
    for p in &positional {
        if let Some((h, d)) = parse_db_url(p) {
            host = host.or(h);
            db = db.or(d);
        }
    }
    if base == "sqlite3" {
        db = db.or(positional.first().map(|s| (*s).to_owned()));
        statements.extend(positional.iter().skip(1).map(|s| (*s).to_owned()));
    } else if db.is_none() {
        db = positional
            .iter()
            .find(|p| !p.contains("://"))
            .map(|s| (*s).to_owned());
    }
    let sql_text = if !statements.is_empty() {
        statements.join("\n;\n")
    } else if let Some(s) = stdin {
        if s.expands {
            c.part(
                out,
                Unknown,
                "the SQL fed to the client expands shell variables at run time",
            );
        }
        s.text.clone()
    } else if file_stdin {
        c.part(out, Unknown, "runs SQL from a file airlock has not read");
        return;
    } else {
        c.part(out, Unknown, format!("an interactive `{base}` session"));
        return;
    };
    let mut f = sql::classify(&sql_text, dialect);
    for t in &mut f.targets {
        if t.host.is_none() {
            t.host = host.clone();
        }
        if let Some(d) = &db
            && t.kind.starts_with("db:")
            && t.namespace.is_none()
            && t.kind != "db:database"
        {
            t.labels
                .entry("database".into())
                .or_insert_with(|| d.clone());
        }
    }
    if let Some(d) = &db {
        f.target(Target {
            kind: "db:database".into(),
            name: d.clone(),
            host: host.clone(),
            ..Target::default()
        });
    }
    out.extend(f);
}

/// `postgres://user@host:5432/db` → (host, db).
fn parse_db_url(s: &str) -> Option<(Option<String>, Option<String>)> {
    let (_, rest) = s.split_once("://")?;
    let rest = rest.rsplit_once('@').map_or(rest, |x| x.1);
    let (hostport, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = hostport
        .split(':')
        .next()
        .filter(|h| !h.is_empty())
        .map(str::to_owned);
    let db = path
        .split('?')
        .next()
        .filter(|d| !d.is_empty())
        .map(str::to_owned);
    Some((host, db))
}

fn git(w: &Walker, c: &Cmd, rest: &[&str], out: &mut Findings) {
    // Global options before the subcommand.
    let i = skip_options(
        rest,
        &[
            "-C",
            "-c",
            "--git-dir",
            "--work-tree",
            "--namespace",
            "--exec-path",
        ],
    );
    let sub = rest.get(i).copied().unwrap_or("");
    let a: Vec<&str> = rest.get(i + 1..).unwrap_or(&[]).to_vec();
    let flag = |s: Option<char>, l: &[&str]| has_flag(&a, s, l);
    let (effect, why, bulk): (Effect, String, bool) = match sub {
        "status" | "log" | "diff" | "show" | "blame" | "grep" | "ls-files" | "ls-tree"
        | "rev-parse" | "describe" | "shortlog" | "reflog" | "cat-file" | "rev-list"
        | "whatchanged" | "help" | "version" | "--version" | "var" | "check-ignore"
        | "name-rev" | "merge-base" | "for-each-ref" | "show-ref" | "ls-remote"
        | "count-objects" | "fsck" | "verify-commit" | "cherry" | "range-diff" => {
            if sub == "reflog" && a.first().is_some_and(|s| *s == "expire" || *s == "delete") {
                (
                    Delete,
                    "expiring the reflog destroys the record of old commits".into(),
                    true,
                )
            } else {
                (Read, format!("`git {sub}` only reads"), false)
            }
        }
        "branch" => {
            if flag(Some('D'), &[])
                || (flag(Some('d'), &["--delete"]) && flag(Some('f'), &["--force"]))
            {
                (
                    Delete,
                    "`git branch -D` deletes a branch even if unmerged".into(),
                    false,
                )
            } else if flag(Some('d'), &["--delete"]) {
                // The commits stay reachable from where it was merged, but the branch
                // (and any commit only it held, after a squash merge) is gone.
                (Delete, "`git branch -d` deletes a branch".into(), false)
            } else if a.iter().any(|x| !x.starts_with('-'))
                || flag(Some('m'), &["--move"])
                || flag(Some('c'), &["--copy"])
            {
                (Write, "creates or renames a branch".into(), false)
            } else {
                (Read, "lists branches".into(), false)
            }
        }
        "tag" => {
            if flag(Some('d'), &["--delete"]) {
                (Delete, "deletes tags".into(), false)
            } else if a.iter().any(|x| !x.starts_with('-')) {
                (Write, "creates a tag".into(), false)
            } else {
                (Read, "lists tags".into(), false)
            }
        }
        "remote" => match a.first().copied() {
            Some("remove" | "rm") => (Delete, "removes a remote".into(), false),
            Some("add" | "set-url" | "rename" | "set-head" | "prune" | "update") => {
                (Write, "changes remotes".into(), false)
            }
            _ => (Read, "lists remotes".into(), false),
        },
        "stash" => match a.first().copied() {
            Some("drop" | "clear") => (
                Delete,
                "discards stashed changes".into(),
                a.first() == Some(&"clear"),
            ),
            Some("list" | "show") => (Read, "lists stashes".into(), false),
            _ => (Write, "stashes or restores changes".into(), false),
        },
        "push" => {
            // `git push [REMOTE [REFSPEC…]]`: the refs it changes, on that remote.
            let pushed = positionals(&a, &["--repo", "-o", "--push-option", "--receive-pack"]);
            if let Some((remote, refs)) = pushed.split_first() {
                for r in refs {
                    let dest = r.trim_start_matches('+');
                    let dest = dest.rsplit_once(':').map_or(dest, |(_, d)| d);
                    out.target(Target {
                        kind: "git:ref".into(),
                        name: dest.trim_start_matches("refs/heads/").to_owned(),
                        host: Some((*remote).to_owned()),
                        ..Target::default()
                    });
                }
            }
            let force = flag(
                Some('f'),
                &[
                    "--force",
                    "--force-with-lease",
                    "--force-if-includes",
                    "--mirror",
                    "--prune",
                ],
            ) || a.iter().any(|x| x.starts_with('+') && x.len() > 1);
            let delete = flag(Some('d'), &["--delete"])
                || a.iter().any(|x| x.starts_with(':') && x.len() > 1);
            if delete {
                (Delete, "deletes a remote branch or tag".into(), false)
            } else if force {
                (
                    Delete,
                    "a forced push overwrites the remote history".into(),
                    flag(None, &["--mirror", "--all"]) || a.iter().any(|x| x.contains('*')),
                )
            } else {
                (Write, "pushes commits".into(), false)
            }
        }
        "reset" => {
            if flag(None, &["--hard", "--merge", "--keep"]) {
                (
                    Delete,
                    "`git reset --hard` discards uncommitted changes".into(),
                    true,
                )
            } else {
                (Write, "moves HEAD; the working tree is kept".into(), false)
            }
        }
        "clean" => {
            if flag(Some('n'), &["--dry-run"]) {
                (Read, "lists what would be removed".into(), false)
            } else {
                (Delete, "`git clean` deletes untracked files".into(), true)
            }
        }
        "checkout" | "restore" => {
            let discards = flag(Some('f'), &["--force"])
                || a.iter().any(|x| *x == "." || *x == "--")
                || (sub == "restore" && !flag(Some('S'), &["--staged"]));
            if discards {
                (
                    Delete,
                    "discards uncommitted changes to the paths".into(),
                    a.contains(&"."),
                )
            } else {
                (Write, "switches branches".into(), false)
            }
        }
        "filter-branch" | "filter-repo" => (Delete, "rewrites the whole history".into(), true),
        "gc" | "prune" => {
            if a.iter()
                .any(|x| x.starts_with("--prune=now") || *x == "--prune=all")
                || sub == "prune"
            {
                (Delete, "prunes unreachable objects for good".into(), true)
            } else {
                (Write, "packs the repository".into(), false)
            }
        }
        "rm" if flag(None, &["--cached"]) => (
            Write,
            "`git rm --cached` stops tracking files and leaves them on disk".into(),
            false,
        ),
        "rm" => (
            Delete,
            "removes files from the working tree and the index".into(),
            flag(Some('r'), &[]),
        ),
        "worktree" if a.first().is_some_and(|s| *s == "remove") => {
            (Delete, "removes a worktree".into(), false)
        }
        "submodule" if a.first().is_some_and(|s| *s == "foreach") => {
            // `git submodule foreach [--recursive] CMD`: CMD runs in every submodule.
            let cmd: Vec<&str> = a
                .iter()
                .skip(1)
                .copied()
                .filter(|x| *x != "--recursive" && *x != "--quiet")
                .collect();
            if cmd.is_empty() {
                (Read, "lists the submodules".into(), false)
            } else {
                out.extend(w.script(&cmd.join(" ")));
                return;
            }
        }
        "bisect" if a.first().is_some_and(|s| *s == "run") => match a.get(1..) {
            Some(cmd) if !cmd.is_empty() => {
                classify(w, &literal_args(cmd), None, false, out);
                return;
            }
            _ => (Unknown, "`git bisect run` without a command".into(), false),
        },
        "switch" if flag(Some('f'), &["--discard-changes", "--force"]) => (
            Delete,
            "`git switch --discard-changes` throws away uncommitted changes".to_owned(),
            false,
        ),
        "submodule" if a.first().is_some_and(|s| *s == "deinit") => (
            Delete,
            "removes a submodule's working tree".into(),
            flag(None, &["--all"]),
        ),
        "update-ref" if flag(Some('d'), &[]) => (Delete, "deletes a ref".into(), false),
        "add" | "commit" | "switch" | "merge" | "rebase" | "cherry-pick" | "revert" | "fetch"
        | "pull" | "clone" | "init" | "mv" | "apply" | "am" | "notes" | "config" | "worktree"
        | "submodule" | "sparse-checkout" | "lfs" | "bisect" | "format-patch" | "archive"
        | "bundle" | "update-index" | "update-ref" | "symbolic-ref" | "maintenance"
        | "commit-tree" | "mktag" | "replace" => {
            if sub == "config"
                && (a
                    .iter()
                    .any(|x| *x == "--get" || *x == "--list" || *x == "-l" || *x == "--get-all")
                    || a.len() == 1)
            {
                (Read, "reads configuration".into(), false)
            } else {
                (Write, format!("`git {sub}` changes the repository"), false)
            }
        }
        "" => (Read, "prints git's help".into(), false),
        other => (
            Unknown,
            format!("airlock does not know `git {other}`"),
            false,
        ),
    };
    let i = c.part(out, effect, why);
    out.parts[i].bulk = bulk;
    out.parts[i].operation = Some(format!("git:{sub}"));
}

/// A kubectl resource name as its singular kind: `ns` → `namespace`,
/// `deployments.apps` → `deployment`.
fn k8s_kind(resource: &str) -> String {
    let r = resource.to_ascii_lowercase();
    let r = r.split('.').next().unwrap_or(&r).to_owned();
    let short = match r.as_str() {
        "ns" => "namespace",
        "po" => "pod",
        "deploy" => "deployment",
        "svc" => "service",
        "cm" => "configmap",
        "sa" => "serviceaccount",
        "pv" => "persistentvolume",
        "pvc" => "persistentvolumeclaim",
        "sts" => "statefulset",
        "ds" => "daemonset",
        "rs" => "replicaset",
        "ing" => "ingress",
        "no" => "node",
        "crd" | "crds" => "customresourcedefinition",
        "hpa" => "horizontalpodautoscaler",
        "cj" => "cronjob",
        "netpol" => "networkpolicy",
        "ingresses" => "ingress",
        "networkpolicies" => "networkpolicy",
        _ => "",
    };
    if !short.is_empty() {
        return short.to_owned();
    }
    match r.strip_suffix('s') {
        Some(singular) if r.len() > 3 && !r.ends_with("ss") => singular.to_owned(),
        _ => r,
    }
}

fn kubectl(w: &Walker, c: &Cmd, rest: &[&str], stdin: Option<&Stdin>, out: &mut Findings) {
    const WITH_VALUE: [&str; 16] = [
        "-n",
        "--namespace",
        "--context",
        "--kubeconfig",
        "--cluster",
        "--user",
        "-s",
        "--server",
        "-l",
        "--selector",
        "-o",
        "--output",
        "-f",
        "--filename",
        "--token",
        "-c",
    ];
    let namespace = opt_value(rest, &["-n", "--namespace"]);
    let context = opt_value(rest, &["--context"]);
    let pos = positionals(rest, &WITH_VALUE);
    let verb = pos.first().copied().unwrap_or("");
    let all = has_flag(rest, Some('A'), &["--all", "--all-namespaces"]);
    let target = |kind: &str, name: &str, out: &mut Findings| {
        out.target(Target {
            kind: format!("k8s:{}", k8s_kind(kind)),
            name: name.into(),
            namespace: namespace.map(Into::into),
            profile: context.map(Into::into),
            ..Target::default()
        });
    };
    let resource = pos.get(1).copied().unwrap_or("");
    let (res_kind, res_name) = resource
        .split_once('/')
        .unwrap_or((resource, pos.get(2).copied().unwrap_or("")));
    const RBAC: [&str; 10] = [
        "role",
        "roles",
        "clusterrole",
        "clusterroles",
        "rolebinding",
        "rolebindings",
        "clusterrolebinding",
        "clusterrolebindings",
        "serviceaccount",
        "sa",
    ];
    let file = opt_value(rest, &["-f", "--filename"]);
    match verb {
        "get" | "describe" | "logs" | "top" | "explain" | "api-resources" | "api-versions"
        | "version" | "cluster-info" | "diff" | "events" | "wait" => {
            let i = c.part(out, Read, format!("`kubectl {verb}` only reads"));
            out.parts[i].operation = Some(format!("kubectl:{verb}"));
            if !res_kind.is_empty() && matches!(verb, "get" | "describe" | "logs" | "top") {
                target(res_kind, res_name, out);
            }
        }
        "auth" if pos.get(1).is_some_and(|s| *s == "can-i" || *s == "whoami") => {
            c.part(out, Read, "checks permissions");
        }
        "auth" => {
            c.part(out, Permissions, "reconciles RBAC rules");
        }
        "config" => {
            let effect = if matches!(
                pos.get(1).copied(),
                Some("view" | "get-contexts" | "current-context" | "get-clusters" | "get-users")
            ) {
                Read
            } else {
                Write
            };
            c.part(out, effect, "kubeconfig");
        }
        "exec" | "debug" | "attach" => match rest.iter().position(|a| *a == "--") {
            Some(i) if verb == "exec" => {
                out.target(Target {
                    kind: "k8s:pod".into(),
                    name: res_kind.into(),
                    namespace: namespace.map(Into::into),
                    profile: context.map(Into::into),
                    ..Target::default()
                });
                classify(w, &literal_args(&rest[i + 1..]), stdin, false, out);
            }
            _ => {
                c.part(
                    out,
                    Unknown,
                    format!("`kubectl {verb}` opens a shell airlock cannot follow"),
                );
            }
        },
        "port-forward" | "proxy" => {
            c.part(
                out,
                Read,
                format!("`kubectl {verb}` opens a local tunnel; nothing in the cluster changes"),
            );
        }
        "cp" => {
            c.part(out, Write, "`kubectl cp` copies files");
        }
        "delete" | "apply" | "create" | "replace" if file == Some("-") => {
            let v = match verb {
                "delete" => k8s::Verb::Delete,
                "create" => k8s::Verb::Create,
                "replace" => k8s::Verb::Replace {
                    force: has_flag(rest, None, &["--force"]),
                },
                _ => k8s::Verb::Apply,
            };
            match stdin {
                Some(s) => out.extend(k8s::classify_manifests(&s.text, v)),
                None => {
                    c.part(out, Unknown, "manifests from a pipe airlock cannot see");
                }
            }
        }
        "delete" | "edit" | "patch" | "replace" | "set" | "label" | "annotate" | "apply"
            if RBAC.contains(&res_kind) =>
        {
            let i = c.part(
                out,
                Permissions,
                format!("`kubectl {verb}` on RBAC `{res_kind}` changes who can do what"),
            );
            out.parts[i].operation = Some(format!("kubectl:{verb}:{res_kind}"));
            target(res_kind, res_name, out);
        }
        "certificate" => {
            let effect = if matches!(pos.get(1).copied(), Some("approve" | "deny")) {
                Permissions
            } else {
                Unknown
            };
            c.part(out, effect, "approving a CSR issues a cluster credential");
        }
        "apply" if has_flag(rest, None, &["--prune"]) => {
            let i = c.part(
                out,
                Delete,
                "`kubectl apply --prune` deletes every matching resource missing from the files",
            );
            out.parts[i].bulk = true;
        }
        "apply" | "create" | "replace"
            if file.is_some_and(|f| f.starts_with("http://") || f.starts_with("https://")) =>
        {
            c.part(
                out,
                Unknown,
                "applies manifests from a URL airlock has not read",
            );
        }
        "run" if rest.contains(&"--") => {
            let inner = rest
                .iter()
                .position(|a| *a == "--")
                .and_then(|i| rest.get(i + 1..))
                .unwrap_or(&[]);
            let interactive =
                has_flag(rest, Some('i'), &["--stdin", "--tty"]) || has_flag(rest, Some('t'), &[]);
            if inner.is_empty() || (interactive && inner.len() == 1) {
                c.part(
                    out,
                    Unknown,
                    "`kubectl run -it` opens a shell airlock cannot follow",
                );
            } else {
                c.part(out, Write, "`kubectl run` starts a pod");
                classify(w, &literal_args(inner), stdin, false, out);
            }
        }
        "delete" => {
            let whole = matches!(
                res_kind,
                "namespace"
                    | "namespaces"
                    | "ns"
                    | "crd"
                    | "customresourcedefinition"
                    | "customresourcedefinitions"
                    | "pv"
                    | "persistentvolume"
                    | "node"
                    | "nodes"
            );
            let i = c.part(
                out,
                Delete,
                format!(
                    "`kubectl delete` removes {}",
                    if resource.is_empty() {
                        "resources"
                    } else {
                        resource
                    }
                ),
            );
            out.parts[i].bulk = all
                || whole
                || has_flag(rest, Some('l'), &["--selector", "--all"])
                || file.is_some();
            out.parts[i].operation = Some(format!("kubectl:delete:{res_kind}"));
            if !res_kind.is_empty() {
                target(res_kind, res_name, out);
            }
        }
        "drain" => {
            let i = c.part(
                out,
                Delete,
                "`kubectl drain` evicts every pod from the node",
            );
            out.parts[i].bulk = true;
            target("node", res_kind, out);
        }
        "replace" if has_flag(rest, None, &["--force"]) => {
            c.part(
                out,
                Delete,
                "`replace --force` deletes and recreates the resources",
            );
        }
        "scale" => {
            let zero =
                rest.contains(&"--replicas=0") || opt_value(rest, &["--replicas"]) == Some("0");
            let i = c.part(
                out,
                if zero { Delete } else { Write },
                if zero {
                    "scaling to zero takes the workload down"
                } else {
                    "scales a workload"
                },
            );
            out.parts[i].operation = Some("kubectl:scale".into());
            if !res_kind.is_empty() {
                target(res_kind, res_name, out);
            }
        }
        "create" if RBAC.contains(&res_kind) => {
            c.part(out, Permissions, format!("creates RBAC `{res_kind}`"));
            target(res_kind, res_name, out);
        }
        "create" if matches!(res_kind, "token") => {
            c.part(out, Permissions, "creates a service-account token");
        }
        "apply" | "create" | "replace" | "patch" | "edit" | "label" | "annotate" | "set"
        | "rollout" | "expose" | "run" | "autoscale" | "cordon" | "uncordon" | "taint" => {
            let i = c.part(
                out,
                Write,
                format!(
                    "`kubectl {verb}` changes resources{}",
                    if file.is_some() {
                        " from a file airlock has not read"
                    } else {
                        ""
                    }
                ),
            );
            out.parts[i].operation = Some(format!("kubectl:{verb}"));
            if !res_kind.is_empty() && !matches!(verb, "apply" | "rollout" | "run") {
                target(res_kind, res_name, out);
            }
        }
        "" => {
            c.part(out, Read, "prints kubectl's help");
        }
        other => {
            c.part(
                out,
                Unknown,
                format!("airlock does not know `kubectl {other}`"),
            );
        }
    }
}

fn helm(c: &Cmd, rest: &[&str], out: &mut Findings) {
    let pos = positionals(
        rest,
        &[
            "-n",
            "--namespace",
            "--kube-context",
            "-f",
            "--values",
            "--set",
            "--version",
            "-o",
            "--output",
        ],
    );
    let verb = pos.first().copied().unwrap_or("");
    let effect = match verb {
        "list" | "ls" | "status" | "get" | "history" | "template" | "show" | "inspect"
        | "search" | "lint" | "version" | "env" | "verify" | "diff" => Read,
        "install" | "upgrade" | "rollback" | "repo" | "dependency" | "dep" | "package" | "pull"
        | "push" | "plugin" | "registry" | "test" => Write,
        "uninstall" | "delete" | "del" | "un" => Delete,
        _ => Unknown,
    };
    let i = c.part(out, effect, format!("`helm {verb}`"));
    out.parts[i].operation = Some(format!("helm:{verb}"));
    if let (Delete | Write, Some(release)) = (effect, pos.get(1)) {
        out.target(Target {
            kind: "helm:release".into(),
            name: (*release).into(),
            namespace: opt_value(rest, &["-n", "--namespace"]).map(Into::into),
            profile: opt_value(rest, &["--kube-context"]).map(Into::into),
            ..Target::default()
        });
    }
}

fn terraform(c: &Cmd, rest: &[&str], out: &mut Findings) {
    let args: Vec<&str> = rest
        .iter()
        .copied()
        .filter(|a| !a.starts_with("-chdir="))
        .collect();
    let verb = args.first().copied().unwrap_or("");
    let a = &args.get(1..).unwrap_or(&[]);
    let (effect, why, bulk) = match verb {
        "plan" if has_flag(a, None, &["-destroy", "--destroy"]) => (
            Read,
            "plans a destroy (changes nothing yet)".to_owned(),
            false,
        ),
        "plan"
            if a.iter()
                .any(|x| x.starts_with("-out") || x.starts_with("--out")) =>
        {
            (
                Write,
                "`terraform plan -out` writes a plan file".into(),
                false,
            )
        }
        "plan" | "show" | "validate" | "output" | "graph" | "providers" | "version" | "console"
        | "-version" | "-help" | "test" | "metadata" => {
            (Read, format!("`terraform {verb}` changes nothing"), false)
        }
        "fmt" if has_flag(a, None, &["-check", "--check"]) => {
            (Read, "`terraform fmt -check` only reports".into(), false)
        }
        "fmt" => (Write, "reformats files".into(), false),
        "init" | "get" | "login" | "logout" => (
            Write,
            format!("`terraform {verb}` prepares the working directory"),
            false,
        ),
        "destroy" => (
            Delete,
            "`terraform destroy` deletes every resource of the configuration".into(),
            true,
        ),
        "apply" if has_flag(a, None, &["-destroy", "--destroy"]) => (
            Delete,
            "`apply -destroy` deletes every resource of the configuration".into(),
            true,
        ),
        "apply" if a.iter().any(|x| x.starts_with("-replace")) => (
            Delete,
            "`apply -replace` deletes and recreates resources".into(),
            false,
        ),
        "apply" | "refresh" => (
            Unknown,
            format!(
                "`terraform {verb}` carries out a plan airlock has not seen; classify the plan JSON (`terraform show -json PLAN`) instead"
            ),
            false,
        ),
        "import" => (Write, "imports a resource into the state".into(), false),
        "taint" => (
            Delete,
            "marks a resource for destruction and recreation".into(),
            false,
        ),
        "untaint" | "force-unlock" => (Write, format!("`terraform {verb}`"), false),
        "state" => match a.first().copied() {
            Some("list" | "show" | "pull") => (Read, "reads the state".into(), false),
            Some("rm") => (
                Delete,
                "removes resources from the state (terraform forgets them)".into(),
                a.iter()
                    .skip(1)
                    .any(|x| x.starts_with("module.") || x.contains('*')),
            ),
            Some("push") if has_flag(a, None, &["-force", "--force"]) => (
                Delete,
                "`state push -force` overwrites the remote state, losing what it held".into(),
                true,
            ),
            Some("mv" | "push" | "replace-provider") => (Write, "rewrites the state".into(), false),
            _ => (Unknown, "unknown state subcommand".into(), false),
        },
        "workspace" => match a.first().copied() {
            Some("list" | "show") => (Read, "lists workspaces".into(), false),
            Some("delete") => (Delete, "deletes a workspace and its state".into(), true),
            Some("new" | "select") => (Write, "creates or selects a workspace".into(), false),
            _ => (Unknown, "unknown workspace subcommand".into(), false),
        },
        other => (
            Unknown,
            format!("airlock does not know `terraform {other}`"),
            false,
        ),
    };
    let i = c.part(out, effect, why);
    out.parts[i].bulk = bulk;
    out.parts[i].operation = Some(format!("terraform:{verb}"));
    if matches!(verb, "destroy" | "workspace") || bulk {
        out.target(Target {
            kind: "terraform:workspace".into(),
            name: rest
                .iter()
                .find_map(|a| a.strip_prefix("-chdir="))
                .unwrap_or(".")
                .into(),
            ..Target::default()
        });
    }
}

fn containers(w: &Walker, c: &Cmd, rest: &[&str], out: &mut Findings) {
    let i = skip_options(
        rest,
        &["-H", "--host", "--context", "-c", "--config", "--log-level"],
    );
    let verb = rest.get(i).copied().unwrap_or("");
    let a = rest.get(i + 1..).unwrap_or(&[]);
    let sub = a.first().copied().unwrap_or("");
    let (effect, why, bulk): (Effect, String, bool) = match verb {
        "ps" | "images" | "logs" | "inspect" | "version" | "info" | "top" | "stats" | "history"
        | "diff" | "port" | "search" | "events" => {
            (Read, format!("`docker {verb}` only reads"), false)
        }
        "exec" => {
            let j = skip_options(
                a,
                &[
                    "-e",
                    "--env",
                    "-u",
                    "--user",
                    "-w",
                    "--workdir",
                    "--env-file",
                ],
            );
            match a.get(j + 1..) {
                Some(inner) if !inner.is_empty() => {
                    classify(w, &literal_args(inner), None, false, out);
                    return;
                }
                _ => (Unknown, "`docker exec` without a command".into(), false),
            }
        }
        "rm" | "rmi" | "kill" => (
            Delete,
            format!("`docker {verb}` removes containers or images"),
            has_flag(a, None, &["--all"]),
        ),
        "run" => {
            container_run(w, c, "docker run", a, RUN_OPTIONS, out);
            return;
        }
        "compose" if matches!(sub, "exec" | "run") => {
            let opts: &[&str] = if sub == "exec" {
                COMPOSE_EXEC_OPTIONS
            } else {
                RUN_OPTIONS
            };
            let args = a.get(1..).unwrap_or(&[]);
            let j = skip_options(args, opts);
            match args.get(j + 1..) {
                Some(inner) if !inner.is_empty() => {
                    container_command(w, args, inner, out);
                    return;
                }
                _ if sub == "run" => (
                    Write,
                    "`compose run` runs the service's default command".into(),
                    false,
                ),
                _ => (Unknown, "`compose exec` without a command".into(), false),
            }
        }
        "create" | "start" | "stop" | "restart" | "pause" | "unpause" | "build" | "pull"
        | "push" | "tag" | "cp" | "commit" | "login" | "logout" | "load" | "save" | "import"
        | "export" | "update" | "rename" | "attach" | "wait" => {
            (Write, format!("`docker {verb}`"), false)
        }
        "system" | "image" | "container" | "volume" | "network" | "builder" | "buildx"
            if matches!(sub, "prune") =>
        {
            (
                Delete,
                format!("`docker {verb} prune` deletes unused {verb}s"),
                true,
            )
        }
        "volume" | "network" | "image" | "container" | "secret" | "config" | "context"
        | "plugin" => match sub {
            "rm" | "remove" | "delete" => (Delete, format!("removes a {verb}"), false),
            "ls" | "list" | "inspect" => (Read, format!("lists {verb}s"), false),
            _ => (Write, format!("`docker {verb} {sub}`"), false),
        },
        "system" if sub == "reset" => (
            Delete,
            "`system reset` deletes every container, image and volume".into(),
            true,
        ),
        "system" => (
            if sub == "df" || sub == "info" {
                Read
            } else {
                Unknown
            },
            format!("`docker system {sub}`"),
            false,
        ),
        "compose" => match sub {
            "down" => (
                Delete,
                "`compose down` removes the containers".to_owned()
                    + if has_flag(a, Some('v'), &["--volumes"]) {
                        " and their volumes"
                    } else {
                        ""
                    },
                has_flag(a, Some('v'), &["--volumes"]),
            ),
            "rm" => (Delete, "removes stopped service containers".into(), false),
            "ps" | "logs" | "config" | "images" | "top" | "ls" | "version" | "port" => {
                (Read, format!("`compose {sub}` only reads"), false)
            }
            _ => (Write, format!("`compose {sub}`"), false),
        },
        other => (
            Unknown,
            format!("airlock does not know `docker {other}`"),
            false,
        ),
    };
    let k = c.part(out, effect, why);
    out.parts[k].bulk = bulk;
    out.parts[k].operation = Some(format!("docker:{verb}"));
}

/// Options of `docker run` (and `compose run`) that take a value.
const RUN_OPTIONS: &[&str] = &[
    "-v",
    "--volume",
    "-e",
    "--env",
    "-p",
    "--publish",
    "--name",
    "-w",
    "--workdir",
    "--network",
    "--net",
    "--entrypoint",
    "-u",
    "--user",
    "--env-file",
    "--mount",
    "-l",
    "--label",
    "--platform",
    "--cpus",
    "-m",
    "--memory",
    "--restart",
    "--add-host",
    "--hostname",
    "-h",
    "--device",
    "--cap-add",
    "--cap-drop",
    "--security-opt",
    "--ulimit",
    "--log-driver",
    "--log-opt",
    "--pull",
    "--gpus",
    "--expose",
    "--link",
    "--dns",
    "--tmpfs",
    "--shm-size",
    "--ipc",
    "--pid",
    "--volumes-from",
    "--cidfile",
    "--health-cmd",
    "--runtime",
    "--stop-signal",
    "--stop-timeout",
    "--memory-swap",
    "--cpuset-cpus",
    "--group-add",
];
const COMPOSE_EXEC_OPTIONS: &[&str] =
    &["-e", "--env", "-u", "--user", "-w", "--workdir", "--index"];

/// `docker run [OPTIONS] IMAGE [COMMAND…]`: the command, when given, is what runs.
fn container_run(
    w: &Walker,
    c: &Cmd,
    what: &str,
    args: &[&str],
    options: &[&str],
    out: &mut Findings,
) {
    let j = skip_options(args, options);
    match args.get(j + 1..) {
        Some(inner) if !inner.is_empty() => container_command(w, args, inner, out),
        _ => {
            let i = c.part(
                out,
                Write,
                format!("`{what}` starts a container with the image's own command"),
            );
            out.parts[i].operation = Some("docker:run".into());
        }
    }
}

/// The command run inside a container. A bare shell is interactive (unknown); a
/// write through a bind mount of an access-control path on the host changes who
/// can do what on the host.
fn container_command(w: &Walker, options: &[&str], inner: &[&str], out: &mut Findings) {
    if inner.len() == 1
        && matches!(
            inner[0],
            "bash" | "sh" | "zsh" | "ash" | "fish" | "psql" | "mysql" | "redis-cli" | "mongosh"
        )
    {
        out.part(Part::new(
            clip(&inner.join(" ")),
            Unknown,
            "an interactive session inside the container: what it will do is not known",
        ));
        return;
    }
    let mut found = Findings::default();
    classify(w, &literal_args(inner), None, false, &mut found);
    let writes = found.parts.iter().any(|p| p.effect >= Write);
    out.extend(found);
    let mut it = options.iter();
    while let Some(o) = it.next() {
        let mount = match *o {
            "-v" | "--volume" => it.next().copied(),
            _ => o
                .strip_prefix("--volume=")
                .or_else(|| o.strip_prefix("-v"))
                .filter(|m| !m.is_empty()),
        };
        if let Some(host) = mount.and_then(|m| m.split(':').next())
            && writes
            && access_control_file(host)
        {
            out.part(Part::new(
                format!("-v {}", mount.unwrap_or(host)),
                Permissions,
                format!("the container writes through a mount of {host}, which decides who can do what on the host"),
            ));
            out.target(file_target(host));
        }
    }
}

fn redis(c: &Cmd, rest: &[&str], stdin: Option<&Stdin>, out: &mut Findings) {
    let pos = positionals(
        rest,
        &[
            "-h",
            "-p",
            "-n",
            "-a",
            "--user",
            "--pass",
            "-u",
            "-s",
            "-r",
            "-i",
            "--tls-cert",
            "--tls-key",
            "--cacert",
        ],
    );
    let host = opt_value(rest, &["-h"]).or_else(|| {
        opt_value(rest, &["-u"])
            .and_then(|u| u.split("://").nth(1))
            .map(|h| {
                h.rsplit('@')
                    .next()
                    .unwrap_or(h)
                    .split(':')
                    .next()
                    .unwrap_or(h)
            })
    });
    let commands: Vec<String> = if let Some(cmd) = pos.first() {
        vec![cmd.to_ascii_uppercase()]
    } else if let Some(s) = stdin {
        s.text
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_ascii_uppercase)
            .collect()
    } else if has_flag(
        rest,
        None,
        &[
            "--scan",
            "--bigkeys",
            "--memkeys",
            "--stat",
            "--latency",
            "--hotkeys",
        ],
    ) {
        vec!["--SCAN".to_owned()]
    } else {
        c.part(out, Unknown, "an interactive redis-cli session");
        return;
    };
    for cmd in commands {
        let (effect, bulk) = match cmd.as_str() {
            "FLUSHALL" | "FLUSHDB" => (Delete, true),
            "DEL" | "UNLINK" | "HDEL" | "SREM" | "ZREM" | "LREM" | "LPOP" | "RPOP" | "SPOP"
            | "GETDEL" | "ZREMRANGEBYSCORE" | "ZREMRANGEBYRANK" | "XDEL" | "XTRIM" | "LTRIM"
            | "EXPIRE" | "PEXPIRE" | "EXPIREAT" | "SHUTDOWN" => (Delete, false),
            "ACL" | "AUTH" => (if cmd == "AUTH" { Read } else { Permissions }, false),
            "GET" | "MGET" | "KEYS" | "SCAN" | "INFO" | "TTL" | "PTTL" | "EXISTS" | "TYPE"
            | "HGET" | "HGETALL" | "HKEYS" | "SMEMBERS" | "LRANGE" | "ZRANGE" | "LLEN"
            | "SCARD" | "DBSIZE" | "PING" | "MONITOR" | "SLOWLOG" | "CLIENT" | "MEMORY"
            | "STRLEN" | "HLEN" | "ZCARD" | "XRANGE" | "XLEN" | "SUBSCRIBE" | "PSUBSCRIBE"
            | "--SCAN" | "--BIGKEYS" | "--STAT" | "--LATENCY" | "SELECT" | "ECHO" | "TIME"
            | "LASTSAVE" | "ROLE" | "COMMAND" => (Read, false),
            "SET" | "MSET" | "SETEX" | "SETNX" | "HSET" | "HMSET" | "LPUSH" | "RPUSH" | "SADD"
            | "ZADD" | "INCR" | "DECR" | "INCRBY" | "APPEND" | "PUBLISH" | "XADD" | "PERSIST"
            | "RENAME" | "SAVE" | "BGSAVE" | "BGREWRITEAOF" | "LSET" | "HINCRBY" | "COPY"
            | "MOVE" | "RESTORE" => (Write, false),
            "CONFIG" => {
                let sub = pos.get(1).map(|s| s.to_ascii_uppercase());
                let key = pos.get(2).map(|s| s.to_ascii_lowercase());
                match (sub.as_deref(), key.as_deref()) {
                    (Some("GET"), _) => (Read, false),
                    (
                        Some("SET"),
                        Some("requirepass" | "masterauth" | "aclfile" | "protected-mode" | "bind"),
                    ) => (Permissions, false),
                    _ => (Write, false),
                }
            }
            _ => (Unknown, false),
        };
        let i = c.part(out, effect, format!("redis `{cmd}`"));
        out.parts[i].bulk = bulk;
        out.parts[i].operation = Some(format!("redis:{cmd}"));
    }
    out.target(Target {
        kind: "redis:database".into(),
        name: opt_value(rest, &["-n"]).unwrap_or("0").into(),
        host: host.map(Into::into),
        ..Target::default()
    });
}

fn mongo(c: &Cmd, rest: &[&str], stdin: Option<&Stdin>, out: &mut Findings) {
    // `mongosh [URI | DB] …`: the database and, from a URI, its host.
    let address = opt_value(rest, &["--host"]).or_else(|| {
        positionals(
            rest,
            &[
                "--eval",
                "-u",
                "--username",
                "-p",
                "--password",
                "--host",
                "--port",
                "--file",
                "-f",
                "--authenticationDatabase",
            ],
        )
        .first()
        .copied()
    });
    if let Some(a) = address {
        let (host, db) = match a.split_once("://") {
            Some((_, rest)) => {
                let path = rest.split_once('/').map_or("", |(_, p)| p);
                // A replica-set URI lists several hosts; the first names the cluster.
                let first = rest.split(',').next().unwrap_or(rest);
                (
                    crate::shell::url_host(first).map(str::to_owned),
                    path.split('?').next().unwrap_or("").to_owned(),
                )
            }
            None => (None, a.to_owned()),
        };
        out.target(Target {
            kind: "db:database".into(),
            name: db,
            host,
            ..Target::default()
        });
    }
    let script = opt_value(rest, &["--eval"])
        .map(str::to_owned)
        .or_else(|| stdin.map(|s| s.text.clone()));
    let Some(js) = script else {
        c.part(
            out,
            Unknown,
            "an interactive mongosh session or a script file",
        );
        return;
    };
    // The shell language is JavaScript; airlock matches the well-known methods.
    let has = |names: &[&str]| names.iter().any(|n| js.contains(n));
    let (effect, why, bulk) = if has(&["dropDatabase(", ".drop(", "dropAllUsers(", "dropAllRoles("])
    {
        (Delete, "drops a database or collection", true)
    } else if has(&["deleteMany({})", "deleteMany( {} )", "remove({})"]) {
        (Delete, "deletes every document of a collection", true)
    } else if has(&[
        "updateMany({}",
        "updateMany( {}",
        "\"$out\"",
        "$out:",
        "'$out'",
    ]) {
        (
            Delete,
            "overwrites every document of a collection (`updateMany({})` or `$out`)",
            true,
        )
    } else if has(&[
        "deleteMany(",
        "deleteOne(",
        ".remove(",
        "findOneAndDelete(",
        "dropIndex(",
        "dropIndexes(",
    ]) {
        (Delete, "deletes documents", false)
    } else if has(&[
        "createUser(",
        "grantRolesToUser(",
        "revokeRolesFromUser(",
        "updateUser(",
        "createRole(",
        "grantPrivilegesToRole(",
        "dropUser(",
    ]) {
        (Permissions, "changes users or roles", false)
    } else if has(&[
        "insert",
        "update",
        "replaceOne(",
        "createIndex(",
        "createCollection(",
        "renameCollection(",
        "$out",
        "$merge",
        "bulkWrite(",
    ]) {
        (Write, "writes documents", false)
    } else if has(&[
        "find(",
        "findOne(",
        "count",
        "aggregate(",
        "getCollectionNames(",
        "stats(",
        "show ",
        "explain(",
        "distinct(",
    ]) {
        (Read, "reads documents", false)
    } else {
        (Unknown, "a script airlock does not recognise", false)
    };
    let i = c.part(out, effect, why);
    out.parts[i].bulk = bulk;
}

/// URL paths whose resources say who can do what (GitHub, GitLab, Elasticsearch,
/// generic admin APIs).
const ACCESS_PATHS: &[&str] = &[
    "/collaborators",
    "/permissions",
    "/protection",
    "/acl",
    "/roles",
    "/members",
    "/iam",
    "/_security/",
    "/invitations",
    "/keys",
    "/tokens",
    "/access_tokens",
    "/deploy_keys",
    "/api-keys",
    "/apikeys",
];

fn http(c: &Cmd, base: &str, rest: &[&str], out: &mut Findings) {
    let (method, url, writes_file) = match base {
        "curl" => {
            let explicit = opt_value(rest, &["-X", "--request"]).map(str::to_ascii_uppercase);
            let data = has_flag(
                rest,
                None,
                &[
                    "-d",
                    "--data",
                    "--data-raw",
                    "--data-binary",
                    "--data-urlencode",
                    "-F",
                    "--form",
                    "--json",
                    "--form-string",
                ],
            ) || rest.iter().any(|a| a.starts_with("-d") && a.len() > 2);
            let upload = has_flag(rest, None, &["-T", "--upload-file"]);
            let head = has_flag(rest, Some('I'), &["--head"]);
            let method = explicit.unwrap_or_else(|| {
                if upload {
                    "PUT".into()
                } else if data {
                    "POST".into()
                } else if head {
                    "HEAD".into()
                } else {
                    "GET".into()
                }
            });
            let url = positionals(
                rest,
                &[
                    "-X",
                    "--request",
                    "-H",
                    "--header",
                    "-d",
                    "--data",
                    "--data-raw",
                    "--data-binary",
                    "-o",
                    "--output",
                    "-u",
                    "--user",
                    "-F",
                    "--form",
                    "-T",
                    "--upload-file",
                    "-A",
                    "--user-agent",
                    "-e",
                    "--referer",
                    "-b",
                    "--cookie",
                    "-c",
                    "--cookie-jar",
                    "--json",
                    "-m",
                    "--max-time",
                    "--connect-timeout",
                    "-w",
                    "--write-out",
                    "--cacert",
                    "--cert",
                    "--key",
                    "-x",
                    "--proxy",
                    "-K",
                    "--config",
                    "--retry",
                    "--data-urlencode",
                ],
            )
            .into_iter()
            .next();
            (
                method,
                url,
                has_flag(rest, Some('o'), &["--output", "--remote-name"])
                    || has_flag(rest, Some('O'), &["--remote-name-all"]),
            )
        }
        "wget" => {
            let method = opt_value(rest, &["--method"])
                .map(str::to_ascii_uppercase)
                .unwrap_or_else(|| {
                    if has_flag(rest, None, &["--post-data", "--post-file", "--body-data"]) {
                        "POST".into()
                    } else {
                        "GET".into()
                    }
                });
            let to_stdout = opt_value(rest, &["-O", "--output-document"]) == Some("-")
                || rest
                    .iter()
                    .any(|a| a.starts_with('-') && !a.starts_with("--") && a.ends_with("O-"));
            (
                method,
                positionals(
                    rest,
                    &[
                        "-O",
                        "--output-document",
                        "--method",
                        "--header",
                        "-P",
                        "--post-data",
                        "-U",
                        "--user",
                        "--password",
                    ],
                )
                .into_iter()
                .next(),
                !to_stdout && !has_flag(rest, None, &["--spider"]),
            )
        }
        _ => {
            // httpie: `http [METHOD] URL [items]`; data items make it a POST.
            let pos = positionals(rest, &["-a", "--auth", "-o", "--output"]);
            let upper = |s: &str| s.chars().all(|c| c.is_ascii_uppercase());
            let (method, url, items) = match pos.first() {
                Some(m) if upper(m) => (
                    (*m).to_owned(),
                    pos.get(1).copied(),
                    pos.get(2..).map_or(0, <[_]>::len),
                ),
                _ => (
                    String::new(),
                    pos.first().copied(),
                    pos.get(1..).map_or(0, <[_]>::len),
                ),
            };
            let method = if method.is_empty() {
                if items > 0
                    && pos
                        .iter()
                        .skip(1)
                        .any(|i| i.contains('=') && !i.contains("=="))
                {
                    "POST".into()
                } else {
                    "GET".into()
                }
            } else {
                method
            };
            (
                method,
                url,
                has_flag(rest, Some('d'), &["--download", "-o", "--output"]),
            )
        }
    };
    let output = if base == "curl" {
        opt_value(rest, &["-o", "--output"])
    } else if base == "wget" {
        opt_value(rest, &["-O", "--output-document"]).filter(|o| *o != "-")
    } else {
        opt_value(rest, &["-o", "--output"])
    };
    let body = opt_value(
        rest,
        &[
            "-d",
            "--data",
            "--data-raw",
            "--data-binary",
            "--json",
            "--post-data",
            "--body-data",
        ],
    )
    .unwrap_or("");
    let (mut effect, mut why) = match method.as_str() {
        "GET" | "HEAD" | "OPTIONS" | "TRACE" if writes_file => {
            (Write, format!("HTTP {method} saved to a file"))
        }
        "GET" | "HEAD" | "OPTIONS" | "TRACE" => (Read, format!("HTTP {method}")),
        "DELETE" => (Delete, "HTTP DELETE".to_owned()),
        "POST" | "PUT" | "PATCH" => (Write, format!("HTTP {method}")),
        _ => (Unknown, format!("HTTP {method}")),
    };
    let mut bulk = false;
    if matches!(method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE") {
        let path = url.unwrap_or("").to_ascii_lowercase();
        let lower_body = body.to_ascii_lowercase();
        if ACCESS_PATHS.iter().any(|p| path.contains(p)) {
            (effect, why) = (
                Permissions,
                format!("HTTP {method} on an access-control resource"),
            );
        } else if path.contains("_delete_by_query") || path.ends_with("/delete") {
            (effect, why) = (Delete, format!("HTTP {method} to a delete endpoint"));
            bulk = lower_body.contains("match_all");
        } else if lower_body.contains("mutation") {
            let destroys = ["delete", "remove", "destroy", "drop", "purge"]
                .iter()
                .any(|v| lower_body.contains(v));
            if destroys {
                (effect, why) = (Delete, "a GraphQL mutation that deletes".into());
            }
        } else if method == "POST" && path.contains("graphql") && lower_body.contains("query") {
            (effect, why) = (Read, "a GraphQL query (no mutation)".into());
        }
    }
    if let Some(o) = output.filter(|o| *o != "-" && *o != "/dev/null") {
        if access_control_file(o) {
            (effect, why) = (
                Permissions,
                format!("the download replaces {o}, which decides who can do what"),
            );
        } else if surely_exists(o) && effect < Delete {
            (effect, why) = (Delete, format!("the download replaces the existing {o}"));
        }
        out.target(file_target(o));
    }
    if effect == Delete {
        let u = url.unwrap_or("");
        bulk |= u.contains('*') || u.contains("/_all");
    }
    let i = c.part(out, effect, why);
    out.parts[i].bulk = bulk;
    out.parts[i].operation = Some(format!("http:{method}"));
    if let Some(u) = url {
        out.target(Target {
            kind: "http:url".into(),
            name: u.into(),
            host: crate::shell::url_host(u).map(str::to_owned),
            ..Target::default()
        });
    }
}

fn gsutil(c: &Cmd, rest: &[&str], out: &mut Findings) {
    let pos = positionals(rest, &["-o", "-h", "-p", "-u"]);
    let verb = pos.first().copied().unwrap_or("");
    let recursive = has_flag(rest, Some('r'), &[])
        || has_flag(rest, Some('R'), &[])
        || has_flag(rest, Some('d'), &[]);
    let (effect, bulk) = match verb {
        "ls" | "cat" | "du" | "stat" | "hash" | "version" | "help" => (Read, false),
        "rm" => (Delete, recursive || has_flag(rest, Some('a'), &[])),
        "rb" => (Delete, true),
        "rsync" if has_flag(rest, Some('d'), &[]) => (Delete, true),
        "cp" | "mv" | "rsync" | "mb" | "setmeta" | "compose" | "rewrite" => {
            (if verb == "mv" { Delete } else { Write }, false)
        }
        "acl" | "iam" | "defacl" => (
            if pos.get(1).is_some_and(|s| *s == "get") {
                Read
            } else {
                Permissions
            },
            false,
        ),
        _ => (Unknown, false),
    };
    let i = c.part(out, effect, format!("`gsutil {verb}`"));
    out.parts[i].bulk = bulk;
}

fn packages(c: &Cmd, base: &str, rest: &[&str], out: &mut Findings) {
    let pos = positionals(
        rest,
        &[
            "-r",
            "--requirement",
            "-C",
            "--prefix",
            "-c",
            "--constraint",
            "-i",
            "--index-url",
            "--registry",
            "-w",
            "--workspace",
            "--filter",
            "-p",
            "--package",
        ],
    );
    let verb = pos.first().copied().unwrap_or("");
    let (effect, why) = match verb {
        "run" | "run-script" | "rs" if matches!(base, "npm" | "yarn" | "pnpm" | "bun") => {
            project_script(base, pos.get(1).copied().unwrap_or(""))
        }
        "run" if base == "go" => (
            Unknown,
            "`go run` runs a program airlock has not read".into(),
        ),
        "run" | "exec" | "x" | "dlx" => (
            Unknown,
            format!("`{base} {verb}` runs a program airlock has not read"),
        ),
        "owner" | "access" | "token" | "team" | "adduser" | "login"
            if matches!(base, "npm" | "yarn" | "pnpm" | "gem") =>
        {
            let listing = pos
                .get(1)
                .is_some_and(|s| matches!(*s, "ls" | "list" | "get"));
            if listing
                || (base == "gem"
                    && verb == "owner"
                    && !has_flag(rest, None, &["--add", "--remove", "-a", "-r"]))
            {
                (Read, format!("`{base} {verb}` lists who has access"))
            } else {
                (
                    Permissions,
                    format!("`{base} {verb}` changes who can publish or access packages"),
                )
            }
        }
        "env" if base == "conda" || base == "mamba" => match pos.get(1).copied() {
            Some("remove") => (
                Delete,
                format!("`{base} env remove` deletes an environment"),
            ),
            Some("list") | Some("export") | None => {
                (Read, format!("`{base} env` lists environments"))
            }
            Some(_) => (Write, format!("`{base} env` changes an environment")),
        },
        "install" | "add" | "i" | "update" | "upgrade" | "up" | "sync" | "ci" | "build" | "b"
        | "check" | "test" | "t" | "fmt" | "clippy" | "lock" | "get" | "tidy" | "download"
        | "fetch" | "publish" | "link" | "pack" | "dedupe" | "audit" | "require"
        | "dump-autoload" | "mod" | "vet" | "generate" | "bench" | "doc" | "new" | "init"
        | "create" | "login" | "refresh" | "makecache" | "tap" | "reinstall" | "pin" | "-S" => {
            if verb == "audit" && !has_flag(rest, None, &["fix"]) && !pos.contains(&"fix") {
                (Read, format!("`{base} audit` reports vulnerabilities"))
            } else if verb == "publish" {
                (
                    Write,
                    format!("`{base} publish` releases a package to a registry"),
                )
            } else {
                (
                    Write,
                    format!("`{base} {verb}` installs, builds or changes dependencies"),
                )
            }
        }
        "remove" | "uninstall" | "rm" | "purge" | "autoremove" | "erase" | "unlink" | "prune"
        | "clean" | "r" | "un" | "unpublish" | "cache" | "-R" | "-e" | "--purge" => {
            if verb == "cache"
                && pos
                    .get(1)
                    .is_some_and(|s| matches!(*s, "ls" | "list" | "info" | "dir" | "verify"))
            {
                (Read, "inspects the cache".into())
            } else {
                (Delete, format!("`{base} {verb}` removes packages or files"))
            }
        }
        "list" | "ls" | "show" | "search" | "info" | "outdated" | "view" | "why" | "version"
        | "--version" | "-v" | "help" | "freeze" | "tree" | "env" | "config" | "search-all"
        | "query" | "-q" | "-l" | "metadata" | "doctor" | "deps" | "policy" | "whoami"
        | "explain" | "inspect" => (Read, format!("`{base} {verb}` only reads")),
        "start" | "dev" | "serve" | "watch" => {
            (Write, format!("`{base} {verb}` runs a project script"))
        }
        "" => (Read, format!("`{base}` prints its help")),
        _ if matches!(base, "npm" | "yarn" | "pnpm" | "bun") => project_script(base, verb),
        other => (Unknown, format!("airlock does not know `{base} {other}`")),
    };
    let i = c.part(out, effect, why);
    out.parts[i].operation = Some(format!("{base}:{verb}"));
    // Clearing a whole cache, every orphan package, a build directory or a
    // published package.
    out.parts[i].bulk = effect == Delete
        && matches!(
            verb,
            "autoremove" | "cache" | "clean" | "unpublish" | "purge" | "prune" | "--purge"
        );
}

/// A package.json script: the body is not visible, so only the names every project
/// uses for building and checking count as writes; any other script is unknown.
fn project_script(base: &str, name: &str) -> (Effect, String) {
    let known = name.split(':').next().unwrap_or(name);
    if matches!(
        known,
        "build"
            | "test"
            | "lint"
            | "typecheck"
            | "type-check"
            | "format"
            | "fmt"
            | "check"
            | "compile"
            | "dev"
            | "start"
            | "serve"
            | "watch"
            | "prettier"
            | "eslint"
            | "tsc"
            | "coverage"
            | "storybook"
            | "preview"
    ) {
        (
            Write,
            format!("`{base} {name}` builds, checks or tests the project"),
        )
    } else {
        (
            Unknown,
            format!("`{base} {name}` runs a package.json script airlock has not read"),
        )
    }
}

fn interpreters(w: &Walker, c: &Cmd, base: &str, rest: &[&str], out: &mut Findings) {
    // `php artisan …`, `dotnet ef …`: framework tools behind an interpreter.
    if base == "php" && rest.first() == Some(&"artisan") {
        if tools::classify(w, "artisan", &rest[1..], &c.text, out) {
            return;
        }
    } else if base == "dotnet" && tools::classify(w, base, rest, &c.text, out) {
        return;
    }
    if let Some(code) = opt_value(rest, &["-c", "-e", "--eval"]) {
        let (effect, bulk, why) = inline_code(code);
        let i = c.part(out, effect, format!("`{base}`: {why}"));
        out.parts[i].bulk = bulk;
        return;
    }
    if base.starts_with("python") {
        if let Some(m) = opt_value(rest, &["-m"]) {
            let effect = match m {
                "pytest" | "unittest" | "mypy" | "black" | "ruff" | "pip" | "build" | "venv"
                | "compileall" | "tox" => Write,
                "http.server" | "json.tool" | "pydoc" | "this" | "site" | "timeit" => Read,
                _ => Unknown,
            };
            c.part(out, effect, format!("`python -m {m}`"));
            return;
        }
        if let Some(i) = rest.iter().position(|a| a.ends_with("manage.py")) {
            frameworks(w, c, "manage.py", &rest[i + 1..], out);
            return;
        }
        if rest.is_empty() || rest == ["--version"] || rest == ["-V"] {
            c.part(out, if rest.is_empty() { Unknown } else { Read }, "python");
            return;
        }
    }
    if rest
        .iter()
        .any(|a| *a == "--version" || *a == "-v" || *a == "-V")
        && rest.len() == 1
    {
        c.part(out, Read, "prints the version");
        return;
    }
    c.part(
        out,
        Unknown,
        format!("`{base}` runs code airlock has not read"),
    );
}

fn frameworks(w: &Walker, c: &Cmd, base: &str, rest: &[&str], out: &mut Findings) {
    let pos = positionals(
        rest,
        &[
            "--settings",
            "--database",
            "-e",
            "--environment",
            "-c",
            "--command",
        ],
    );
    if base == "bundle" {
        // `bundle exec CMD …` runs CMD with the bundle's gems.
        if pos.first() == Some(&"exec") {
            let at = rest
                .iter()
                .position(|r| *r == "exec")
                .map_or(rest.len(), |i| i + 1);
            if at < rest.len() {
                classify(w, &literal_args(&rest[at..]), None, false, out);
                return;
            }
        }
        packages(c, base, rest, out);
        return;
    }
    let task = pos.first().copied().unwrap_or("");
    let (effect, bulk, why) = match base {
        "manage.py" | "django-admin" => django(task, &pos, rest),
        "rails" | "rake" => rails(task, &pos),
        "alembic" => match task {
            "downgrade" => (
                Delete,
                pos.get(1) == Some(&"base"),
                "down-migrations drop tables or columns",
            ),
            "upgrade" | "revision" | "stamp" | "merge" | "edit" => {
                (Write, false, "changes the schema or its history")
            }
            "current" | "history" | "heads" | "branches" | "show" | "check" | "" => {
                (Read, false, "only reads the migration state")
            }
            _ => (Unknown, false, "not an alembic command airlock knows"),
        },
        "flyway" => match task {
            "clean" => (
                Delete,
                true,
                "`flyway clean` drops every object in the schemas",
            ),
            "undo" => (Delete, false, "undoes migrations"),
            "migrate" | "repair" | "baseline" => (Write, false, "changes the schema"),
            "info" | "validate" | "check" | "" => (Read, false, "only reads the migration state"),
            _ => (Unknown, false, "not a flyway command airlock knows"),
        },
        "liquibase" => match task {
            "dropAll" | "drop-all" => (Delete, true, "drops every database object"),
            t if t.starts_with("rollback") && !t.ends_with("SQL") && !t.ends_with("-sql") => (
                Delete,
                false,
                "rolls changes back, dropping what they created",
            ),
            "update" | "update-count" | "update-to-tag" | "tag" | "changelog-sync" => {
                (Write, false, "changes the schema")
            }
            "status" | "history" | "diff" | "validate" | "updateSQL" | "update-sql" | "" => {
                (Read, false, "only reads or prints SQL")
            }
            _ => (Unknown, false, "not a liquibase command airlock knows"),
        },
        "mix" => match task {
            "ecto.drop" | "ecto.reset" => (Delete, true, "drops the database"),
            "ecto.rollback" => (Delete, false, "down-migrations drop tables or columns"),
            "ecto.migrate" | "ecto.create" | "ecto.setup" | "test" | "compile" | "deps.get"
            | "format" | "phx.server" | "phx.gen.html" | "phx.gen.json" | "phx.gen.context" => {
                (Write, false, "builds, tests or migrates the project")
            }
            "help" | "deps.tree" | "ecto.migrations" | "" => (Read, false, "only reads"),
            _ => (Unknown, false, "a project's own mix task"),
        },
        _ => (Unknown, false, "not a framework command airlock knows"),
    };
    let i = c.part(out, effect, format!("`{base} {task}`: {why}"));
    out.parts[i].bulk = bulk;
    out.parts[i].operation = Some(format!("{base}:{task}"));
}

/// Inline code (`manage.py shell -c`, `rails runner '…'`): destroying calls are
/// recognised; anything else is unknown, since airlock does not read Python or Ruby.
fn inline_code(code: &str) -> (Effect, bool, &'static str) {
    const DESTROY: [&str; 17] = [
        ".delete(",
        ".delete_all",
        "destroy_all",
        ".destroy",
        "drop_table",
        "truncate",
        "rmtree",
        "os.remove",
        "rm_rf",
        "unlink(",
        "unlink ",
        "drop_database",
        "rmSync",
        "rmdirSync",
        "unlinkSync",
        "os.rmdir",
        "remove_dir_all",
    ];
    if DESTROY.iter().any(|d| code.contains(d)) {
        let bulk = code.contains(".all()")
            || code.contains("_all")
            || code.contains("drop_")
            || code.contains("rmtree")
            || code.contains("recursive")
            || code.contains("rm_rf")
            || code.contains("glob");
        (Delete, bulk, "the inline code destroys records or files")
    } else {
        (Unknown, false, "runs inline code airlock does not read")
    }
}

fn django(task: &str, pos: &[&str], rest: &[&str]) -> (Effect, bool, &'static str) {
    match task {
        "flush" | "reset_db" => (Delete, true, "empties every table"),
        "migrate" if pos.get(2) == Some(&"zero") => (
            Delete,
            true,
            "unapplies every migration of the app, dropping its tables",
        ),
        "migrate" if pos.len() > 2 => (
            Unknown,
            false,
            "migrating to a named migration may roll back",
        ),
        "migrate" | "makemigrations" | "loaddata" | "compilemessages" | "makemessages"
        | "startapp" | "startproject" | "test" | "runserver" | "createcachetable"
        | "squashmigrations" | "collectstatic" => {
            if task == "collectstatic" && has_flag(rest, None, &["--clear"]) {
                (
                    Delete,
                    false,
                    "`--clear` deletes the existing static files first",
                )
            } else {
                (Write, false, "changes the project or its database")
            }
        }
        "clearsessions" => (Delete, false, "deletes expired sessions"),
        "createsuperuser" | "changepassword" => (
            Permissions,
            false,
            "creates an administrator or changes a password",
        ),
        "showmigrations" | "sqlmigrate" | "sqlflush" | "sqlsequencereset" | "check"
        | "diffsettings" | "inspectdb" | "findstatic" | "help" | "version" | "--version" | "" => {
            (Read, false, "only reads or prints")
        }
        "shell" => match opt_value(rest, &["-c", "--command"]) {
            Some(code) => inline_code(code),
            None => (Unknown, false, "opens an interactive shell"),
        },
        "dbshell" | "runscript" => (
            Unknown,
            false,
            "opens a shell or runs a script airlock cannot follow",
        ),
        _ => (Unknown, false, "a project's own management command"),
    }
}

fn rails(task: &str, pos: &[&str]) -> (Effect, bool, &'static str) {
    match task {
        "db:drop" | "db:reset" | "db:purge" | "db:schema:load" | "db:structure:load"
        | "db:setup" | "db:truncate_all" | "db:seed:replant" | "db:drop:all" => {
            (Delete, true, "drops or wipes the database")
        }
        "db:rollback" | "db:migrate:down" | "db:migrate:redo" => {
            (Delete, false, "down-migrations drop tables or columns")
        }
        "assets:clobber" | "tmp:clear" | "log:clear" | "cache:clear" => {
            (Delete, false, "deletes generated files")
        }
        "routes" | "db:migrate:status" | "db:version" | "about" | "stats" | "notes" | "-T"
        | "--tasks" | "middleware" | "--version" | "-v" | "help" | "" => {
            (Read, false, "only reads")
        }
        "db:migrate" | "db:migrate:up" | "db:seed" | "db:create" | "db:prepare"
        | "assets:precompile" | "generate" | "g" | "test" | "spec" | "server" | "s"
        | "credentials:edit" | "db:test:prepare" => {
            (Write, false, "changes the project or its database")
        }
        "runner" | "r" => match pos.get(1) {
            Some(code) if !code.ends_with(".rb") => inline_code(code),
            _ => (Unknown, false, "runs a script airlock has not read"),
        },
        "console" | "c" | "dbconsole" | "db" => (Unknown, false, "opens an interactive console"),
        _ => (Unknown, false, "a project's own task"),
    }
}

fn services(c: &Cmd, rest: &[&str], out: &mut Findings) {
    let verb = positionals(rest, &[])
        .into_iter()
        .find(|w| !w.contains('.') || matches!(*w, "status" | "start" | "stop"))
        .unwrap_or("");
    let effect = match verb {
        "status" | "is-active" | "is-enabled" | "is-failed" | "list-units" | "list-unit-files"
        | "show" | "cat" | "list-timers" | "--status-all" => Read,
        "start" | "stop" | "restart" | "reload" | "enable" | "disable" | "mask" | "unmask"
        | "daemon-reload" | "try-restart" | "reload-or-restart" | "kill" | "edit"
        | "set-property" => Write,
        _ => Unknown,
    };
    c.part(out, effect, format!("service control `{verb}`"));
}
