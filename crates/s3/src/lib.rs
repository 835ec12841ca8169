//! Amazon S3 buckets and objects, for trail buckets and the people who read them.
//!
//! Buckets and object descriptions are documents in the store; object bytes are
//! blobs ([`trailguard_store::Blobs`]) written before the transaction that names
//! them commits, so an object is visible whole or not at all. Bucket-level calls
//! are management events; object calls and listings are data events, recorded
//! for the trails whose event selectors ask for them.
//!
//! Every call is decided with the bucket's policy (`authz::authorize_with`):
//! object calls and listings may come from another account the policy lets in;
//! the bucket policy and the bucket's deletion stay the owner's. Services write
//! only through [`deliver_object`], as their service principal, and read through
//! S3's own operations as their role's session (`linked::act_as`): the bucket
//! policy decides for them too. Object bytes are written and read outside the
//! store's writer, as prepared jobs (`prepare::StoreBlob`, `prepare::WholeBlob`).

pub mod error;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use error::S3Error;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;
use trailguard_core::authz::{self, Authorized};
use trailguard_core::env::Env;
use trailguard_core::error::{Error, Result};
use trailguard_core::module::{ResourcePolicies, ServiceModule};
use trailguard_core::ops::Operation;
use trailguard_core::params::Params;
use trailguard_core::prepare::{ParseBlob, StoreBlob, WholeBlob};
use trailguard_model::wire::Protocol;
use trailguard_model::{ServiceDef, Value};

const NS_BUCKET: &str = "s3.bucket";
const NS_OBJECT: &str = "s3.object";

/// Amazon S3.
pub const DEF: ServiceDef = ServiceDef {
    large_bodies: true,
    ..ServiceDef::new("s3", "s3.amazonaws.com", Protocol::RestXmlS3)
};

/// S3, as the core sees it: its operations, bucket policies for the
/// authorization point, a bucket answering only in its region, and other
/// services calling it at the bucket's region.
pub fn module() -> ServiceModule {
    ServiceModule {
        resource_policies: Some(&BucketPolicies),
        record_params: Some(record_params),
        before_authorization: Some(check_region),
        call_region: Some(bucket_region),
        ..ServiceModule::new(&DEF, OPERATIONS)
    }
}

/// What S3's records carry beyond the members: a `PutBucketPolicy` record
/// holds the policy document as `bucketPolicy`, as AWS's do (detections read
/// it there). A body that is not a JSON policy within S3's size limit is left
/// out.
fn record_params(operation: &str, request: &serde_json::Value, shown: &mut serde_json::Value) {
    if operation != "PutBucketPolicy" {
        return;
    }
    let policy = request
        .get("Body")
        .and_then(serde_json::Value::as_str)
        // This runs under the store's writer: a body too long to be a
        // policy is not decoded at all (base64 is 4 bytes for every 3).
        .filter(|b| b.len() <= MAX_BUCKET_POLICY_BYTES.div_ceil(3) * 4)
        .and_then(|b| B64.decode(b).ok())
        .filter(|bytes| bytes.len() <= MAX_BUCKET_POLICY_BYTES)
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .filter(serde_json::Value::is_object);
    if let (Some(policy), Some(map)) = (policy, shown.as_object_mut()) {
        map.insert("bucketPolicy".into(), policy);
    }
}

/// Bucket policies, weighed by the authorization point with the caller's own.
struct BucketPolicies;

impl ResourcePolicies for BucketPolicies {
    fn owns(&self, resource: &str) -> bool {
        resource.starts_with("arn:aws:s3:::")
    }

    fn policy(
        &self,
        env: &mut Env<'_>,
        action: &str,
        resource: &str,
    ) -> Result<Option<(String, Option<String>)>> {
        // Creating a bucket is decided without the policy of a bucket someone
        // else may own under that name.
        if action.eq_ignore_ascii_case("s3:CreateBucket") {
            return Ok(None);
        }
        resource_policy(env, resource)
    }

