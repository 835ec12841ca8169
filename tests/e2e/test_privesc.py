"""Privilege escalation through IAM and STS: the well-known paths, refused and granted.

Each path starts with an attacker that cannot do something (create a user, as the
stand-in for "admin power"), tries the escalation call and must get HTTP 403
AccessDenied with AWS's message and an AccessDenied record in the trail, with the
state unchanged. Then the attacker is granted exactly the one action the path needs,
on the narrowest resource, repeats the call, and the state (and the attacker's new
power) shows the escalation really happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from e2e_util import (
    ACCOUNT_ID,
    ADMIN_POLICY_ARN,
    IamUser,
    allow_all_policy,
    creds_from_access_key,
    creds_from_sts,
    dumps,
    error_code,
    error_message,
    http_status,
    make_role,
    make_user,
    policy_doc,
    raises_aws,
    request_id,
    trust_ec2,
    trust_account_root,
    trust_policy,
    unique,
)

ALLOW_ALL = allow_all_policy()


# ----- helpers ---------------------------------------------------------------------


def user_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"


def assumed_role_arn(role_name: str, session: str) -> str:
    return f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/{session}"


def one_event(server, rid: str) -> dict:
    found = server.events_for_request(rid)
    assert len(found) == 1, f"expected exactly one trail record for request {rid}, got {found}"
    return found[0]


def expect_denied(
    server,
    fn: Callable,
    *,
    principal: str,
    action: str,
    resource: str,
    explicit: bool = False,
    **kwargs,
) -> ClientError:
    """fn(**kwargs) must answer 403 AccessDenied with AWS's message, recorded in the trail."""
    with pytest.raises(ClientError) as ei:
        fn(**kwargs)
    exc = ei.value
    assert error_code(exc) == "AccessDenied", f"{action}: expected AccessDenied, got {exc.response['Error']!r}"
    assert http_status(exc) == 403, f"{action}: expected HTTP 403, got {http_status(exc)}"
    msg = error_message(exc)
    prefix = f"User: {principal} is not authorized to perform: {action} on resource: {resource}"
    assert msg.startswith(prefix), f"message {msg!r} does not start with {prefix!r}"
    rest = msg[len(prefix) :]
    # The resource ends where the message ends or where the reason starts.
    assert rest == "" or rest.startswith(" "), f"resource in {msg!r} is not exactly {resource!r}"
    if explicit:
        assert "with an explicit deny in an identity-based policy" in rest, msg

    service, name = action.split(":", 1)
    rec = one_event(server, request_id(exc))
    assert rec["eventSource"] == f"{service}.amazonaws.com", rec
    assert rec["eventName"] == name, rec
    assert rec["errorCode"] == "AccessDenied", rec
    assert rec["errorMessage"] == msg, rec
    assert rec["userIdentity"]["arn"] == principal, rec["userIdentity"]
    assert rec["userIdentity"]["accountId"] == ACCOUNT_ID, rec["userIdentity"]
    return exc


