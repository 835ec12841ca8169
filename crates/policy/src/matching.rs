//! Wildcard matching for actions and resources.

/// Matches `value` against `pattern`, where `*` matches any run of characters and
/// `?` any one character. Iterative with backtracking, so it is linear-ish and
/// cannot overflow the stack on hostile patterns.
pub fn wildcard_match(pattern: &str, value: &str, case_insensitive: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let eq = |a: char, b: char| {
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
        match (p.get(pi), v.get(vi)) {
            (Some('*'), _) => {
                star = Some(pi);
                mark = vi;
                pi += 1;
            }
            (Some(&pc), Some(&vc)) if pc == '?' || eq(pc, vc) => {
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
    while p.get(pi) == Some(&'*') {
        pi += 1;
    }
    pi == p.len()
}

/// Actions match case-insensitively.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    wildcard_match(pattern, action, true)
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
}
