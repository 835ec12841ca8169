//! STS: who am I, temporary credentials for roles and users.
//!
//! Sessions are stored by their `ASIA` access key id with their secret, token,
//! expiry and the principal they stand for; [`trailguard_core::Services::authenticate`]
//! turns them back into callers.

use crate::entities::{Entity, Kind, LastUsed, key};
use crate::error::StsError;
use trailguard_core::authz::{self, Authorized};
use trailguard_core::env::Env;
use trailguard_core::error::{Error, Result};
use trailguard_core::ops::Operation;
use trailguard_core::params::{Params, check_iam_name};

use time::Duration;
use trailguard_model::cloudtrail::Resource;
use trailguard_model::wire::Protocol;
use trailguard_model::{Principal, ServiceDef, Value};

pub use trailguard_core::identity::{NS_SESSION, Session, SessionPrincipal};

/// AWS Security Token Service.
pub const DEF: ServiceDef = ServiceDef {
    xml_namespace: "https://sts.amazonaws.com/doc/2011-06-15/",
    ..ServiceDef::new("sts", "sts.amazonaws.com", Protocol::AwsQuery)
};

/// How an STS operation is authorized.
pub const OPERATIONS: &[Operation] = &[
    Operation::read(
        "GetCallerIdentity",
        |_, _| Ok("*".into()),
        get_caller_identity,
    )
    .authorized_in_handler(),
    Operation::read(
        "AssumeRole",
        |_, p| Ok(p.opt_str("RoleArn")?.unwrap_or("*").to_string()),
        assume_role,
    )
    .recording_response()
    .authorized_in_handler(),
    Operation::read("GetSessionToken", |_, _| Ok("*".into()), get_session_token)
        .recording_response()
        .authorized_in_handler(),
];

pub fn get_caller_identity(env: &mut Env<'_>, _: &Authorized, _: Params<'_>) -> Result<Value> {
    let p = &env.caller.principal;
    Ok(Value::structure()
        .with("UserId", p.principal_id())
        .with("Account", p.account_id())
        .with("Arn", p.arn()))
}

fn issue(
    env: &mut Env<'_>,
    account: &str,
    principal: SessionPrincipal,
    duration: i64,
    policies: Vec<String>,
) -> Result<Session> {
    let session = Session {
        access_key_id: env.ids.access_key_id("ASIA"),
        secret: env.ids.secret_access_key().into(),
        token: format!("IQoJb3JpZ2luX2Vj{}", env.ids.secret(340)).into(),
        account: account.to_string(),
        principal,
        issued: env.now,
        expires: env.now + Duration::seconds(duration),
        policies,
    };
    env.put(NS_SESSION, &session.access_key_id, &session)?;
    Ok(session)
}

fn credentials_value(s: &Session) -> Value {
    Value::structure()
        .with("AccessKeyId", &s.access_key_id)
        .with(
            "SecretAccessKey",
            Value::Sensitive(Box::new(Value::Str(s.secret.expose().to_string()))),
        )
        .with("SessionToken", s.token.expose())
        .with("Expiration", s.expires)
}

/// The account a role belongs to, from its ARN.
pub fn role_account(role: &Entity) -> &str {
    role.arn.split(':').nth(4).unwrap_or_default()
}

/// Finds a role by ARN in the account the ARN names (this one or another
/// account this server holds).
fn role_by_arn(env: &mut Env<'_>, arn: &str) -> Result<Option<Entity>> {
    let Some(rest) = arn.strip_prefix("arn:aws:iam::") else {
        return Ok(None);
    };
    let Some((account, rest)) = rest.split_once(':') else {
        return Ok(None);
    };
    let Some(path_and_name) = rest.strip_prefix("role/") else {
        return Ok(None);
    };
    if account != env.account && !trailguard_core::identity::account_exists(env, account)? {
        return Ok(None);
    }
    let name = path_and_name.rsplit('/').next().unwrap_or(path_and_name);
    let role: Option<Entity> = env.get(Kind::Role.ns(), &key(account, name))?;
    Ok(role.filter(|r| r.arn == arn))
}