@dataclass
class Ctx:
    """The world of one test: root's client and the attacker's clients."""

    server: Any
    root: Any
    attacker: IamUser
    iam: Any
    sts: Any
    # The managed policy the attach paths try to attach (AdministratorAccess unless the
    # attacker holds that already).
    attach_arn: str = ADMIN_POLICY_ARN

    @classmethod
    def make(cls, server, attacker: IamUser) -> "Ctx":
        return cls(
            server=server,
            root=server.client("iam"),
            attacker=attacker,
            iam=server.client("iam", **attacker.creds),
            sts=server.client("sts", **attacker.creds),
        )

    def cannot_create_user(self, iam_client=None, principal=None, explicit=False):
        """The caller cannot create a user (denied, recorded) and no user appears."""
        iam_client = iam_client or self.iam
        principal = principal or self.attacker.arn
        name = unique("loot")
        expect_denied(
            self.server,
            iam_client.create_user,
            principal=principal,
            action="iam:CreateUser",
            resource=user_arn(name),
            explicit=explicit,
            UserName=name,
        )
        with raises_aws("NoSuchEntity", 404):
            self.root.get_user(UserName=name)

    def can_create_user(self, iam_client=None):
        iam_client = iam_client or self.iam
        name = unique("loot")
        iam_client.create_user(UserName=name)
        assert self.root.get_user(UserName=name)["User"]["UserName"] == name

    def assume(self, role: dict, session: str | None = None) -> tuple[Any, str]:
        """Assume the role as the attacker; an IAM client for the session and its ARN."""
        session = session or unique("s")
        out = self.sts.assume_role(RoleArn=role["Arn"], RoleSessionName=session)
        arn = out["AssumedRoleUser"]["Arn"]
        assert arn == assumed_role_arn(role["RoleName"], session)
        return self.server.client("iam", **creds_from_sts(out["Credentials"])), arn

    def grant(self, action: str, resource: str, via: str = "inline"):
        """Give the attacker exactly `action` on `resource` (inline or customer managed)."""
        doc = dumps(policy_doc(action, resource=resource))
        if via == "inline":
            self.root.put_user_policy(
                UserName=self.attacker.name, PolicyName=unique("grant"), PolicyDocument=doc
            )
        else:
            pol = self.root.create_policy(PolicyName=unique("grant"), PolicyDocument=doc)["Policy"]
            self.root.attach_user_policy(UserName=self.attacker.name, PolicyArn=pol["Arn"])


def weak_policy(attacker: IamUser) -> dict:
    """Something harmless: read its own user."""
    return policy_doc("iam:GetUser", resource=attacker.arn)


def attached_arns(listing: dict) -> set[str]:
    return {p["PolicyArn"] for p in listing["AttachedPolicies"]}


# ----- the escalation paths ----------------------------------------------------------


@dataclass
class Scenario:
    action: str
    resource: str
    attempt: Callable[[], Any]  # the escalation call, made by the attacker
    unchanged: Callable[[], None]  # the state shows no escalation
    escalated: Callable[[Any], None]  # given attempt()'s answer: escalation happened
    grant_via: str = "inline"


def sc_create_policy_version(ctx: Ctx) -> Scenario:
    pol = ctx.root.create_policy(
        PolicyName=unique("pe-cpv"), PolicyDocument=dumps(weak_policy(ctx.attacker))
    )["Policy"]
    arn = pol["Arn"]
    ctx.root.attach_user_policy(UserName=ctx.attacker.name, PolicyArn=arn)

    def attempt():
        return ctx.iam.create_policy_version(
            PolicyArn=arn, PolicyDocument=dumps(ALLOW_ALL), SetAsDefault=True
        )

    def unchanged():
        versions = ctx.root.list_policy_versions(PolicyArn=arn)["Versions"]
        assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [("v1", True)]
        assert ctx.root.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"

    def escalated(out):
        assert out["PolicyVersion"]["VersionId"] == "v2"
        assert out["PolicyVersion"]["IsDefaultVersion"] is True
        assert ctx.root.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
        ver = ctx.root.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]
        assert ver["IsDefaultVersion"] is True
        assert ver["Document"] == ALLOW_ALL
        ctx.can_create_user()

    return Scenario("iam:CreatePolicyVersion", arn, attempt, unchanged, escalated)


def sc_set_default_policy_version(ctx: Ctx) -> Scenario:
    pol = ctx.root.create_policy(PolicyName=unique("pe-sdpv"), PolicyDocument=dumps(ALLOW_ALL))[
        "Policy"
    ]
    arn = pol["Arn"]
    ctx.root.create_policy_version(
        PolicyArn=arn, PolicyDocument=dumps(weak_policy(ctx.attacker)), SetAsDefault=True
    )
    ctx.root.attach_user_policy(UserName=ctx.attacker.name, PolicyArn=arn)

    def attempt():
        return ctx.iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")

    def unchanged():
        assert ctx.root.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"

    def escalated(_out):
        assert ctx.root.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"
        ver = ctx.root.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
        assert ver["IsDefaultVersion"] is True
        assert ver["Document"] == ALLOW_ALL
        ctx.can_create_user()

    return Scenario("iam:SetDefaultPolicyVersion", arn, attempt, unchanged, escalated, "managed")