    fn policy_label(&self) -> &'static str {
        "bucket-policy"
    }

    fn context_keys(&self) -> &'static [(&'static str, &'static str)] {
        CONTEXT_KEYS
    }

    fn owner_root_always_may(&self, action: &str) -> bool {
        owner_root_always_may(action)
    }
}

/// The S3 operations served.
pub const OPERATIONS: &[Operation] = &[
    Operation::read("ListBuckets", |_, _| Ok("*".into()), list_buckets).action("ListAllMyBuckets"),
    Operation::write("CreateBucket", bucket_arn, create_bucket),
    Operation::write("DeleteBucket", bucket_arn, delete_bucket),
    Operation::read("HeadBucket", bucket_arn, head_bucket).action("ListBucket"),
    Operation::read("GetBucketLocation", bucket_arn, get_bucket_location),
    Operation::write("PutBucketPolicy", bucket_arn, put_bucket_policy),
    Operation::read("GetBucketPolicy", bucket_arn, get_bucket_policy),
    Operation::write("DeleteBucketPolicy", bucket_arn, delete_bucket_policy),
    Operation::read("ListObjects", bucket_arn, list_objects)
        .action("ListBucket")
        .data_event(),
    Operation::read("ListObjectsV2", bucket_arn, list_objects_v2)
        .action("ListBucket")
        .data_event(),
    Operation::read("GetObject", object_arn, get_object).data_event(),
    Operation::read("HeadObject", object_arn, head_object)
        .action("GetObject")
        .data_event(),
    Operation::write("PutObject", object_arn, put_object).data_event(),
    Operation::write("DeleteObject", object_arn, delete_object).data_event(),
];

/// Request parameters that are S3 condition keys, for bucket and identity policies.
pub const CONTEXT_KEYS: &[(&str, &str)] = &[
    ("prefix", "s3:prefix"),
    ("delimiter", "s3:delimiter"),
    ("maxKeys", "s3:max-keys"),
    ("x-amz-acl", "s3:x-amz-acl"),
];

/// Calls the bucket owner's root user may always make whatever the bucket
/// policy says, as AWS allows, so a policy can never lock the bucket away.
pub fn owner_root_always_may(action: &str) -> bool {
    [
        "s3:GetBucketPolicy",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
    ]
    .iter()
    .any(|a| a.eq_ignore_ascii_case(action))
}

/// The owner and policy of the bucket an S3 ARN (`arn:aws:s3:::bucket[/key]`)
/// names, for authorization; `None` when it names no existing bucket.
pub fn resource_policy(
    env: &mut Env<'_>,
    resource: &str,
) -> Result<Option<(String, Option<String>)>> {
    let Some(rest) = resource.strip_prefix("arn:aws:s3:::") else {
        return Ok(None);
    };
    let name = rest.split('/').next().unwrap_or_default();
    if name.is_empty() || name.contains('*') {
        return Ok(None);
    }
    Ok(find_bucket(env, name)?.map(|b| (b.account, b.policy)))
}

/// A bucket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
    pub account: String,
    pub region: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    pub policy: Option<String>,
}

/// An object's description; its bytes are the blob `blob`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Object {
    pub blob: String,
    pub size: u64,
    pub etag: String,
    pub content_type: String,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
}

fn bucket_arn(_: &mut Env<'_>, p: Params<'_>) -> Result<String> {
    Ok(format!(
        "arn:aws:s3:::{}",
        p.opt_str("bucketName")?.unwrap_or("*")
    ))
}

fn object_arn(_: &mut Env<'_>, p: Params<'_>) -> Result<String> {
    Ok(format!(
        "arn:aws:s3:::{}/{}",
        p.opt_str("bucketName")?.unwrap_or("*"),
        p.opt_str("key")?.unwrap_or("*")
    ))
}

/// Names the bucket (and object) in the call's CloudTrail record, as data
/// events do; trails select S3 data events by these ARNs.
fn note(env: &mut Env<'_>, owner: &Bucket, key: Option<&str>) {
    let account = owner.account.clone();
    let bucket = owner.name.as_str();
    if let Some(k) = key {
        env.resources.push(trailguard_model::cloudtrail::Resource {
            account_id: account.clone(),
            resource_type: "AWS::S3::Object".into(),
            arn: format!("arn:aws:s3:::{bucket}/{k}"),
        });
    }
    env.resources.push(trailguard_model::cloudtrail::Resource {
        account_id: account,
        resource_type: "AWS::S3::Bucket".into(),
        arn: format!("arn:aws:s3:::{bucket}"),
    });
}

