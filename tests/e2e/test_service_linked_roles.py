"""Service-linked roles: created from the catalogue, protected, only the linked
service trusted, deleted through a deletion task; the seed's scoped policy."""

import json
import re

from e2e_util import ACCOUNT_ID, ADMIN_POLICY_ARN, make_user, raises_aws, unique, wait_for_deletion_task

UNMODIFIABLE = "Cannot perform the operation on the protected role '{}' - this role is only modifiable by AWS"


def _fresh(server):
    """Each test gets its own account state by deleting the role if present."""
    return server.client("iam")


def _ensure_absent(iam, name):
    try:
        iam.get_role(RoleName=name)
    except iam.exceptions.NoSuchEntityException:
        return
    task = iam.delete_service_linked_role(RoleName=name)["DeletionTaskId"]
    assert wait_for_deletion_task(iam, task)["Status"] == "SUCCEEDED"


def test_lex_role_as_aws_creates_it(server):
    iam = _fresh(server)
    _ensure_absent(iam, "AWSServiceRoleForLexBots")
    role = iam.create_service_linked_role(AWSServiceName="lex.amazonaws.com")["Role"]
    assert role["RoleName"] == "AWSServiceRoleForLexBots"
    assert role["Path"] == "/aws-service-role/lex.amazonaws.com/"
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/lex.amazonaws.com/AWSServiceRoleForLexBots"
    assert role["AssumeRolePolicyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lex.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    assert "Description" not in role
    got = iam.get_role(RoleName="AWSServiceRoleForLexBots")["Role"]
    assert got["MaxSessionDuration"] == 3600
    assert got["RoleLastUsed"] == {}
    attached = iam.list_attached_role_policies(RoleName="AWSServiceRoleForLexBots")["AttachedPolicies"]
    assert attached == [
        {"PolicyName": "AmazonLexBotPolicy", "PolicyArn": "arn:aws:iam::aws:policy/aws-service-role/AmazonLexBotPolicy"}
    ]
    assert iam.list_role_policies(RoleName="AWSServiceRoleForLexBots")["PolicyNames"] == []
    doc = iam.get_policy_version(
        PolicyArn="arn:aws:iam::aws:policy/aws-service-role/AmazonLexBotPolicy",
        VersionId=iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/aws-service-role/AmazonLexBotPolicy")["Policy"][
            "DefaultVersionId"
        ],
    )["PolicyVersion"]["Document"]
    assert "polly:SynthesizeSpeech" in json.dumps(doc)
    with raises_aws("InvalidInput", 400) as ei:
        iam.create_service_linked_role(AWSServiceName="lex.amazonaws.com")
    assert ei.value.response["Error"]["Message"] == (
        "Service role name AWSServiceRoleForLexBots has been taken in this account, please try a different suffix."
    )


def test_suffix_rules_follow_todays_aws(server):
    iam = _fresh(server)
    for service in ("lex.amazonaws.com", "elasticbeanstalk.amazonaws.com"):
        with raises_aws("InvalidInput", 400) as ei:
            iam.create_service_linked_role(AWSServiceName=service, CustomSuffix="myRole")
        assert ei.value.response["Error"]["Message"] == f"Custom suffix is not allowed for {service}"
    suffix = unique("s")
    role = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix=suffix)["Role"]
    assert role["RoleName"] == f"AWSServiceRoleForAutoScaling_{suffix}"
    assert role["Path"] == "/aws-service-role/autoscaling.amazonaws.com/"


def test_unknown_service_is_refused(server):
    with raises_aws("InvalidInput", 400):
        _fresh(server).create_service_linked_role(AWSServiceName="logs.amazonaws.com")


def test_nobody_may_weaken_it(server):
    iam = _fresh(server)
    _ensure_absent(iam, "AWSServiceRoleForRedshift")
    iam.create_service_linked_role(AWSServiceName="redshift.amazonaws.com")
    name = "AWSServiceRoleForRedshift"
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT_ID}, "Action": "sts:AssumeRole"}]})
    allow_all = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    attempts = [
        lambda: iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust),
        lambda: iam.delete_role(RoleName=name),
        lambda: iam.put_role_policy(RoleName=name, PolicyName="x", PolicyDocument=allow_all),
        lambda: iam.attach_role_policy(RoleName=name, PolicyArn=ADMIN_POLICY_ARN),
        lambda: iam.detach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/aws-service-role/AmazonRedshiftServiceLinkedRolePolicy"),
        lambda: iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=ADMIN_POLICY_ARN),
        lambda: iam.update_role(RoleName=name, MaxSessionDuration=7200),
    ]
    for attempt in attempts:
        with raises_aws("UnmodifiableEntity", 400) as ei:
            attempt()
        assert ei.value.response["Error"]["Message"] == UNMODIFIABLE.format(name)
    # What AWS allows: the description.
    iam.update_role_description(RoleName=name, Description="Redshift acts for me")
    assert iam.get_role(RoleName=name)["Role"]["Description"] == "Redshift acts for me"
    # Only the linked service may assume it: not even an administrator.
    admin = make_user(server, admin=True)
    sts = server.client("sts", **admin.creds)
    with raises_aws("AccessDenied", 403):
        sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/redshift.amazonaws.com/{name}", RoleSessionName="admin-try")