def sc_attach_user_policy(ctx: Ctx) -> Scenario:
    name = ctx.attacker.name
    target = ctx.attach_arn
    assert target not in attached_arns(ctx.root.list_attached_user_policies(UserName=name))

    def attempt():
        return ctx.iam.attach_user_policy(UserName=name, PolicyArn=target)

    def unchanged():
        assert target not in attached_arns(ctx.root.list_attached_user_policies(UserName=name))

    def escalated(_out):
        assert target in attached_arns(ctx.root.list_attached_user_policies(UserName=name))
        ctx.can_create_user()

    return Scenario("iam:AttachUserPolicy", ctx.attacker.arn, attempt, unchanged, escalated)


def _own_group(ctx: Ctx) -> dict:
    group = ctx.root.create_group(GroupName=unique("pe-own"))["Group"]
    ctx.root.add_user_to_group(GroupName=group["GroupName"], UserName=ctx.attacker.name)
    return group


def sc_attach_group_policy(ctx: Ctx) -> Scenario:
    group = _own_group(ctx)
    gname = group["GroupName"]

    def attempt():
        return ctx.iam.attach_group_policy(GroupName=gname, PolicyArn=ctx.attach_arn)

    def unchanged():
        assert ctx.root.list_attached_group_policies(GroupName=gname)["AttachedPolicies"] == []

    def escalated(_out):
        assert attached_arns(ctx.root.list_attached_group_policies(GroupName=gname)) == {
            ctx.attach_arn
        }
        ctx.can_create_user()

    return Scenario("iam:AttachGroupPolicy", group["Arn"], attempt, unchanged, escalated)


def _assumable_role(ctx: Ctx) -> dict:
    """A role with no permissions whose trust names the attacker directly."""
    return make_role(ctx.server, trust=trust_policy(ctx.attacker.arn), prefix="pe-assumable")


def sc_attach_role_policy(ctx: Ctx) -> Scenario:
    role = _assumable_role(ctx)
    rname = role["RoleName"]

    def attempt():
        return ctx.iam.attach_role_policy(RoleName=rname, PolicyArn=ctx.attach_arn)

    def unchanged():
        assert ctx.root.list_attached_role_policies(RoleName=rname)["AttachedPolicies"] == []
        session_iam, session_arn = ctx.assume(role)
        ctx.cannot_create_user(session_iam, session_arn)

    def escalated(_out):
        assert attached_arns(ctx.root.list_attached_role_policies(RoleName=rname)) == {
            ctx.attach_arn
        }
        session_iam, _ = ctx.assume(role)
        ctx.can_create_user(session_iam)

    return Scenario("iam:AttachRolePolicy", role["Arn"], attempt, unchanged, escalated)


def sc_put_user_policy(ctx: Ctx) -> Scenario:
    name = ctx.attacker.name
    pname = unique("escalate")

    def attempt():
        return ctx.iam.put_user_policy(UserName=name, PolicyName=pname, PolicyDocument=dumps(ALLOW_ALL))

    def unchanged():
        assert pname not in ctx.root.list_user_policies(UserName=name)["PolicyNames"]

    def escalated(_out):
        assert pname in ctx.root.list_user_policies(UserName=name)["PolicyNames"]
        got = ctx.root.get_user_policy(UserName=name, PolicyName=pname)
        assert got["PolicyDocument"] == ALLOW_ALL
        ctx.can_create_user()

    return Scenario("iam:PutUserPolicy", ctx.attacker.arn, attempt, unchanged, escalated)