fn no_such_bucket() -> Error {
    S3Error::NoSuchBucket("The specified bucket does not exist".into()).into()
}

/// S3's bucket naming rules (general purpose buckets).
pub fn valid_bucket_name(name: &str) -> bool {
    let chars_ok = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends_ok = name
        .bytes()
        .next()
        .zip(name.bytes().last())
        .is_some_and(|(a, z)| a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric());
    let ip_like = name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok());
    (3..=63).contains(&name.len())
        && chars_ok
        && ends_ok
        && !name.contains("..")
        && !name.contains(".-")
        && !name.contains("-.")
        && !ip_like
        && !name.starts_with("xn--")
}

/// S3 serves a bucket only in the bucket's own region, as AWS does: an
/// operation on a bucket or its objects signed for any other region is refused
/// with `AuthorizationHeaderMalformed`, naming the region expected (clients
/// follow it), before it is authorized or run. So a call on a bucket is always
/// served and recorded in the bucket's region, where its trails' data-event
/// selectors and its region's GuardDuty detector look. `run_operation` asks this
/// of every S3 operation it runs: calls from the wire, and services reading
/// through `linked::act_as`, which address the bucket's region as AWS services
/// do. `ListBuckets` is global; `CreateBucket` checks its location constraint
/// against the region instead; a missing bucket is the handler's `NoSuchBucket`.
/// Service delivery ([`deliver_object`]) is not an S3 request and writes into a
/// bucket in any region, as CloudTrail and GuardDuty do.
pub fn check_region(env: &mut Env<'_>, operation: &str, p: Params<'_>) -> Result<()> {
    // ListBuckets is global; GetBucketLocation is how a client learns the
    // region to sign for, so it answers from anywhere.
    if matches!(
        operation,
        "ListBuckets" | "CreateBucket" | "GetBucketLocation"
    ) {
        return Ok(());
    }
    let Some(name) = p.opt_str("bucketName")? else {
        return Ok(());
    };
    match find_bucket(env, name)? {
        Some(bucket) if bucket.region != env.ctx.region => {
            Err(S3Error::AuthorizationHeaderMalformed {
                signed: env.ctx.region.clone(),
                expected: bucket.region,
            }
            .into())
        }
        _ => Ok(()),
    }
}

/// The region of the bucket an S3 call's parameters name, when it exists: the
/// region a service addresses to call S3 on it (`linked::act_as`).
pub fn bucket_region(env: &mut Env<'_>, p: Params<'_>) -> Result<Option<String>> {
    let Some(name) = p.opt_str("bucketName")? else {
        return Ok(None);
    };
    Ok(find_bucket(env, name)?.map(|b| b.region))
}

/// The bucket an authorized call acts on, whoever owns it: the call was decided
/// with the bucket's owner and policy (see [`authz::authorize_with`]).
fn bucket_of_call(env: &mut Env<'_>, name: &str) -> Result<Bucket> {
    env.get(NS_BUCKET, name)?.ok_or_else(no_such_bucket)
}

/// Loads a bucket the caller's account owns (calls only the owner may make:
/// bucket policy and deletion).
pub fn load_bucket(env: &mut Env<'_>, name: &str) -> Result<Bucket> {
    let bucket: Bucket = env.get(NS_BUCKET, name)?.ok_or_else(no_such_bucket)?;
    if bucket.account != env.account {
        return Err(Error::AccessDenied("Access Denied".into()));
    }
    Ok(bucket)
}

/// The bucket, whoever owns it (CloudTrail checks a trail's bucket this way).
pub fn find_bucket(env: &mut Env<'_>, name: &str) -> Result<Option<Bucket>> {
    env.get(NS_BUCKET, name)
}

/// AWS's limit on a bucket policy: 20 KB.
pub const MAX_BUCKET_POLICY_BYTES: usize = 20 * 1024;

