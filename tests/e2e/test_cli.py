"""The same flows through the AWS CLI v1 (a separate process, its own botocore copy)."""

import json

import pytest

from e2e_util import (
    AwsCliError,
    ACCOUNT_ID,
    ADMIN_POLICY_ARN,
    ROOT_ARN,
    SESSION_KEY_ID_RE,
    policy_doc,
    trust_account_root,
    unique,
)


def test_cli_get_caller_identity(server):
    out = server.aws("sts", "get-caller-identity")
    assert out["Arn"] == ROOT_ARN
    assert out["Account"] == ACCOUNT_ID


def test_cli_user_flow(server):
    name = unique("cli")
    out = server.aws("iam", "create-user", "--user-name", name, "--tags", "Key=via,Value=cli")
    assert out["User"]["UserName"] == name
    assert out["User"]["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"

    listed = server.aws("iam", "list-users")  # the CLI follows markers itself
    assert name in {u["UserName"] for u in listed["Users"]}

    got = server.aws("iam", "get-user", "--user-name", name)
    assert got["User"]["UserId"] == out["User"]["UserId"]

    key = server.aws("iam", "create-access-key", "--user-name", name)["AccessKey"]
    creds = {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }
    assert server.aws("sts", "get-caller-identity", creds=creds)["Arn"] == out["User"]["Arn"]

    # No permissions yet: the CLI exits non-zero and names the error code.
    with pytest.raises(AwsCliError) as ei:
        server.aws("iam", "list-users", creds=creds)
    assert ei.value.returncode != 0
    assert "AccessDenied" in ei.value.stderr

    server.aws("iam", "attach-user-policy", "--user-name", name, "--policy-arn", ADMIN_POLICY_ARN)
    attached = server.aws("iam", "list-attached-user-policies", "--user-name", name)
    assert attached["AttachedPolicies"] == [
        {"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN_POLICY_ARN}
    ]
    assert name in {u["UserName"] for u in server.aws("iam", "list-users", creds=creds)["Users"]}

    session = server.aws("sts", "get-session-token", "--duration-seconds", "900", creds=creds)
    assert SESSION_KEY_ID_RE.match(session["Credentials"]["AccessKeyId"])


def test_cli_missing_user_fails(server):
    missing = unique("nobody")
    with pytest.raises(AwsCliError) as ei:
        server.aws("iam", "get-user", "--user-name", missing)
    assert ei.value.returncode != 0
    assert "NoSuchEntity" in ei.value.stderr
    assert ei.value.stdout.strip() == ""


def test_cli_role_and_policy_from_files(server, tmp_path):
    trust_file = tmp_path / "trust.json"
    trust_file.write_text(json.dumps(trust_account_root(), indent=2))
    role = unique("clirole")
    out = server.aws(
        "iam", "create-role",
        "--role-name", role,
        "--assume-role-policy-document", f"file://{trust_file}",
        "--max-session-duration", "7200",
    )
    assert out["Role"]["RoleName"] == role
    assert out["Role"]["AssumeRolePolicyDocument"] == trust_account_root()
    got = server.aws("iam", "get-role", "--role-name", role)["Role"]
    assert got["MaxSessionDuration"] == 7200
    assert got["AssumeRolePolicyDocument"] == trust_account_root()

    pol_file = tmp_path / "policy.json"
    doc = policy_doc(["s3:GetObject"])
    pol_file.write_text(json.dumps(doc))
    pol = server.aws(
        "iam", "create-policy",
        "--policy-name", unique("clipol"),
        "--policy-document", f"file://{pol_file}",
    )["Policy"]
    server.aws("iam", "attach-role-policy", "--role-name", role, "--policy-arn", pol["Arn"])
    attached = server.aws("iam", "list-attached-role-policies", "--role-name", role)
    assert [p["PolicyArn"] for p in attached["AttachedPolicies"]] == [pol["Arn"]]
    ver = server.aws(
        "iam", "get-policy-version", "--policy-arn", pol["Arn"], "--version-id", "v1"
    )["PolicyVersion"]
    assert ver["Document"] == doc


def test_cli_assume_role(server, tmp_path):
    name = unique("cliadm")
    server.aws("iam", "create-user", "--user-name", name)
    server.aws("iam", "attach-user-policy", "--user-name", name, "--policy-arn", ADMIN_POLICY_ARN)
    key = server.aws("iam", "create-access-key", "--user-name", name)["AccessKey"]
    user_creds = {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }
    role = unique("clirole")
    role_arn = server.aws(
        "iam", "create-role", "--role-name", role,
        "--assume-role-policy-document", json.dumps(trust_account_root()),
    )["Role"]["Arn"]
    out = server.aws(
        "sts", "assume-role", "--role-arn", role_arn, "--role-session-name", "cli-sess",
        creds=user_creds,
    )
    c = out["Credentials"]
    session_creds = {
        "aws_access_key_id": c["AccessKeyId"],
        "aws_secret_access_key": c["SecretAccessKey"],
        "aws_session_token": c["SessionToken"],
    }
    ident = server.aws("sts", "get-caller-identity", creds=session_creds)
    assert ident["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role}/cli-sess"