def sc_put_group_policy(ctx: Ctx) -> Scenario:
    group = _own_group(ctx)
    gname = group["GroupName"]
    pname = unique("escalate")

    def attempt():
        return ctx.iam.put_group_policy(
            GroupName=gname, PolicyName=pname, PolicyDocument=dumps(ALLOW_ALL)
        )

    def unchanged():
        assert ctx.root.list_group_policies(GroupName=gname)["PolicyNames"] == []

    def escalated(_out):
        assert ctx.root.list_group_policies(GroupName=gname)["PolicyNames"] == [pname]
        got = ctx.root.get_group_policy(GroupName=gname, PolicyName=pname)
        assert got["PolicyDocument"] == ALLOW_ALL
        ctx.can_create_user()

    return Scenario("iam:PutGroupPolicy", group["Arn"], attempt, unchanged, escalated)


def sc_put_role_policy(ctx: Ctx) -> Scenario:
    role = _assumable_role(ctx)
    rname = role["RoleName"]
    pname = unique("escalate")

    def attempt():
        return ctx.iam.put_role_policy(RoleName=rname, PolicyName=pname, PolicyDocument=dumps(ALLOW_ALL))

    def unchanged():
        assert ctx.root.list_role_policies(RoleName=rname)["PolicyNames"] == []
        session_iam, session_arn = ctx.assume(role)
        ctx.cannot_create_user(session_iam, session_arn)

    def escalated(_out):
        assert ctx.root.list_role_policies(RoleName=rname)["PolicyNames"] == [pname]
        got = ctx.root.get_role_policy(RoleName=rname, PolicyName=pname)
        assert got["PolicyDocument"] == ALLOW_ALL
        session_iam, _ = ctx.assume(role)
        ctx.can_create_user(session_iam)

    return Scenario("iam:PutRolePolicy", role["Arn"], attempt, unchanged, escalated)


def sc_add_user_to_group(ctx: Ctx) -> Scenario:
    group = ctx.root.create_group(GroupName=unique("pe-admins"))["Group"]
    gname = group["GroupName"]
    ctx.root.attach_group_policy(GroupName=gname, PolicyArn=ADMIN_POLICY_ARN)
    name = ctx.attacker.name

    def groups_of_attacker():
        return {g["GroupName"] for g in ctx.root.list_groups_for_user(UserName=name)["Groups"]}

    def attempt():
        return ctx.iam.add_user_to_group(GroupName=gname, UserName=name)

    def unchanged():
        assert gname not in groups_of_attacker()
        assert ctx.root.get_group(GroupName=gname)["Users"] == []

    def escalated(_out):
        assert gname in groups_of_attacker()
        assert [u["UserName"] for u in ctx.root.get_group(GroupName=gname)["Users"]] == [name]
        ctx.can_create_user()

    return Scenario("iam:AddUserToGroup", group["Arn"], attempt, unchanged, escalated, "managed")


def sc_create_access_key(ctx: Ctx) -> Scenario:
    victim = make_user(ctx.server, admin=True, prefix="pe-victim")

    def key_ids():
        return {k["AccessKeyId"] for k in ctx.root.list_access_keys(UserName=victim.name)["AccessKeyMetadata"]}

    def attempt():
        return ctx.iam.create_access_key(UserName=victim.name)

    def unchanged():
        assert key_ids() == {victim.access_key_id}

    def escalated(out):
        key = out["AccessKey"]
        assert key["UserName"] == victim.name
        assert key_ids() == {victim.access_key_id, key["AccessKeyId"]}
        as_victim = creds_from_access_key(key)
        who = ctx.server.client("sts", **as_victim).get_caller_identity()
        assert who["Arn"] == victim.arn
        ctx.can_create_user(ctx.server.client("iam", **as_victim))

    return Scenario("iam:CreateAccessKey", victim.arn, attempt, unchanged, escalated, "managed")


