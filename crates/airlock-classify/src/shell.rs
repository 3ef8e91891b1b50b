//! Shell command lines → what they do.
//!
//! The line is parsed into a real AST (brush-parser) and all of it is walked:
//! pipelines, `&&` `||` `;`, subshells, brace groups, `if`/`for`/`while`/`case`,
//! functions, command and process substitutions, heredocs and redirections. Each
//! simple command is resolved to its words and handed to the command knowledge in
//! [`crate::commands`], which unwraps wrappers (`sudo`, `xargs`, `bash -c`, `ssh`,
//! `kubectl exec`, …) by calling back into [`Walker::script`].
//!
//! Anything whose meaning depends on run-time values airlock cannot see (a computed
//! command name, `eval`, `source`) is `unknown`.

use airlock_model::{Effect, Target};
use brush_parser::ast;
use brush_parser::word::{WordPiece, WordPieceWithSource};

use crate::commands;
use crate::{Findings, Part};

/// Longest command line analysed; longer ones are `unknown`.
pub const MAX_LEN: usize = 1 << 20;
/// How deep `bash -c "…"`, `$(…)`, `ssh host '…'` may nest.
pub const MAX_DEPTH: usize = 8;
/// Bracket nesting beyond which the parser is not trusted with the input.
const MAX_BRACKETS: usize = 48;

/// Classifies a shell command line, as `bash -c` would run it.
pub fn classify(command: &str) -> Findings {
    Walker::new(0).script(command)
}

/// A word of a simple command, after looking inside it.
#[derive(Debug, Clone)]
pub struct Arg {
    /// The word's value when it is fully literal (quotes removed).
    pub literal: Option<String>,
    /// The word as written, for messages.
    pub raw: String,
}

impl Arg {
    /// The literal value, or the raw text for a computed word.
    pub fn text(&self) -> &str {
        self.literal.as_deref().unwrap_or(&self.raw)
    }
}

/// Input fed to a command's standard input by a heredoc or here-string.
#[derive(Debug, Clone)]
pub struct Stdin {
    pub text: String,
    /// The text contains expansions (`$VAR`, `$(…)`) that are resolved at run time.
    pub expands: bool,
}

pub(crate) struct Walker {
    pub depth: usize,
    /// Functions defined so far in this script, and the ones whose body is being
    /// walked (a call to one of those is recursion).
    functions: std::cell::RefCell<Functions>,
    /// What the previous stage of a pipeline prints, when it is a literal
    /// (`echo "DROP TABLE t;" | psql`): the next command reads it as its stdin.
    piped: std::cell::RefCell<Option<Stdin>>,
    /// How many commands enclose the one being classified (`sudo env timeout 5 rm`):
    /// wrappers unwrap by recursion, which this bounds.
    pub(crate) wrapped: std::cell::Cell<usize>,
}

#[derive(Default)]
struct Functions {
    defined: Vec<String>,
    defining: Vec<String>,
}

impl Walker {
    pub fn new(depth: usize) -> Walker {
        Walker {
            depth,
            functions: std::cell::RefCell::default(),
            piped: std::cell::RefCell::default(),
            wrapped: std::cell::Cell::new(0),
        }
    }

    /// A call to a function this script defined: its body was classified where it
    /// was defined. A function that calls itself is a fork bomb or unbounded
    /// recursion, which nobody can bound: `unknown`.
    fn function_call(&self, name: &str, text: &str, out: &mut Findings) -> bool {
        let f = self.functions.borrow();
        if f.defining.iter().any(|d| d == name) {
            out.part(Part::new(
                clip(text),
                Effect::Unknown,
                format!("the function `{name}` calls itself (a fork bomb or unbounded recursion)"),
            ));
            true
        } else if f.defined.iter().any(|d| d == name) {
            out.part(Part::new(
                clip(text),
                Effect::Read,
                format!(
                    "calls the function `{name}`, whose body is classified where it is defined"
                ),
            ));
            true
        } else {
            false
        }
    }

