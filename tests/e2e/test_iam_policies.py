"""Managed policies (customer and AWS), versions, attachments, inline policies."""

import json

from e2e_util import (
    ACCOUNT_ID,
    ADMIN_POLICY_ARN,
    POLICY_ID_RE,
    policy_doc,
    raises_aws,
    trust_account_root,
    unique,
)


def _create_policy(iam, doc=None, **kwargs):
    name = unique("pol")
    return iam.create_policy(
        PolicyName=name, PolicyDocument=json.dumps(doc or policy_doc("s3:GetObject")), **kwargs
    )["Policy"]


# ----- customer managed policies -----------------------------------------------------


def test_create_get_policy(iam):
    name = unique("readonly")
    doc = policy_doc(["s3:GetObject", "s3:ListBucket"])
    pol = iam.create_policy(
        PolicyName=name, PolicyDocument=json.dumps(doc), Description="read things"
    )["Policy"]
    assert pol["PolicyName"] == name
    assert pol["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:policy/{name}"
    assert POLICY_ID_RE.match(pol["PolicyId"]), pol["PolicyId"]
    assert pol["DefaultVersionId"] == "v1"
    assert pol["AttachmentCount"] == 0
    assert pol["IsAttachable"] is True
    assert pol["Path"] == "/"

    got = iam.get_policy(PolicyArn=pol["Arn"])["Policy"]
    assert got["PolicyId"] == pol["PolicyId"]
    assert got["DefaultVersionId"] == "v1"
    assert got["Description"] == "read things"

    ver = iam.get_policy_version(PolicyArn=pol["Arn"], VersionId="v1")["PolicyVersion"]
    assert ver["VersionId"] == "v1"
    assert ver["IsDefaultVersion"] is True
    assert ver["Document"] == doc


def test_policy_with_path(iam):
    name = unique("pathpol")
    pol = iam.create_policy(
        PolicyName=name, Path="/team/", PolicyDocument=json.dumps(policy_doc("s3:*"))
    )["Policy"]
    assert pol["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:policy/team/{name}"
    assert iam.get_policy(PolicyArn=pol["Arn"])["Policy"]["PolicyName"] == name


def test_duplicate_policy_is_entity_already_exists(iam):
    name = unique("duppol")
    doc = json.dumps(policy_doc("s3:*"))
    iam.create_policy(PolicyName=name, PolicyDocument=doc)
    with raises_aws("EntityAlreadyExists", 409):
        iam.create_policy(PolicyName=name, PolicyDocument=doc)


def test_malformed_policy_document(iam):
    with raises_aws("MalformedPolicyDocument", 400):
        iam.create_policy(PolicyName=unique("bad"), PolicyDocument="not json")
    # Valid JSON but not a policy (no Statement).
    with raises_aws("MalformedPolicyDocument", 400):
        iam.create_policy(PolicyName=unique("bad"), PolicyDocument=json.dumps({"Version": "2012-10-17"}))
    # Bad Effect value.
    with raises_aws("MalformedPolicyDocument", 400):
        iam.create_policy(
            PolicyName=unique("bad"),
            PolicyDocument=json.dumps(policy_doc("s3:*", effect="Perhaps")),
        )


def test_get_missing_policy(iam):
    with raises_aws("NoSuchEntity", 404):
        iam.get_policy(PolicyArn=f"arn:aws:iam::{ACCOUNT_ID}:policy/{unique('nopol')}")


def test_policy_versions_lifecycle(iam):
    doc1 = policy_doc("s3:GetObject")
    pol = _create_policy(iam, doc1)
    arn = pol["Arn"]

    doc2 = policy_doc("s3:PutObject")
    v2 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc2), SetAsDefault=True)[
        "PolicyVersion"
    ]
    assert v2["VersionId"] == "v2"
    assert v2["IsDefaultVersion"] is True
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]["Document"] == doc2
    v1 = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert v1["IsDefaultVersion"] is False
    assert v1["Document"] == doc1

    # Non-default versions up to the limit of five.
    for i in (3, 4, 5):
        v = iam.create_policy_version(
            PolicyArn=arn, PolicyDocument=json.dumps(policy_doc(f"s3:Action{i}"))
        )["PolicyVersion"]
        assert v["VersionId"] == f"v{i}"
        assert v["IsDefaultVersion"] is False
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert sorted(v["VersionId"] for v in versions) == ["v1", "v2", "v3", "v4", "v5"]
    assert [v["VersionId"] for v in versions if v["IsDefaultVersion"]] == ["v2"]

    with raises_aws("LimitExceeded", 409):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(policy_doc("s3:X")))

    with raises_aws("DeleteConflict", 409):
        iam.delete_policy_version(PolicyArn=arn, VersionId="v2")

    iam.set_default_policy_version(PolicyArn=arn, VersionId="v3")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]["IsDefaultVersion"] is False

    iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    with raises_aws("NoSuchEntity", 404):
        iam.get_policy_version(PolicyArn=arn, VersionId="v2")
    with raises_aws("NoSuchEntity", 404):
        iam.set_default_policy_version(PolicyArn=arn, VersionId="v2")

    # Version ids are not reused after a deletion.
    v6 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(policy_doc("s3:Y")))[
        "PolicyVersion"
    ]
    assert v6["VersionId"] == "v6"
    assert sorted(v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]) == [
        "v1", "v3", "v4", "v5", "v6"
    ]

    # Deleting the policy: first every non-default version, then the policy itself.
    for vid in ("v1", "v4", "v5", "v6"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=vid)
    iam.delete_policy(PolicyArn=arn)
    with raises_aws("NoSuchEntity", 404):
        iam.get_policy(PolicyArn=arn)


