//! Decisions per second and per-decision latency for realistic IAM policy sets of
//! 1, 10 and 100 statements (with conditions), and the same decisions made by
//! cedar-policy over equivalent Cedar policies, in the same run.
//!
//! Latency is measured over batches of decisions (a single decision is too short
//! for the clock): each sample is one batch's time divided by its size; the
//! median and p99 are over those samples.

use std::hint::black_box;
use std::str::FromStr;
use std::time::Instant;

const BATCH: usize = 1_000;
const SAMPLES: usize = 2_000;

/// The i-th statement: allows one IAM action on users under a path, from the
/// corporate network, for principals tagged with a team.
fn iam_statement(i: usize) -> serde_json::Value {
    serde_json::json!({
        "Sid": format!("S{i}"),
        "Effect": "Allow",
        "Action": [format!("iam:Action{i}"), format!("iam:Other{i}*")],
        "Resource": format!("arn:aws:iam::111122223333:user/team{i}/*"),
        "Condition": {
            "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]},
            "StringEquals": {"aws:PrincipalTag/team": format!("team{i}")}
        }
    })
}

fn cedar_statement(i: usize) -> String {
    format!(
        r#"permit(principal, action in [Action::"iam:Action{i}"], resource)
when {{
  resource.path like "arn:aws:iam::111122223333:user/team{i}/*" &&
  (context.sourceIp.isInRange(ip("10.0.0.0/8")) || context.sourceIp.isInRange(ip("192.168.0.0/16"))) &&
  principal.team == "team{i}"
}};
"#
    )
}

struct Stats {
    per_second: f64,
    median_ns: f64,
    p99_ns: f64,
}

fn measure(mut decide_once: impl FnMut() -> bool) -> Stats {
    // Warm up and check the decision is the expected allow.
    for _ in 0..BATCH {
        assert!(decide_once(), "the benchmark query must be allowed");
    }
    let mut samples = Vec::with_capacity(SAMPLES);
    let started = Instant::now();
    for _ in 0..SAMPLES {
        let t = Instant::now();
        for _ in 0..BATCH {
            black_box(decide_once());
        }
        samples.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
    }
    let total = started.elapsed().as_secs_f64();
    samples.sort_by(|a, b| a.total_cmp(b));
    Stats {
        per_second: (SAMPLES * BATCH) as f64 / total,
        median_ns: samples[samples.len() / 2],
        p99_ns: samples[samples.len() * 99 / 100],
    }
}

fn main() {
    println!("| statements | engine | decisions/s | median ns/decision | p99 ns/decision |");
    println!("| ---: | --- | ---: | ---: | ---: |");
    for n in [1usize, 10, 100] {
        // The query matches the last statement: the engine must look at all of them.
        let target = n - 1;
        let doc_text = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": (0..n).map(iam_statement).collect::<Vec<_>>()
        })
        .to_string();
        let doc = trailguard_policy::PolicyDocument::parse(&doc_text).expect("policy parses");
        let mut ctx = trailguard_policy::Context::new();
        ctx.set("aws:SourceIp", "10.20.30.40")
            .set("aws:PrincipalTag/team", format!("team{target}"));
        let action = format!("iam:Action{target}");
        let resource = format!("arn:aws:iam::111122223333:user/team{target}/alice");
        let policies = [trailguard_policy::Policy {
            id: "bench",
            kind: trailguard_policy::PolicyKind::Identity,
            document: &doc,
        }];
        let q = trailguard_policy::Query {
            principal: trailguard_policy::Principal {
                arn: "arn:aws:iam::111122223333:user/team/alice",
                account: "111122223333",
                role_arn: None,
                is_service: false,
                is_root: false,
            },
            action: &action,
            resource: &resource,
            resource_account: None,
            context: &ctx,
        };
        let ours = measure(|| trailguard_policy::decide(&policies, &q).is_allowed());

        let src: String = (0..n).map(cedar_statement).collect();
        let set = cedar_policy::PolicySet::from_str(&src).expect("cedar policies parse");
        let principal = cedar_policy::EntityUid::from_str(r#"User::"alice""#).expect("uid");
        let resource_uid = cedar_policy::EntityUid::from_str(r#"IamUser::"alice""#).expect("uid");
        let entities = cedar_policy::Entities::from_json_value(
            serde_json::json!([
                {"uid": {"type": "User", "id": "alice"}, "attrs": {"team": format!("team{target}")}, "parents": []},
                {"uid": {"type": "IamUser", "id": "alice"}, "attrs": {"path": resource}, "parents": []}
            ]),
            None,
        )
        .expect("entities");
        let cedar_action = cedar_policy::EntityUid::from_str(&format!(r#"Action::"iam:Action{target}""#)).expect("uid");
        let context = cedar_policy::Context::from_json_value(
            serde_json::json!({"sourceIp": {"__extn": {"fn": "ip", "arg": "10.20.30.40"}}}),
            None,
        )
        .expect("context");
        let request = cedar_policy::Request::new(principal, cedar_action, resource_uid, context, None).expect("request");
        let authorizer = cedar_policy::Authorizer::new();
        let cedar = measure(|| {
            authorizer.is_authorized(&request, &set, &entities).decision() == cedar_policy::Decision::Allow
        });

        for (name, s) in [("trailguard-policy", ours), ("cedar-policy 4", cedar)] {
            println!(
                "| {n} | {name} | {:.0} | {:.0} | {:.0} |",
                s.per_second, s.median_ns, s.p99_ns
            );
        }
    }
}
