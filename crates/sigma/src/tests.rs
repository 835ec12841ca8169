//! Sigma semantics, one feature at a time, against CloudTrail records.

use super::*;
use trailguard_detect::cloudtrail::Record;

const EVENT: &str = r#"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDA1","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIA1","userName":"alice"},"eventTime":"2026-12-01T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"UpdateLoginProfile","awsRegion":"us-east-1","sourceIPAddress":"10.1.2.3","userAgent":"aws-cli/2.15 Linux/6.1 exe/x86_64.kali","requestParameters":{"userName":"Alice","tags":["a","b"],"count":7,"cmd":"powershell -enc SQBFAFgA","path":"C:\\Users\\x","note":"done\n"},"responseElements":null,"eventID":"e-1","eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#;

fn rule(detection: &str) -> SigmaRule {
    let text = format!(
        "title: t\nid: 00000000-0000-0000-0000-000000000001\nlevel: high\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n{detection}"
    );
    let docs = YamlLoader::load_from_str(&text).unwrap();
    SigmaRule::compile(&docs[0], "test.yml").unwrap().unwrap()
}

fn hit(detection: &str) -> bool {
    let r = Record::parse(EVENT).unwrap();
    rule(detection).matches(&r)
}

#[test]
fn equality_is_case_insensitive_and_wildcards_apply() {
    assert!(hit(
        "  sel:\n    eventName: updateloginprofile\n  condition: sel"
    ));
    assert!(hit("  sel:\n    eventName: Update*\n  condition: sel"));
    assert!(!hit("  sel:\n    eventName: Update\n  condition: sel"));
    assert!(hit(
        "  sel:\n    eventName|cased: UpdateLoginProfile\n  condition: sel"
    ));
    assert!(!hit(
        "  sel:\n    eventName|cased: updateloginprofile\n  condition: sel"
    ));
    assert!(hit(
        "  sel:\n    eventName:\n      - X\n      - UpdateLoginProfile\n  condition: sel"
    ));
}

#[test]
fn modifiers() {
    assert!(hit(
        "  sel:\n    userAgent|contains: KALI\n  condition: sel"
    ));
    assert!(hit(
        "  sel:\n    userAgent|startswith: aws-cli\n  condition: sel"
    ));
    assert!(hit(
        "  sel:\n    userAgent|endswith: .kali\n  condition: sel"
    ));
    assert!(hit(
        "  sel:\n    userAgent|contains|all:\n      - kali\n      - linux\n  condition: sel"
    ));
    assert!(!hit(
        "  sel:\n    userAgent|contains|all:\n      - kali\n      - windows\n  condition: sel"
    ));
    assert!(hit(
        "  sel:\n    userIdentity.arn|re: '.+:user/al.+'\n  condition: sel"
    ));
    assert!(!hit(
        "  sel:\n    userIdentity.arn|re: '.+:USER/.+'\n  condition: sel"
    ));
    assert!(hit(
        "  sel:\n    userIdentity.arn|re|i: '.+:USER/.+'\n  condition: sel"
    ));
    assert!(hit(
        "  sel:\n    sourceIPAddress|cidr: 10.0.0.0/8\n  condition: sel"
    ));
    assert!(!hit(
        "  sel:\n    sourceIPAddress|cidr: 192.168.0.0/16\n  condition: sel"
    ));
    assert!(hit(
        "  sel:\n    requestParameters.count|gte: 7\n  condition: sel"
    ));
    assert!(!hit(
        "  sel:\n    requestParameters.count|gt: 7\n  condition: sel"
    ));
    assert!(hit(
        "  sel:\n    requestParameters.tags: b\n  condition: sel"
    ));
    assert!(hit("  sel:\n    errorCode|exists: false\n  condition: sel"));
    assert!(!hit("  sel:\n    errorCode|exists: true\n  condition: sel"));
    assert!(hit("  sel:\n    errorCode: null\n  condition: sel"));
    assert!(!hit("  sel:\n    eventName: null\n  condition: sel"));
    // "IEX" in UTF-16LE, base64: SQBFAFgA
    assert!(hit(
        "  sel:\n    requestParameters.cmd|wide|base64offset|contains: IEX\n  condition: sel"
    ));
    assert!(hit(
        "  sel:\n    requestParameters.cmd|windash|contains: ' /enc '\n  condition: sel"
    ));
    assert!(hit(
        "  sel:\n    userIdentity.userName|fieldref: requestParameters.userName\n  condition: sel"
    ));
    assert!(!hit(
        "  sel:\n    userIdentity.userName|fieldref|cased: requestParameters.userName\n  condition: sel"
    ));
}

