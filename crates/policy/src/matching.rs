//! Wildcard matching for actions, resources, ARNs and `StringLike`.

/// One element of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    /// `*`: any run of characters.
    Star,
    /// `?`: any one character.
    One,
    Char(char),
}

/// Compiles a pattern; characters inside `literal` byte ranges (from policy
/// variable values and `${*}`-style escapes) never act as wildcards.
fn tokens(pattern: &str, literal: &[(usize, usize)]) -> Vec<Tok> {
    pattern
        .char_indices()
        .map(|(i, c)| {
            let is_literal = literal.iter().any(|(a, b)| i >= *a && i < *b);
            match c {
                '*' if !is_literal => Tok::Star,
                '?' if !is_literal => Tok::One,
                c => Tok::Char(c),
            }
        })
        .collect()
}

/// Iterative matching with single-star backtracking: linear in practice, and no
/// recursion to overflow on hostile patterns.
fn match_tokens(p: &[Tok], value: &str, case_insensitive: bool) -> bool {
    let v: Vec<char> = value.chars().collect();
    let eq = |a: char, b: char| {
        if case_insensitive {
            a.to_lowercase().eq(b.to_lowercase())
        } else {
            a == b
        }
    };
    let (mut pi, mut vi) = (0usize, 0usize);
    let mut star: Option<usize> = None;
    let mut mark = 0usize;
    while vi < v.len() {
        match (p.get(pi), v.get(vi)) {
            (Some(Tok::Star), _) => {
                star = Some(pi);
                mark = vi;
                pi += 1;
            }
            (Some(Tok::One), Some(_)) => {
                pi += 1;
                vi += 1;
            }
            (Some(Tok::Char(pc)), Some(&vc)) if eq(*pc, vc) => {
                pi += 1;
                vi += 1;
            }
            _ => match star {
                Some(s) => {
                    pi = s + 1;
                    mark += 1;
                    vi = mark;
                }
                None => return false,
            },
        }
    }
    while p.get(pi) == Some(&Tok::Star) {
        pi += 1;
    }
    pi == p.len()
}

/// The byte-level matcher for ASCII patterns and values: the hot path, with no
/// allocation. Same algorithm as [`match_tokens`].
fn match_ascii(p: &[u8], literal: &[(usize, usize)], v: &[u8], case_insensitive: bool) -> bool {
    let is_literal =
        |i: usize| !literal.is_empty() && literal.iter().any(|(a, b)| i >= *a && i < *b);
    let eq = |a: u8, b: u8| {
        if case_insensitive {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut vi) = (0usize, 0usize);
    let mut star: Option<usize> = None;
    let mut mark = 0usize;
    while vi < v.len() {
        let vc = v.get(vi).copied().unwrap_or(0);
        match p.get(pi).copied() {
            Some(b'*') if !is_literal(pi) => {
                star = Some(pi);
                mark = vi;
                pi += 1;
            }
            Some(b'?') if !is_literal(pi) => {
                pi += 1;
                vi += 1;
            }
            Some(c) if eq(c, vc) => {
                pi += 1;
                vi += 1;
            }
            _ => match star {
                Some(s) => {
                    pi = s + 1;
                    mark += 1;
                    vi = mark;
                }
                None => return false,
            },
        }
    }
    while p.get(pi) == Some(&b'*') && !is_literal(pi) {
        pi += 1;
    }
    pi == p.len()
}

/// Matches `value` against `pattern` (`*` any run, `?` any one character).
pub fn wildcard_match(pattern: &str, value: &str, case_insensitive: bool) -> bool {
    wildcard_match_literal(pattern, &[], value, case_insensitive)
}

/// As [`wildcard_match`], with byte ranges of `pattern` that match literally.
pub fn wildcard_match_literal(
    pattern: &str,
    literal: &[(usize, usize)],
    value: &str,
    case_insensitive: bool,
) -> bool {
    if pattern.is_ascii() && value.is_ascii() {
        return match_ascii(
            pattern.as_bytes(),
            literal,
            value.as_bytes(),
            case_insensitive,
        );
    }
    match_tokens(&tokens(pattern, literal), value, case_insensitive)
}

/// Actions match case-insensitively.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    wildcard_match(pattern, action, true)
}