def test_list_policies_local_scope(iam):
    path = f"/{unique('lp')}/"
    names = {unique("lp") for _ in range(3)}
    for n in names:
        iam.create_policy(PolicyName=n, Path=path, PolicyDocument=json.dumps(policy_doc("s3:*")))
    listed = iam.list_policies(Scope="Local", PathPrefix=path)["Policies"]
    assert {p["PolicyName"] for p in listed} == names
    local = [p for page in iam.get_paginator("list_policies").paginate(Scope="Local") for p in page["Policies"]]
    assert names <= {p["PolicyName"] for p in local}
    assert all(p["Arn"].startswith(f"arn:aws:iam::{ACCOUNT_ID}:policy/") for p in local)


def test_delete_attached_policy_is_delete_conflict(iam):
    pol = _create_policy(iam)
    user = unique("pu")
    iam.create_user(UserName=user)
    iam.attach_user_policy(UserName=user, PolicyArn=pol["Arn"])
    with raises_aws("DeleteConflict", 409):
        iam.delete_policy(PolicyArn=pol["Arn"])
    iam.detach_user_policy(UserName=user, PolicyArn=pol["Arn"])
    iam.delete_policy(PolicyArn=pol["Arn"])


# ----- attachments ----------------------------------------------------------------


def test_attach_detach_user_group_role(iam):
    pol = _create_policy(iam)
    arn = pol["Arn"]
    user, group, role = unique("au"), unique("ag"), unique("ar")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust_account_root()))

    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    # Attaching again is a no-op.
    iam.attach_user_policy(UserName=user, PolicyArn=arn)

    expected = [{"PolicyName": pol["PolicyName"], "PolicyArn": arn}]
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == expected
    assert iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"] == expected
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == expected
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 3

    ents = iam.list_entities_for_policy(PolicyArn=arn)
    assert [u["UserName"] for u in ents["PolicyUsers"]] == [user]
    assert [g["GroupName"] for g in ents["PolicyGroups"]] == [group]
    assert [r["RoleName"] for r in ents["PolicyRoles"]] == [role]
    roles_only = iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="Role")
    assert [r["RoleName"] for r in roles_only["PolicyRoles"]] == [role]
    assert roles_only["PolicyUsers"] == [] and roles_only["PolicyGroups"] == []

    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == []
    assert iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"] == []
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0
    ents = iam.list_entities_for_policy(PolicyArn=arn)
    assert ents["PolicyUsers"] == [] and ents["PolicyGroups"] == [] and ents["PolicyRoles"] == []


def test_attach_errors(iam):
    user = unique("ae")
    iam.create_user(UserName=user)
    missing = f"arn:aws:iam::{ACCOUNT_ID}:policy/{unique('nopol')}"
    with raises_aws("NoSuchEntity", 404):
        iam.attach_user_policy(UserName=user, PolicyArn=missing)
    with raises_aws("NoSuchEntity", 404):
        iam.attach_user_policy(UserName=unique("nouser"), PolicyArn=ADMIN_POLICY_ARN)
    with raises_aws("NoSuchEntity", 404):
        iam.detach_user_policy(UserName=user, PolicyArn=ADMIN_POLICY_ARN)  # never attached


# ----- AWS managed policies -----------------------------------------------------------