fn object_key(bucket: &str, key: &str) -> String {
    format!("{bucket}/{key}")
}

fn body(p: Params<'_>) -> Result<Vec<u8>> {
    match p.opt_str("Body")? {
        None => Ok(Vec::new()),
        Some(b) => B64.decode(b).map_err(|_| {
            S3Error::InvalidArgument("The request body could not be read.".into()).into()
        }),
    }
}

pub fn list_buckets(env: &mut Env<'_>, _: &Authorized, _: Params<'_>) -> Result<Value> {
    let all: Vec<Bucket> = env.scan_all(NS_BUCKET, "")?;
    let mine = all
        .into_iter()
        .filter(|b| b.account == env.account)
        .map(|b| {
            Value::structure()
                .with("Name", b.name)
                .with("CreationDate", b.created)
        })
        .collect();
    Ok(Value::structure()
        .with(
            "Owner",
            Value::structure()
                .with("ID", env.account.clone())
                .with("DisplayName", "trailguard"),
        )
        .with("Buckets", Value::ListOf("Bucket".into(), mine)))
}

pub fn create_bucket(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let name = p.str("bucketName")?;
    if !valid_bucket_name(name) {
        return Err(S3Error::InvalidBucketName("The specified bucket is not valid.".into()).into());
    }
    let constraint =
        p.0.get("CreateBucketConfiguration")
            .and_then(|c| c.get("LocationConstraint"))
            .and_then(serde_json::Value::as_str);
    let region = constraint.unwrap_or("us-east-1").to_string();
    if constraint == Some("us-east-1") {
        return Err(S3Error::InvalidLocationConstraint(
            "The specified location-constraint is not valid".into(),
        )
        .into());
    }
    // Only us-east-1 (the global endpoint) creates a bucket in another region;
    // elsewhere the constraint must name the region the request was signed for.
    if constraint.is_none() && env.ctx.region != "us-east-1" {
        return Err(S3Error::IllegalLocationConstraint(
            "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.".into(),
        ).into());
    }
    if region != env.ctx.region && env.ctx.region != "us-east-1" {
        return Err(S3Error::IllegalLocationConstraint(format!(
            "The {region} location constraint is incompatible for the region specific endpoint this request was sent to."
        )).into());
    }
    if let Some(existing) = env.get::<Bucket>(NS_BUCKET, name)? {
        if existing.account != env.account {
            return Err(S3Error::BucketAlreadyExists(
                "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.".into(),
            ).into());
        }
        // In us-east-1, re-creating your own bucket succeeds (legacy behaviour).
        if existing.region == "us-east-1" && region == "us-east-1" {
            return Ok(Value::structure().with("Location", format!("/{name}")));
        }
        return Err(S3Error::BucketAlreadyOwnedByYou(
            "Your previous request to create the named bucket succeeded and you already own it."
                .into(),
        )
        .into());
    }
    let bucket = Bucket {
        name: name.to_string(),
        account: env.account.clone(),
        region,
        created: env.now,
        policy: None,
    };
    env.put(NS_BUCKET, name, &bucket)?;
    Ok(Value::structure().with("Location", format!("/{name}")))
}

pub fn delete_bucket(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let name = p.str("bucketName")?;
    load_bucket(env, name)?;
    if !env
        .tx
        .scan(NS_OBJECT, &format!("{name}/"), None, 1)?
        .is_empty()
    {
        return Err(
            S3Error::BucketNotEmpty("The bucket you tried to delete is not empty".into()).into(),
        );
    }
    env.delete(NS_BUCKET, name)?;
    Ok(Value::structure())
}

pub fn head_bucket(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let b = bucket_of_call(env, p.str("bucketName")?)?;
    Ok(Value::structure().with("BucketRegion", b.region))
}

pub fn get_bucket_location(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let b = bucket_of_call(env, p.str("bucketName")?)?;
    let constraint = (b.region != "us-east-1").then_some(b.region);
    Ok(Value::structure().with("LocationConstraint", constraint))
}

