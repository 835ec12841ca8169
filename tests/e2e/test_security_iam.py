"""Attacks on IAM's own rules, and what trailguard answers.

Each test is one attack by a tenant with little power (or a cross-account
caller), through boto3: planting a look-alike service-linked role, renaming an
entity to a name or path it may not touch, assuming a role in another account,
and handing Redshift a role without `iam:PassRole`.
"""

from __future__ import annotations

import json

from e2e_util import (
    ACCOUNT_ID,
    creds_from_sts,
    make_user,
    policy_doc,
    raises_aws,
    request_id,
    trust_policy,
    unique,
)

GUARDDUTY = "guardduty.amazonaws.com"
GD_ROLE = "AWSServiceRoleForAmazonGuardDuty"
SLR_PATH = f"/aws-service-role/{GUARDDUTY}/"

ROLE_ADMIN_ACTIONS = [
    "iam:CreateRole",
    "iam:GetRole",
    "iam:DeleteRole",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "sts:AssumeRole",
]


def create_account(srv):
    """`trailguard account create` on the server's data directory, as a person would."""
    import re
    import subprocess

    out = subprocess.run(
        [str(srv.binary), "account", "create", "--data-dir", str(srv.data_dir)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    account = re.search(r"Created account (\d{12})", out).group(1)
    key = re.search(r"aws_access_key_id = (\S+)", out).group(1)
    secret = re.search(r"aws_secret_access_key = (\S+)", out).group(1)
    srv.secrets.add(secret)
    return account, {"aws_access_key_id": key, "aws_secret_access_key": secret}


def trust_user(arn: str) -> str:
    return json.dumps(trust_policy(arn))


# ----- finding 15: look-alike service-linked roles ----------------------------------


def test_create_role_under_the_service_linked_path_is_refused_and_guardduty_makes_its_own(
    fresh_server,
):
    """Attack: a user with iam:CreateRole plants `AWSServiceRoleForAmazonGuardDuty` under
    `/aws-service-role/guardduty.amazonaws.com/`, trusting itself, hoping GuardDuty adopts it.
    trailguard answers AWS's InvalidInput; GuardDuty then creates its real role, which the
    user can neither assume nor delete."""
    srv = fresh_server.start()
    attacker = make_user(srv, inline_policy=policy_doc(ROLE_ADMIN_ACTIONS))
    iam = srv.client("iam", **attacker.creds)
    with raises_aws(
        "InvalidInput",
        400,
        "Path prefix '/aws-service-role/' can only be used for AWS Service linked Roles",
    ):
        iam.create_role(
            RoleName=GD_ROLE,
            Path=SLR_PATH,
            AssumeRolePolicyDocument=trust_user(attacker.arn),
        )
    # Deeper under the prefix is the same reserved path.
    with raises_aws("InvalidInput", 400):
        iam.create_role(
            RoleName=unique("slr"),
            Path="/aws-service-role/",
            AssumeRolePolicyDocument=trust_user(attacker.arn),
        )
    root_iam = srv.client("iam")
    with raises_aws("NoSuchEntity", 404):
        root_iam.get_role(RoleName=GD_ROLE)

    detector = srv.client("guardduty").create_detector(Enable=True)["DetectorId"]
    role = root_iam.get_role(RoleName=GD_ROLE)["Role"]
    assert role["Path"] == SLR_PATH
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": GUARDDUTY}
    got = srv.client("guardduty").get_detector(DetectorId=detector)
    assert got["ServiceRole"] == role["Arn"]
    with raises_aws("AccessDenied", 403):
        srv.client("sts", **attacker.creds).assume_role(
            RoleArn=role["Arn"], RoleSessionName="steal"
        )
    with raises_aws("UnmodifiableEntity", 400):
        iam.delete_role(RoleName=GD_ROLE)


def test_a_same_named_role_planted_under_another_path_is_never_adopted(fresh_server):
    """Attack: the user plants `AWSServiceRoleForAmazonGuardDuty` under `/`, trusting
    itself, before GuardDuty is enabled. trailguard never lets GuardDuty (or
    CreateServiceLinkedRole) adopt it: enabling GuardDuty fails with the name taken and
    no detector exists; the planted role is an ordinary role its owner may delete, after
    which GuardDuty creates and uses its real role."""
    srv = fresh_server.start()
    attacker = make_user(srv, inline_policy=policy_doc(ROLE_ADMIN_ACTIONS))
    iam = srv.client("iam", **attacker.creds)
    planted = iam.create_role(
        RoleName=GD_ROLE, AssumeRolePolicyDocument=trust_user(attacker.arn)
    )["Role"]
    assert planted["Path"] == "/"

    gd = srv.client("guardduty")
    with raises_aws("InvalidInput", 400, f"Service role name {GD_ROLE} has been taken"):
        gd.create_detector(Enable=True)
    assert gd.list_detectors()["DetectorIds"] == []
    root_iam = srv.client("iam")
    with raises_aws("InvalidInput", 400, "has been taken"):
        root_iam.create_service_linked_role(AWSServiceName=GUARDDUTY)
    # It is not protected as a service-linked role, and deleting it as one is refused.
    with raises_aws("InvalidInput", 400, "is not a service-linked role"):
        root_iam.delete_service_linked_role(RoleName=GD_ROLE)
    iam.put_role_policy(RoleName=GD_ROLE, PolicyName="p", PolicyDocument=json.dumps(policy_doc("s3:*")))
    iam.delete_role_policy(RoleName=GD_ROLE, PolicyName="p")
    iam.delete_role(RoleName=GD_ROLE)

    detector = gd.create_detector(Enable=True)["DetectorId"]
    real = root_iam.get_role(RoleName=GD_ROLE)["Role"]
    assert real["RoleId"] != planted["RoleId"]
    assert real["Path"] == SLR_PATH
    assert gd.get_detector(DetectorId=detector)["ServiceRole"] == real["Arn"]


# ----- finding 18: renames need permission on the target --------------------------


def _rename_case(server, kind: str):
    iam = server.client("iam")
    source = unique(f"src{kind.lower()}")
    if kind == "User":
        iam.create_user(UserName=source)
    else:
        iam.create_group(GroupName=source)
    source_arn = f"arn:aws:iam::{ACCOUNT_ID}:{kind.lower()}/{source}"
    return iam, source, source_arn


def test_renaming_a_user_to_a_name_the_caller_may_not_touch_is_refused(server):
    """Attack: a user allowed iam:UpdateUser only on `user/src*` renames such a user to
    `admin-…` (and moves it to `/admins/`). trailguard answers AccessDenied naming the
    target ARN, and the user is unchanged; with the action allowed on the target too,
    the rename succeeds."""
    root, source, source_arn = _rename_case(server, "User")
    attacker = make_user(
        server,
        inline_policy=policy_doc(
            "iam:UpdateUser", resource=f"arn:aws:iam::{ACCOUNT_ID}:user/srcuser-*"
        ),
    )
    iam = server.client("iam", **attacker.creds)
    target = unique("admin")
    target_arn = f"arn:aws:iam::{ACCOUNT_ID}:user/{target}"
    with raises_aws("AccessDenied", 403, f"on resource: {target_arn}"):
        iam.update_user(UserName=source, NewUserName=target)
    moved_arn = f"arn:aws:iam::{ACCOUNT_ID}:user/admins/{source}"
    with raises_aws("AccessDenied", 403, f"on resource: {moved_arn}"):
        iam.update_user(UserName=source, NewPath="/admins/")
    assert root.get_user(UserName=source)["User"]["Arn"] == source_arn

    # A rename within the allowed names is fine.
    allowed_target = unique("srcuser")
    iam.update_user(UserName=source, NewUserName=allowed_target)
    assert root.get_user(UserName=allowed_target)["User"]["Path"] == "/"

    root.put_user_policy(
        UserName=attacker.name,
        PolicyName="inline",
        PolicyDocument=json.dumps(
            policy_doc(
                "iam:UpdateUser",
                resource=[
                    f"arn:aws:iam::{ACCOUNT_ID}:user/srcuser-*",
                    target_arn,
                ],
            )
        ),
    )
    iam.update_user(UserName=allowed_target, NewUserName=target)
    assert root.get_user(UserName=target)["User"]["Arn"] == target_arn


def test_renaming_a_group_to_a_name_the_caller_may_not_touch_is_refused(server):
    """Attack: a user allowed iam:UpdateGroup only on `group/srcgroup-*` renames one to a
    name outside that. trailguard answers AccessDenied naming the target group ARN;
    allowed on both, the rename succeeds."""
    root, source, source_arn = _rename_case(server, "Group")
    attacker = make_user(
        server,
        inline_policy=policy_doc(
            "iam:UpdateGroup", resource=f"arn:aws:iam::{ACCOUNT_ID}:group/srcgroup-*"
        ),
    )
    iam = server.client("iam", **attacker.creds)
    target = unique("admins")
    target_arn = f"arn:aws:iam::{ACCOUNT_ID}:group/ops/{target}"
    with raises_aws("AccessDenied", 403, f"on resource: {target_arn}"):
        iam.update_group(GroupName=source, NewGroupName=target, NewPath="/ops/")
    assert root.get_group(GroupName=source)["Group"]["Arn"] == source_arn
    root.put_user_policy(
        UserName=attacker.name,
        PolicyName="inline",
        PolicyDocument=json.dumps(
            policy_doc(
                "iam:UpdateGroup",
                resource=[f"arn:aws:iam::{ACCOUNT_ID}:group/srcgroup-*", target_arn],
            )
        ),
    )
    iam.update_group(GroupName=source, NewGroupName=target, NewPath="/ops/")
    assert root.get_group(GroupName=target)["Group"]["Arn"] == target_arn


def test_creating_an_entity_under_a_denied_path_is_refused(server):
    """Attack: a user allowed to create users and roles, but explicitly denied under the
    `/admins/` path, creates one there anyway. trailguard authorizes creation on the ARN
    the entity will have (with its path), as AWS does, and answers AccessDenied naming it."""
    denied = [
        f"arn:aws:iam::{ACCOUNT_ID}:user/admins/*",
        f"arn:aws:iam::{ACCOUNT_ID}:role/admins/*",
        f"arn:aws:iam::{ACCOUNT_ID}:instance-profile/admins/*",
    ]
    attacker = make_user(
        server,
        inline_policy={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["iam:CreateUser", "iam:CreateRole", "iam:CreateInstanceProfile"],
                    "Resource": "*",
                },
                {
                    "Effect": "Deny",
                    "Action": ["iam:CreateUser", "iam:CreateRole", "iam:CreateInstanceProfile"],
                    "Resource": denied,
                },
            ],
        },
    )
    iam = server.client("iam", **attacker.creds)
    name = unique("boss")
    with raises_aws("AccessDenied", 403, f"on resource: arn:aws:iam::{ACCOUNT_ID}:user/admins/{name}"):
        iam.create_user(UserName=name, Path="/admins/")
    with raises_aws("AccessDenied", 403, f"on resource: arn:aws:iam::{ACCOUNT_ID}:role/admins/{name}"):
        iam.create_role(
            RoleName=name, Path="/admins/", AssumeRolePolicyDocument=trust_user(attacker.arn)
        )
    with raises_aws(
        "AccessDenied", 403, f"on resource: arn:aws:iam::{ACCOUNT_ID}:instance-profile/admins/{name}"
    ):
        iam.create_instance_profile(InstanceProfileName=name, Path="/admins/")
    with raises_aws("NoSuchEntity", 404):
        server.client("iam").get_user(UserName=name)
    # Elsewhere the same calls are allowed.
    assert iam.create_user(UserName=name, Path="/staff/")["User"]["Path"] == "/staff/"