    /// Classifies a whole script (one level deeper than the caller).
    pub fn script(&self, text: &str) -> Findings {
        if self.depth > MAX_DEPTH {
            return Findings::unknown(text, "commands nested too deeply to follow");
        }
        if text.len() > MAX_LEN {
            return Findings::unknown(clip(text), "command too long to analyse");
        }
        if text.trim().is_empty() {
            // An empty script does nothing; at depth 0 that is still a call we did
            // not understand.
            return if self.depth == 0 {
                Findings::unknown("", "empty command")
            } else {
                let mut f = Findings::default();
                f.part(Part::new("", Effect::Read, "empty script"));
                f
            };
        }
        if bracket_depth(text) > MAX_BRACKETS || keyword_depth(text) > MAX_BRACKETS {
            return Findings::unknown(clip(text), "brackets nested too deeply to analyse");
        }
        if io_number_overflows(text) {
            // brush-parser 0.4 panics on a file-descriptor number that does not fit
            // an i32 (`2147483648>f`); no shell accepts one either.
            return Findings::unknown(
                clip(text),
                "a redirection's file-descriptor number is too large",
            );
        }
        let program = match parse(text) {
            Ok(p) => p,
            Err(e) => {
                return Findings::unknown(clip(text), format!("the shell cannot parse this: {e}"));
            }
        };
        let inner = Walker::new(self.depth + 1);
        let mut out = Findings::default();
        for list in &program.complete_commands {
            inner.compound_list(list, &mut out);
        }
        if out.parts.is_empty() {
            // Only comments or assignments.
            out.part(Part::new(clip(text), Effect::Read, "no command runs"));
        }
        out
    }

    fn compound_list(&self, list: &ast::CompoundList, out: &mut Findings) {
        for ast::CompoundListItem(and_or, _) in &list.0 {
            self.pipeline(&and_or.first, out);
            for next in &and_or.additional {
                match next {
                    ast::AndOr::And(p) | ast::AndOr::Or(p) => self.pipeline(p, out),
                }
            }
        }
    }

    fn pipeline(&self, p: &ast::Pipeline, out: &mut Findings) {
        let mut feed: Option<Stdin> = None;
        for cmd in &p.seq {
            *self.piped.borrow_mut() = feed.take();
            self.command(cmd, out);
            // Only a simple command takes what is piped to it.
            self.piped.borrow_mut().take();
            feed = self.printed(cmd);
        }
    }

    /// The output of `echo …` or `printf …`, when that is all the command is.
    fn printed(&self, cmd: &ast::Command) -> Option<Stdin> {
        let ast::Command::Simple(s) = cmd else {
            return None;
        };
        let mut scratch = Findings::default();
        let name = self.word(s.word_or_name.as_ref()?, &mut scratch);
        let name = name.literal?;
        if name != "echo" && name != "printf" {
            return None;
        }
        let mut words = Vec::new();
        for item in s.suffix.iter().flat_map(|p| p.0.iter()) {
            match item {
                ast::CommandPrefixOrSuffixItem::Word(w) => words.push(self.word(w, &mut scratch)),
                _ => return None,
            }
        }
        let expands = words.iter().any(|a| a.literal.is_none());
        let texts: Vec<&str> = words
            .iter()
            .map(Arg::text)
            .skip_while(|w| name == "echo" && matches!(*w, "-n" | "-e" | "-E" | "-ne" | "-en"))
            .collect();
        let text = if name == "printf" {
            texts
                .first()
                .map_or(String::new(), |f| f.replace("\\n", "\n"))
        } else {
            texts.join(" ")
        };
        Some(Stdin { text, expands })
    }

    fn command(&self, cmd: &ast::Command, out: &mut Findings) {
        match cmd {
            ast::Command::Simple(s) => self.simple(s, out),
            ast::Command::Compound(c, redirects) => {
                self.compound(c, out);
                if let Some(r) = redirects {
                    for io in &r.0 {
                        self.redirect(io, out);
                    }
                }
            }
            ast::Command::Function(f) => {
                // Defining a function runs nothing, but its body is what a later call
                // runs; report it so a destructive body is never hidden behind a name.
                let name = f.fname.value.clone();
                self.functions.borrow_mut().defining.push(name.clone());
                self.compound(&f.body.0, out);
                let mut fns = self.functions.borrow_mut();
                fns.defining.pop();
                fns.defined.push(name);
            }
            ast::Command::ExtendedTest(..) => {
                out.part(Part::new("[[ … ]]", Effect::Read, "a test expression"))
            }
        }
    }

