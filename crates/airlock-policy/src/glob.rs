//! Glob patterns for names, tools and operations.
//!
//! `*` matches any run of characters (including `/`, `:` and `.`), `?` matches exactly
//! one character, everything else matches itself. Tools and operations are matched
//! without regard to ASCII case (`DeleteStack` and `deletestack` are the same API
//! call); names, paths and labels are matched exactly.
//!
//! Matching is linear in practice and never recursive, so a hostile name cannot make
//! the decision path slow.

use std::fmt;

/// Whether a pattern ignores ASCII case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    Sensitive,
    Insensitive,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// No wildcard at all.
    Literal,
    /// `*`.
    Any,
    /// `abc*`.
    Prefix,
    /// `*abc`.
    Suffix,
    /// Anything else.
    General,
}

/// A compiled glob pattern.
#[derive(Clone, PartialEq, Eq)]
pub struct Glob {
    /// The pattern, lowercased when case-insensitive.
    pattern: Box<str>,
    /// The pattern with the leading/trailing `*` removed for the prefix/suffix shapes.
    core: Box<str>,
    shape: Shape,
    case: Case,
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Glob({:?})", self.pattern)
    }
}

impl Glob {
    pub fn new(pattern: &str, case: Case) -> Glob {
        let pattern: Box<str> = match case {
            Case::Sensitive => pattern.into(),
            Case::Insensitive => pattern.to_ascii_lowercase().into(),
        };
        let wild = |c: char| c == '*' || c == '?';
        let inner_wild = |s: &str| s.contains(wild);
        let (shape, core) = if !inner_wild(&pattern) {
            (Shape::Literal, pattern.clone())
        } else if pattern.chars().all(|c| c == '*') {
            (Shape::Any, "".into())
        } else if let Some(p) = pattern.strip_suffix('*').filter(|p| !inner_wild(p)) {
            (Shape::Prefix, p.into())
        } else if let Some(s) = pattern.strip_prefix('*').filter(|s| !inner_wild(s)) {
            (Shape::Suffix, s.into())
        } else {
            (Shape::General, pattern.clone())
        };
        Glob {
            pattern,
            core,
            shape,
            case,
        }
    }

    /// The pattern as written (lowercased when case-insensitive).
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// The literal this pattern matches, when it has no wildcard.
    pub fn literal(&self) -> Option<&str> {
        (self.shape == Shape::Literal).then_some(&*self.pattern)
    }

    /// For a pattern `abc:*` (a literal prefix ending at `:`, then one `*`), the
    /// prefix `abc:`.
    pub fn colon_prefix(&self) -> Option<&str> {
        (self.shape == Shape::Prefix && self.core.ends_with(':')).then_some(&*self.core)
    }

    pub fn case(&self) -> Case {
        self.case
    }

    /// True for `*`.
    pub fn matches_everything(&self) -> bool {
        self.shape == Shape::Any
    }

    #[inline]
    pub fn is_match(&self, text: &str) -> bool {
        let ci = self.case == Case::Insensitive;
        let t = text.as_bytes();
        let c = self.core.as_bytes();
        match self.shape {
            Shape::Literal => eq(t, c, ci),
            Shape::Any => true,
            Shape::Prefix => t.len() >= c.len() && eq(&t[..c.len()], c, ci),
            Shape::Suffix => t.len() >= c.len() && eq(&t[t.len() - c.len()..], c, ci),
            Shape::General => general_match(self.pattern.as_bytes(), t, ci),
        }
    }

    /// True when every string this glob matches is also matched by `wider`.
    /// Conservative: may answer false for some true cases, never true for a false one.
    pub fn is_covered_by(&self, wider: &Glob) -> bool {
        if wider.matches_everything() {
            return true;
        }
        if self.case == Case::Sensitive && wider.case == Case::Insensitive {
            // A case-sensitive literal is covered if the insensitive glob matches it.
            return self.literal().is_some_and(|l| wider.is_match(l));
        }
        if self.case != wider.case {
            return false;
        }
        match self.literal() {
            Some(l) => wider.is_match(l),
            None => match (&wider.shape, &self.shape) {
                (Shape::Prefix, Shape::Prefix) => self.core.starts_with(&*wider.core),
                (Shape::Suffix, Shape::Suffix) => self.core.ends_with(&*wider.core),
                _ => self.pattern == wider.pattern,
            },
        }
    }
}

