//! The IAM policy language: parsing and evaluation, as a pure function of its inputs.
//!
//! Callers gather every policy that applies to a request (identity policies, the
//! trust or resource policy) and ask [`evaluate`] for a [`Decision`] that names the
//! statement that decided. Nothing here does IO, so the engine can be fuzzed,
//! benchmarked and run offline.
//!
//! Conditions are not evaluated yet: a statement with a `Condition` block never
//! grants, while a `Deny` with one still applies, so the unsupported case can only
//! refuse, never let in.

mod document;
mod matching;

pub use document::{Effect, ParseError, PolicyDocument, PrincipalSpec, Statement};
pub use matching::{action_matches, wildcard_match};

/// The principal and target of a request, as the engine sees them.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `service:Action`, for example `iam:CreateUser`.
    pub action: &'a str,
    /// The resource ARN (or `*`).
    pub resource: &'a str,
}

/// A policy together with where it came from, for explanations.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// For example `arn:aws:iam::aws:policy/AdministratorAccess` or `user/bob/inline-name`.
    pub name: &'a str,
    pub document: &'a PolicyDocument,
}

/// The outcome of evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by the named statement.
    Allow { policy: String, statement: usize },
    /// Denied by an explicit `Deny` statement.
    ExplicitDeny { policy: String, statement: usize },
    /// No statement allowed the request.
    ImplicitDeny,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }
}

/// Decides `request` against identity-based `policies`: an explicit deny anywhere
/// wins, otherwise any allow grants, otherwise the request is implicitly denied.
pub fn evaluate(policies: &[Source<'_>], request: &Request<'_>) -> Decision {
    let mut allow = None;
    for source in policies {
        for (i, st) in source.document.statements.iter().enumerate() {
            if !st.applies_to(request) {
                continue;
            }
            match st.effect {
                Effect::Deny => {
                    return Decision::ExplicitDeny {
                        policy: source.name.to_string(),
                        statement: i,
                    };
                }
                Effect::Allow if st.condition.is_none() && allow.is_none() => {
                    allow = Some(Decision::Allow {
                        policy: source.name.to_string(),
                        statement: i,
                    });
                }
                Effect::Allow => {}
            }
        }
    }
    allow.unwrap_or(Decision::ImplicitDeny)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(s: &str) -> PolicyDocument {
        PolicyDocument::parse(s).unwrap()
    }

    #[test]
    fn explicit_deny_beats_allow_and_absence_is_implicit_deny() {
        let admin = doc(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
        );
        let deny = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:Delete*","Resource":"arn:aws:iam::1:user/*"}]}"#,
        );
        let req = Request {
            action: "iam:DeleteUser",
            resource: "arn:aws:iam::1:user/bob",
        };
        let both = [
            Source {
                name: "admin",
                document: &admin,
            },
            Source {
                name: "deny",
                document: &deny,
            },
        ];
        assert_eq!(
            evaluate(&both, &req),
            Decision::ExplicitDeny {
                policy: "deny".into(),
                statement: 0
            }
        );
        assert!(evaluate(&both[..1], &req).is_allowed());
        assert_eq!(evaluate(&[], &req), Decision::ImplicitDeny);
        let other = Request {
            action: "iam:GetUser",
            resource: "arn:aws:iam::1:user/bob",
        };
        assert!(evaluate(&both, &other).is_allowed());
    }

    #[test]
    fn conditional_allow_never_grants() {
        let p = doc(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}}"#,
        );
        let req = Request {
            action: "iam:ListUsers",
            resource: "*",
        };
        assert_eq!(
            evaluate(
                &[Source {
                    name: "p",
                    document: &p
                }],
                &req
            ),
            Decision::ImplicitDeny
        );
    }
}
