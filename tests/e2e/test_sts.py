"""STS: AssumeRole (trust and identity policies), GetSessionToken, session credentials."""

import datetime

import pytest

from e2e_util import (
    ACCOUNT_ID,
    ROLE_ID_RE,
    SECRET_RE,
    SESSION_KEY_ID_RE,
    creds_from_sts,
    make_role,
    make_user,
    raises_aws,
    trust_policy,
    unique,
)


@pytest.fixture(scope="module")
def admin_user(server):
    """An IAM user with AdministratorAccess (root may not call AssumeRole in AWS)."""
    return make_user(server, admin=True, prefix="stsadmin")


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def test_assume_role_trusting_account(server, admin_user):
    role = make_role(server)  # trusts arn:aws:iam::123456789012:root
    sts = server.client("sts", **admin_user.creds)
    before = _now()
    out = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="sess-1")
    creds = out["Credentials"]
    assert SESSION_KEY_ID_RE.match(creds["AccessKeyId"]), creds["AccessKeyId"]
    assert SECRET_RE.match(creds["SecretAccessKey"])
    assert creds["SessionToken"]
    assert creds["Expiration"] > before
    # Default duration is one hour.
    assert abs((creds["Expiration"] - before).total_seconds() - 3600) < 120

    assumed = out["AssumedRoleUser"]
    arn = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role['RoleName']}/sess-1"
    assert assumed["Arn"] == arn
    assert assumed["AssumedRoleId"] == f"{role['RoleId']}:sess-1"

    ident = server.client("sts", **creds_from_sts(creds)).get_caller_identity()
    assert ident["Arn"] == arn
    assert ident["Account"] == ACCOUNT_ID
    assert ident["UserId"] == f"{role['RoleId']}:sess-1"
    assert ROLE_ID_RE.match(ident["UserId"].split(":")[0])


def test_assume_role_duration(server, admin_user):
    role = make_role(server, max_session_duration=7200)
    sts = server.client("sts", **admin_user.creds)
    before = _now()
    creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="short", DurationSeconds=900)[
        "Credentials"
    ]
    assert abs((creds["Expiration"] - before).total_seconds() - 900) < 120
    creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="long", DurationSeconds=7200)[
        "Credentials"
    ]
    assert abs((creds["Expiration"] - before).total_seconds() - 7200) < 120


def test_duration_above_role_max_is_validation_error(server, admin_user):
    role = make_role(server)  # MaxSessionDuration 3600
    sts = server.client("sts", **admin_user.creds)
    with raises_aws("ValidationError", 400):
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="toolong", DurationSeconds=7200)


def test_invalid_session_name_is_validation_error(server, admin_user):
    role = make_role(server)
    sts = server.client("sts", **admin_user.creds)
    with raises_aws("ValidationError", 400):
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="has space")


def test_assume_missing_role_is_access_denied(server, admin_user):
    sts = server.client("sts", **admin_user.creds)
    with raises_aws("AccessDenied", 403):
        sts.assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{unique('norole')}", RoleSessionName="sess"
        )


def test_trust_policy_naming_one_user(server, admin_user):
    x = admin_user
    y = make_user(server, prefix="nopolicy")  # no policies at all
    z = make_user(server, admin=True, prefix="otheradmin")  # allowed by identity, not trusted
    role = make_role(server, trust=trust_policy(x.arn))

    out = server.client("sts", **x.creds).assume_role(RoleArn=role["Arn"], RoleSessionName="sess-x")
    assert out["AssumedRoleUser"]["Arn"].endswith(f"assumed-role/{role['RoleName']}/sess-x")

    with raises_aws("AccessDenied", 403) as ei:
        server.client("sts", **y.creds).assume_role(RoleArn=role["Arn"], RoleSessionName="sess-y")
    assert "sts:AssumeRole" in ei.value.response["Error"]["Message"]

    # The trust policy names only X, so identity permissions alone do not suffice.
    with raises_aws("AccessDenied", 403):
        server.client("sts", **z.creds).assume_role(RoleArn=role["Arn"], RoleSessionName="sess-z")