#[test]
fn keywords_and_conditions() {
    assert!(hit(
        "  keywords:\n    - 'exe/x86_64.kali'\n  condition: keywords"
    ));
    assert!(!hit(
        "  keywords:\n    - 'nothing-like-this'\n  condition: keywords"
    ));
    assert!(hit(
        "  a:\n    eventSource: iam.amazonaws.com\n  filter_1:\n    userIdentity.type: Root\n  filter_2:\n    sourceIPAddress: 1.1.1.1\n  condition: a and not 1 of filter_*"
    ));
    assert!(!hit(
        "  a:\n    eventSource: iam.amazonaws.com\n  filter_1:\n    userIdentity.type: IAMUser\n  condition: a and not 1 of filter_*"
    ));
    assert!(hit(
        "  s_1:\n    eventSource: iam.amazonaws.com\n  s_2:\n    eventName: UpdateLoginProfile\n  condition: all of s_*"
    ));
    assert!(hit(
        "  s:\n    - eventName: X\n    - eventSource: iam.amazonaws.com\n  condition: s"
    ));
    assert!(hit(
        "  s:\n    eventName: X\n  t:\n    eventName: UpdateLoginProfile\n  condition:\n    - s\n    - t"
    ));
}

#[test]
fn rules_are_indexed_by_the_names_they_require() {
    let r = rule(
        "  sel:\n    eventSource: iam.amazonaws.com\n    eventName:\n      - A\n      - B\n  condition: sel",
    );
    assert!(matches!(r.on(), On::Names(n) if n == vec!["a".to_string(), "b".to_string()]));
    let any = rule("  sel:\n    eventName|contains: A\n  condition: sel");
    assert!(matches!(any.on(), On::Any));
    let either = rule("  a:\n    eventName: A\n  b:\n    eventSource: x\n  condition: a or b");
    assert!(matches!(either.on(), On::Any));
    let negated = rule("  a:\n    eventName: A\n  condition: not a");
    assert!(matches!(negated.on(), On::Any));
}

#[test]
fn bad_rules_are_refused_with_reasons() {
    let mut loaded = Loaded::default();
    load_text(
        "title: x\ndetection:\n  sel:\n    a|nope: 1\n  condition: sel\n",
        "x.yml",
        &mut loaded,
    );
    load_text(
        "title: x\ndetection:\n  sel:\n    a: 1\n  condition: other\n",
        "y.yml",
        &mut loaded,
    );
    load_text(
        "title: x\ndetection:\n  sel:\n    a|re: '('\n  condition: sel\n",
        "z.yml",
        &mut loaded,
    );
    load_text(": : :\n  - [", "w.yml", &mut loaded);
    // An alias bomb and a deep nest are refused before the loader sees them.
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        bomb.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
    }
    load_text(&bomb, "bomb.yml", &mut loaded);
    let deep = format!(
        "detection:\n  sel: {}x{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    load_text(&deep, "deep.yml", &mut loaded);
    assert_eq!(loaded.errors.len(), 6, "{:?}", loaded.errors);
    assert!(loaded.rules.is_empty());
}

#[test]
#[ignore = "a report over a local SigmaHQ checkout (SIGMA_RULES=path)"]
fn report_unindexed_rules() {
    let Ok(path) = std::env::var("SIGMA_RULES") else {
        return;
    };
    let mut loaded = Loaded::default();
    load(std::path::Path::new(&path), &mut loaded);
    for r in &loaded.rules {
        if matches!(r.on(), On::Any) {
            println!("any: {} {}", r.file, r.title);
        }
    }
}

#[test]
fn escapes_neq_pcre_dollar_and_underscore_selections() {
    assert!(hit(
        "  sel:\n    requestParameters.path|startswith: 'C:\\Users\\'\n  condition: sel"
    ));
    assert!(hit(
        "  sel:\n    requestParameters.path|contains: 'Users\\'\n  condition: sel"
    ));
    assert!(hit(
        "  sel:\n    eventName|neq: CreateUser\n  condition: sel"
    ));
    assert!(!hit(
        "  sel:\n    eventName|neq:\n      - x\n      - UpdateLoginProfile\n  condition: sel"
    ));
    assert!(hit(
        "  sel:\n    requestParameters.note|re: '^done$'\n  condition: sel"
    ));
    assert!(hit(
        "  sel:\n    userIdentity.arn|re|ignorecase: '.+:USER/.+'\n  condition: sel"
    ));
    // `_` selections are not in `1 of *_x` (nor in `them`), but are in `1 of _*`.
    assert!(!hit(
        "  a_x:\n    eventName: nope\n  _b_x:\n    eventName: UpdateLoginProfile\n  condition: 1 of *_x"
    ));
    assert!(hit(
        "  a_x:\n    eventName: nope\n  _b_x:\n    eventName: UpdateLoginProfile\n  condition: 1 of _*"
    ));
}

#[test]
fn keywords_match_values_not_json_text() {
    // A key name is not a value; a backslash in a value is one backslash.
    assert!(!hit(
        "  keywords:\n    - 'recipientAccountId'\n  condition: keywords"
    ));
    assert!(hit(
        "  keywords:\n    - 'C:\\Users\\x'\n  condition: keywords"
    ));
    assert!(hit("  keywords:\n    - 'SQBFAFgA'\n  condition: keywords"));
    let mut loaded = Loaded::default();
    let many = "*a".repeat(40);
    load_text(
        &format!("title: x\ndetection:\n  sel:\n    a: '{many}'\n  condition: sel\n"),
        "w.yml",
        &mut loaded,
    );
    assert_eq!(loaded.errors.len(), 1);
}