/// ARN matching as `ArnLike` and `Resource` do it: the six colon-separated parts
/// match one by one, so a wildcard cannot cross from one part into another; the
/// last part (the resource) may itself contain colons.
pub fn arn_match(pattern: &str, literal: &[(usize, usize)], arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let split = |s: &str| -> Option<[(usize, usize); 6]> {
        let mut parts = [(0usize, 0usize); 6];
        let mut n = 0usize;
        let mut start = 0;
        for (i, c) in s.char_indices() {
            if c == ':' && n < 5 {
                *parts.get_mut(n)? = (start, i);
                n += 1;
                start = i + 1;
            }
        }
        *parts.get_mut(n)? = (start, s.len());
        (n == 5).then_some(parts)
    };
    let (pp, ap) = match (split(pattern), split(arn)) {
        (Some(pp), Some(ap)) => (pp, ap),
        // Neither is ARN-shaped (a bare value under ArnLike): compare as a whole.
        (None, None) => return wildcard_match_literal(pattern, literal, arn, false),
        // A pattern with fewer than six parts matches a full ARN only through a
        // final `*`, which then spans the remaining parts (`arn:aws:sqs:*`).
        (None, Some(_)) if pattern.ends_with('*') => {
            return wildcard_match_literal(pattern, literal, arn, false);
        }
        _ => return false,
    };
    pp.iter().zip(ap.iter()).all(|(&(ps, pe), &(as_, ae))| {
        let sub_literal: Vec<(usize, usize)> = if literal.is_empty() {
            Vec::new()
        } else {
            literal
                .iter()
                .filter(|(a, b)| *b > ps && *a < pe)
                .map(|(a, b)| ((*a).max(ps) - ps, (*b).min(pe) - ps))
                .collect()
        };
        wildcard_match_literal(
            pattern.get(ps..pe).unwrap_or_default(),
            &sub_literal,
            arn.get(as_..ae).unwrap_or_default(),
            false,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(action_matches("*", "iam:CreateUser"));
        assert!(action_matches("iam:*", "IAM:CreateUser"));
        assert!(action_matches("iam:create*", "iam:CreateUser"));
        assert!(action_matches("iam:?etUser", "iam:GetUser"));
        assert!(!action_matches("iam:Get*", "iam:CreateUser"));
        assert!(!action_matches("sts:*", "iam:CreateUser"));
        assert!(wildcard_match(
            "arn:aws:iam::*:user/*",
            "arn:aws:iam::1:user/a/b",
            false
        ));
        assert!(!wildcard_match(
            "arn:aws:iam::*:user/A*",
            "arn:aws:iam::1:user/a",
            false
        ));
        assert!(wildcard_match("a*b*c", "aXXbYYc", false));
        assert!(!wildcard_match("a*b*c", "aXXbYY", false));
    }

    #[test]
    fn literal_ranges_do_not_act_as_wildcards() {
        assert!(wildcard_match_literal("a*", &[(1, 2)], "a*", false));
        assert!(!wildcard_match_literal("a*", &[(1, 2)], "ab", false));
    }

    #[test]
    fn arn_parts_match_separately() {
        assert!(arn_match(
            "arn:aws:iam::*:role/*",
            &[],
            "arn:aws:iam::123:role/a/b"
        ));
        assert!(arn_match(
            "arn:aws:sqs:*",
            &[],
            "arn:aws:sqs:us-east-1:123:queue"
        ));
        assert!(!arn_match(
            "arn:aws:sqs:*",
            &[],
            "arn:aws:sns:us-east-1:123:topic"
        ));
        assert!(!arn_match(
            "arn:aws:sqs",
            &[],
            "arn:aws:sqs:us-east-1:123:queue"
        ));
        assert!(arn_match("arn:aws:*:*:*:*", &[], "arn:aws:iam::123:role/a"));
        assert!(arn_match(
            "arn:aws:s3:::bucket/*",
            &[],
            "arn:aws:s3:::bucket/a:b"
        ));
    }
}