pub fn put_bucket_policy(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let name = p.str("bucketName")?;
    let mut bucket = load_bucket(env, name)?;
    let bytes = body(p)?;
    // Every later call on the bucket evaluates this document, so its size is
    // AWS's bound on that work.
    if bytes.len() > MAX_BUCKET_POLICY_BYTES {
        return Err(S3Error::MalformedPolicy(
            "Policy exceeds the maximum allowed document size.".into(),
        )
        .into());
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| S3Error::MalformedPolicy("Policies must be valid JSON".into()))?;
    trailguard_policy::PolicyDocument::parse(&text)
        .map_err(|e| S3Error::MalformedPolicy(e.to_string()))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|_| S3Error::MalformedPolicy("Policies must be valid JSON".into()))?;
    let statements = match json.get("Statement") {
        Some(serde_json::Value::Array(list)) => list.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    };
    let own = format!("arn:aws:s3:::{name}");
    for st in &statements {
        if st.get("Principal").is_none() && st.get("NotPrincipal").is_none() {
            return Err(S3Error::MalformedPolicy("Missing required field Principal".into()).into());
        }
        let resources: Vec<&str> = match st.get("Resource") {
            Some(serde_json::Value::String(r)) => vec![r.as_str()],
            Some(serde_json::Value::Array(rs)) => {
                rs.iter().filter_map(serde_json::Value::as_str).collect()
            }
            _ => Vec::new(),
        };
        if resources
            .iter()
            .any(|r| *r != own && !r.starts_with(&format!("{own}/")))
        {
            return Err(S3Error::MalformedPolicy("Policy has invalid resource".into()).into());
        }
    }
    bucket.policy = Some(text);
    env.put(NS_BUCKET, name, &bucket)?;
    Ok(Value::structure())
}

pub fn get_bucket_policy(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let bucket = load_bucket(env, p.str("bucketName")?)?;
    let policy = bucket
        .policy
        .ok_or_else(|| S3Error::NoSuchBucketPolicy("The bucket policy does not exist".into()))?;
    Ok(Value::structure().with("Policy", policy))
}

pub fn delete_bucket_policy(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let name = p.str("bucketName")?;
    let mut bucket = load_bucket(env, name)?;
    bucket.policy = None;
    env.put(NS_BUCKET, name, &bucket)?;
    Ok(Value::structure())
}

/// Stores an object whose bytes are the blob `blob`; callers have authorized
/// the write ([`put_object`] as the caller, [`deliver_object`] as the
/// delivering service).
#[allow(
    clippy::too_many_arguments,
    reason = "an object's description, field by field"
)]
fn store_object(
    env: &mut Env<'_>,
    bucket: &str,
    key: &str,
    blob: String,
    bytes: &[u8],
    content_type: &str,
    metadata: BTreeMap<String, String>,
) -> Result<Object> {
    let object = Object {
        blob,
        size: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
        etag: format!("\"{}\"", hex::encode(Md5::digest(bytes))),
        content_type: content_type.to_string(),
        metadata,
        last_modified: env.now,
    };
    env.put(NS_OBJECT, &object_key(bucket, key), &object)?;
    Ok(object)
}

/// Authorizes a service principal (the caller of `env`, such as
/// `cloudtrail.amazonaws.com`) to write `key` for its resource `source_arn`,
/// as AWS does: only the bucket policy can allow it, with `aws:SourceArn`,
/// `aws:SourceAccount` and the `bucket-owner-full-control` ACL in the context.
pub fn authorize_delivery(
    env: &mut Env<'_>,
    source_arn: &str,
    bucket: &str,
    key: &str,
) -> Result<Authorized> {
    let params = serde_json::json!({
        "bucketName": bucket,
        "key": key,
        "x-amz-acl": "bucket-owner-full-control",
    });
    let extra = [
        ("aws:SourceArn", source_arn.to_string()),
        ("aws:SourceAccount", env.account.clone()),
    ];
    authz::authorize_with(
        env,
        "s3:PutObject",
        &format!("arn:aws:s3:::{bucket}/{key}"),
        Params(&params),
        &extra,
    )
}

