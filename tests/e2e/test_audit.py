"""CloudTrail records in <data-dir>/trailguard.db: one per call, in CloudTrail's format."""

import datetime
import json

from botocore.exceptions import ClientError

from e2e_util import (
    ACCOUNT_ID,
    EVENT_TIME_RE,
    REGION,
    ROOT_ACCESS_KEY_ID,
    ROOT_ARN,
    UUID_RE,
    USER_ID_RE,
    creds_from_sts,
    make_role,
    make_user,
    request_id,
    unique,
    walk,
)


class UACapture:
    """Records the User-Agent header of every request a client sends."""

    def __init__(self, client):
        self.values = []
        client.meta.events.register("before-send", self._capture)

    def _capture(self, request, **_kwargs):
        ua = request.headers.get("User-Agent")
        self.values.append(ua.decode() if isinstance(ua, bytes) else ua)

    @property
    def last(self):
        return self.values[-1]


def call(fn, **kwargs):
    """Run a boto3 call; return (request_id, error_code or None, response)."""
    try:
        resp = fn(**kwargs)
        return request_id(resp), None, resp
    except ClientError as e:
        return request_id(e), e.response["Error"]["Code"], e.response


def one_event(server, rid):
    found = server.events_for_request(rid)
    assert len(found) == 1, f"expected exactly one record for request {rid}, got {found}"
    return found[0]


def version_tuple(v):
    return tuple(int(p) for p in v.split("."))


