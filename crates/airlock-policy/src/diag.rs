//! Errors and warnings about a policy, each pointing at a line, a column and a key.

use std::fmt;

use serde_saphyr::Location;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One finding about a policy or a policy test file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// 1-based line; 0 when the finding is about the file as a whole.
    pub line: usize,
    /// 1-based column; 0 when unknown.
    pub column: usize,
    /// Where in the document: `rules[2].when.environment`.
    pub key: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl Diagnostic {
    pub fn error(at: Location, key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, at, key, message)
    }

    pub fn warning(at: Location, key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, at, key, message)
    }

    fn new(
        severity: Severity,
        at: Location,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            line: at.line() as usize,
            column: at.column() as usize,
            key: key.into(),
            message: message.into(),
        }
    }

    /// Renders as `file:line:column: error: key: message`, the format editors and CI
    /// annotators understand.
    pub fn render(&self, file: &str) -> String {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let key = if self.key.is_empty() {
            String::new()
        } else {
            format!("{}: ", self.key)
        };
        format!(
            "{file}:{}:{}: {sev}: {key}{}",
            self.line, self.column, self.message
        )
    }
}

/// A policy (or policy test file) that was rejected, with every finding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    pub file: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl PolicyError {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.errors().count();
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", d.render(&self.file))?;
        }
        if errors > 0 {
            write!(
                f,
                "\n{}: rejected with {errors} error{}; nothing was loaded",
                self.file,
                if errors == 1 { "" } else { "s" }
            )?;
        }
        Ok(())
    }
}

/// Turns a YAML/serde error into a diagnostic: the first line of the parser's message
/// without its own position prefix, and the key written on the offending line.
pub(crate) fn from_yaml_error(src: &str, err: &serde_saphyr::Error) -> Diagnostic {
    let full = err.to_string();
    let first = full.lines().next().unwrap_or("invalid YAML").trim();
    let first = first.strip_prefix("error:").unwrap_or(first).trim();
    // Drop "line N column M:" which we report in our own format.
    let message = match first.find(": ") {
        Some(i) if first.starts_with("line ") => &first[i + 2..],
        _ => first,
    };
    let (line, column) = err
        .location()
        .map(|l| (l.line() as usize, l.column() as usize))
        .unwrap_or((0, 0));
    Diagnostic {
        severity: Severity::Error,
        line,
        column,
        key: key_on_line(src, line),
        message: message.to_owned(),
    }
}

/// The mapping key written on a given line (`    then: maybe` → `then`), if any.
pub(crate) fn key_on_line(src: &str, line: usize) -> String {
    let Some(text) = line.checked_sub(1).and_then(|i| src.lines().nth(i)) else {
        return String::new();
    };
    let t = text.trim_start().trim_start_matches("- ").trim_start();
    match t.find(':') {
        Some(i)
            if i > 0
                && t[..i]
                    .chars()
                    .all(|c| c.is_alphanumeric() || "_-.\"'".contains(c)) =>
        {
            t[..i].trim_matches(|c| c == '"' || c == '\'').to_owned()
        }
        _ => String::new(),
    }
}