/// Whether the service principal `service` may write `key` for its resource
/// `source_arn` ([`authorize_delivery`] as that principal), asked while another
/// caller acts: CloudTrail's `CreateTrail` and `UpdateTrail` check the bucket
/// with the very decision each delivery takes.
pub fn service_may_deliver(
    env: &mut Env<'_>,
    service: &str,
    source_arn: &str,
    bucket: &str,
    key: &str,
) -> Result<bool> {
    let caller = trailguard_model::Caller::long_term(
        trailguard_model::Principal::Service {
            service: service.to_string(),
        },
        "",
    );
    let ctx = env.ctx.clone();
    let mut inner = env.as_caller(&caller, &ctx);
    match authorize_delivery(&mut inner, source_arn, bucket, key) {
        Ok(_) => Ok(true),
        Err(Error::AccessDenied(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A service writes an object for its resource `source_arn` (CloudTrail a
/// trail's log files and digests, GuardDuty a detector's exported findings),
/// authorized by [`authorize_delivery`] against the bucket's policy.
#[allow(
    clippy::too_many_arguments,
    reason = "an object write and who makes it"
)]
pub fn deliver_object(
    env: &mut Env<'_>,
    source_arn: &str,
    bucket: &str,
    key: &str,
    bytes: &[u8],
    content_type: &str,
    metadata: BTreeMap<String, String>,
) -> Result<Object> {
    authorize_delivery(env, source_arn, bucket, key)?;
    find_bucket(env, bucket)?.ok_or_else(no_such_bucket)?;
    // Background delivery writes small files it has just built; the blob is
    // durable before the transaction that names it commits.
    let blob = env.blobs.put(bytes)?;
    store_object(env, bucket, key, blob, bytes, content_type, metadata)
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > 1024 {
        return Err(S3Error::KeyTooLongError("Your key is too long".into()).into());
    }
    Ok(())
}

pub fn put_object(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let bucket = p.str("bucketName")?;
    let key = p.str("key")?;
    check_key(key)?;
    let owner = bucket_of_call(env, bucket)?;
    note(env, &owner, Some(key));
    let metadata = match p.0.get("Metadata") {
        Some(serde_json::Value::Object(m)) => m
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.to_ascii_lowercase(), s.to_string())))
            .collect(),
        _ => BTreeMap::new(),
    };
    let content_type = p
        .opt_str("ContentType")?
        .unwrap_or("binary/octet-stream")
        .to_string();
    let bytes = Arc::new(body(p)?);
    let blob = env
        .prepared(StoreBlob {
            bytes: Arc::clone(&bytes),
        })?
        .map_err(Error::Corrupt)?;
    let object = store_object(env, bucket, key, blob, &bytes, &content_type, metadata)?;
    Ok(Value::structure().with("ETag", object.etag))
}

/// Whether `bucket` holds an object at `key`, for services that must never
/// overwrite one (CloudTrail's digests).
pub fn object_exists(env: &mut Env<'_>, bucket: &str, key: &str) -> Result<bool> {
    Ok(env.tx.get(NS_OBJECT, &object_key(bucket, key))?.is_some())
}

fn load_object(env: &mut Env<'_>, bucket: &str, key: &str) -> Result<Object> {
    let owner = bucket_of_call(env, bucket)?;
    note(env, &owner, Some(key));
    env.get(NS_OBJECT, &object_key(bucket, key))?
        .ok_or_else(|| S3Error::NoSuchKey("The specified key does not exist.".into()).into())
}

fn object_value(o: &Object) -> Value {
    Value::structure()
        .with("ETag", o.etag.clone())
        .with("ContentType", o.content_type.clone())
        .with("ContentLength", i64::try_from(o.size).unwrap_or(i64::MAX))
        .with("LastModified", o.last_modified)
        .with(
            "Metadata",
            Value::Map(
                o.metadata
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::Str(v.clone())))
                    .collect(),
            ),
        )
}