/// Byte-slice equality. Names, kinds and operations are short, so a plain loop
/// beats a call into `memcmp`; this sits on the hottest path of every decision.
#[inline]
fn eq(a: &[u8], b: &[u8], ci: bool) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if ci {
        a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
    } else if a.len() <= 32 {
        a.iter().zip(b).all(|(x, y)| x == y)
    } else {
        a == b
    }
}

fn byte_eq(a: u8, b: u8, ci: bool) -> bool {
    if ci {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// Length in bytes of the UTF-8 character starting with `lead`.
fn char_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Iterative wildcard matching with single-star backtracking: O(pattern × text) in
/// the worst case, no recursion, no allocation.
fn general_match(p: &[u8], t: &[u8], ci: bool) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == b'?' {
            pi += 1;
            ti += char_len(t[ti]).min(t.len() - ti);
        } else if pi < p.len() && byte_eq(p[pi], t[ti], ci) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            // Let the last star swallow one more character and retry.
            let next = st + char_len(t[st]).min(t.len() - st);
            star = Some((sp, next));
            pi = sp + 1;
            ti = next;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// A list of alternatives: matches when any glob matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlobList(pub Vec<Glob>);

impl GlobList {
    #[inline]
    pub fn is_match(&self, text: &str) -> bool {
        self.0.iter().any(|g| g.is_match(text))
    }

    /// Every glob in `self` is covered by some glob in `wider`.
    pub fn is_covered_by(&self, wider: &GlobList) -> bool {
        self.0
            .iter()
            .all(|g| wider.0.iter().any(|w| g.is_covered_by(w)))
    }

    /// The literals, when every alternative is a literal.
    pub fn literals(&self) -> Option<Vec<&str>> {
        self.0.iter().map(Glob::literal).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(p: &str, t: &str) -> bool {
        Glob::new(p, Case::Sensitive).is_match(t)
    }

    #[test]
    fn shapes_match_as_documented() {
        assert!(m("prod-*", "prod-db"));
        assert!(m("prod-*", "prod-"));
        assert!(!m("prod-*", "staging-db"));
        assert!(m("*-prod", "billing-prod"));
        assert!(m("*", ""));
        assert!(m("a*b*c", "a-x-b-y-c"));
        assert!(!m("a*b*c", "a-x-b-y"));
        assert!(m("a?c", "abc"));
        assert!(m("a?c", "aéc"));
        assert!(!m("a?c", "ac"));
        assert!(m("arn:aws:*:prod-*", "arn:aws:s3:::x:prod-logs"));
        assert!(!m("Prod-*", "prod-db"));
    }

    #[test]
    fn insensitive_globs_ignore_ascii_case() {
        let g = Glob::new("*Delete*", Case::Insensitive);
        assert!(g.is_match("cloudformation:DeleteStack"));
        assert!(g.is_match("DELETESTACK"));
        assert!(!g.is_match("cloudformation:CreateStack"));
    }

    #[test]
    fn coverage_is_conservative_and_correct_on_examples() {
        let s = |p| Glob::new(p, Case::Sensitive);
        assert!(s("prod-db").is_covered_by(&s("prod-*")));
        assert!(s("prod-db-*").is_covered_by(&s("prod-*")));
        assert!(!s("prod-*").is_covered_by(&s("prod-db-*")));
        assert!(s("anything*").is_covered_by(&s("*")));
        assert!(!s("*").is_covered_by(&s("a*")));
    }

    /// Reference matcher: plain recursion over chars (fine for the tiny inputs here).
    fn reference(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (None, Some(_)) => false,
            (Some('*'), _) => reference(&p[1..], t) || (!t.is_empty() && reference(p, &t[1..])),
            (Some('?'), Some(_)) => reference(&p[1..], &t[1..]),
            (Some(a), Some(b)) => a == b && reference(&p[1..], &t[1..]),
            (Some(_), None) => false,
        }
    }

    proptest! {
        #[test]
        fn matcher_agrees_with_reference(p in "[ab*?é]{0,8}", t in "[abé]{0,10}") {
            let pc: Vec<char> = p.chars().collect();
            let tc: Vec<char> = t.chars().collect();
            prop_assert_eq!(Glob::new(&p, Case::Sensitive).is_match(&t), reference(&pc, &tc));
        }

        #[test]
        fn coverage_implies_matching(a in "[ab*]{0,6}", b in "[ab*]{0,6}", t in "[ab]{0,8}") {
            let (ga, gb) = (Glob::new(&a, Case::Sensitive), Glob::new(&b, Case::Sensitive));
            if ga.is_covered_by(&gb) && ga.is_match(&t) {
                prop_assert!(gb.is_match(&t));
            }
        }
    }
}
