"""Tags, instance profiles and GetAccountAuthorizationDetails."""

import json

from e2e_util import (
    ACCOUNT_ID,
    ADMIN_POLICY_ARN,
    INSTANCE_PROFILE_ID_RE,
    policy_doc,
    raises_aws,
    trust_account_root,
    trust_ec2,
    unique,
)


def _tags(tag_list):
    return {t["Key"]: t["Value"] for t in tag_list}


# ----- tags -------------------------------------------------------------------------


def test_user_tags(iam):
    user = unique("tu")
    iam.create_user(UserName=user, Tags=[{"Key": "team", "Value": "blue"}])
    assert _tags(iam.get_user(UserName=user)["User"]["Tags"]) == {"team": "blue"}

    iam.tag_user(
        UserName=user,
        Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "red"}],
    )
    assert _tags(iam.list_user_tags(UserName=user)["Tags"]) == {"team": "red", "env": "prod"}

    iam.untag_user(UserName=user, TagKeys=["team"])
    assert _tags(iam.list_user_tags(UserName=user)["Tags"]) == {"env": "prod"}
    # Untagging a key that is not there is fine.
    iam.untag_user(UserName=user, TagKeys=["absent"])
    assert _tags(iam.list_user_tags(UserName=user)["Tags"]) == {"env": "prod"}

    with raises_aws("NoSuchEntity", 404):
        iam.tag_user(UserName=unique("nouser"), Tags=[{"Key": "a", "Value": "b"}])


def test_role_tags(iam):
    role = unique("tr")
    iam.create_role(
        RoleName=role,
        AssumeRolePolicyDocument=json.dumps(trust_account_root()),
        Tags=[{"Key": "owner", "Value": "ops"}],
    )
    assert _tags(iam.list_role_tags(RoleName=role)["Tags"]) == {"owner": "ops"}
    iam.tag_role(RoleName=role, Tags=[{"Key": "cost-center", "Value": "42"}])
    assert _tags(iam.list_role_tags(RoleName=role)["Tags"]) == {"owner": "ops", "cost-center": "42"}
    assert _tags(iam.get_role(RoleName=role)["Role"]["Tags"]) == {"owner": "ops", "cost-center": "42"}
    iam.untag_role(RoleName=role, TagKeys=["owner", "cost-center"])
    assert iam.list_role_tags(RoleName=role)["Tags"] == []


def test_policy_tags(iam):
    name = unique("tp")
    arn = iam.create_policy(
        PolicyName=name,
        PolicyDocument=json.dumps(policy_doc("s3:*")),
        Tags=[{"Key": "a", "Value": "1"}],
    )["Policy"]["Arn"]
    assert _tags(iam.list_policy_tags(PolicyArn=arn)["Tags"]) == {"a": "1"}
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "b", "Value": "2"}])
    assert _tags(iam.list_policy_tags(PolicyArn=arn)["Tags"]) == {"a": "1", "b": "2"}
    iam.untag_policy(PolicyArn=arn, TagKeys=["a"])
    assert _tags(iam.list_policy_tags(PolicyArn=arn)["Tags"]) == {"b": "2"}


def test_too_many_tags_is_limit_exceeded(iam):
    user = unique("many")
    iam.create_user(UserName=user)
    iam.tag_user(UserName=user, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert len(iam.list_user_tags(UserName=user)["Tags"]) == 50
    with raises_aws("LimitExceeded", 409):
        iam.tag_user(UserName=user, Tags=[{"Key": "one-too-many", "Value": "v"}])
    assert len(iam.list_user_tags(UserName=user)["Tags"]) == 50


# ----- instance profiles ----------------------------------------------------------------


def test_instance_profile_lifecycle(iam):
    profile = unique("ip")
    role = unique("iprole")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust_ec2()))

    created = iam.create_instance_profile(InstanceProfileName=profile)["InstanceProfile"]
    assert created["InstanceProfileName"] == profile
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:instance-profile/{profile}"
    assert INSTANCE_PROFILE_ID_RE.match(created["InstanceProfileId"]), created["InstanceProfileId"]
    assert created["Roles"] == []
    assert created["Path"] == "/"

    with raises_aws("EntityAlreadyExists", 409):
        iam.create_instance_profile(InstanceProfileName=profile)

    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    got = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]
    assert [r["RoleName"] for r in got["Roles"]] == [role]
    assert got["Roles"][0]["AssumeRolePolicyDocument"] == trust_ec2()

    for_role = iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in for_role] == [profile]
    all_profiles = {
        p["InstanceProfileName"]
        for page in iam.get_paginator("list_instance_profiles").paginate()
        for p in page["InstanceProfiles"]
    }
    assert profile in all_profiles

    # An instance profile holds at most one role.
    other = unique("iprole2")
    iam.create_role(RoleName=other, AssumeRolePolicyDocument=json.dumps(trust_ec2()))
    with raises_aws("LimitExceeded", 409):
        iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=other)

    # A role that is in an instance profile cannot be deleted.
    with raises_aws("DeleteConflict", 409):
        iam.delete_role(RoleName=role)
    # Nor can a profile that still has a role.
    with raises_aws("DeleteConflict", 409):
        iam.delete_instance_profile(InstanceProfileName=profile)

    iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=role)
    assert iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"] == []
    assert iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"] == []
    with raises_aws("NoSuchEntity", 404):
        iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=role)

    iam.delete_instance_profile(InstanceProfileName=profile)
    with raises_aws("NoSuchEntity", 404):
        iam.get_instance_profile(InstanceProfileName=profile)
    iam.delete_role(RoleName=role)