pub fn get_object(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let o = load_object(env, p.str("bucketName")?, p.str("key")?)?;
    let bytes = env
        .prepared(ParseBlob {
            blob: o.blob.clone(),
            max_bytes: usize::try_from(o.size).unwrap_or(usize::MAX),
            parser: WholeBlob,
        })?
        .ok_or_else(|| Error::Corrupt(format!("object blob {} is missing", o.blob)))?;
    Ok(object_value(&o).with("Body", Value::Blob(bytes.as_ref().clone())))
}

pub fn head_object(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let o = load_object(env, p.str("bucketName")?, p.str("key")?)?;
    Ok(object_value(&o))
}

pub fn delete_object(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let bucket = p.str("bucketName")?;
    let owner = bucket_of_call(env, bucket)?;
    note(env, &owner, p.opt_str("key")?);
    env.delete(NS_OBJECT, &object_key(bucket, p.str("key")?))?;
    Ok(Value::structure())
}

/// One listing: keys (with their objects) and common prefixes, in key order.
struct Listing {
    contents: Vec<(String, Object)>,
    prefixes: Vec<String>,
    truncated: bool,
}

fn list(
    env: &mut Env<'_>,
    bucket: &str,
    prefix: &str,
    after: Option<&str>,
    delimiter: Option<&str>,
    max: usize,
) -> Result<Listing> {
    let scan_prefix = format!("{bucket}/{prefix}");
    let mut cursor = after.map(|a| format!("{bucket}/{a}"));
    let mut out = Listing {
        contents: Vec::new(),
        prefixes: Vec::new(),
        truncated: false,
    };
    loop {
        let batch: Vec<(String, Object)> =
            env.scan(NS_OBJECT, &scan_prefix, cursor.as_deref(), 1000)?;
        let exhausted = batch.len() < 1000;
        let mut skipped = false;
        for (full, object) in batch {
            cursor = Some(full.clone());
            let key = full.get(bucket.len() + 1..).unwrap_or_default().to_string();
            let rest = key.get(prefix.len()..).unwrap_or_default();
            let common = delimiter.filter(|d| !d.is_empty()).and_then(|d| {
                rest.find(d)
                    .and_then(|i| rest.get(..i + d.len()))
                    .map(|head| format!("{prefix}{head}"))
            });
            let new_prefix = common
                .as_ref()
                .is_some_and(|cp| after.is_none_or(|a| cp.as_str() > a));
            if (common.is_none() || new_prefix) && out.contents.len() + out.prefixes.len() >= max {
                out.truncated = true;
                return Ok(out);
            }
            match common {
                Some(cp) => {
                    // A prefix at or before the marker was returned on an earlier page.
                    if after.is_none_or(|a| cp.as_str() > a) {
                        out.prefixes.push(cp.clone());
                    }
                    // Rescan after everything under this common prefix.
                    cursor = Some(format!("{bucket}/{cp}\u{10FFFF}"));
                    skipped = true;
                    break;
                }
                None => out.contents.push((key, object)),
            }
        }
        if !skipped && exhausted {
            return Ok(out);
        }
    }
}

fn max_keys(p: Params<'_>) -> Result<usize> {
    let n = p
        .opt_int("maxKeys", 0, i64::from(i32::MAX))?
        .unwrap_or(1000);
    Ok(usize::try_from(n.min(1000)).unwrap_or(1000))
}

fn encode_key(s: &str, url: bool) -> String {
    if url {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
            .to_string()
            .replace("%2F", "/")
            .replace("%2D", "-")
            .replace("%2E", ".")
            .replace("%5F", "_")
            .replace("%7E", "~")
    } else {
        s.to_string()
    }
}

fn contents(listing: &Listing, url: bool) -> Value {
    Value::List(
        listing
            .contents
            .iter()
            .map(|(k, o)| {
                Value::structure()
                    .with("Key", encode_key(k, url))
                    .with("LastModified", o.last_modified)
                    .with("ETag", o.etag.clone())
                    .with("Size", i64::try_from(o.size).unwrap_or(i64::MAX))
                    .with("StorageClass", "STANDARD")
            })
            .collect(),
    )
}

fn common_prefixes(listing: &Listing, url: bool) -> Value {
    Value::List(
        listing
            .prefixes
            .iter()
            .map(|cp| Value::structure().with("Prefix", encode_key(cp, url)))
            .collect(),
    )
}

