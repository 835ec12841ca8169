//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/team, 'default'}` and
//! the escapes `${*}`, `${?}`, `${$}`. Only documents of version 2012-10-17
//! resolve them; older documents treat `${...}` literally.

use crate::context::Context;
use std::borrow::Cow;

/// What substitution produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved<'a> {
    /// The text with every variable replaced. `literal` holds the byte
    /// ranges that came from `${*}`/`${?}` or from variable values, which must
    /// match literally rather than as wildcards.
    Text {
        text: Cow<'a, str>,
        literal: Vec<(usize, usize)>,
    },
    /// A variable had no value and no default: the element does not match.
    Unresolvable,
}

/// Replaces policy variables in `s`.
pub fn resolve<'a>(s: &'a str, ctx: &Context, enabled: bool) -> Resolved<'a> {
    if !enabled || !s.contains("${") {
        return Resolved::Text {
            text: Cow::Borrowed(s),
            literal: Vec::new(),
        };
    }
    let mut out = String::with_capacity(s.len());
    let mut literal = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(rest.get(..start).unwrap_or_default());
        let after = rest.get(start + 2..).unwrap_or_default();
        let Some(end) = after.find('}') else {
            out.push_str(rest.get(start..).unwrap_or_default());
            rest = "";
            break;
        };
        let inner = after.get(..end).unwrap_or_default().trim();
        rest = after.get(end + 1..).unwrap_or_default();
        let value = match inner {
            "*" => Some("*".to_string()),
            "?" => Some("?".to_string()),
            "$" => Some("$".to_string()),
            _ => {
                let (key, default) = match inner.split_once(',') {
                    Some((k, d)) => {
                        let d = d.trim();
                        let d = d
                            .strip_prefix('\'')
                            .and_then(|d| d.strip_suffix('\''))
                            .unwrap_or(d);
                        (k.trim(), Some(d.to_string()))
                    }
                    None => (inner, None),
                };
                ctx.single(key).map(str::to_string).or(default)
            }
        };
        let Some(value) = value else {
            return Resolved::Unresolvable;
        };
        let from = out.len();
        out.push_str(&value);
        literal.push((from, out.len()));
    }
    out.push_str(rest);
    Resolved::Text {
        text: Cow::Owned(out),
        literal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_defaults_and_escapes() {
        let mut ctx = Context::new();
        ctx.set("aws:username", "alice");
        let r = resolve("arn:aws:s3:::b/${aws:username}/*", &ctx, true);
        assert_eq!(
            r,
            Resolved::Text {
                text: Cow::Borrowed("arn:aws:s3:::b/alice/*"),
                literal: vec![(15, 20)]
            }
        );
        assert_eq!(
            resolve("${aws:PrincipalTag/team}", &ctx, true),
            Resolved::Unresolvable
        );
        assert!(
            matches!(resolve("${aws:PrincipalTag/team, 'none'}", &ctx, true), Resolved::Text { text, .. } if text == "none")
        );
        assert!(
            matches!(resolve("a${*}b", &ctx, true), Resolved::Text { text, literal } if text == "a*b" && literal == vec![(1, 2)])
        );
        assert!(
            matches!(resolve("${aws:username}", &ctx, false), Resolved::Text { text, .. } if text == "${aws:username}")
        );
    }
}
