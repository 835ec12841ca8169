//! Wildcard matching for actions, resources, ARNs and `StringLike`.

/// One element of a pattern, over characters (`char`) or ASCII bytes (`u8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<T> {
    /// `*`: any run of elements.
    Star,
    /// `?`: any one element.
    One,
    Lit(T),
}

/// Classifies the pattern element at byte offset `i`; elements inside `literal`
/// byte ranges (policy variable values, `${*}`-style escapes) are never wildcards.
fn classify<T>(c: T, i: usize, literal: &[(usize, usize)], star: T, one: T) -> Tok<T>
where
    T: PartialEq,
{
    let is_literal = !literal.is_empty() && literal.iter().any(|(a, b)| i >= *a && i < *b);
    match c {
        c if c == star && !is_literal => Tok::Star,
        c if c == one && !is_literal => Tok::One,
        c => Tok::Lit(c),
    }
}

/// Iterative matching with single-star backtracking: linear in practice, and no
/// recursion to overflow on hostile patterns. `tok(i)` is the pattern's `i`-th
/// element; the same code serves the ASCII fast path and the general one.
fn glob<T: Copy>(
    len: usize,
    tok: impl Fn(usize) -> Tok<T>,
    v: &[T],
    eq: impl Fn(T, T) -> bool,
) -> bool {
    let (mut pi, mut vi) = (0usize, 0usize);
    let mut star: Option<usize> = None;
    let mut mark = 0usize;
    while let Some(&vc) = v.get(vi) {
        match (pi < len).then(|| tok(pi)) {
            Some(Tok::Star) => {
                star = Some(pi);
                mark = vi;
                pi += 1;
            }
            Some(Tok::One) => {
                pi += 1;
                vi += 1;
            }
            Some(Tok::Lit(pc)) if eq(pc, vc) => {
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
    while pi < len && matches!(tok(pi), Tok::Star) {
        pi += 1;
    }
    pi == len
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
        // The hot path: bytes, no allocation.
        let p = pattern.as_bytes();
        let tok = |i: usize| classify(p.get(i).copied().unwrap_or(0), i, literal, b'*', b'?');
        return if case_insensitive {
            glob(p.len(), tok, value.as_bytes(), |a, b| {
                a.eq_ignore_ascii_case(&b)
            })
        } else {
            glob(p.len(), tok, value.as_bytes(), |a, b| a == b)
        };
    }
    let toks: Vec<Tok<char>> = pattern
        .char_indices()
        .map(|(i, c)| classify(c, i, literal, '*', '?'))
        .collect();
    let chars: Vec<char> = value.chars().collect();
    let tok = |i: usize| toks.get(i).copied().unwrap_or(Tok::Star);
    if case_insensitive {
        glob(toks.len(), tok, &chars, |a, b| {
            a.to_lowercase().eq(b.to_lowercase())
        })
    } else {
        glob(toks.len(), tok, &chars, |a, b| a == b)
    }
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