fn url_encoding(p: Params<'_>) -> Result<bool> {
    match p.opt_str("encodingType")? {
        None => Ok(false),
        Some("url") => Ok(true),
        Some(_) => Err(S3Error::InvalidArgument(
            "Invalid Encoding Method specified in Request".into(),
        )
        .into()),
    }
}

pub fn list_objects(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let bucket = p.str("bucketName")?;
    let owner = bucket_of_call(env, bucket)?;
    note(env, &owner, None);
    let prefix = p.opt_str("prefix")?.unwrap_or("");
    let marker = p.opt_str("marker")?;
    let delimiter = p.opt_str("delimiter")?;
    let max = max_keys(p)?;
    let url = url_encoding(p)?;
    let l = list(env, bucket, prefix, marker, delimiter, max)?;
    let next_marker = (l.truncated && delimiter.is_some())
        .then(|| {
            let last_key = l.contents.last().map(|(k, _)| k.clone());
            let last_prefix = l.prefixes.last().cloned();
            last_key.max(last_prefix)
        })
        .flatten();
    Ok(Value::structure()
        .with("Name", bucket)
        .with("Prefix", encode_key(prefix, url))
        .with("Marker", encode_key(marker.unwrap_or(""), url))
        .with("NextMarker", next_marker.map(|m| encode_key(&m, url)))
        .with("MaxKeys", i64::try_from(max).unwrap_or(1000))
        .with("Delimiter", delimiter.map(|d| encode_key(d, url)))
        .with("IsTruncated", l.truncated)
        .with("EncodingType", url.then_some("url"))
        .with("Contents", contents(&l, url))
        .with("CommonPrefixes", common_prefixes(&l, url)))
}

pub fn list_objects_v2(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let bucket = p.str("bucketName")?;
    let owner = bucket_of_call(env, bucket)?;
    note(env, &owner, None);
    let prefix = p.opt_str("prefix")?.unwrap_or("");
    let delimiter = p.opt_str("delimiter")?;
    let max = max_keys(p)?;
    let url = url_encoding(p)?;
    let token = p.opt_str("continuationToken")?;
    let after = match token {
        Some(t) => Some(
            B64.decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    S3Error::InvalidArgument("The continuation token provided is incorrect".into())
                })?,
        ),
        None => p.opt_str("startAfter")?.map(str::to_string),
    };
    let l = list(env, bucket, prefix, after.as_deref(), delimiter, max)?;
    let next = l
        .truncated
        .then(|| {
            let last_key = l.contents.last().map(|(k, _)| k.clone());
            let last_prefix = l.prefixes.last().map(|p| format!("{p}\u{10FFFF}"));
            last_key.max(last_prefix).map(|k| B64.encode(k))
        })
        .flatten();
    let count = l.contents.len() + l.prefixes.len();
    Ok(Value::structure()
        .with("Name", bucket)
        .with("Prefix", encode_key(prefix, url))
        .with("Delimiter", delimiter.map(|d| encode_key(d, url)))
        .with("MaxKeys", i64::try_from(max).unwrap_or(1000))
        .with("KeyCount", i64::try_from(count).unwrap_or(0))
        .with("IsTruncated", l.truncated)
        .with("ContinuationToken", token)
        .with("NextContinuationToken", next)
        .with(
            "StartAfter",
            p.opt_str("startAfter")?.map(|s| encode_key(s, url)),
        )
        .with("EncodingType", url.then_some("url"))
        .with("Contents", contents(&l, url))
        .with("CommonPrefixes", common_prefixes(&l, url)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        for ok in ["abc", "my-bucket.logs", "a1b2c3"] {
            assert!(valid_bucket_name(ok), "{ok}");
        }
        for bad in [
            "ab",
            "Bad_Name",
            "-abc",
            "abc-",
            "a..b",
            "192.168.5.4",
            "a.-b",
            &"a".repeat(64),
        ] {
            assert!(!valid_bucket_name(bad), "{bad}");
        }
        assert_eq!(encode_key("a b/c+d", true), "a%20b/c%2Bd");
    }
}