# ----- cross-account AssumeRole -----------------------------------------------------


def test_cross_account_assume_role_needs_both_the_trust_policy_and_the_callers_policy(server):
    """Attack surface: a user of account A assumes a role of account B. trailguard grants
    it only when B's trust policy names A (or the user) and A's policy allows
    sts:AssumeRole on the role; the session belongs to B, and the AssumeRole record goes to
    both accounts with one sharedEventID. Either side missing answers AccessDenied."""
    other, other_root = create_account(server)
    b_iam = server.client("iam", **other_root)
    trusted = b_iam.create_role(
        RoleName=unique("xacct"),
        AssumeRolePolicyDocument=json.dumps(trust_policy(f"arn:aws:iam::{ACCOUNT_ID}:root")),
    )["Role"]
    untrusting = b_iam.create_role(
        RoleName=unique("xacct"),
        AssumeRolePolicyDocument=json.dumps(trust_policy(f"arn:aws:iam::{other}:root")),
    )["Role"]
    assert trusted["Arn"].startswith(f"arn:aws:iam::{other}:role/")

    allowed = make_user(
        server, inline_policy=policy_doc("sts:AssumeRole", resource=[trusted["Arn"], untrusting["Arn"]])
    )
    sts = server.client("sts", **allowed.creds)
    resp = sts.assume_role(RoleArn=trusted["Arn"], RoleSessionName="xacct")
    assert resp["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{other}:assumed-role/{trusted['RoleName']}/xacct"
    )
    session = server.client("sts", **creds_from_sts(resp["Credentials"]))
    me = session.get_caller_identity()
    assert me["Account"] == other
    assert me["Arn"] == resp["AssumedRoleUser"]["Arn"]
    # The session acts in B: it sees B's roles, not A's.
    b_role = b_iam.get_role(RoleName=trusted["RoleName"])["Role"]
    assert b_role["RoleLastUsed"].get("LastUsedDate")

    records = server.events_for_request(request_id(resp))
    assert sorted(r["recipientAccountId"] for r in records) == sorted([ACCOUNT_ID, other])
    assert len({r["eventID"] for r in records}) == 2
    shared = {r.get("sharedEventID") for r in records}
    assert len(shared) == 1 and None not in shared
    for r in records:
        assert r["eventName"] == "AssumeRole" and "errorCode" not in r
        assert r["userIdentity"]["arn"] == allowed.arn
        assert r["userIdentity"]["accountId"] == ACCOUNT_ID
        assert [(x["ARN"], x["accountId"]) for x in r["resources"]] == [(trusted["Arn"], other)]

    # The trust policy does not name A: refused even though A's policy allows.
    with raises_aws("AccessDenied", 403, f"on resource: {untrusting['Arn']}"):
        sts.assume_role(RoleArn=untrusting["Arn"], RoleSessionName="xacct")
    # A's policy does not allow: refused even though the trust policy names A.
    denied = make_user(server, inline_policy=policy_doc("iam:GetUser"))
    with raises_aws("AccessDenied", 403, f"on resource: {trusted['Arn']}"):
        server.client("sts", **denied.creds).assume_role(
            RoleArn=trusted["Arn"], RoleSessionName="xacct"
        )
    # Conditions on the role's tags see the tags the role has in its own account.
    tagged = b_iam.create_role(
        RoleName=unique("xacct"),
        AssumeRolePolicyDocument=json.dumps(trust_policy(f"arn:aws:iam::{ACCOUNT_ID}:root")),
        Tags=[{"Key": "team", "Value": "blue"}],
    )["Role"]
    by_tag = make_user(
        server,
        inline_policy={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:ResourceTag/team": "blue"}},
                }
            ],
        },
    )
    tag_sts = server.client("sts", **by_tag.creds)
    assert tag_sts.assume_role(RoleArn=tagged["Arn"], RoleSessionName="tag")["AssumedRoleUser"]
    with raises_aws("AccessDenied", 403):
        tag_sts.assume_role(RoleArn=trusted["Arn"], RoleSessionName="tag")
    # A role ARN naming an account this server does not hold is simply denied.
    with raises_aws("AccessDenied", 403):
        sts.assume_role(RoleArn="arn:aws:iam::999999999999:role/nope", RoleSessionName="xacct")