    fn compound(&self, c: &ast::CompoundCommand, out: &mut Findings) {
        use ast::CompoundCommand as C;
        match c {
            C::BraceGroup(b) => self.compound_list(&b.list, out),
            C::Subshell(s) => self.compound_list(&s.list, out),
            C::ForClause(f) => {
                let mut computed = f.values.is_none();
                for w in f.values.iter().flatten() {
                    let a = self.word(w, out);
                    computed |= a
                        .literal
                        .as_deref()
                        .is_none_or(|l| l.contains(['*', '?', '[']));
                }
                let before = out.parts.len();
                self.compound_list(&f.body.list, out);
                if computed {
                    repeated(
                        out,
                        before,
                        "for every item of a list known only at run time",
                    );
                }
            }
            C::ArithmeticForClause(f) => self.compound_list(&f.body.list, out),
            C::CaseClause(c) => {
                self.word(&c.value, out);
                for item in &c.cases {
                    if let Some(cmd) = &item.cmd {
                        self.compound_list(cmd, out);
                    }
                }
            }
            C::IfClause(i) => {
                self.compound_list(&i.condition, out);
                self.compound_list(&i.then, out);
                for e in i.elses.iter().flatten() {
                    if let Some(cond) = &e.condition {
                        self.compound_list(cond, out);
                    }
                    self.compound_list(&e.body, out);
                }
            }
            C::WhileClause(w) | C::UntilClause(w) => {
                self.compound_list(&w.0, out);
                let before = out.parts.len();
                self.compound_list(&w.1.list, out);
                repeated(
                    out,
                    before,
                    "in a loop that runs until a run-time condition ends it",
                );
            }
            C::Arithmetic(_) => out.part(Part::new("(( … ))", Effect::Read, "arithmetic")),
            C::Coprocess(c) => self.command(&c.body, out),
        }
    }

    /// Resolves a word, classifying any command substitution inside it.
    pub(crate) fn word(&self, w: &ast::Word, out: &mut Findings) -> Arg {
        let raw = w.value.clone();
        let Ok(pieces) =
            brush_parser::word::parse(&w.value, &brush_parser::ParserOptions::default())
        else {
            return Arg { literal: None, raw };
        };
        let mut lit = Some(String::new());
        self.pieces(&pieces, &mut lit, out);
        Arg { literal: lit, raw }
    }

    fn pieces(&self, pieces: &[WordPieceWithSource], lit: &mut Option<String>, out: &mut Findings) {
        for piece in pieces {
            match &piece.piece {
                WordPiece::Text(t)
                | WordPiece::SingleQuotedText(t)
                | WordPiece::AnsiCQuotedText(t) => {
                    if let Some(s) = lit.as_mut() {
                        s.push_str(t);
                    }
                }
                WordPiece::EscapeSequence(e) => {
                    if let Some(s) = lit.as_mut() {
                        s.push_str(e.strip_prefix('\\').unwrap_or(e));
                    }
                }
                WordPiece::DoubleQuotedSequence(inner)
                | WordPiece::GettextDoubleQuotedSequence(inner) => {
                    self.pieces(inner, lit, out);
                }
                WordPiece::TildeExpansion(_) => {
                    if let Some(s) = lit.as_mut() {
                        s.push('~');
                    }
                }
                WordPiece::CommandSubstitution(script)
                | WordPiece::BackquotedCommandSubstitution(script) => {
                    out.extend(self.script(script));
                    *lit = None;
                }
                WordPiece::ParameterExpansion(_) | WordPiece::ArithmeticExpression(_) => {
                    *lit = None
                }
            }
        }
    }