def test_deletion_task(server):
    iam = _fresh(server)
    _ensure_absent(iam, "AWSServiceRoleForAmazonGuardDuty")
    iam.create_service_linked_role(AWSServiceName="guardduty.amazonaws.com")
    task = iam.delete_service_linked_role(RoleName="AWSServiceRoleForAmazonGuardDuty")["DeletionTaskId"]
    assert re.fullmatch(
        r"task/aws-service-role/guardduty\.amazonaws\.com/AWSServiceRoleForAmazonGuardDuty/[0-9a-f-]{36}", task
    ), task
    answer = wait_for_deletion_task(iam, task)
    assert answer["Status"] == "SUCCEEDED"
    assert "Reason" not in answer
    assert set(answer["_seen"]) <= {"NOT_STARTED", "IN_PROGRESS", "SUCCEEDED"}
    with raises_aws("NoSuchEntity", 404):
        iam.get_role(RoleName="AWSServiceRoleForAmazonGuardDuty")
    # An ordinary role is not deleted this way.
    plain = unique("plain")
    iam.create_role(RoleName=plain, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    with raises_aws("InvalidInput", 400):
        iam.delete_service_linked_role(RoleName=plain)


SEED_STATEMENT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": "*",
            "Condition": {"StringLike": {"iam:AWSServiceName": "lex.amazonaws.com"}},
        }
    ],
}


def test_seed_policy_scopes_creation_to_lex(server):
    iam = _fresh(server)
    _ensure_absent(iam, "AWSServiceRoleForLexBots")
    _ensure_absent(iam, "AWSServiceRoleForAppMesh")
    user = make_user(server, inline_policy=SEED_STATEMENT)
    scoped = server.client("iam", **user.creds)
    with raises_aws("AccessDenied", 403) as ei:
        scoped.create_service_linked_role(AWSServiceName="appmesh.amazonaws.com")
    assert ei.value.response["Error"]["Message"].startswith(
        f"User: {user.arn} is not authorized to perform: iam:CreateServiceLinkedRole on resource: "
        f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/appmesh.amazonaws.com/AWSServiceRoleForAppMesh"
    )
    role = scoped.create_service_linked_role(AWSServiceName="lex.amazonaws.com")["Role"]
    assert role["RoleName"] == "AWSServiceRoleForLexBots"
    # The trail shows who created it.
    rec = [e for e in server.events() if e["eventName"] == "CreateServiceLinkedRole" and e.get("errorCode") is None][-1]
    assert rec["userIdentity"]["arn"] == user.arn
    assert rec["requestParameters"] == {"aWSServiceName": "lex.amazonaws.com"}
    assert rec["responseElements"]["role"]["roleName"] == "AWSServiceRoleForLexBots"


