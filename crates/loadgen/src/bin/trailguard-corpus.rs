//! Writes a CloudTrail corpus for `scan` benchmarks: gzip files of
//! `{"Records": [...]}` in AWS's layout
//! (`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<id>.json.gz`),
//! with a realistic event mix and record sizes (management and S3 data
//! events, a mean of about 1.4 KB a record), a few attacks sprinkled in, and
//! the same bytes for the same seed.

use clap::Parser;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value as Json, json};
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Write a deterministic CloudTrail corpus in AWS's layout")]
struct Args {
    /// Where `AWSLogs/` is written.
    #[arg(long)]
    out: PathBuf,
    /// Records in all.
    #[arg(long, default_value_t = 2_000_000)]
    records: u64,
    /// Records per file.
    #[arg(long, default_value_t = 1_000)]
    per_file: u64,
    /// The seed: the same seed writes the same corpus.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// gzip level (CloudTrail's files are level 6).
    #[arg(long, default_value_t = 6)]
    level: u32,
    /// Writer threads.
    #[arg(long, default_value_t = 2)]
    threads: u64,
}

/// splitmix64: small, fast, and the same on every platform and version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        let i = self.below(items.len() as u64) as usize;
        items.get(i).copied().unwrap_or_default()
    }
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(n);
        s
    }
    fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-{}-{}-{}",
            h.get(0..8).unwrap_or_default(),
            h.get(8..12).unwrap_or_default(),
            h.get(12..16).unwrap_or_default(),
            h.get(16..20).unwrap_or_default(),
            h.get(20..32).unwrap_or_default()
        )
    }
}

const ACCOUNT: &str = "111122223333";
const REGIONS: &[&str] = &["us-east-1", "eu-west-1"];
const USERS: &[&str] = &[
    "alice",
    "bob",
    "carol",
    "deploy",
    "ci-runner",
    "dave",
    "erin",
];
const ROLES: &[&str] = &["web", "worker", "etl", "lambda-exec", "admin"];
const AGENTS: &[&str] = &[
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0-18-amd64 exe/x86_64.debian.12 prompt/off command/s3.cp",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
    "aws-sdk-java/2.25.16 Linux/5.10.210-201.852.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
    "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/sts#1.28.5",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
    "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.633 Linux/5.10.213-179.855.amzn2int.x86_64]",
];

fn ip(rng: &mut Rng) -> String {
    match rng.below(10) {
        0..=5 => format!(
            "10.{}.{}.{}",
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        ),
        6..=8 => format!(
            "{}.{}.{}.{}",
            [3u64, 18, 34, 52, 54]
                .get(rng.below(5) as usize)
                .copied()
                .unwrap_or(3),
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        ),
        _ => format!("198.51.100.{}", 1 + rng.below(254)),
    }
}

fn identity(rng: &mut Rng) -> Json {
    if rng.below(3) == 0 {
        let user = rng.pick(USERS);
        json!({
            "type": "IAMUser",
            "principalId": format!("AIDA{}", rng.hex(16).to_ascii_uppercase()),
            "arn": format!("arn:aws:iam::{ACCOUNT}:user/{user}"),
            "accountId": ACCOUNT,
            "accessKeyId": format!("AKIA{}", rng.hex(16).to_ascii_uppercase()),
            "userName": user,
        })
    } else {
        let role = rng.pick(ROLES);
        let session = if rng.below(4) == 0 {
            format!("i-0{}", rng.hex(16))
        } else {
            format!("session-{}", rng.hex(8))
        };
        let role_id = format!("AROA{}", rng.hex(16).to_ascii_uppercase());
        json!({
            "type": "AssumedRole",
            "principalId": format!("{role_id}:{session}"),
            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"),
            "accountId": ACCOUNT,
            "accessKeyId": format!("ASIA{}", rng.hex(16).to_ascii_uppercase()),
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": role_id,
                    "arn": format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
                    "accountId": ACCOUNT,
                    "userName": role,
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": "2026-12-01T09:00:00Z", "mfaAuthenticated": "false"},
            },
        })
    }
}

