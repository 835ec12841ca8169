//! Properties the engine must keep for any policies: adding a Deny never grants,
//! order never matters, and no input makes it panic.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]

use proptest::prelude::*;
use serde_json::{Value as Json, json};
use trailguard_policy::{
    Context, Outcome, Policy, PolicyDocument, PolicyKind, Principal, Query, decide,
};

const ACTIONS: &[&str] = &[
    "*",
    "iam:*",
    "iam:Get*",
    "iam:CreateUser",
    "iam:?etUser",
    "s3:GetObject",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:iam::111122223333:user/*",
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::111122223333:user/${aws:username}",
    "arn:aws:s3:::bucket/*",
];

fn condition() -> impl Strategy<Value = Option<Json>> {
    prop_oneof![
        Just(None),
        Just(Some(json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))),
        Just(Some(json!({"StringEquals": {"aws:username": "alice"}}))),
        Just(Some(
            json!({"StringNotEqualsIfExists": {"aws:PrincipalTag/team": "red"}})
        )),
        Just(Some(
            json!({"ForAnyValue:StringLike": {"aws:TagKeys": "t*"}})
        )),
        Just(Some(
            json!({"Null": {"aws:MultiFactorAuthPresent": "true"}})
        )),
        Just(Some(json!({"Bool": {"aws:SecureTransport": "false"}}))),
    ]
}

fn statement(effect: Option<&'static str>) -> impl Strategy<Value = Json> {
    let effect = match effect {
        Some(e) => Just(e).boxed(),
        None => prop_oneof![Just("Allow"), Just("Deny")].boxed(),
    };
    (
        effect,
        0..ACTIONS.len(),
        any::<bool>(),
        0..RESOURCES.len(),
        any::<bool>(),
        condition(),
    )
        .prop_map(|(effect, a, not_action, r, not_resource, cond)| {
            let mut st = serde_json::Map::new();
            st.insert("Effect".into(), json!(effect));
            st.insert(
                if not_action { "NotAction" } else { "Action" }.into(),
                json!(ACTIONS[a]),
            );
            st.insert(
                if not_resource {
                    "NotResource"
                } else {
                    "Resource"
                }
                .into(),
                json!(RESOURCES[r]),
            );
            if let Some(c) = cond {
                st.insert("Condition".into(), c);
            }
            Json::Object(st)
        })
}

fn document(statements: Vec<Json>) -> PolicyDocument {
    PolicyDocument::parse(&json!({"Version": "2012-10-17", "Statement": statements}).to_string())
        .unwrap()
}

fn context(ip: bool, user: bool, tags: bool) -> Context {
    let mut ctx = Context::new();
    ctx.set("aws:SourceIp", if ip { "10.1.2.3" } else { "203.0.113.9" });
    if user {
        ctx.set("aws:username", "alice");
    }
    if tags {
        ctx.set_multi("aws:TagKeys", vec!["team".into(), "cost".into()]);
    }
    ctx.set("aws:SecureTransport", "false");
    ctx
}

fn outcome(
    docs: &[PolicyDocument],
    kinds: &[PolicyKind],
    ctx: &Context,
    action: &str,
    resource: &str,
) -> Outcome {
    let policies: Vec<Policy<'_>> = docs
        .iter()
        .zip(kinds)
        .map(|(document, kind)| Policy {
            id: "p",
            kind: *kind,
            document,
        })
        .collect();
    let q = Query {
        principal: Principal {
            arn: "arn:aws:iam::111122223333:user/alice",
            account: "111122223333",
            role_arn: None,
            is_service: false,
            is_root: false,
        },
        action,
        resource,
        resource_account: None,
        context: ctx,
    };
    decide(&policies, &q).outcome
}

const REQUESTS: &[(&str, &str)] = &[
    ("iam:CreateUser", "arn:aws:iam::111122223333:user/alice"),
    ("iam:GetUser", "arn:aws:iam::111122223333:user/bob"),
    ("s3:GetObject", "arn:aws:s3:::bucket/key"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn adding_a_deny_never_grants(
        base in prop::collection::vec(statement(None), 1..6),
        deny in statement(Some("Deny")),
        boundary in prop::option::of(prop::collection::vec(statement(None), 1..3)),
        ip in any::<bool>(), user in any::<bool>(), tags in any::<bool>(), req in 0..REQUESTS.len(),
    ) {
        let ctx = context(ip, user, tags);
        let (action, resource) = REQUESTS[req];
        let mut docs = vec![document(base.clone())];
        let mut kinds = vec![PolicyKind::Identity];
        if let Some(b) = &boundary {
            docs.push(document(b.clone()));
            kinds.push(PolicyKind::PermissionsBoundary);
        }
        let before = outcome(&docs, &kinds, &ctx, action, resource);
        let mut with_deny = base;
        with_deny.push(deny);
        docs[0] = document(with_deny);
        let after = outcome(&docs, &kinds, &ctx, action, resource);
        if after == Outcome::Allow {
            prop_assert_eq!(before, Outcome::Allow);
        }
        if before == Outcome::ExplicitDeny {
            prop_assert_eq!(after, Outcome::ExplicitDeny);
        }
    }

    #[test]
    fn statement_and_policy_order_never_matter(
        a in prop::collection::vec(statement(None), 1..6),
        b in prop::collection::vec(statement(None), 1..6),
        ip in any::<bool>(), user in any::<bool>(), tags in any::<bool>(), req in 0..REQUESTS.len(),
    ) {
        let ctx = context(ip, user, tags);
        let (action, resource) = REQUESTS[req];
        let kinds = [PolicyKind::Identity, PolicyKind::Identity];
        let forward = outcome(&[document(a.clone()), document(b.clone())], &kinds, &ctx, action, resource);
        let mut ra = a.clone();
        ra.reverse();
        let mut rb = b.clone();
        rb.reverse();
        let backward = outcome(&[document(rb), document(ra)], &kinds, &ctx, action, resource);
        prop_assert_eq!(forward, backward);
        // Merging both policies into one changes nothing either.
        let mut merged = a;
        merged.extend(b);
        let one = outcome(&[document(merged)], &kinds[..1], &ctx, action, resource);
        prop_assert_eq!(forward, one);
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        if let Ok(doc) = PolicyDocument::parse(&text) {
            let ctx = context(true, true, true);
            for (action, resource) in REQUESTS {
                let _ = outcome(std::slice::from_ref(&doc), &[PolicyKind::Identity], &ctx, action, resource);
            }
        }
    }
}