def test_role_session_permissions_follow_role_policies(server, admin_user):
    sts = server.client("sts", **admin_user.creds)

    admin_role = make_role(server, admin=True)
    creds = sts.assume_role(RoleArn=admin_role["Arn"], RoleSessionName="ops")["Credentials"]
    iam = server.client("iam", **creds_from_sts(creds))
    iam.list_users(MaxItems=1)
    name = unique("made-by-role")
    iam.create_user(UserName=name)
    assert server.client("iam").get_user(UserName=name)["User"]["UserName"] == name

    bare_role = make_role(server)
    creds = sts.assume_role(RoleArn=bare_role["Arn"], RoleSessionName="bare")["Credentials"]
    with raises_aws("AccessDenied", 403) as ei:
        server.client("iam", **creds_from_sts(creds)).list_users()
    msg = ei.value.response["Error"]["Message"]
    assert f"assumed-role/{bare_role['RoleName']}/bare" in msg
    assert "is not authorized to perform: iam:ListUsers" in msg


def test_role_chaining(server, admin_user):
    first = make_role(server, admin=True)
    second = make_role(server)
    creds = server.client("sts", **admin_user.creds).assume_role(
        RoleArn=first["Arn"], RoleSessionName="hop1"
    )["Credentials"]
    out = server.client("sts", **creds_from_sts(creds)).assume_role(
        RoleArn=second["Arn"], RoleSessionName="hop2"
    )
    ident = server.client("sts", **creds_from_sts(out["Credentials"])).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{second['RoleName']}/hop2"


def test_get_session_token_for_user(server):
    user = make_user(server)  # no policies needed for GetSessionToken
    out = server.client("sts", **user.creds).get_session_token(DurationSeconds=900)
    creds = out["Credentials"]
    assert SESSION_KEY_ID_RE.match(creds["AccessKeyId"]), creds["AccessKeyId"]
    assert SECRET_RE.match(creds["SecretAccessKey"])
    assert creds["SessionToken"]
    assert creds["Expiration"] > _now()
    ident = server.client("sts", **creds_from_sts(creds)).get_caller_identity()
    assert ident["Arn"] == user.arn
    assert ident["UserId"] == user.user_id
    assert ident["Account"] == ACCOUNT_ID


def test_tampered_session_token_is_rejected(server, admin_user):
    role = make_role(server)
    creds = server.client("sts", **admin_user.creds).assume_role(
        RoleArn=role["Arn"], RoleSessionName="tamper"
    )["Credentials"]
    good = creds_from_sts(creds)
    token = good["aws_session_token"]
    mid = len(token) // 2
    flipped = token[:mid] + ("A" if token[mid] != "A" else "B") + token[mid + 1:]
    for bad_token in (flipped, token + "AAAA", "garbage"):
        bad = dict(good, aws_session_token=bad_token)
        with raises_aws("InvalidClientTokenId", 403):
            server.client("sts", **bad).get_caller_identity()
    # Session key without any token.
    no_token = {k: v for k, v in good.items() if k != "aws_session_token"}
    with raises_aws("InvalidClientTokenId", 403):
        server.client("sts", **no_token).get_caller_identity()
    # The untouched credentials still work.
    assert server.client("sts", **good).get_caller_identity()["Arn"].endswith("/tamper")


def test_session_token_from_other_session_is_rejected(server, admin_user):
    role = make_role(server)
    sts = server.client("sts", **admin_user.creds)
    a = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="sess-a")["Credentials"]
    b = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="sess-b")["Credentials"]
    mixed = dict(creds_from_sts(a), aws_session_token=b["SessionToken"])
    with pytest.raises(Exception) as ei:
        server.client("sts", **mixed).get_caller_identity()
    code = getattr(ei.value, "response", {}).get("Error", {}).get("Code")
    assert code in ("InvalidClientTokenId", "SignatureDoesNotMatch"), ei.value