    fn simple(&self, s: &ast::SimpleCommand, out: &mut Findings) {
        // Taken before any word is looked at: a substitution inside this command
        // must not receive it.
        let piped = self.piped.borrow_mut().take();
        let mut args: Vec<Arg> = Vec::new();
        let mut redirects: Vec<&ast::IoRedirect> = Vec::new();
        let mut assignments = 0usize;
        let prefix = s.prefix.iter().flat_map(|p| p.0.iter());
        let suffix = s.suffix.iter().flat_map(|p| p.0.iter());
        for it in prefix {
            self.item(it, false, &mut args, &mut redirects, &mut assignments, out);
        }
        if let Some(w) = &s.word_or_name {
            let a = self.word(w, out);
            args.push(a);
        }
        for it in suffix {
            self.item(it, true, &mut args, &mut redirects, &mut assignments, out);
        }
        // Heredocs and here-strings feed the command's stdin, as does a literal
        // pipeline stage before it.
        let mut stdin: Option<Stdin> = piped;
        for r in &redirects {
            match r {
                ast::IoRedirect::HereDocument(_, h) => {
                    stdin = Some(Stdin {
                        text: h.doc.value.clone(),
                        expands: h.requires_expansion && has_expansion(&h.doc.value),
                    });
                    if h.requires_expansion {
                        self.heredoc_substitutions(&h.doc.value, out);
                    }
                }
                ast::IoRedirect::HereString(_, w) => {
                    let a = self.word(w, out);
                    stdin = Some(Stdin {
                        expands: a.literal.is_none(),
                        text: a.text().to_owned(),
                    });
                }
                _ => {}
            }
        }
        let file_stdin = redirects.iter().any(|r| {
            matches!(r, ast::IoRedirect::File(fd, ast::IoFileRedirectKind::Read, _) if fd.is_none_or(|f| f == 0))
        });
        if args.is_empty() {
            if assignments > 0 && redirects.is_empty() {
                out.part(Part::new(
                    "assignment",
                    Effect::Read,
                    "sets shell variables only",
                ));
            }
        } else if !args
            .first()
            .and_then(|a| a.literal.as_deref())
            .is_some_and(|name| {
                let text: Vec<&str> = args.iter().map(|a| a.raw.as_str()).collect();
                self.function_call(name, &text.join(" "), out)
            })
        {
            commands::classify(self, &args, stdin.as_ref(), file_stdin, out);
        }
        for r in redirects {
            self.redirect(r, out);
        }
    }