def sc_update_assume_role_policy(ctx: Ctx) -> Scenario:
    role = make_role(ctx.server, trust=trust_ec2(), admin=True, prefix="pe-admin-role")
    rname = role["RoleName"]
    new_trust = trust_policy(ctx.attacker.arn)

    def trust_now():
        return ctx.root.get_role(RoleName=rname)["Role"]["AssumeRolePolicyDocument"]

    def attempt():
        return ctx.iam.update_assume_role_policy(RoleName=rname, PolicyDocument=dumps(new_trust))

    def unchanged():
        assert trust_now() == trust_ec2()
        expect_denied(
            ctx.server,
            ctx.sts.assume_role,
            principal=ctx.attacker.arn,
            action="sts:AssumeRole",
            resource=role["Arn"],
            RoleArn=role["Arn"],
            RoleSessionName="denied",
        )

    def escalated(_out):
        assert trust_now() == new_trust
        session_iam, _ = ctx.assume(role)
        ctx.can_create_user(session_iam)

    return Scenario("iam:UpdateAssumeRolePolicy", role["Arn"], attempt, unchanged, escalated)


PATHS = {
    "CreatePolicyVersion-SetAsDefault": sc_create_policy_version,
    "SetDefaultPolicyVersion-older": sc_set_default_policy_version,
    "AttachUserPolicy-self": sc_attach_user_policy,
    "AttachGroupPolicy-own-group": sc_attach_group_policy,
    "AttachRolePolicy-assumable-role": sc_attach_role_policy,
    "PutUserPolicy-self": sc_put_user_policy,
    "PutGroupPolicy-own-group": sc_put_group_policy,
    "PutRolePolicy-assumable-role": sc_put_role_policy,
    "AddUserToGroup-admin-group": sc_add_user_to_group,
    "CreateAccessKey-admin-user": sc_create_access_key,
    "UpdateAssumeRolePolicy-admin-role": sc_update_assume_role_policy,
}


@pytest.mark.parametrize("path", list(PATHS))
def test_escalation_path_refused_then_allowed_with_exactly_that_permission(server, path):
    ctx = Ctx.make(server, make_user(server, prefix="pe-attacker"))
    sc = PATHS[path](ctx)

    # Before: no admin power, and the escalation call is refused.
    ctx.cannot_create_user()
    expect_denied(
        server, sc.attempt, principal=ctx.attacker.arn, action=sc.action, resource=sc.resource
    )
    sc.unchanged()
    ctx.cannot_create_user()

    # Exactly that action on a different resource of the same kind does not help.
    ctx.grant(sc.action, sc.resource + "-other", via=sc.grant_via)
    expect_denied(
        server, sc.attempt, principal=ctx.attacker.arn, action=sc.action, resource=sc.resource
    )
    sc.unchanged()

    # Exactly that action on that resource: the escalation goes through.
    ctx.grant(sc.action, sc.resource, via=sc.grant_via)
    sc.escalated(sc.attempt())


# ----- sts:AssumeRole: trust naming the account vs naming the user ---------------------


def test_assume_role_trusting_the_account_needs_identity_permission(server):
    ctx = Ctx.make(server, make_user(server, prefix="pe-attacker"))
    role = make_role(server, trust=trust_account_root(), admin=True, prefix="pe-acct-role")
    ctx.cannot_create_user()
    expect_denied(
        server,
        ctx.sts.assume_role,
        principal=ctx.attacker.arn,
        action="sts:AssumeRole",
        resource=role["Arn"],
        RoleArn=role["Arn"],
        RoleSessionName="denied",
    )
    # Permission to assume some other role does not extend to this one.
    other = make_role(server, trust=trust_account_root(), prefix="pe-other-role")
    ctx.grant("sts:AssumeRole", other["Arn"])
    expect_denied(
        server,
        ctx.sts.assume_role,
        principal=ctx.attacker.arn,
        action="sts:AssumeRole",
        resource=role["Arn"],
        RoleArn=role["Arn"],
        RoleSessionName="denied",
    )
    ctx.grant("sts:AssumeRole", role["Arn"])
    session_iam, session_arn = ctx.assume(role, "escalated")
    assert session_arn == assumed_role_arn(role["RoleName"], "escalated")
    ctx.can_create_user(session_iam)
    # The attacker itself still cannot: only the role session got the power.
    ctx.cannot_create_user()


