//! Sigma rules are YAML from users: any text loads as rules or refusals
//! (never a panic, an alias blow-up or a stack overflow), and what loads
//! matches a record without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailguard_detect::Record;

const RECORD: &str = r#"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDA1","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIA1","userName":"alice"},"eventTime":"2026-12-01T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"10.1.2.3","userAgent":"aws-cli/2.15","requestParameters":{"userName":"bob","tags":["a"]},"eventID":"e-1","eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut loaded = trailguard_sigma::Loaded::default();
    trailguard_sigma::load_text(text, "fuzz.yml", &mut loaded);
    let Ok(r) = Record::parse(RECORD) else {
        return;
    };
    for rule in &loaded.rules {
        let _ = rule.matches(&r);
    }
});