# ----- Redshift IamRoles and iam:PassRole -------------------------------------------


def _redshift_trust() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "redshift.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def _pass_role(arn: str, service: str) -> dict:
    return {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": arn,
        "Condition": {"StringEquals": {"iam:PassedToService": service}},
    }


def test_redshift_iam_roles_need_pass_role_and_are_kept(server):
    """Attack: a user with only redshift:* hands a powerful role to a cluster it creates.
    trailguard answers AccessDenied for iam:PassRole on the role (also when PassRole is
    granted only for another service), a missing role answers Redshift's
    InvalidParameterValue, and with PassRole for Redshift the roles are kept on the
    cluster and listed by DescribeClusters."""
    root = server.client("iam")
    role = root.create_role(
        RoleName=unique("rsrole"), AssumeRolePolicyDocument=_redshift_trust()
    )["Role"]
    base = [
        {"Effect": "Allow", "Action": ["redshift:*", "iam:CreateServiceLinkedRole"], "Resource": "*"}
    ]
    user = make_user(server, inline_policy={"Version": "2012-10-17", "Statement": base})
    rs = server.client("redshift", **user.creds)

    def create(cluster, roles):
        return rs.create_cluster(
            ClusterIdentifier=cluster,
            NodeType="ra3.xlplus",
            MasterUsername="admin",
            MasterUserPassword="Passw0rd-long",
            ClusterType="single-node",
            IamRoles=roles,
        )

    cluster = unique("rs").lower()
    with raises_aws("AccessDenied", 403, f"iam:PassRole on resource: {role['Arn']}"):
        create(cluster, [role["Arn"]])
    with raises_aws("ClusterNotFound"):
        rs.describe_clusters(ClusterIdentifier=cluster)

    def grant(statements):
        root.put_user_policy(
            UserName=user.name,
            PolicyName="inline",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": base + statements}),
        )

    grant([_pass_role(role["Arn"], "ec2.amazonaws.com")])
    with raises_aws("AccessDenied", 403, "iam:PassRole"):
        create(cluster, [role["Arn"]])

    missing = f"arn:aws:iam::{ACCOUNT_ID}:role/{unique('gone')}"
    grant([_pass_role("*", "redshift.amazonaws.com")])
    with raises_aws("InvalidParameterValue", 400, f"The IAM role {missing} is not valid"):
        create(cluster, [role["Arn"], missing])

    out = create(cluster, [role["Arn"]])["Cluster"]
    assert out["IamRoles"] == [{"IamRoleArn": role["Arn"], "ApplyStatus": "in-sync"}]
    (described,) = rs.describe_clusters(ClusterIdentifier=cluster)["Clusters"]
    assert described["IamRoles"] == [{"IamRoleArn": role["Arn"], "ApplyStatus": "in-sync"}]
    rs.delete_cluster(ClusterIdentifier=cluster, SkipFinalClusterSnapshot=True)