def test_assume_role_trusting_the_user_directly_needs_no_identity_permission(server):
    ctx = Ctx.make(server, make_user(server, prefix="pe-attacker"))
    role = make_role(server, trust=trust_policy(ctx.attacker.arn), admin=True, prefix="pe-direct-role")
    ctx.cannot_create_user()
    # No identity policy at all, yet the trust policy naming the user is enough.
    assert server.client("iam").list_user_policies(UserName=ctx.attacker.name)["PolicyNames"] == []
    assert server.client("iam").list_attached_user_policies(UserName=ctx.attacker.name)["AttachedPolicies"] == []
    session_iam, _ = ctx.assume(role)
    ctx.can_create_user(session_iam)

    # Someone the trust policy does not name is refused, even with identity permission.
    bystander = make_user(server, prefix="pe-bystander")
    b_sts = server.client("sts", **bystander.creds)

    def bystander_refused():
        expect_denied(
            server,
            b_sts.assume_role,
            principal=bystander.arn,
            action="sts:AssumeRole",
            resource=role["Arn"],
            RoleArn=role["Arn"],
            RoleSessionName="denied",
        )

    bystander_refused()
    server.client("iam").put_user_policy(
        UserName=bystander.name,
        PolicyName="assume",
        PolicyDocument=dumps(policy_doc("sts:AssumeRole", resource=role["Arn"])),
    )
    bystander_refused()


# ----- permissions boundaries ---------------------------------------------------------


@pytest.mark.parametrize("action", ["iam:DeleteUserPermissionsBoundary", "iam:PutUserPermissionsBoundary"])
def test_escaping_own_permissions_boundary(server, action):
    """AdministratorAccess held in check by a boundary; removing/replacing it escalates."""
    ctx = Ctx.make(server, make_user(server, admin=True, prefix="pe-bounded"))
    me = ctx.attacker
    boundary = ctx.root.create_policy(
        PolicyName=unique("pe-boundary"), PolicyDocument=dumps(weak_policy(me))
    )["Policy"]["Arn"]
    ctx.root.put_user_permissions_boundary(UserName=me.name, PermissionsBoundary=boundary)

    def attempt():
        if action == "iam:DeleteUserPermissionsBoundary":
            return ctx.iam.delete_user_permissions_boundary(UserName=me.name)
        return ctx.iam.put_user_permissions_boundary(UserName=me.name, PermissionsBoundary=ADMIN_POLICY_ARN)

    def boundary_now():
        pb = ctx.root.get_user(UserName=me.name)["User"].get("PermissionsBoundary")
        return pb and pb["PermissionsBoundaryArn"]

    # The boundary caps AdministratorAccess: no CreateUser, no way out.
    ctx.cannot_create_user()
    expect_denied(server, attempt, principal=me.arn, action=action, resource=me.arn)
    assert boundary_now() == boundary
    ctx.cannot_create_user()

    # Grant exactly that action on itself, inside the boundary (AdministratorAccess
    # already allows it on the identity side).
    ctx.root.create_policy_version(
        PolicyArn=boundary,
        PolicyDocument=dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "iam:GetUser", "Resource": me.arn},
                    {"Effect": "Allow", "Action": action, "Resource": me.arn},
                ],
            }
        ),
        SetAsDefault=True,
    )
    ctx.cannot_create_user()
    attempt()
    if action == "iam:DeleteUserPermissionsBoundary":
        assert boundary_now() is None
    else:
        assert boundary_now() == ADMIN_POLICY_ARN
    ctx.can_create_user()


# ----- explicit deny beats every allow ------------------------------------------------


