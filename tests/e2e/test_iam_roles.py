"""IAM roles: trust policies, MaxSessionDuration, updates, deletion rules."""

import json

from e2e_util import (
    ACCOUNT_ID,
    ADMIN_POLICY_ARN,
    ROLE_ID_RE,
    make_user,
    raises_aws,
    trust_account_root,
    trust_ec2,
    unique,
)


def test_create_get_role_trust_policy_round_trip(iam):
    name = unique("role")
    trust = trust_ec2()
    created = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(trust),
        Description="an ec2 role",
    )["Role"]
    assert created["RoleName"] == name
    assert created["Path"] == "/"
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"
    assert ROLE_ID_RE.match(created["RoleId"]), created["RoleId"]
    # botocore URL-decodes and JSON-parses the policy document; it must come back as a dict.
    assert created["AssumeRolePolicyDocument"] == trust

    got = iam.get_role(RoleName=name)["Role"]
    assert got["RoleId"] == created["RoleId"]
    assert got["AssumeRolePolicyDocument"] == trust
    assert got["Description"] == "an ec2 role"
    assert got["MaxSessionDuration"] == 3600


def test_trust_policy_with_special_characters_round_trips(iam):
    # Characters that must survive URL encoding: + & = % space and non-ASCII.
    trust = trust_account_root()
    trust["Statement"][0]["Sid"] = "Allow"
    trust["Statement"][0]["Condition"] = {
        "StringEquals": {"sts:ExternalId": "a+b&c=d%20e f/ü"}
    }
    name = unique("special")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == trust


def test_role_with_path_and_max_session_duration(iam):
    name = unique("longrole")
    role = iam.create_role(
        RoleName=name,
        Path="/service-role/",
        AssumeRolePolicyDocument=json.dumps(trust_account_root()),
        MaxSessionDuration=7200,
    )["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/service-role/{name}"
    assert iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"] == 7200


def test_max_session_duration_out_of_range(iam):
    with raises_aws("ValidationError", 400):
        iam.create_role(
            RoleName=unique("toolong"),
            AssumeRolePolicyDocument=json.dumps(trust_account_root()),
            MaxSessionDuration=43201,
        )


def test_duplicate_role_is_entity_already_exists(iam):
    name = unique("duprole")
    doc = json.dumps(trust_account_root())
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=doc)
    with raises_aws("EntityAlreadyExists", 409):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=doc)


def test_malformed_trust_policy(iam):
    with raises_aws("MalformedPolicyDocument", 400):
        iam.create_role(RoleName=unique("badtrust"), AssumeRolePolicyDocument="not json")


def test_invalid_role_name(iam):
    with raises_aws("ValidationError", 400):
        iam.create_role(
            RoleName="role with space",
            AssumeRolePolicyDocument=json.dumps(trust_account_root()),
        )


def test_get_missing_role(iam):
    with raises_aws("NoSuchEntity", 404):
        iam.get_role(RoleName=unique("norole"))


def test_update_role(iam):
    name = unique("upd")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust_account_root()))
    iam.update_role(RoleName=name, Description="updated", MaxSessionDuration=14400)
    got = iam.get_role(RoleName=name)["Role"]
    assert got["Description"] == "updated"
    assert got["MaxSessionDuration"] == 14400
    with raises_aws("ValidationError", 400):
        iam.update_role(RoleName=name, MaxSessionDuration=50000)
    assert iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"] == 14400
    with raises_aws("NoSuchEntity", 404):
        iam.update_role(RoleName=unique("norole"), Description="x")


def test_update_role_description(iam):
    name = unique("desc")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust_account_root()))
    out = iam.update_role_description(RoleName=name, Description="new description")["Role"]
    assert out["RoleName"] == name
    assert out["Description"] == "new description"
    assert iam.get_role(RoleName=name)["Role"]["Description"] == "new description"


def test_update_assume_role_policy(iam):
    name = unique("trust")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust_account_root()))
    new_trust = trust_ec2()
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(new_trust))
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == new_trust
    with raises_aws("MalformedPolicyDocument", 400):
        iam.update_assume_role_policy(RoleName=name, PolicyDocument="not json")
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == new_trust


def test_list_roles(iam):
    path = f"/{unique('lr')}/"
    names = {unique("lr") for _ in range(3)}
    for n in names:
        iam.create_role(
            RoleName=n, Path=path, AssumeRolePolicyDocument=json.dumps(trust_account_root())
        )
    listed = iam.list_roles(PathPrefix=path)["Roles"]
    assert {r["RoleName"] for r in listed} == names
    for r in listed:
        assert r["AssumeRolePolicyDocument"] == trust_account_root()
    everything = {
        r["RoleName"] for p in iam.get_paginator("list_roles").paginate() for r in p["Roles"]
    }
    assert names <= everything


