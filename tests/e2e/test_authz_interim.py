"""Identity-policy authorization for IAM users (the interim policy engine)."""

import json

from e2e_util import (
    ACCOUNT_ID,
    ADMIN_POLICY_ARN,
    allow_all_policy,
    make_user,
    policy_doc,
    raises_aws,
    unique,
)


def test_user_without_policies_is_denied(server):
    user = make_user(server)
    iam = server.client("iam", **user.creds)
    with raises_aws("AccessDenied", 403) as ei:
        iam.list_users()
    msg = ei.value.response["Error"]["Message"]
    assert "is not authorized to perform: iam:ListUsers" in msg
    assert user.arn in msg


def test_get_caller_identity_needs_no_permissions(server):
    user = make_user(server)
    assert server.client("sts", **user.creds).get_caller_identity()["Arn"] == user.arn


def test_administrator_access_grants_everything(server):
    user = make_user(server)
    iam = server.client("iam", **user.creds)
    with raises_aws("AccessDenied", 403):
        iam.list_users()
    server.client("iam").attach_user_policy(UserName=user.name, PolicyArn=ADMIN_POLICY_ARN)
    iam.list_users(MaxItems=1)
    created = unique("by-admin")
    iam.create_user(UserName=created)
    assert iam.get_user(UserName=created)["User"]["UserName"] == created
    # And detaching takes the permission away again.
    server.client("iam").detach_user_policy(UserName=user.name, PolicyArn=ADMIN_POLICY_ARN)
    with raises_aws("AccessDenied", 403):
        iam.list_users()


def test_inline_allow_all(server):
    user = make_user(server, inline_policy=allow_all_policy())
    iam = server.client("iam", **user.creds)
    iam.list_users(MaxItems=1)
    iam.create_group(GroupName=unique("grp-by-inline"))


def test_group_policy_applies_to_members(server):
    user = make_user(server)
    group = unique("admins")
    root = server.client("iam")
    root.create_group(GroupName=group)
    root.attach_group_policy(GroupName=group, PolicyArn=ADMIN_POLICY_ARN)
    iam = server.client("iam", **user.creds)
    with raises_aws("AccessDenied", 403):
        iam.list_users()
    root.add_user_to_group(GroupName=group, UserName=user.name)
    iam.list_users(MaxItems=1)


def test_action_specific_allow(server):
    user = make_user(server, inline_policy=policy_doc(["iam:ListUsers", "iam:GetUser"]))
    iam = server.client("iam", **user.creds)
    iam.list_users(MaxItems=1)
    iam.get_user(UserName=user.name)
    with raises_aws("AccessDenied", 403, message_contains="iam:CreateUser"):
        iam.create_user(UserName=unique("nope"))
    with raises_aws("AccessDenied", 403, message_contains="iam:ListRoles"):
        iam.list_roles()


def test_wildcard_action_and_customer_managed_policy(server):
    root = server.client("iam")
    pol = root.create_policy(
        PolicyName=unique("iam-list"), PolicyDocument=json.dumps(policy_doc("iam:List*"))
    )["Policy"]
    user = make_user(server)
    root.attach_user_policy(UserName=user.name, PolicyArn=pol["Arn"])
    iam = server.client("iam", **user.creds)
    iam.list_users(MaxItems=1)
    iam.list_roles(MaxItems=1)
    with raises_aws("AccessDenied", 403):
        iam.get_user(UserName=user.name)


def test_explicit_deny_overrides_allow(server):
    user = make_user(server, admin=True)
    server.client("iam").put_user_policy(
        UserName=user.name,
        PolicyName="deny-list",
        PolicyDocument=json.dumps(policy_doc("iam:ListUsers", effect="Deny")),
    )
    iam = server.client("iam", **user.creds)
    with raises_aws("AccessDenied", 403, message_contains="iam:ListUsers"):
        iam.list_users()
    iam.list_roles(MaxItems=1)


def test_resource_scoped_allow(server):
    root = server.client("iam")
    own = unique("scoped-target")
    root.create_user(UserName=own)
    other = unique("scoped-other")
    root.create_user(UserName=other)
    user = make_user(
        server,
        inline_policy=policy_doc("iam:GetUser", resource=f"arn:aws:iam::{ACCOUNT_ID}:user/{own}"),
    )
    iam = server.client("iam", **user.creds)
    assert iam.get_user(UserName=own)["User"]["UserName"] == own
    with raises_aws("AccessDenied", 403):
        iam.get_user(UserName=other)