pub fn assume_role(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let arn = p.str_len("RoleArn", 20, 2048)?;
    let session_name = p.str_len("RoleSessionName", 2, 64)?;
    check_iam_name("RoleSessionName", session_name)?;
    let requested = p.opt_int("DurationSeconds", 900, 43200)?;
    p.opt_str_len("ExternalId", 2, 1224)?;
    let mut session_policies = Vec::new();
    if let Some(policy) = p.opt_str("Policy")? {
        if policy.chars().filter(|c| !c.is_whitespace()).count() > 2048 {
            return Err(StsError::PackedPolicyTooLarge(
                "Packed policy consumes more than 100% of the allotted space.".into(),
            )
            .into());
        }
        let parsed = trailguard_policy::PolicyDocument::parse(policy)
            .map_err(|e| StsError::MalformedPolicyDocument(e.0))?;
        parsed
            .validate_identity()
            .map_err(|e| StsError::MalformedPolicyDocument(e.0))?;
        session_policies.push(policy.to_string());
    }
    let arns =
        p.0.get("PolicyArns")
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default();
    if arns.len() > 10 {
        return Err(Error::constraint(
            "policyArns",
            "[...]",
            "Member must have length less than or equal to 10",
        ));
    }
    for a in arns {
        let arn = Params(&a).str("arn")?;
        if authz::managed_document(env, arn)?.is_none() {
            return Err(Error::InvalidInput(format!(
                "Policy {arn} does not exist or is not attachable."
            )));
        }
        session_policies.push(arn.to_string());
    }
    let role = role_by_arn(env, arn)?;
    authz::authorize_assume_role(env, role.as_ref(), arn, p)?;
    let Some(mut role) = role else {
        return Err(Error::AccessDenied(format!(
            "Not authorized to perform sts:AssumeRole on {arn}"
        )));
    };
    let max = role.max_session_duration.unwrap_or(3600);
    let chained = matches!(env.caller.principal, Principal::AssumedRole { .. });
    let duration = requested.unwrap_or(3600);
    if duration > max {
        return Err(Error::ValidationError(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .to_string(),
        ));
    }
    if chained && duration > 3600 {
        return Err(Error::ValidationError(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.".into(),
        ));
    }
    let session = issue_role_session(env, &role, session_name, duration, session_policies)?;
    note_role_use(env, &mut role)?;
    Ok(assumed_role_output(&role, session_name, &session))
}

/// Issues credentials for a session of `role`.
pub fn issue_role_session(
    env: &mut Env<'_>,
    role: &Entity,
    session_name: &str,
    duration: i64,
    policies: Vec<String>,
) -> Result<Session> {
    let account = role_account(role).to_string();
    issue(
        env,
        &account,
        SessionPrincipal::Role {
            role_name: role.name.clone(),
            role_id: role.id.clone(),
            role_arn: role.arn.clone(),
            session_name: session_name.to_string(),
        },
        duration,
        policies,
    )
}

/// Records that `role` was assumed: its `RoleLastUsed`, and the role as the
/// resource of the call's CloudTrail record (in the role's account, which so
/// receives the record too when it is not the caller's).
pub fn note_role_use(env: &mut Env<'_>, role: &mut Entity) -> Result<()> {
    role.last_used = Some(LastUsed {
        date: env.now,
        region: env.ctx.region.clone(),
    });
    let account = role_account(role).to_string();
    env.put(Kind::Role.ns(), &key(&account, &role.name), &*role)?;
    env.resources.push(Resource {
        account_id: account,
        resource_type: "AWS::IAM::Role".into(),
        arn: role.arn.clone(),
    });
    Ok(())
}

/// `AssumeRole`'s answer.
pub fn assumed_role_output(role: &Entity, session_name: &str, session: &Session) -> Value {
    Value::structure()
        .with("Credentials", credentials_value(session))
        .with(
            "AssumedRoleUser",
            Value::structure()
                .with("AssumedRoleId", format!("{}:{session_name}", role.id))
                .with(
                    "Arn",
                    format!(
                        "arn:aws:sts::{}:assumed-role/{}/{session_name}",
                        role_account(role),
                        role.name
                    ),
                ),
        )
}

pub fn get_session_token(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let principal = env.caller.principal.clone();
    let (who, max) = match &principal {
        Principal::User { name, id, arn, .. } => (
            SessionPrincipal::User {
                name: name.clone(),
                id: id.clone(),
                arn: arn.clone(),
            },
            129_600,
        ),
        Principal::Root { .. } => (SessionPrincipal::Root, 3600),
        _ => {
            return Err(Error::AccessDenied(
                "Cannot call GetSessionToken with session credentials".into(),
            ));
        }
    };
    if env.caller.session.is_some() {
        return Err(Error::AccessDenied(
            "Cannot call GetSessionToken with session credentials".into(),
        ));
    }
    let duration = p
        .opt_int("DurationSeconds", 900, 129_600)?
        .unwrap_or(43_200)
        .min(max);
    let account = env.account.clone();
    let session = issue(env, &account, who, duration, Vec::new())?;
    Ok(Value::structure().with("Credentials", credentials_value(&session)))
}
