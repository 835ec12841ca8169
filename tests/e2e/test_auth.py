"""Authentication: SigV4 verification, error codes for bad credentials, presigned URLs."""

import datetime

import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from e2e_util import (
    http_request,
    ACCOUNT_ID,
    REGION,
    ROOT_ACCESS_KEY_ID,
    ROOT_ARN,
    ROOT_SECRET_ACCESS_KEY,
    make_user,
    parse_xml_error,
    raises_aws,
    unique,
    xml_find_text,
)

FORM = "application/x-www-form-urlencoded; charset=utf-8"


def signed_post(server, body: str, service: str = "iam", creds=None):
    """POST a form body signed with SigV4 (root credentials by default) via urllib."""
    ak, sk = creds or (ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY)
    req = AWSRequest(
        method="POST",
        url=server.endpoint + "/",
        data=body.encode(),
        headers={"Content-Type": FORM},
    )
    SigV4Auth(Credentials(ak, sk), service, REGION).add_auth(req)
    prepared = req.prepare()
    return http_request(
        prepared.url, data=prepared.body, headers=dict(prepared.headers.items()), method="POST"
    )


def test_get_caller_identity_root(sts):
    ident = sts.get_caller_identity()
    assert ident["Arn"] == ROOT_ARN
    assert ident["Account"] == ACCOUNT_ID
    assert ident["UserId"] == ACCOUNT_ID


def test_wrong_secret_is_signature_mismatch(server):
    sts = server.client(
        "sts",
        aws_access_key_id=ROOT_ACCESS_KEY_ID,
        aws_secret_access_key="x" * 40,
    )
    with raises_aws("SignatureDoesNotMatch", 403):
        sts.get_caller_identity()
    iam = server.client(
        "iam",
        aws_access_key_id=ROOT_ACCESS_KEY_ID,
        aws_secret_access_key=ROOT_SECRET_ACCESS_KEY[:-1] + "Z",
    )
    with raises_aws("SignatureDoesNotMatch", 403):
        iam.list_users()


def test_unknown_access_key_is_invalid_client_token(server):
    for service, call in (("sts", "get_caller_identity"), ("iam", "list_users")):
        client = server.client(
            service,
            aws_access_key_id="AKIAZZZZZZZZZZZZZZZZ",
            aws_secret_access_key=ROOT_SECRET_ACCESS_KEY,
        )
        with raises_aws("InvalidClientTokenId", 403):
            getattr(client, call)()


def test_unsigned_request_is_missing_authentication_token(server):
    status, _headers, body = http_request(
        server.endpoint + "/",
        data=b"Action=ListUsers&Version=2010-05-08",
        headers={"Content-Type": FORM},
        method="POST",
    )
    assert status == 403, body
    err = parse_xml_error(body)
    assert err["Code"] == "MissingAuthenticationToken"


def test_unsigned_sts_request_is_missing_authentication_token(server):
    status, _headers, body = http_request(
        server.endpoint + "/?Action=GetCallerIdentity&Version=2011-06-15", method="GET"
    )
    assert status == 403, body
    assert parse_xml_error(body)["Code"] == "MissingAuthenticationToken"


def test_signed_raw_request_works(server):
    status, _headers, body = signed_post(server, "Action=GetCallerIdentity&Version=2011-06-15", "sts")
    assert status == 200, body
    assert xml_find_text(body, "Arn") == ROOT_ARN


def test_tampered_body_after_signing_is_rejected(server):
    req = AWSRequest(
        method="POST",
        url=server.endpoint + "/",
        data=b"Action=GetUser&Version=2010-05-08&UserName=alice",
        headers={"Content-Type": FORM},
    )
    SigV4Auth(Credentials(ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY), "iam", REGION).add_auth(req)
    prepared = req.prepare()
    status, _h, body = http_request(
        prepared.url,
        data=b"Action=GetUser&Version=2010-05-08&UserName=bobby",
        headers=dict(prepared.headers.items()),
        method="POST",
    )
    assert status == 403, body
    assert parse_xml_error(body)["Code"] == "SignatureDoesNotMatch"