def test_instance_profile_missing_role(iam):
    profile = unique("ipm")
    iam.create_instance_profile(InstanceProfileName=profile)
    with raises_aws("NoSuchEntity", 404):
        iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=unique("norole"))
    with raises_aws("NoSuchEntity", 404):
        iam.get_instance_profile(InstanceProfileName=unique("noprofile"))


# ----- GetAccountAuthorizationDetails --------------------------------------------------------


def test_get_account_authorization_details(iam):
    user, group, role, pol_name = unique("gaad-u"), unique("gaad-g"), unique("gaad-r"), unique("gaad-p")
    doc = policy_doc("s3:GetObject")
    pol_arn = iam.create_policy(PolicyName=pol_name, PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.attach_user_policy(UserName=user, PolicyArn=pol_arn)
    iam.put_user_policy(UserName=user, PolicyName="inl", PolicyDocument=json.dumps(doc))
    iam.attach_group_policy(GroupName=group, PolicyArn=ADMIN_POLICY_ARN)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust_account_root()))
    iam.attach_role_policy(RoleName=role, PolicyArn=pol_arn)

    users, groups, roles, policies = {}, {}, {}, {}
    paginator = iam.get_paginator("get_account_authorization_details")
    for page in paginator.paginate(Filter=["User", "Group", "Role", "LocalManagedPolicy"]):
        users.update({u["UserName"]: u for u in page.get("UserDetailList", [])})
        groups.update({g["GroupName"]: g for g in page.get("GroupDetailList", [])})
        roles.update({r["RoleName"]: r for r in page.get("RoleDetailList", [])})
        policies.update({p["Arn"]: p for p in page.get("Policies", [])})

    u = users[user]
    assert u["GroupList"] == [group]
    assert {"PolicyName": pol_name, "PolicyArn": pol_arn} in u["AttachedManagedPolicies"]
    inline = {p["PolicyName"]: p["PolicyDocument"] for p in u["UserPolicyList"]}
    assert inline == {"inl": doc}

    g = groups[group]
    assert {"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN_POLICY_ARN} in g[
        "AttachedManagedPolicies"
    ]

    r = roles[role]
    assert r["AssumeRolePolicyDocument"] == trust_account_root()
    assert {"PolicyName": pol_name, "PolicyArn": pol_arn} in r["AttachedManagedPolicies"]

    p = policies[pol_arn]
    assert p["PolicyName"] == pol_name
    assert p["DefaultVersionId"] == "v1"
    assert p["AttachmentCount"] == 2
    versions = {v["VersionId"]: v for v in p["PolicyVersionList"]}
    assert versions["v1"]["Document"] == doc
    assert versions["v1"]["IsDefaultVersion"] is True
    # The LocalManagedPolicy filter excludes AWS managed policies.
    assert ADMIN_POLICY_ARN not in policies


def test_get_account_authorization_details_filter_user_only(iam):
    user = unique("gaadf")
    iam.create_user(UserName=user)
    names = set()
    for page in iam.get_paginator("get_account_authorization_details").paginate(Filter=["User"]):
        assert not page.get("RoleDetailList")
        assert not page.get("GroupDetailList")
        assert not page.get("Policies")
        names |= {u["UserName"] for u in page.get("UserDetailList", [])}
    assert user in names


def test_get_account_summary_counts_entities(server):
    iam = server.client("iam")
    before = iam.get_account_summary()["SummaryMap"]
    iam.create_user(UserName=unique("summary"))
    iam.create_group(GroupName=unique("summary"))
    after = iam.get_account_summary()["SummaryMap"]
    assert after["Users"] == before["Users"] + 1
    assert after["Groups"] == before["Groups"] + 1
    assert after["AccessKeysPerUserQuota"] == 2
    assert after["PolicySizeQuota"] == 6144
    assert after["AccountAccessKeysPresent"] == 1
    out = server.aws("iam", "get-account-summary")
    assert out["SummaryMap"]["UsersQuota"] == 5000