def test_delete_role(iam):
    name = unique("delrole")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust_account_root()))
    iam.delete_role(RoleName=name)
    with raises_aws("NoSuchEntity", 404):
        iam.get_role(RoleName=name)
    with raises_aws("NoSuchEntity", 404):
        iam.delete_role(RoleName=name)


def test_delete_role_with_attached_policy_is_delete_conflict(iam):
    name = unique("attrole")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust_account_root()))
    iam.attach_role_policy(RoleName=name, PolicyArn=ADMIN_POLICY_ARN)
    with raises_aws("DeleteConflict", 409):
        iam.delete_role(RoleName=name)
    iam.detach_role_policy(RoleName=name, PolicyArn=ADMIN_POLICY_ARN)
    iam.delete_role(RoleName=name)


def test_delete_role_with_inline_policy_is_delete_conflict(iam):
    name = unique("inlrole")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust_account_root()))
    iam.put_role_policy(
        RoleName=name,
        PolicyName="p",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    with raises_aws("DeleteConflict", 409):
        iam.delete_role(RoleName=name)
    iam.delete_role_policy(RoleName=name, PolicyName="p")
    iam.delete_role(RoleName=name)


def test_trust_principals_must_exist_and_are_pinned_to_their_unique_id(server):
    iam = server.client("iam")
    ghost = f"arn:aws:iam::{ACCOUNT_ID}:user/{unique('ghost')}"

    def trust(arn):
        return json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "sts:AssumeRole"}]}
        )

    try:
        iam.create_role(RoleName=unique("r"), AssumeRolePolicyDocument=trust(ghost))
        raise AssertionError("a trust policy naming a missing user must be refused")
    except iam.exceptions.MalformedPolicyDocumentException as e:
        assert e.response["Error"]["Message"] == f'Invalid principal in policy: "AWS":"{ghost}"'
    user = make_user(server)
    role = unique("pinned")
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(user.arn))["Role"]["Arn"]
    server.client("sts", **user.creds).assume_role(RoleArn=role_arn, RoleSessionName="before")
    # Delete the user: the trust policy now names its unique id.
    iam.delete_access_key(UserName=user.name, AccessKeyId=user.access_key_id)
    iam.delete_user(UserName=user.name)
    doc = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert doc["Statement"][0]["Principal"]["AWS"] == user.user_id
    # A new user with the same name is not trusted.
    iam.create_user(UserName=user.name)
    key = iam.create_access_key(UserName=user.name)["AccessKey"]
    sts = server.client("sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    try:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="after")
        raise AssertionError("a recreated user must not inherit the old trust")
    except sts.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "AccessDenied"


def test_invalid_trust_json_uses_awss_wording(server):
    iam = server.client("iam")
    try:
        iam.create_role(RoleName=unique("badjson"), AssumeRolePolicyDocument="{not json")
        raise AssertionError("expected MalformedPolicyDocument")
    except iam.exceptions.MalformedPolicyDocumentException as e:
        assert e.response["Error"]["Message"] == "This policy contains invalid Json"


def test_sessions_and_trust_follow_unique_ids_not_names(server):
    iam = server.client("iam")
    user = make_user(server)
    role = unique("recreated")

    def trust(arn):
        return json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "sts:AssumeRole"}]}
        )

    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(user.arn))["Role"]["Arn"]
    creds = server.client("sts", **user.creds).assume_role(RoleArn=arn, RoleSessionName="old")["Credentials"]
    session = server.client(
        "iam",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    # Re-create the role with administrator rights: the old session gains nothing.
    iam.delete_role(RoleName=role)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(user.arn))
    iam.attach_role_policy(RoleName=role, PolicyArn=ADMIN_POLICY_ARN)
    with raises_aws("AccessDenied", 403):
        session.list_users(MaxItems=1)
    # Renaming the trusted user keeps the trust on the user, not on its old name.
    renamed = unique("renamed")
    iam.update_user(UserName=user.name, NewUserName=renamed)
    doc = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert doc["Statement"][0]["Principal"]["AWS"] == f"arn:aws:iam::{ACCOUNT_ID}:user/{renamed}"
    iam.create_user(UserName=user.name)
    key = iam.create_access_key(UserName=user.name)["AccessKey"]
    impostor = server.client("sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    with raises_aws("AccessDenied", 403):
        impostor.assume_role(RoleArn=arn, RoleSessionName="impostor")
    server.client("sts", **user.creds).assume_role(RoleArn=arn, RoleSessionName="renamed-user")