    /// One prefix or suffix item. `NAME=value` after the command word is an
    /// argument (`dd of=/dev/sda`), before it an assignment.
    fn item<'a>(
        &self,
        item: &'a ast::CommandPrefixOrSuffixItem,
        after_command: bool,
        args: &mut Vec<Arg>,
        redirects: &mut Vec<&'a ast::IoRedirect>,
        assignments: &mut usize,
        out: &mut Findings,
    ) {
        match item {
            ast::CommandPrefixOrSuffixItem::Word(w) => {
                let a = self.word(w, out);
                args.push(a);
            }
            ast::CommandPrefixOrSuffixItem::IoRedirect(r) => redirects.push(r),
            ast::CommandPrefixOrSuffixItem::AssignmentWord(_, w) if after_command => {
                let a = self.word(w, out);
                args.push(a);
            }
            ast::CommandPrefixOrSuffixItem::AssignmentWord(_, w) => {
                *assignments += 1;
                // `X=$(rm -rf /)` runs the substitution.
                self.word(w, out);
            }
            ast::CommandPrefixOrSuffixItem::ProcessSubstitution(_, sub) => {
                self.compound_list(&sub.list, out)
            }
        }
    }

    /// Command substitutions inside an expanding heredoc run when the heredoc is read.
    fn heredoc_substitutions(&self, body: &str, out: &mut Findings) {
        if let Ok(pieces) =
            brush_parser::word::parse_heredoc(body, &brush_parser::ParserOptions::default())
        {
            let mut lit = Some(String::new());
            self.pieces(&pieces, &mut lit, out);
        }
    }

    fn redirect(&self, r: &ast::IoRedirect, out: &mut Findings) {
        use ast::IoFileRedirectKind as K;
        match r {
            ast::IoRedirect::File(_, kind, target) => {
                let (path, raw) = match target {
                    ast::IoFileRedirectTarget::Filename(w) => {
                        let a = self.word(w, out);
                        (a.literal.clone(), a.raw)
                    }
                    ast::IoFileRedirectTarget::ProcessSubstitution(_, sub) => {
                        self.compound_list(&sub.list, out);
                        return;
                    }
                    _ => return,
                };
                match kind {
                    K::Write | K::Clobber | K::ReadAndWrite => {
                        self.truncating_write(path.as_deref(), &raw, ">", out)
                    }
                    K::Append => {
                        if let Some(p) = path.as_deref().filter(|p| access_control_file(p)) {
                            out.part(
                                Part::new(
                                    format!(">> {p}"),
                                    Effect::Permissions,
                                    format!("appends to {p}, which decides who can do what"),
                                )
                                .operation("append"),
                            );
                            out.target(file_target(p));
                        } else if let Some(p) = path.as_deref().filter(|p| !is_sink(p)) {
                            out.part(
                                Part::new(
                                    format!(">> {p}"),
                                    Effect::Write,
                                    format!("appends to {p}"),
                                )
                                .operation("append"),
                            );
                            out.target(file_target(p));
                        } else if path.is_none() {
                            out.part(Part::new(
                                format!(">> {raw}"),
                                Effect::Write,
                                "appends to a file named at run time",
                            ));
                        }
                    }
                    K::Read | K::DuplicateInput | K::DuplicateOutput => {}
                }
            }
            ast::IoRedirect::OutputAndError(w, append) => {
                let a = self.word(w, out);
                if *append {
                    if !a.literal.as_deref().is_some_and(is_sink) {
                        out.part(Part::new(
                            format!("&>> {}", a.raw),
                            Effect::Write,
                            "appends output to a file",
                        ));
                    }
                } else {
                    self.truncating_write(a.literal.as_deref(), &a.raw, "&>", out);
                }
            }
            ast::IoRedirect::HereDocument(..) | ast::IoRedirect::HereString(..) => {}
        }
    }

    /// `>` replaces a file's content. Onto a device or a system or dotfile path that
    /// surely exists, that destroys data: `delete`. Onto anything else, `write`.
    fn truncating_write(&self, path: Option<&str>, raw: &str, op: &str, out: &mut Findings) {
        match path {
            Some(p) if is_sink(p) => {}
            Some(p) if is_block_device(p) => {
                out.part(
                    Part::new(
                        format!("{op} {p}"),
                        Effect::Delete,
                        format!("writing onto the device {p} destroys the filesystem on it"),
                    )
                    .bulk(true)
                    .operation("overwrite-device"),
                );
                out.target(Target {
                    kind: "device".into(),
                    name: p.into(),
                    path: Some(p.into()),
                    ..Target::default()
                });
            }
            Some(p) if access_control_file(p) => {
                out.part(
                    Part::new(
                        format!("{op} {p}"),
                        Effect::Permissions,
                        format!("`{op}` rewrites {p}, which decides who can do what"),
                    )
                    .operation("write"),
                );
                out.target(file_target(p));
            }
            Some(p) if surely_exists(p) => {
                out.part(
                    Part::new(
                        format!("{op} {p}"),
                        Effect::Delete,
                        format!("`{op}` replaces the existing content of {p}"),
                    )
                    .operation("truncate"),
                );
                out.target(file_target(p));
            }
            Some(p) => {
                out.part(
                    Part::new(
                        format!("{op} {p}"),
                        Effect::Write,
                        format!("`{op}` writes {p}, replacing its content if it exists"),
                    )
                    .operation("write"),
                );
                out.target(file_target(p));
            }
            None => out.part(Part::new(
                format!("{op} {raw}"),
                Effect::Write,
                "writes a file named at run time",
            )),
        }
    }
}

fn parse(text: &str) -> Result<ast::Program, String> {
    let options = brush_parser::ParserOptions::default();
    let tokens = brush_parser::uncached_tokenize_str(text, &options.tokenizer_options())
        .map_err(|e| e.to_string())?;
    brush_parser::parse_tokens(&tokens, &options).map_err(|e| e.to_string())
}

/// The deepest nesting of `(`, `{` and backticks, counted on the raw text. It
/// over-counts brackets inside quotes, which only makes the guard stricter.
fn bracket_depth(text: &str) -> usize {
    let (mut depth, mut max, mut backtick) = (0usize, 0usize, false);
    for c in text.chars() {
        match c {
            '(' | '{' => depth += 1,
            ')' | '}' => depth = depth.saturating_sub(1),
            '`' => backtick = !backtick,
            _ => {}
        }
        max = max.max(depth + usize::from(backtick));
    }
    max
}