def test_redshift_seed_flow_role_appears_acts_and_blocks_deletion(server):
    """The seed's walk-through: enable a service, see its role appear, see what it
    did on your behalf in the trail, try to delete the role and see why not."""
    iam = _fresh(server)
    _ensure_absent(iam, "AWSServiceRoleForRedshift")
    cluster = unique("seed").lower()
    seq = server.max_seq()
    created = server.aws(
        "redshift", "create-cluster", "--cluster-identifier", cluster, "--node-type", "ra3.xlplus",
        "--master-username", "admin", "--master-user-password", "Sup3rSecret!", "--number-of-nodes", "1",
        "--cluster-type", "single-node",
    )["Cluster"]
    assert created["ClusterIdentifier"] == cluster
    # The role appeared, used once, in the caller's region.
    role = iam.get_role(RoleName="AWSServiceRoleForRedshift")["Role"]
    assert role["Path"] == "/aws-service-role/redshift.amazonaws.com/"
    assert role["RoleLastUsed"]["Region"] == "us-east-1"
    # The trail shows the service creating the role on the caller's behalf,
    # assuming it, and the caller's own call, with no password in sight.
    events = server.events_since(seq)
    names = [(e["eventSource"], e["eventName"]) for e in events]
    assert ("iam.amazonaws.com", "CreateServiceLinkedRole") in names
    assert ("sts.amazonaws.com", "AssumeRole") in names
    assert ("redshift.amazonaws.com", "CreateCluster") in names
    slr = next(e for e in events if e["eventName"] == "CreateServiceLinkedRole")
    assert slr["userIdentity"]["type"] == "Root"
    assert slr["userIdentity"]["invokedBy"] == "redshift.amazonaws.com"
    assert slr["sourceIPAddress"] == "redshift.amazonaws.com"
    assume = next(e for e in events if e["eventName"] == "AssumeRole")
    assert assume["userIdentity"] == {"type": "AWSService", "invokedBy": "redshift.amazonaws.com"}
    assert assume["requestParameters"]["roleArn"] == role["Arn"]
    assert assume["resources"] == [{"accountId": ACCOUNT_ID, "type": "AWS::IAM::Role", "ARN": role["Arn"]}]
    assert "sharedEventID" in assume
    create = next(e for e in events if e["eventName"] == "CreateCluster")
    assert create["requestParameters"]["masterUserPassword"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert "Sup3rSecret!" not in json.dumps(events)
    # Deleting the role is refused while the cluster uses it, and says why.
    task = server.aws("iam", "delete-service-linked-role", "--role-name", "AWSServiceRoleForRedshift")["DeletionTaskId"]
    answer = wait_for_deletion_task(iam, task)
    assert answer["Status"] == "FAILED"
    assert answer["Reason"]["RoleUsageList"] == [
        {"Region": "us-east-1", "Resources": [f"arn:aws:redshift:us-east-1:{ACCOUNT_ID}:cluster:{cluster}"]}
    ]
    iam.get_role(RoleName="AWSServiceRoleForRedshift")
    # Once the cluster is gone, the role can go.
    server.aws("redshift", "delete-cluster", "--cluster-identifier", cluster, "--skip-final-cluster-snapshot")
    task = iam.delete_service_linked_role(RoleName="AWSServiceRoleForRedshift")["DeletionTaskId"]
    assert wait_for_deletion_task(iam, task)["Status"] == "SUCCEEDED"
    with raises_aws("NoSuchEntity", 404):
        iam.get_role(RoleName="AWSServiceRoleForRedshift")


def test_first_cluster_needs_permission_to_create_the_role(server):
    iam = _fresh(server)
    _ensure_absent(iam, "AWSServiceRoleForRedshift")
    only_redshift = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "redshift:*", "Resource": "*"}]}
    user = make_user(server, inline_policy=only_redshift)
    redshift = server.client("redshift", **user.creds)
    args = dict(ClusterIdentifier=unique("nope").lower(), NodeType="ra3.xlplus", MasterUsername="admin", MasterUserPassword="Sup3rSecret!")
    with raises_aws("AccessDenied", 403) as ei:
        redshift.create_cluster(**args)
    assert "iam:CreateServiceLinkedRole" in ei.value.response["Error"]["Message"]
    with raises_aws("NoSuchEntity", 404):
        iam.get_role(RoleName="AWSServiceRoleForRedshift")
    # With the seed-style permission for Redshift's role, the first cluster works.
    iam.put_user_policy(UserName=user.name, PolicyName="slr", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": "*",
                       "Condition": {"StringLike": {"iam:AWSServiceName": "redshift.amazonaws.com"}}}],
    }))
    redshift.create_cluster(**args)
    assert redshift.describe_clusters(ClusterIdentifier=args["ClusterIdentifier"])["Clusters"][0]["ClusterStatus"] == "available"
    redshift.delete_cluster(ClusterIdentifier=args["ClusterIdentifier"], SkipFinalClusterSnapshot=True)
    with raises_aws("ClusterNotFound", 404):
        redshift.describe_clusters(ClusterIdentifier=args["ClusterIdentifier"])


def test_service_on_behalf_sets_via_aws_service(server):
    """Creation through the service carries aws:ViaAWSService=true; a direct call does not."""
    iam = _fresh(server)
    _ensure_absent(iam, "AWSServiceRoleForRedshift")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "redshift:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": "*",
             "Condition": {"Bool": {"aws:ViaAWSService": "true"}}},
        ],
    }
    user = make_user(server, inline_policy=policy)
    with raises_aws("AccessDenied", 403):
        server.client("iam", **user.creds).create_service_linked_role(AWSServiceName="redshift.amazonaws.com")
    redshift = server.client("redshift", **user.creds)
    cluster = unique("via").lower()
    redshift.create_cluster(ClusterIdentifier=cluster, NodeType="ra3.xlplus", MasterUsername="admin", MasterUserPassword="Sup3rSecret!")
    iam.get_role(RoleName="AWSServiceRoleForRedshift")
    redshift.delete_cluster(ClusterIdentifier=cluster, SkipFinalClusterSnapshot=True)