def test_aws_managed_administrator_access(iam):
    pol = iam.get_policy(PolicyArn=ADMIN_POLICY_ARN)["Policy"]
    assert pol["PolicyName"] == "AdministratorAccess"
    assert pol["Arn"] == ADMIN_POLICY_ARN
    assert pol["IsAttachable"] is True
    ver = iam.get_policy_version(PolicyArn=ADMIN_POLICY_ARN, VersionId=pol["DefaultVersionId"])[
        "PolicyVersion"
    ]
    assert ver["IsDefaultVersion"] is True
    statements = ver["Document"]["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    assert {"Effect": "Allow", "Action": "*", "Resource": "*"} in statements


def test_list_aws_scope_policies(iam):
    first = iam.list_policies(Scope="AWS")["Policies"]
    assert first, "AWS scope must list managed policies"
    assert all(p["Arn"].startswith("arn:aws:iam::aws:policy/") for p in first)
    names = {
        p["PolicyName"]
        for page in iam.get_paginator("list_policies").paginate(Scope="AWS")
        for p in page["Policies"]
    }
    assert "AdministratorAccess" in names
    # Customer-managed policies do not show up in the AWS scope.
    mine = _create_policy(iam)
    assert mine["PolicyName"] not in names


def test_attach_aws_managed_policy_to_user(iam):
    user = unique("admin")
    iam.create_user(UserName=user)
    iam.attach_user_policy(UserName=user, PolicyArn=ADMIN_POLICY_ARN)
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == [
        {"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN_POLICY_ARN}
    ]
    only_users = iam.list_entities_for_policy(PolicyArn=ADMIN_POLICY_ARN, EntityFilter="User")
    names = {u["UserName"] for u in only_users["PolicyUsers"]}
    if only_users.get("IsTruncated"):
        names = {
            u["UserName"]
            for page in iam.get_paginator("list_entities_for_policy").paginate(
                PolicyArn=ADMIN_POLICY_ARN, EntityFilter="User"
            )
            for u in page["PolicyUsers"]
        }
    assert user in names


# ----- inline policies ------------------------------------------------------------


def _inline_round_trip(iam, put, get, list_, delete, key, owner):
    doc_a = policy_doc("s3:GetObject")
    doc_b = policy_doc(["ec2:Describe*"])
    put(**{key: owner}, PolicyName="alpha", PolicyDocument=json.dumps(doc_a))
    put(**{key: owner}, PolicyName="beta", PolicyDocument=json.dumps(doc_b))
    got = get(**{key: owner}, PolicyName="alpha")
    assert got[key] == owner
    assert got["PolicyName"] == "alpha"
    assert got["PolicyDocument"] == doc_a
    assert sorted(list_(**{key: owner})["PolicyNames"]) == ["alpha", "beta"]

    # Put with an existing name replaces the document.
    put(**{key: owner}, PolicyName="alpha", PolicyDocument=json.dumps(doc_b))
    assert get(**{key: owner}, PolicyName="alpha")["PolicyDocument"] == doc_b
    assert sorted(list_(**{key: owner})["PolicyNames"]) == ["alpha", "beta"]

    delete(**{key: owner}, PolicyName="alpha")
    assert list_(**{key: owner})["PolicyNames"] == ["beta"]
    with raises_aws("NoSuchEntity", 404):
        get(**{key: owner}, PolicyName="alpha")
    with raises_aws("NoSuchEntity", 404):
        delete(**{key: owner}, PolicyName="alpha")
    with raises_aws("MalformedPolicyDocument", 400):
        put(**{key: owner}, PolicyName="gamma", PolicyDocument="not json")


def test_user_inline_policies(iam):
    user = unique("iu")
    iam.create_user(UserName=user)
    _inline_round_trip(
        iam, iam.put_user_policy, iam.get_user_policy, iam.list_user_policies,
        iam.delete_user_policy, "UserName", user,
    )
    with raises_aws("NoSuchEntity", 404):
        iam.put_user_policy(
            UserName=unique("nouser"), PolicyName="p", PolicyDocument=json.dumps(policy_doc("s3:*"))
        )


def test_group_inline_policies(iam):
    group = unique("ig")
    iam.create_group(GroupName=group)
    _inline_round_trip(
        iam, iam.put_group_policy, iam.get_group_policy, iam.list_group_policies,
        iam.delete_group_policy, "GroupName", group,
    )


def test_role_inline_policies(iam):
    role = unique("ir")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust_account_root()))
    _inline_round_trip(
        iam, iam.put_role_policy, iam.get_role_policy, iam.list_role_policies,
        iam.delete_role_policy, "RoleName", role,
    )


def test_delete_user_with_inline_policy_is_delete_conflict(iam):
    user = unique("iud")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(policy_doc("s3:*")))
    with raises_aws("DeleteConflict", 409):
        iam.delete_user(UserName=user)
    iam.delete_user_policy(UserName=user, PolicyName="p")
    iam.delete_user(UserName=user)
