//! Administrator and member accounts, by invitation (as without AWS
//! Organizations): the administrator adds members and invites them; a member
//! sees the invitation and accepts (or declines) it with its own detector; once
//! enabled, the administrator sees the member's findings with its own.
//!
//! As in AWS, what decides which findings a member's administrator sees is the
//! administrator's alone: a member account cannot archive or unarchive
//! findings, nor create, change or delete filters, trusted IP lists or threat
//! lists ([`administrator_only`]), and the administrator's filters and lists
//! are the ones its members' findings pass ([`governing`]).

use super::Detector;
use crate::error::GuardDutyError;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use time::OffsetDateTime;
use trailguard_core::authz::Authorized;
use trailguard_core::env::Env;
use trailguard_core::error::{Error, Result};
use trailguard_core::params::Params;
use trailguard_model::Value;

/// `{admin}/{region}/{member}` -> [`Member`]: the administrator's view.
const NS_MEMBER: &str = "guardduty.member";
/// `{member}/{region}/{admin}` -> [`Invitation`]: the member's inbox.
const NS_INVITATION: &str = "guardduty.invitation";
/// `{member}/{region}` -> [`Link`]: the member's administrator.
const NS_ADMINISTRATOR: &str = "guardduty.administrator";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Member {
    account: String,
    email: String,
    administrator: String,
    status: String,
    detector_id: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    invited_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

impl Member {
    fn to_value(&self) -> Value {
        let ts = super::findings::timestamp;
        Value::structure()
            .with("accountId", self.account.clone())
            .with("detectorId", self.detector_id.clone())
            .with("masterId", self.administrator.clone())
            .with("administratorId", self.administrator.clone())
            .with("email", self.email.clone())
            .with("relationshipStatus", self.status.clone())
            .with("invitedAt", self.invited_at.map(ts))
            .with("updatedAt", ts(self.updated_at))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Invitation {
    administrator: String,
    id: String,
    #[serde(with = "time::serde::rfc3339")]
    invited_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Link {
    administrator: String,
    invitation_id: String,
    status: String,
    #[serde(with = "time::serde::rfc3339")]
    invited_at: OffsetDateTime,
}

fn bad(message: impl Into<String>) -> Error {
    GuardDutyError::BadRequest(format!(
        "The request is rejected because {}",
        message.into()
    ))
    .into()
}

fn unprocessed(list: Vec<(String, String)>) -> Value {
    Value::List(
        list.into_iter()
            .map(|(a, r)| Value::structure().with("accountId", a).with("result", r))
            .collect(),
    )
}

fn member_key(admin: &str, region: &str, member: &str) -> String {
    format!("{admin}/{region}/{member}")
}

fn account_ids(p: Params<'_>) -> Result<Vec<String>> {
    let ids = p.str_list("accountIds")?;
    if ids.is_empty() || ids.len() > 50 {
        return Err(bad("accountIds must list 1 to 50 accounts."));
    }
    Ok(ids.into_iter().map(str::to_string).collect())
}

fn valid_account(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

/// Detectors whose findings the administrator's detector shows: its own and
/// those of its enabled members in the same region.
pub fn visible_detectors(env: &mut Env<'_>, d: &Detector) -> Result<Vec<Detector>> {
    let mut out = vec![d.clone()];
    let members: Vec<Member> = env.scan_all(NS_MEMBER, &format!("{}/{}/", d.account, d.region))?;
    for m in members.iter().filter(|m| m.status == "Enabled") {
        if let Some(id) = &m.detector_id {
            let key = format!("{}/{}/{id}", m.account, d.region);
            if let Some(md) = env.get::<Detector>(super::NS_DETECTOR, &key)? {
                out.push(md);
            }
        }
    }
    Ok(out)
}

/// The administrator of the detector's account in its region, once the
/// account has accepted its invitation.
fn administrator(env: &mut Env<'_>, d: &Detector) -> Result<Option<String>> {
    let link: Option<Link> = env.get(NS_ADMINISTRATOR, &format!("{}/{}", d.account, d.region))?;
    Ok(link
        .filter(|l| l.status == "Enabled")
        .map(|l| l.administrator))
}

/// AWS's rule for a member account: what customizes findings (archiving and
/// unarchiving them, filters, trusted IP lists and threat lists) is the
/// administrator's alone, so a member cannot hide its findings from it. `what`
/// names the refused action for the message.
pub fn administrator_only(env: &mut Env<'_>, d: &Detector, what: &str) -> Result<()> {
    match administrator(env, d)? {
        Some(admin) => Err(bad(format!(
            "the account is a GuardDuty member account of the administrator account {admin}: only the administrator account can {what}."
        ))),
        None => Ok(()),
    }
}

/// The detector whose filters and lists apply to `d`'s findings: for a member,
/// its administrator's detector in the same region (the member's own no longer
/// apply, whatever it made before it joined); otherwise `d` itself.
pub fn governing(env: &mut Env<'_>, d: &Detector) -> Result<Detector> {
    let Some(admin) = administrator(env, d)? else {
        return Ok(d.clone());
    };
    let theirs: Vec<Detector> =
        env.scan_all(super::NS_DETECTOR, &format!("{admin}/{}/", d.region))?;
    Ok(theirs.into_iter().next().unwrap_or_else(|| d.clone()))
}

pub fn create_members(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let details =
        p.0.get("accountDetails")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
    if details.is_empty() || details.len() > 50 {
        return Err(bad("accountDetails must list 1 to 50 accounts."));
    }
    let mut skipped = Vec::new();
    for detail in details {
        let account = detail
            .get("accountId")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        let email = detail
            .get("email")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        if !valid_account(&account) || email.is_empty() {
            skipped.push((account, "The account ID or email is not valid.".to_string()));
            continue;
        }
        if account == d.account {
            skipped.push((
                account,
                "The request is rejected because the current account cannot be added as a member."
                    .into(),
            ));
            continue;
        }
        let key = member_key(&d.account, &d.region, &account);
        if env.get::<Member>(NS_MEMBER, &key)?.is_some() {
            skipped.push((account, "The account is already a member.".into()));
            continue;
        }
        let m = Member {
            account,
            email,
            administrator: d.account.clone(),
            status: "Created".into(),
            detector_id: None,
            invited_at: None,
            updated_at: env.now,
        };
        env.put(NS_MEMBER, &key, &m)?;
    }
    Ok(Value::structure().with("unprocessedAccounts", unprocessed(skipped)))
}

pub fn invite_members(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let mut skipped = Vec::new();
    for account in account_ids(p)? {
        let key = member_key(&d.account, &d.region, &account);
        let Some(mut m) = env.get::<Member>(NS_MEMBER, &key)? else {
            skipped.push((
                account,
                "The account is not a member: call CreateMembers first.".into(),
            ));
            continue;
        };
        if m.status == "Enabled" {
            skipped.push((account, "The account is already an enabled member.".into()));
            continue;
        }
        let invitation = Invitation {
            administrator: d.account.clone(),
            id: env.ids.uuid().replace('-', ""),
            invited_at: env.now,
        };
        env.put(
            NS_INVITATION,
            &format!("{account}/{}/{}", d.region, d.account),
            &invitation,
        )?;
        m.status = "Invited".into();
        m.invited_at = Some(env.now);
        m.updated_at = env.now;
        env.put(NS_MEMBER, &key, &m)?;
    }
    Ok(Value::structure().with("unprocessedAccounts", unprocessed(skipped)))
}

pub fn list_invitations(env: &mut Env<'_>, _: &Authorized, _: Params<'_>) -> Result<Value> {
    let prefix = format!("{}/{}/", env.account, env.ctx.region);
    let invitations: Vec<Invitation> = env.scan_all(NS_INVITATION, &prefix)?;
    Ok(Value::structure().with(
        "invitations",
        Value::List(
            invitations
                .into_iter()
                .map(|i| {
                    Value::structure()
                        .with("accountId", i.administrator)
                        .with("invitationId", i.id)
                        .with("relationshipStatus", "Invited")
                        .with("invitedAt", super::findings::timestamp(i.invited_at))
                })
                .collect(),
        ),
    ))
}

pub fn get_invitations_count(env: &mut Env<'_>, _: &Authorized, _: Params<'_>) -> Result<Value> {
    let prefix = format!("{}/{}/", env.account, env.ctx.region);
    let n = env.tx.scan(NS_INVITATION, &prefix, None, usize::MAX)?.len();
    Ok(Value::structure().with("invitationsCount", i64::try_from(n).unwrap_or(0)))
}

pub fn accept_administrator_invitation(
    env: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let admin = p.str("administratorId")?.to_string();
    let invitation_id = p.str("invitationId")?;
    let inbox = format!("{}/{}/{admin}", d.account, d.region);
    let invitation: Invitation = env
        .get(NS_INVITATION, &inbox)?
        .filter(|i: &Invitation| i.id == invitation_id)
        .ok_or_else(|| bad("the invitation is not valid for this account."))?;
    if let Some(link) = env.get::<Link>(NS_ADMINISTRATOR, &format!("{}/{}", d.account, d.region))?
        && link.administrator != admin
    {
        return Err(bad(format!(
            "the account already has the administrator {}.",
            link.administrator
        )));
    }
    let key = member_key(&admin, &d.region, &d.account);
    let mut m: Member = env
        .get(NS_MEMBER, &key)?
        .ok_or_else(|| bad("the administrator no longer lists this account as a member."))?;
    m.status = "Enabled".into();
    m.detector_id = Some(d.id.clone());
    m.updated_at = env.now;
    env.put(NS_MEMBER, &key, &m)?;
    env.put(
        NS_ADMINISTRATOR,
        &format!("{}/{}", d.account, d.region),
        &Link {
            administrator: admin,
            invitation_id: invitation.id,
            status: "Enabled".into(),
            invited_at: invitation.invited_at,
        },
    )?;
    env.delete(NS_INVITATION, &inbox)?;
    Ok(Value::structure())
}

pub fn get_administrator_account(
    env: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let link: Option<Link> = env.get(NS_ADMINISTRATOR, &format!("{}/{}", d.account, d.region))?;
    Ok(Value::structure().with(
        "administrator",
        link.map_or(Value::Null, |l| {
            Value::structure()
                .with("accountId", l.administrator)
                .with("invitationId", l.invitation_id)
                .with("relationshipStatus", l.status)
                .with("invitedAt", super::findings::timestamp(l.invited_at))
        }),
    ))
}

pub fn decline_invitations(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut skipped = Vec::new();
    let region = env.ctx.region.clone();
    for admin in account_ids(p)? {
        let inbox = format!("{}/{region}/{admin}", env.account);
        if !env.delete(NS_INVITATION, &inbox)? {
            skipped.push((admin, "There is no invitation from this account.".into()));
            continue;
        }
        let key = member_key(&admin, &region, &env.account);
        if let Some(mut m) = env.get::<Member>(NS_MEMBER, &key)? {
            m.status = "Removed".into();
            m.updated_at = env.now;
            env.put(NS_MEMBER, &key, &m)?;
        }
    }
    Ok(Value::structure().with("unprocessedAccounts", unprocessed(skipped)))
}

fn unlink(env: &mut Env<'_>, admin: &str, region: &str, member: &str) -> Result<()> {
    let link_key = format!("{member}/{region}");
    if env
        .get::<Link>(NS_ADMINISTRATOR, &link_key)?
        .is_some_and(|l| l.administrator == admin)
    {
        env.delete(NS_ADMINISTRATOR, &link_key)?;
    }
    env.delete(NS_INVITATION, &format!("{member}/{region}/{admin}"))?;
    Ok(())
}

pub fn list_members(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let only_associated = p.opt_str("onlyAssociated")? != Some("false");
    let members: Vec<Member> = env.scan_all(NS_MEMBER, &format!("{}/{}/", d.account, d.region))?;
    Ok(Value::structure().with(
        "members",
        Value::List(
            members
                .iter()
                .filter(|m| !only_associated || m.status == "Enabled")
                .map(Member::to_value)
                .collect(),
        ),
    ))
}

pub fn get_members(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for account in account_ids(p)? {
        match env.get::<Member>(NS_MEMBER, &member_key(&d.account, &d.region, &account))? {
            Some(m) => found.push(m.to_value()),
            None => skipped.push((account, "The account is not a member.".to_string())),
        }
    }
    Ok(Value::structure()
        .with("members", Value::List(found))
        .with("unprocessedAccounts", unprocessed(skipped)))
}

pub fn disassociate_members(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let mut skipped = Vec::new();
    for account in account_ids(p)? {
        let key = member_key(&d.account, &d.region, &account);
        let Some(mut m) = env.get::<Member>(NS_MEMBER, &key)? else {
            skipped.push((account, "The account is not a member.".into()));
            continue;
        };
        unlink(env, &d.account, &d.region, &account)?;
        m.status = "Removed".into();
        m.updated_at = env.now;
        env.put(NS_MEMBER, &key, &m)?;
    }
    Ok(Value::structure().with("unprocessedAccounts", unprocessed(skipped)))
}

pub fn delete_members(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let mut skipped = Vec::new();
    for account in account_ids(p)? {
        let key = member_key(&d.account, &d.region, &account);
        if env.get::<Member>(NS_MEMBER, &key)?.is_none() {
            skipped.push((account, "The account is not a member.".into()));
            continue;
        }
        unlink(env, &d.account, &d.region, &account)?;
        env.delete(NS_MEMBER, &key)?;
    }
    Ok(Value::structure().with("unprocessedAccounts", unprocessed(skipped)))
}

pub fn disassociate_from_administrator_account(
    env: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let link_key = format!("{}/{}", d.account, d.region);
    let link: Link = env
        .get(NS_ADMINISTRATOR, &link_key)?
        .ok_or_else(|| bad("the account has no administrator."))?;
    env.delete(NS_ADMINISTRATOR, &link_key)?;
    let key = member_key(&link.administrator, &d.region, &d.account);
    if let Some(mut m) = env.get::<Member>(NS_MEMBER, &key)? {
        m.status = "Removed".into();
        m.updated_at = env.now;
        env.put(NS_MEMBER, &key, &m)?;
    }
    Ok(Value::structure())
}
