"""The policy simulator answers with the same engine that enforces real calls."""

import json

from e2e_util import ACCOUNT_ID, ADMIN_POLICY_ARN, make_user, unique

# The seed post's policy: create Lex's service-linked role and no other.
SEED_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iam:CreateServiceLinkedRole",
                "Resource": "*",
                "Condition": {"StringLike": {"iam:AWSServiceName": "lex.amazonaws.com"}},
            }
        ],
    },
    indent=2,
)


def _ctx(service_name):
    return [{"ContextKeyName": "iam:AWSServiceName", "ContextKeyValues": [service_name], "ContextKeyType": "string"}]


def test_custom_policy_conditions_decide(server):
    iam = server.client("iam")
    lex = iam.simulate_custom_policy(
        PolicyInputList=[SEED_POLICY], ActionNames=["iam:CreateServiceLinkedRole"], ContextEntries=_ctx("lex.amazonaws.com")
    )["EvaluationResults"][0]
    assert lex["EvalDecision"] == "allowed"
    st = lex["MatchedStatements"][0]
    assert st["SourcePolicyId"] == "PolicyInputList.1"
    assert st["StartPosition"] == {"Line": 4, "Column": 5}
    other = iam.simulate_custom_policy(
        PolicyInputList=[SEED_POLICY],
        ActionNames=["iam:CreateServiceLinkedRole"],
        ContextEntries=_ctx("redshift.amazonaws.com"),
    )["EvaluationResults"][0]
    assert other["EvalDecision"] == "implicitDeny"
    assert other["MatchedStatements"] == []
    missing = iam.simulate_custom_policy(PolicyInputList=[SEED_POLICY], ActionNames=["iam:CreateServiceLinkedRole"])[
        "EvaluationResults"
    ][0]
    assert missing["EvalDecision"] == "implicitDeny"
    assert missing["MissingContextValues"] == ["iam:AWSServiceName"]


def test_principal_policy_includes_groups_and_explicit_deny(server):
    root = server.client("iam")
    user = make_user(server)
    group = unique("sim-admins")
    root.create_group(GroupName=group)
    root.attach_group_policy(GroupName=group, PolicyArn=ADMIN_POLICY_ARN)
    root.add_user_to_group(GroupName=group, UserName=user.name)
    deny = {"Version": "2012-10-17", "Statement": [{"Sid": "NoUsers", "Effect": "Deny", "Action": "iam:DeleteUser", "Resource": "*"}]}
    root.put_user_policy(UserName=user.name, PolicyName="no-delete", PolicyDocument=json.dumps(deny))
    results = root.simulate_principal_policy(
        PolicySourceArn=user.arn, ActionNames=["iam:CreateUser", "iam:DeleteUser"]
    )["EvaluationResults"]
    by_action = {r["EvalActionName"]: r for r in results}
    assert by_action["iam:CreateUser"]["EvalDecision"] == "allowed"
    assert by_action["iam:CreateUser"]["MatchedStatements"][0]["SourcePolicyType"] == "aws-managed"
    assert by_action["iam:DeleteUser"]["EvalDecision"] == "explicitDeny"
    assert by_action["iam:DeleteUser"]["MatchedStatements"][0]["SourcePolicyId"] == "no-delete"
    # The simulation agrees with enforcement.
    real = server.client("iam", **user.creds)
    real.create_user(UserName=unique("sim-made"))
    try:
        real.delete_user(UserName=user.name)
        raise AssertionError("DeleteUser should be denied")
    except real.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "AccessDenied"
        assert "with an explicit deny in an identity-based policy" in e.response["Error"]["Message"]


def test_permissions_boundary_in_simulation(server):
    root = server.client("iam")
    user = make_user(server)
    root.attach_user_policy(UserName=user.name, PolicyArn=ADMIN_POLICY_ARN)
    root.put_user_permissions_boundary(UserName=user.name, PermissionsBoundary="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    r = root.simulate_principal_policy(PolicySourceArn=user.arn, ActionNames=["iam:CreateUser", "iam:GetUser"])[
        "EvaluationResults"
    ]
    by_action = {x["EvalActionName"]: x for x in r}
    assert by_action["iam:CreateUser"]["EvalDecision"] == "implicitDeny"
    assert by_action["iam:CreateUser"]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    assert by_action["iam:GetUser"]["EvalDecision"] == "allowed"
    # Enforcement agrees: the boundary caps AdministratorAccess.
    real = server.client("iam", **user.creds)
    try:
        real.create_user(UserName=unique("capped"))
        raise AssertionError("CreateUser should be denied by the boundary")
    except real.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "AccessDenied"
        assert "because no permissions boundary allows the iam:CreateUser action" in e.response["Error"]["Message"]


def test_context_keys(server):
    root = server.client("iam")
    keys = root.get_context_keys_for_custom_policy(PolicyInputList=[SEED_POLICY])["ContextKeyNames"]
    assert keys == ["iam:AWSServiceName"]
    user = make_user(server)
    tagged = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::bucket/${aws:username}/*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            }
        ],
    }
    root.put_user_policy(UserName=user.name, PolicyName="tagged", PolicyDocument=json.dumps(tagged))
    keys = root.get_context_keys_for_principal_policy(PolicySourceArn=user.arn)["ContextKeyNames"]
    assert keys == ["aws:SourceIp", "aws:username"]


def test_simulating_a_missing_principal_is_no_such_entity(server):
    iam = server.client("iam")
    try:
        iam.simulate_principal_policy(
            PolicySourceArn=f"arn:aws:iam::{ACCOUNT_ID}:user/{unique('ghost')}", ActionNames=["iam:GetUser"]
        )
        raise AssertionError("expected NoSuchEntity")
    except iam.exceptions.NoSuchEntityException:
        pass