def _shift_signing_clock(monkeypatch, delta: datetime.timedelta):
    real_now = botocore.auth.get_current_datetime

    def shifted():
        return real_now() + delta

    monkeypatch.setattr(botocore.auth, "get_current_datetime", shifted)


def test_expired_signature(server, monkeypatch):
    sts = server.client("sts")
    iam = server.client("iam")
    _shift_signing_clock(monkeypatch, datetime.timedelta(minutes=-20))
    with raises_aws("SignatureDoesNotMatch", 403, message_contains="Signature expired"):
        sts.get_caller_identity()
    with raises_aws("SignatureDoesNotMatch", 403, message_contains="Signature expired"):
        iam.list_users()


def test_signature_from_the_future(server, monkeypatch):
    sts = server.client("sts")
    _shift_signing_clock(monkeypatch, datetime.timedelta(minutes=20))
    with raises_aws("SignatureDoesNotMatch", 403, message_contains="Signature not yet current"):
        sts.get_caller_identity()


def test_small_clock_skew_is_accepted(server, monkeypatch):
    sts = server.client("sts")
    _shift_signing_clock(monkeypatch, datetime.timedelta(minutes=-4))
    assert sts.get_caller_identity()["Arn"] == ROOT_ARN


def test_presigned_get_caller_identity(server):
    sts = server.client("sts")
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=300, HttpMethod="GET")
    assert "X-Amz-Signature=" in url
    status, _headers, body = http_request(url, method="GET")
    assert status == 200, body
    assert xml_find_text(body, "Arn") == ROOT_ARN
    assert xml_find_text(body, "Account") == ACCOUNT_ID


def test_presigned_url_with_bad_signature_is_rejected(server):
    sts = server.client("sts")
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=300, HttpMethod="GET")
    head, sig = url.split("X-Amz-Signature=", 1)
    bad_sig = ("0" if sig[0] != "0" else "1") + sig[1:]
    status, _headers, body = http_request(head + "X-Amz-Signature=" + bad_sig, method="GET")
    assert status == 403, body
    assert parse_xml_error(body)["Code"] == "SignatureDoesNotMatch"


def test_presigned_url_method_is_part_of_the_signature(server):
    sts = server.client("sts")
    # Without HttpMethod botocore signs for the operation's own method (POST for awsQuery).
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=300)
    status, _headers, body = http_request(url, method="GET")
    assert status == 403, body
    assert parse_xml_error(body)["Code"] == "SignatureDoesNotMatch"
    status, _headers, body = http_request(url, data=b"", method="POST")
    assert status == 200, body
    assert xml_find_text(body, "Arn") == ROOT_ARN


def test_presigned_url_for_user(server):
    user = make_user(server)
    sts = server.client("sts", **user.creds)
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    status, _headers, body = http_request(url, method="GET")
    assert status == 200, body
    assert xml_find_text(body, "Arn") == user.arn


def test_unknown_action_is_invalid_action(server):
    status, _headers, body = signed_post(server, "Action=FrobnicateUsers&Version=2010-05-08")
    assert status == 400, body
    assert parse_xml_error(body)["Code"] == "InvalidAction"


def test_error_response_carries_request_id_header(server):
    status, headers, body = signed_post(
        server, f"Action=GetUser&Version=2010-05-08&UserName={unique('nobody')}"
    )
    assert status == 404, body
    err = parse_xml_error(body)
    assert err["Code"] == "NoSuchEntity"
    header_id = {k.lower(): v for k, v in headers.items()}.get("x-amzn-requestid")
    assert header_id, headers
    assert err.get("RequestId") == header_id


def test_no_secrets_in_server_logs(server):
    # Make calls that carry or return secrets: root calls, a new key, calls with it.
    user = make_user(server, admin=True)
    server.client("iam", **user.creds).list_users()
    server.client("sts", **user.creds).get_caller_identity()
    server.client("sts").get_caller_identity()
    logs = server.all_logs()
    assert ROOT_SECRET_ACCESS_KEY not in logs
    assert user.secret_access_key not in logs