def sc_delete_own_boundary(ctx: Ctx) -> Scenario:
    return _boundary_scenario(ctx, "iam:DeleteUserPermissionsBoundary")


def sc_put_own_boundary(ctx: Ctx) -> Scenario:
    return _boundary_scenario(ctx, "iam:PutUserPermissionsBoundary")


def _boundary_scenario(ctx: Ctx, action: str) -> Scenario:
    me = ctx.attacker
    # A boundary that would allow everything, so enforcing boundaries later does not
    # change what these cases test: only the explicit deny stands in the way.
    boundary = ctx.root.create_policy(PolicyName=unique("pe-boundary"), PolicyDocument=dumps(ALLOW_ALL))[
        "Policy"
    ]["Arn"]
    ctx.root.put_user_permissions_boundary(UserName=me.name, PermissionsBoundary=boundary)

    def attempt():
        if action == "iam:DeleteUserPermissionsBoundary":
            return ctx.iam.delete_user_permissions_boundary(UserName=me.name)
        return ctx.iam.put_user_permissions_boundary(UserName=me.name, PermissionsBoundary=ADMIN_POLICY_ARN)

    def unchanged():
        pb = ctx.root.get_user(UserName=me.name)["User"]["PermissionsBoundary"]
        assert pb["PermissionsBoundaryArn"] == boundary

    return Scenario(action, me.arn, attempt, unchanged, lambda _out: None)


DENY_PATHS = {
    **PATHS,
    "DeleteUserPermissionsBoundary-self": sc_delete_own_boundary,
    "PutUserPermissionsBoundary-self": sc_put_own_boundary,
}


@pytest.mark.parametrize("path", list(DENY_PATHS))
def test_explicit_deny_on_iam_beats_administrator_access(server, path):
    attacker = make_user(server, admin=True, prefix="pe-denied-admin")
    server.client("iam").put_user_policy(
        UserName=attacker.name,
        PolicyName="deny-iam",
        PolicyDocument=dumps(policy_doc("iam:*", effect="Deny")),
    )
    ctx = Ctx.make(server, attacker)
    # It holds AdministratorAccess already: attaching it again would prove nothing.
    ctx.attach_arn = ctx.root.create_policy(
        PolicyName=unique("pe-allow-all"), PolicyDocument=dumps(ALLOW_ALL)
    )["Policy"]["Arn"]
    sc = DENY_PATHS[path](ctx)

    ctx.cannot_create_user(explicit=True)
    expect_denied(
        server,
        sc.attempt,
        principal=attacker.arn,
        action=sc.action,
        resource=sc.resource,
        explicit=True,
    )
    sc.unchanged()
    # An allow of exactly that action on exactly that resource changes nothing either.
    ctx.grant(sc.action, sc.resource)
    expect_denied(
        server,
        sc.attempt,
        principal=attacker.arn,
        action=sc.action,
        resource=sc.resource,
        explicit=True,
    )
    sc.unchanged()
    ctx.cannot_create_user(explicit=True)


def test_explicit_deny_on_assume_role_beats_trust_naming_the_user(server):
    """AWS: an explicit deny in an identity policy wins even when the trust policy names
    the caller directly (the same-account rule only spares the identity-side *allow*)."""
    attacker = make_user(server, admin=True, prefix="pe-denied-assume")
    server.client("iam").put_user_policy(
        UserName=attacker.name,
        PolicyName="deny-assume",
        PolicyDocument=dumps(policy_doc("sts:AssumeRole", effect="Deny")),
    )
    role = make_role(server, trust=trust_policy(attacker.arn), admin=True, prefix="pe-direct-role")
    sts = server.client("sts", **attacker.creds)
    expect_denied(
        server,
        sts.assume_role,
        principal=attacker.arn,
        action="sts:AssumeRole",
        resource=role["Arn"],
        RoleArn=role["Arn"],
        RoleSessionName="denied",
    )