/// The identities acting, each with its own keys: a session's key is used
/// for all its calls, as in AWS, so findings aggregate as they would.
fn identities(seed: u64) -> Vec<Json> {
    let mut rng = Rng(seed ^ 0x1d);
    (0..200).map(|_| identity(&mut rng)).collect()
}

/// One record at a second of the day.
fn record(rng: &mut Rng, pool: &[Json], region: &str, day: &str, second: u64) -> Json {
    let time = format!(
        "{day}T{:02}:{:02}:{:02}Z",
        second / 3600,
        (second / 60) % 60,
        second % 60
    );
    let bucket = format!("data-{}", rng.below(40));
    let key = format!("prefix/{}/part-{}.parquet", rng.hex(8), rng.below(10_000));
    let kind = rng.below(100);
    let (source, name, request, response, extra, resources, read_only): (
        &str,
        &str,
        Json,
        Json,
        Json,
        Json,
        bool,
    ) = match kind {
        0..=24 => (
            "s3.amazonaws.com",
            if rng.below(3) == 0 {
                "PutObject"
            } else {
                "GetObject"
            },
            json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), "key": key}),
            Json::Null,
            json!({"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": rng.hex(60), "bytesTransferredOut": rng.below(5_000_000)}),
            json!([{"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/{key}")}, {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")}]),
            true,
        ),
        25..=44 => (
            "kms.amazonaws.com",
            "Decrypt",
            json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:s3:arn": format!("arn:aws:s3:::{bucket}/{key}")}}),
            Json::Null,
            Json::Null,
            json!([{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": format!("arn:aws:kms:{region}:{ACCOUNT}:key/{}", rng.uuid())}]),
            true,
        ),
        45..=59 => (
            "sts.amazonaws.com",
            "AssumeRole",
            json!({"roleArn": format!("arn:aws:iam::{ACCOUNT}:role/{}", rng.pick(ROLES)), "roleSessionName": format!("session-{}", rng.hex(8)), "durationSeconds": 3600}),
            json!({"credentials": {"accessKeyId": format!("ASIA{}", rng.hex(16).to_ascii_uppercase()), "sessionToken": rng.hex(300), "expiration": "Dec 1, 2026, 11:00:00 AM"}, "assumedRoleUser": {"assumedRoleId": format!("AROA{}:session", rng.hex(16).to_ascii_uppercase()), "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/web/session")}}),
            Json::Null,
            json!([{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": format!("arn:aws:iam::{ACCOUNT}:role/web")}]),
            true,
        ),
        60..=74 => (
            "ec2.amazonaws.com",
            rng.pick(&[
                "DescribeInstances",
                "DescribeSecurityGroups",
                "DescribeVolumes",
                "DescribeSubnets",
            ]),
            json!({"instancesSet": {}, "filterSet": {"items": [{"name": "tag:env", "valueSet": {"items": [{"value": "prod"}]}}]}}),
            Json::Null,
            Json::Null,
            Json::Null,
            true,
        ),
        75..=84 => (
            "iam.amazonaws.com",
            rng.pick(&[
                "GetRole",
                "ListRoles",
                "GetUser",
                "ListAttachedRolePolicies",
                "GetPolicyVersion",
            ]),
            json!({"roleName": rng.pick(ROLES)}),
            Json::Null,
            Json::Null,
            Json::Null,
            true,
        ),
        85..=89 => (
            "logs.amazonaws.com",
            "CreateLogStream",
            json!({"logGroupName": format!("/aws/lambda/fn-{}", rng.below(30)), "logStreamName": format!("2026/12/01/[$LATEST]{}", rng.hex(32))}),
            Json::Null,
            Json::Null,
            Json::Null,
            false,
        ),
        90..=94 => (
            "sts.amazonaws.com",
            "GetCallerIdentity",
            Json::Null,
            Json::Null,
            Json::Null,
            Json::Null,
            true,
        ),
        _ => (
            "ec2.amazonaws.com",
            rng.pick(&[
                "CreateTags",
                "RunInstances",
                "TerminateInstances",
                "AuthorizeSecurityGroupIngress",
            ]),
            json!({"resourcesSet": {"items": [{"resourceId": format!("i-0{}", rng.hex(16))}]}, "tagSet": {"items": [{"key": "owner", "value": rng.pick(USERS)}]}}),
            json!({"requestId": rng.uuid(), "_return": true}),
            Json::Null,
            Json::Null,
            false,
        ),
    };
    let mut r = json!({
        "eventVersion": "1.09",
        "userIdentity": pool.get(rng.below(pool.len() as u64) as usize).cloned().unwrap_or(Json::Null),
        "eventTime": time,
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip(rng),
        "userAgent": rng.pick(AGENTS),
        "requestParameters": request,
        "responseElements": response,
        "requestID": rng.uuid(),
        "eventID": rng.uuid(),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": source != "s3.amazonaws.com",
        "recipientAccountId": ACCOUNT,
        "eventCategory": if source == "s3.amazonaws.com" { "Data" } else { "Management" },
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": format!("{}.{region}.amazonaws.com", source.trim_end_matches(".amazonaws.com"))},
    });
    let map = r.as_object_mut();
    if let Some(map) = map {
        if !extra.is_null() {
            map.insert("additionalEventData".into(), extra);
        }
        if !resources.is_null() {
            map.insert("resources".into(), resources);
        }
        // One record in 5,000 is an attack a built-in rule or a SigmaHQ rule finds.
        if rng.below(5_000) == 0 {
            match rng.below(4) {
                0 => {
                    map.insert("eventSource".into(), json!("cloudtrail.amazonaws.com"));
                    map.insert("eventName".into(), json!("StopLogging"));
                }
                1 => {
                    map.insert("userIdentity".into(), json!({"type": "Root", "principalId": ACCOUNT, "arn": format!("arn:aws:iam::{ACCOUNT}:root"), "accountId": ACCOUNT, "accessKeyId": "AKIAROOTEXAMPLE"}));
                }
                2 => {
                    map.insert("userAgent".into(), json!("aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.kali.2024 prompt/off"));
                }
                _ => {
                    map.insert("eventSource".into(), json!("iam.amazonaws.com"));
                    map.insert("eventName".into(), json!("CreateAccessKey"));
                }
            }
        }
    }
    r
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let files = args.records.div_ceil(args.per_file.max(1));
    let day = "2026-12-01";
    let threads = args.threads.clamp(1, 64);
    let pool = identities(args.seed);
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for t in 0..threads {
            let args = &args;
            let pool = &pool;
            handles.push(s.spawn(move || -> std::io::Result<()> {
                let mut f = t;
                while f < files {
                    let mut rng = Rng(args.seed ^ f.wrapping_mul(0x2545_f491_4f6c_dd1d));
                    let region = REGIONS
                        .get((f % REGIONS.len() as u64) as usize)
                        .copied()
                        .unwrap_or("us-east-1");
                    let first = f * args.per_file;
                    let n = args.per_file.min(args.records - first);
                    // Files cover the day in order; records in a file are in time order.
                    let start = f * 86_400 / files.max(1);
                    let span = (86_400 / files.max(1)).max(1);
                    let records: Vec<Json> = (0..n)
                        .map(|i| {
                            record(
                                &mut rng,
                                pool,
                                region,
                                day,
                                (start + i * span / n.max(1)).min(86_399),
                            )
                        })
                        .collect();
                    let stamp = format!("20261201T{:02}{:02}Z", start / 3600, (start / 60) % 60);
                    let dir = args
                        .out
                        .join(format!("AWSLogs/{ACCOUNT}/CloudTrail/{region}/2026/12/01"));
                    std::fs::create_dir_all(&dir)?;
                    let name = format!(
                        "{ACCOUNT}_CloudTrail_{region}_{stamp}_{}.json.gz",
                        rng.hex(16)
                    );
                    let mut gz = GzEncoder::new(Vec::new(), Compression::new(args.level));
                    serde_json::to_writer(&mut gz, &json!({"Records": records}))?;
                    std::fs::write(dir.join(name), gz.finish()?)?;
                    f += threads;
                }
                Ok(())
            }));
        }
        for h in handles {
            h.join()
                .map_err(|_| std::io::Error::other("a writer thread failed"))??;
        }
        Ok(())
    })
}