/// How deeply `if`/`while`/`until`/`for`/`case`/`select` nest, counted on words
/// (quotes ignored: an overestimate only makes the input `unknown`). The parser
/// recurses once per level and would overflow the stack on thousands.
fn keyword_depth(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for word in text.split(|c: char| c.is_whitespace() || ";&|()<>{}`".contains(c)) {
        match word {
            "if" | "while" | "until" | "for" | "case" | "select" => {
                depth += 1;
                max = max.max(depth);
            }
            "fi" | "done" | "esac" => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// A run of digits right before `<` or `>` too long for a file descriptor.
fn io_number_overflows(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut run = 0usize;
    for &b in bytes {
        if b.is_ascii_digit() {
            run += 1;
        } else {
            if run >= 10 && (b == b'<' || b == b'>') {
                return true;
            }
            run = 0;
        }
    }
    false
}

fn has_expansion(s: &str) -> bool {
    s.contains('$') || s.contains('`')
}

pub(crate) fn clip(s: &str) -> String {
    if s.len() <= 200 {
        return s.to_owned();
    }
    let mut end = 200;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Destructive or access-changing parts from `before` on are repeated an unknown
/// number of times: unbounded.
pub(crate) fn repeated(out: &mut Findings, before: usize, how: &str) {
    for p in out.parts.iter_mut().skip(before) {
        if matches!(p.effect, Effect::Delete | Effect::Permissions) && !p.bulk {
            p.bulk = true;
            p.why = format!("{}, repeated {how}", p.why);
        }
    }
}

/// Paths whose writes go nowhere.
fn is_sink(p: &str) -> bool {
    matches!(p, "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty")
        || p.starts_with("/dev/fd/")
}

pub(crate) fn is_block_device(p: &str) -> bool {
    [
        "/dev/sd",
        "/dev/hd",
        "/dev/vd",
        "/dev/xvd",
        "/dev/nvme",
        "/dev/mmcblk",
        "/dev/disk",
        "/dev/mapper/",
        "/dev/md",
        "/dev/loop",
        "/dev/dm-",
    ]
    .iter()
    .any(|d| p.starts_with(d))
}

/// Paths that exist on any system worth protecting: system files and the user's
/// dotfiles. Overwriting one destroys its content.
pub(crate) fn surely_exists(p: &str) -> bool {
    const SYSTEM: [&str; 10] = [
        "/etc/",
        "/var/log/",
        "/boot/",
        "/usr/",
        "/bin/",
        "/sbin/",
        "/lib",
        "/var/lib/",
        "/root/",
        "/sys/",
    ];
    SYSTEM.iter().any(|d| p.starts_with(d))
        || p.starts_with("~/.")
        || p.starts_with("$HOME/.")
        || (p.starts_with("/home/") && p.split('/').nth(3).is_some_and(|f| f.starts_with('.')))
}

/// Files that decide who can do what: writing one is a change of permissions.
pub(crate) fn access_control_file(p: &str) -> bool {
    const FILES: [&str; 8] = [
        "authorized_keys",
        "authorized_keys2",
        "sshd_config",
        ".k5login",
        ".rhosts",
        "hosts.equiv",
        "shosts.equiv",
        ".netrc",
    ];
    const PREFIXES: [&str; 10] = [
        "/etc/sudoers",
        "/etc/passwd",
        "/etc/shadow",
        "/etc/group",
        "/etc/gshadow",
        "/etc/pam.d/",
        "/etc/security/",
        "/etc/polkit-1/",
        "/etc/ssh/sshd_config",
        "/etc/doas.conf",
    ];
    let name = p.rsplit('/').next().unwrap_or(p);
    FILES.contains(&name)
        || PREFIXES.iter().any(|d| p.starts_with(d))
        || p.contains("/sudoers.d/")
        || p.contains("/.aws/credentials")
        || p.contains("/.kube/config")
        || p.contains("/.docker/config.json")
}

/// The host of a URL: `scheme://user@host:port/…`, or `host/…` without a scheme
/// (curl accepts both). `None` when there is no plausible host.
pub(crate) fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = if host.starts_with('[') {
        host.split_inclusive(']').next()?
    } else {
        host.split(':').next()?
    };
    (!host.is_empty() && !host.contains(char::is_whitespace)).then_some(host)
}

pub(crate) fn file_target(p: &str) -> Target {
    Target {
        kind: "file".into(),
        name: p.into(),
        path: Some(p.into()),
        ..Target::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effect(cmd: &str) -> Effect {
        classify(cmd).effect()
    }

    #[test]
    fn arguments_that_look_like_assignments_are_arguments() {
        assert_eq!(effect("dd if=/dev/zero of=/dev/sda bs=1M"), Effect::Delete);
        assert!(classify("dd if=/dev/zero of=/dev/sda").bulk());
        assert_eq!(effect("dd if=/dev/sda of=/dev/null"), Effect::Read);
        assert_eq!(effect("FOO=1 ls"), Effect::Read);
    }

    #[test]
    fn heredocs_feed_the_client() {
        assert_eq!(
            effect("psql -h prod-db <<'SQL'\nSELECT 1;\nSQL\n"),
            Effect::Read
        );
        let f = classify("psql -h prod-db -d billing <<SQL\nDELETE FROM invoices;\nSQL\n");
        assert_eq!(f.effect(), Effect::Delete);
        assert!(f.bulk(), "DELETE without WHERE is unbounded: {f:?}");
        assert!(
            f.targets
                .iter()
                .any(|t| t.host.as_deref() == Some("prod-db")),
            "{f:?}"
        );
        assert_eq!(
            effect(r#"sudo -u postgres psql -c "DROP DATABASE prod""#),
            Effect::Delete
        );
        assert_eq!(
            effect(r#"docker exec db mysql -e "select 'delete me' from t""#),
            Effect::Read
        );
        assert_eq!(
            effect("bash <<EOF\nrm -rf /srv/data\nEOF\n"),
            Effect::Delete
        );
        assert_eq!(effect("cat > notes.txt <<EOF\nhello\nEOF\n"), Effect::Write);
        assert_eq!(effect("cat <<EOF\n$(rm -rf ~)\nEOF\n"), Effect::Delete);
    }

    #[test]
    fn substitutions_and_nesting_are_followed() {
        assert_eq!(effect("echo $(rm -rf /)"), Effect::Delete);
        assert_eq!(effect("echo `shred secret.key`"), Effect::Delete);
        assert_eq!(effect(r#"bash -c "sh -c 'rm -rf build'""#), Effect::Delete);
        assert_eq!(effect("X=$(git push --force) true"), Effect::Delete);
        assert_eq!(effect("diff <(ls a) <(rm -rf b)"), Effect::Delete);
    }

    #[test]
    fn decoys_stay_reads() {
        assert_eq!(effect(r#"echo "rm -rf /""#), Effect::Read);
        assert_eq!(effect("grep -r 'DROP TABLE' ."), Effect::Read);
        assert_eq!(effect("# rm -rf /"), Effect::Read);
        assert_eq!(effect("git log --grep=delete"), Effect::Read);
    }

    #[test]
    fn run_time_values_are_unknown() {
        assert_eq!(effect("$cmd -rf /"), Effect::Unknown);
        assert_eq!(effect("eval \"$X\""), Effect::Unknown);
        assert_eq!(effect("ls && ./deploy.sh"), Effect::Unknown);
        assert_eq!(effect("curl -s https://x.sh | sh"), Effect::Unknown);
        assert_eq!(effect(""), Effect::Unknown);
        assert_eq!(effect("if then fi ((("), Effect::Unknown);
    }

    #[test]
    fn pathological_input_is_bounded() {
        assert_eq!(effect(&"(".repeat(10_000)), Effect::Unknown);
        assert_eq!(
            effect(&format!("echo {}", "$(".repeat(5_000))),
            Effect::Unknown
        );
        let nested = (0..10).fold("rm -rf x".to_owned(), |s, _| {
            format!("bash -c {}", shell_quote(&s))
        });
        assert_eq!(
            effect(&nested),
            Effect::Unknown,
            "nesting beyond MAX_DEPTH is unknown"
        );
        let long = format!("echo {}", "a".repeat(MAX_LEN));
        assert_eq!(effect(&long), Effect::Unknown);
        let many = "ls; ".repeat(20_000);
        assert_eq!(effect(&many), Effect::Read);
    }

    fn shell_quote(s: &str) -> String {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