def assert_common_fields(rec, *, source, name, read_only, ua):
    assert version_tuple(rec["eventVersion"]) >= (1, 8), rec["eventVersion"]
    assert rec["eventSource"] == source
    assert rec["eventName"] == name
    assert rec["awsRegion"] == REGION
    assert rec["sourceIPAddress"] == "127.0.0.1"
    assert rec["userAgent"] == ua
    if read_only is not None:
        assert rec["readOnly"] is read_only
    assert rec["eventType"] == "AwsApiCall"
    assert rec["managementEvent"] is True
    assert rec["eventCategory"] == "Management"
    assert rec["recipientAccountId"] == ACCOUNT_ID
    assert UUID_RE.match(rec["eventID"]), rec["eventID"]
    assert EVENT_TIME_RE.match(rec["eventTime"]), rec["eventTime"]
    when = datetime.datetime.strptime(rec["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - when).total_seconds()) < 300, rec["eventTime"]


def test_known_sequence_of_calls(server):
    root_iam = server.client("iam")
    ua = UACapture(root_iam)
    denied_user = make_user(server)
    denied_iam = server.client("iam", **denied_user.creds)
    denied_ua = UACapture(denied_iam)

    start_seq = server.max_seq()
    name = unique("audited")
    missing = unique("missing")

    rid_create, err, created = call(root_iam.create_user, UserName=name)
    assert err is None
    ua_create = ua.last
    rid_get, err, _ = call(root_iam.get_user, UserName=name)
    assert err is None
    rid_missing, err, _ = call(root_iam.get_user, UserName=missing)
    assert err == "NoSuchEntity"
    rid_denied, err, _ = call(denied_iam.list_users)
    assert err == "AccessDenied"

    rids = [rid_create, rid_get, rid_missing, rid_denied]
    assert len(set(rids)) == 4, "request ids must be unique"

    # Exactly one record per call (and they appear in call order).
    recs = {rid: one_event(server, rid) for rid in rids}
    new_rows = server.event_rows(start_seq)
    ours = [r for r in new_rows if r.record.get("requestID") in rids]
    assert [r.record["requestID"] for r in ours] == rids

    # The indexed columns agree with the record.
    for row in ours:
        assert row.event_id == row.record["eventID"]
        assert row.account_id == ACCOUNT_ID
        assert row.event_time == row.record["eventTime"]
        assert row.event_source == row.record["eventSource"]
        assert row.event_name == row.record["eventName"]
    assert len({r.event_id for r in ours}) == 4

    # CreateUser: a write, by root, with the output in responseElements.
    rec = recs[rid_create]
    assert_common_fields(rec, source="iam.amazonaws.com", name="CreateUser", read_only=False, ua=ua_create)
    assert "errorCode" not in rec and "errorMessage" not in rec
    assert rec["requestParameters"] == {"userName": name}
    user_out = rec["responseElements"]["user"]
    assert user_out["userName"] == name
    assert user_out["userId"] == created["User"]["UserId"]
    assert user_out["arn"] == created["User"]["Arn"]
    ident = rec["userIdentity"]
    assert ident["type"] == "Root"
    assert ident["arn"] == ROOT_ARN
    assert ident["accountId"] == ACCOUNT_ID
    assert ident["principalId"] == ACCOUNT_ID
    assert ident["accessKeyId"] == ROOT_ACCESS_KEY_ID

    # GetUser: read-only, responseElements null.
    rec = recs[rid_get]
    assert_common_fields(rec, source="iam.amazonaws.com", name="GetUser", read_only=True, ua=ua.values[1])
    assert rec["requestParameters"] == {"userName": name}
    assert rec["responseElements"] is None
    assert "errorCode" not in rec

    # Failed GetUser: errorCode/errorMessage, no response elements.
    rec = recs[rid_missing]
    assert_common_fields(rec, source="iam.amazonaws.com", name="GetUser", read_only=True, ua=ua.values[2])
    assert rec["errorCode"] == "NoSuchEntity"
    assert missing in rec["errorMessage"]
    assert rec["requestParameters"] == {"userName": missing}
    assert rec.get("responseElements") is None

    # Access denied: recorded with the IAM user's identity.
    rec = recs[rid_denied]
    assert_common_fields(rec, source="iam.amazonaws.com", name="ListUsers", read_only=True, ua=denied_ua.last)
    assert rec["errorCode"] == "AccessDenied"
    assert "is not authorized to perform: iam:ListUsers" in rec["errorMessage"]
    assert rec["requestParameters"] is None
    ident = rec["userIdentity"]
    assert ident["type"] == "IAMUser"
    assert ident["userName"] == denied_user.name
    assert ident["arn"] == denied_user.arn
    assert ident["accountId"] == ACCOUNT_ID
    assert ident["accessKeyId"] == denied_user.access_key_id
    assert ident["principalId"] == denied_user.user_id
    assert USER_ID_RE.match(ident["principalId"])


def test_request_parameters_are_lower_camel_case(server):
    iam = server.client("iam")
    name = unique("camel")
    rid, err, _ = call(
        iam.create_user, UserName=name, Path="/audit/", Tags=[{"Key": "k", "Value": "v"}]
    )
    assert err is None
    rec = one_event(server, rid)
    params = rec["requestParameters"]
    assert params["userName"] == name
    assert params["path"] == "/audit/"
    assert params["tags"] == [{"key": "k", "value": "v"}]


def test_sts_events(server):
    user = make_user(server, admin=True)
    sts = server.client("sts", **user.creds)
    ua = UACapture(sts)
    rid, err, _ = call(sts.get_caller_identity)
    assert err is None
    rec = one_event(server, rid)
    assert_common_fields(rec, source="sts.amazonaws.com", name="GetCallerIdentity", read_only=True, ua=ua.last)
    assert rec["requestParameters"] is None
    assert rec["userIdentity"]["type"] == "IAMUser"

    role = make_role(server)
    rid, err, out = call(sts.assume_role, RoleArn=role["Arn"], RoleSessionName="audit-sess")
    assert err is None
    rec = one_event(server, rid)
    # readOnly is not checked: real CloudTrail marks AssumeRole read-only yet fills responseElements.
    assert_common_fields(rec, source="sts.amazonaws.com", name="AssumeRole", read_only=None, ua=ua.last)
    assert isinstance(rec["readOnly"], bool)
    assert rec["requestParameters"]["roleArn"] == role["Arn"]
    assert rec["requestParameters"]["roleSessionName"] == "audit-sess"
    resp = rec["responseElements"]
    assert resp["credentials"]["accessKeyId"] == out["Credentials"]["AccessKeyId"]
    assert resp["assumedRoleUser"]["arn"] == out["AssumedRoleUser"]["Arn"]
    assert out["Credentials"]["SecretAccessKey"] not in json.dumps(rec)
    assert not any(k == "secretAccessKey" for k, _ in walk(rec))


def test_assumed_role_identity(server):
    user = make_user(server, admin=True)
    role = make_role(server, admin=True)
    creds = server.client("sts", **user.creds).assume_role(
        RoleArn=role["Arn"], RoleSessionName="trail"
    )["Credentials"]
    iam = server.client("iam", **creds_from_sts(creds))
    rid, err, _ = call(iam.list_roles, MaxItems=1)
    assert err is None
    rec = one_event(server, rid)
    ident = rec["userIdentity"]
    assert ident["type"] == "AssumedRole"
    assert ident["arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role['RoleName']}/trail"
    assert ident["principalId"] == f"{role['RoleId']}:trail"
    assert ident["accountId"] == ACCOUNT_ID
    assert ident["accessKeyId"] == creds["AccessKeyId"]
    issuer = ident["sessionContext"]["sessionIssuer"]
    assert issuer["type"] == "Role"
    assert issuer["arn"] == role["Arn"]
    assert issuer["principalId"] == role["RoleId"]
    assert issuer["userName"] == role["RoleName"]
    assert issuer["accountId"] == ACCOUNT_ID
    assert rec["requestParameters"] == {"maxItems": 1}


def test_create_access_key_never_logs_secret(server):
    iam = server.client("iam")
    name = unique("keyaudit")
    iam.create_user(UserName=name)
    rid, err, out = call(iam.create_access_key, UserName=name)
    assert err is None
    secret = out["AccessKey"]["SecretAccessKey"]
    rec = one_event(server, rid)
    assert rec["eventName"] == "CreateAccessKey"
    assert rec["readOnly"] is False
    assert rec["responseElements"]["accessKey"]["accessKeyId"] == out["AccessKey"]["AccessKeyId"]
    assert rec["responseElements"]["accessKey"]["userName"] == name
    assert rec["responseElements"]["accessKey"]["status"] == "Active"
    blob = json.dumps(rec)
    assert secret not in blob
    assert not any(k.lower() == "secretaccesskey" for k, _ in walk(rec))


def test_cli_user_agent_recorded(server):
    name = unique("cliua")
    server.aws("iam", "create-user", "--user-name", name)
    recs = [
        r for r in server.events()
        if r["eventName"] == "CreateUser" and (r.get("requestParameters") or {}).get("userName") == name
    ]
    assert len(recs) == 1
    assert recs[0]["userAgent"].startswith("aws-cli/1.")

