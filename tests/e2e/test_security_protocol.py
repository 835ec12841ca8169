"""Attacks on the wire: what a tenant with one low-privilege key sends, and what
trailguard answers.

Each test is one attack from issue 11 (findings 3, 7, 11 and 17), sent as raw
SigV4-signed requests where no client would send it, and checks both the answer
and that the server and its audit trail are unharmed.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.parse

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from e2e_util import (
    REGION,
    http_request,
    make_user,
    parse_xml_error,
    raises_aws,
    unique,
)
from test_trails import make_trail_bucket, trail_arn

FORM = "application/x-www-form-urlencoded; charset=utf-8"
CLOUDTRAIL_TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"
AMZ_JSON = "application/x-amz-json-1.1"

# The limits README.md documents (crates/protocol/src/limits.rs).
MAX_DEPTH = 32
MAX_MEMBERS = 20_000
MAX_PARAMETER_BODY = 1024 * 1024


def signed(server, creds: dict, service: str, body: bytes, headers: dict, *, region=REGION,
           after_signing: dict | None = None):
    """Sends a POST signed with SigV4 over exactly `headers`; `after_signing`
    headers are added once the signature is made (so they are not signed)."""
    req = AWSRequest(method="POST", url=server.endpoint + "/", data=body, headers=headers)
    SigV4Auth(
        Credentials(creds["aws_access_key_id"], creds["aws_secret_access_key"]), service, region
    ).add_auth(req)
    prepared = req.prepare()
    sent = dict(prepared.headers.items())
    sent.update(after_signing or {})
    return http_request(prepared.url, data=prepared.body, headers=sent, method="POST", timeout=30)


def send_oversized(server, creds, service: str, body: bytes, headers: dict):
    """Sends a signed POST whose body the server may refuse before reading it all:
    the body is written from a thread, and the answer read whatever happens to the
    write (the server closes the connection after answering)."""
    req = AWSRequest(method="POST", url=server.endpoint + "/", data=body, headers=headers)
    SigV4Auth(
        Credentials(creds["aws_access_key_id"], creds["aws_secret_access_key"]), service, REGION
    ).add_auth(req)
    prepared = req.prepare()
    url = urllib.parse.urlsplit(server.endpoint)
    head = f"POST / HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in prepared.headers.items() if k.lower() != "host")
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        def write():
            try:
                sock.sendall(head.encode() + b"\r\n" + body)
            except OSError:
                pass

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        received = b""
        while b"\r\n\r\n" not in received or len(received) < received.index(b"\r\n\r\n") + 4 + _length(received):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        writer.join(timeout=30)
    status = int(received.split(b" ", 2)[1])
    return status, received.split(b"\r\n\r\n", 1)[1]


def _length(response: bytes) -> int:
    for line in response.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def query(server, creds, body: str, service="iam", **kw):
    return signed(server, creds, service, body.encode(), {"Content-Type": FORM}, **kw)


def cloudtrail(server, creds, operation: str, payload: bytes, **kw):
    headers = {"Content-Type": AMZ_JSON, "X-Amz-Target": f"{CLOUDTRAIL_TARGET}.{operation}"}
    return signed(server, creds, "cloudtrail", payload, headers, **kw)


def error_type(headers: dict) -> str | None:
    return {k.lower(): v for k, v in headers.items()}.get("x-amzn-errortype")


def json_error(body: bytes) -> dict:
    return json.loads(body)


def server_still_answers(server, creds):
    status, _h, body = query(server, creds, "Action=GetCallerIdentity&Version=2011-06-15", "sts")
    assert status == 200, body[:300]


@pytest.fixture(scope="module")
def nobody(server):
    """A user with no permissions at all: the attacker."""
    return make_user(server, prefix="nobody")


# ----- finding 3: decoders bounded ----------------------------------------------


def test_query_name_of_5000_segments_is_refused_and_the_server_survives(server, nobody):
    """A 10 KB awsQuery request whose one parameter name has 5,000 dot-separated
    segments used to overflow the decoder's stack and kill the process. trailguard
    answers 400 MalformedQueryString and keeps serving."""
    name = ".".join(["a"] * 5000)
    status, _h, body = query(server, nobody.creds, f"Action=ListUsers&Version=2010-05-08&{name}=1")
    assert status == 400
    err = parse_xml_error(body)
    assert err["Code"] == "MalformedQueryString"
    assert len(err["Message"]) < 400
    server_still_answers(server, nobody.creds)


def test_query_nesting_past_the_depth_limit_is_refused(server, nobody):
    """Names short enough to pass the name limit but nesting lists within lists
    (`A.member.1.member.1...`) past 32 levels are refused too; 32 levels decode."""
    deep = "A" + ".member.1" * MAX_DEPTH
    status, _h, body = query(server, nobody.creds, f"Action=ListUsers&Version=2010-05-08&{deep}=1")
    assert status == 400
    assert parse_xml_error(body)["Code"] == "MalformedQueryString"
    assert "levels deep" in parse_xml_error(body)["Message"]
    server_still_answers(server, nobody.creds)


def test_query_with_too_many_parameters_is_refused(server, nobody):
    """20,001 distinct parameters in one form body (about 200 KB) are refused before
    any of them reaches a service."""
    params = "&".join(f"P{n}=1" for n in range(MAX_MEMBERS + 1))
    status, _h, body = query(server, nobody.creds, f"Action=ListUsers&Version=2010-05-08&{params}")
    assert status == 400
    err = parse_xml_error(body)
    assert err["Code"] == "MalformedQueryString"
    assert str(MAX_MEMBERS) in err["Message"]
    server_still_answers(server, nobody.creds)


def test_deep_json_body_is_a_serialization_exception(server, nobody):
    """An awsJson1.1 body nesting 100 arrays (within serde_json's own limit of 128,
    so it used to reach the service) and one nesting 100,000 are both answered
    400 SerializationException."""
    for depth in (100, 100_000):
        payload = b'{"Name":' + b"[" * depth + b"]" * depth + b"}"
        status, h, body = cloudtrail(server, nobody.creds, "GetTrail", payload)
        assert status == 400, body[:300]
        assert error_type(h) == "SerializationException"
        assert json_error(body)["__type"] == "SerializationException"
        assert "levels deep" in json_error(body)["message"]
    server_still_answers(server, nobody.creds)


def test_wide_json_body_is_a_serialization_exception(server, nobody):
    """An awsJson1.1 body with 20,001 members (a decoy array) is refused."""
    payload = json.dumps({"Name": "t", "Decoy": [0] * (MAX_MEMBERS + 1)}).encode()
    status, _h, body = cloudtrail(server, nobody.creds, "GetTrail", payload)
    assert status == 400
    assert json_error(body)["__type"] == "SerializationException"
    assert str(MAX_MEMBERS) in json_error(body)["message"]


def test_deep_rest_json_body_is_a_serialization_exception(server, nobody):
    """restJson1 (GuardDuty's CreateDetector) decodes its body within the same limits."""
    payload = b'{"enable":true,"tags":' + b'{"a":' * 100 + b"1" + b"}" * 100 + b"}"
    req = AWSRequest(
        method="POST",
        url=server.endpoint + "/detector",
        data=payload,
        headers={"Content-Type": "application/json"},
    )
    creds = nobody.creds
    SigV4Auth(
        Credentials(creds["aws_access_key_id"], creds["aws_secret_access_key"]), "guardduty", REGION
    ).add_auth(req)
    prepared = req.prepare()
    status, h, body = http_request(
        prepared.url, data=prepared.body, headers=dict(prepared.headers.items()), method="POST"
    )
    assert status == 400, body[:300]
    assert error_type(h) == "SerializationException"


def test_body_over_the_service_cap_is_refused_unread(server, nobody):
    """A 2 MiB awsQuery body is over the 1 MiB cap of parameter-only services:
    413 RequestEntityTooLarge in the query protocol's shape."""
    body = b"Action=ListUsers&Version=2010-05-08&Marker=" + b"x" * (2 * 1024 * 1024)
    status, resp = send_oversized(server, nobody.creds, "iam", body, {"Content-Type": FORM})
    assert status == 413
    err = parse_xml_error(resp)
    assert err["Code"] == "RequestEntityTooLarge"
    assert str(MAX_PARAMETER_BODY) in err["Message"]


# ----- finding 7: only real regions ---------------------------------------------


def test_fake_region_is_refused_and_nothing_is_recorded(server, logs_bucket):
    """`zz-fake-1` in the credential scope used to be served, and recorded where no
    trail looks; a us-east-1 trail could be stopped by ARN from it. AWS has no
    endpoint there: the signature is refused (InvalidSignatureException /
    SignatureDoesNotMatch, 403, "Credential should be scoped to a valid region"),
    the trail keeps logging, and no record names the fake region."""
    ct = server.client("cloudtrail")
    name = unique("tg-region-trail")
    ct.create_trail(Name=name, S3BucketName=logs_bucket)
    ct.start_logging(Name=name)
    fake = Config(region_name="zz-fake-1")
    with raises_aws("InvalidSignatureException", 403, "Credential should be scoped to a valid region, not 'zz-fake-1'"):
        server.client("cloudtrail", config=fake).stop_logging(Name=trail_arn(name))
    with raises_aws("SignatureDoesNotMatch", 403, "not 'zz-fake-1'"):
        server.client("sts", config=fake).get_caller_identity()
    with raises_aws("SignatureDoesNotMatch", 403):
        server.client("iam", config=fake).list_users()
    assert ct.get_trail_status(Name=name)["IsLogging"] is True
    assert not [e for e in server.events() if e.get("awsRegion") == "zz-fake-1"]
    ct.delete_trail(Name=name)


def test_calls_are_recorded_in_the_region_they_were_served_in(server):
    """A real region other than the default is served and recorded there; IAM, a
    global service, records in us-east-1 whatever region the client signs for."""
    west = Config(region_name="eu-west-1")
    sts_id = server.client("sts", config=west).get_caller_identity()["ResponseMetadata"]["RequestId"]
    iam_id = server.client("iam", config=west).list_users()["ResponseMetadata"]["RequestId"]
    (sts_rec,) = server.events_for_request(sts_id)
    (iam_rec,) = server.events_for_request(iam_id)
    assert sts_rec["awsRegion"] == "eu-west-1"
    assert iam_rec["awsRegion"] == "us-east-1"


@pytest.fixture(scope="module")
def logs_bucket(server) -> str:
    return make_trail_bucket(server)


# ----- finding 11: request size and record size ---------------------------------


def test_8_mib_user_name_is_refused_before_it_reaches_the_audit_store(server, nobody):
    """A denied CreateUser with an 8 MiB UserName used to write 17 MB into the
    audit store (requestParameters and the AccessDenied message). The body is over
    IAM's request cap: 413 RequestEntityTooLarge, and no record carries it."""
    before = server.max_seq()
    marker = unique("big")
    # Just under the old 8 MiB body cap, as the red team sent it.
    name = marker + "A" * (8 * 1024 * 1024 - 1024)
    status, body = send_oversized(
        server,
        nobody.creds,
        "iam",
        f"Action=CreateUser&Version=2010-05-08&UserName={name}".encode(),
        {"Content-Type": FORM},
    )
    assert status == 413
    assert parse_xml_error(body)["Code"] == "RequestEntityTooLarge"
    server_still_answers(server, nobody.creds)
    for row in server.event_rows(before):
        assert len(json.dumps(row.record)) < 16 * 1024


def test_large_denied_user_name_is_recorded_bounded_and_marked_omitted(server, nobody):
    """Under the cap, a 900 KB UserName is denied (AccessDenied, whose message quotes
    the resource ARN bounded) and its record stays small: requestParameters over
    CloudTrail's 100 KB are left out and the record says `"omitted": true`."""
    name = "B" * (900 * 1024)
    status, h, body = query(server, nobody.creds, f"Action=CreateUser&Version=2010-05-08&UserName={name}")
    assert status == 403, body[:300]
    err = parse_xml_error(body)
    assert err["Code"] == "AccessDenied"
    assert len(err["Message"]) < 1024
    (rec,) = server.events_for_request(err["RequestId"])
    text = json.dumps(rec)
    assert len(text) < 8 * 1024, len(text)
    assert rec["omitted"] is True
    assert rec["requestParameters"] is None
    assert rec["errorCode"] == "AccessDenied"
    assert rec["errorMessage"] == err["Message"]


def test_large_invalid_user_name_from_an_admin_is_answered_and_recorded_bounded(server):
    """Allowed but invalid, the same 900 KB UserName is a ValidationError that
    quotes the value bounded, and its record stays small too."""
    admin = make_user(server, admin=True, prefix="admin")
    name = "C" * (900 * 1024)
    status, _h, body = query(server, admin.creds, f"Action=CreateUser&Version=2010-05-08&UserName={name}")
    assert status == 400, body[:300]
    err = parse_xml_error(body)
    assert err["Code"] == "ValidationError"
    assert len(err["Message"]) < 1024
    (rec,) = server.events_for_request(err["RequestId"])
    assert len(json.dumps(rec)) < 8 * 1024
    assert rec["omitted"] is True


def test_small_records_carry_no_omitted_marker(server, nobody):
    """The marker appears only where something was cut."""
    status, _h, body = query(server, nobody.creds, "Action=CreateUser&Version=2010-05-08&UserName=ok-name")
    assert status == 403
    (rec,) = server.events_for_request(parse_xml_error(body)["RequestId"])
    assert "omitted" not in rec
    assert rec["requestParameters"] == {"userName": "ok-name"}


# ----- finding 17: every x-amz-* header signed ----------------------------------


def test_unsigned_x_amz_target_replay_is_refused(server, logs_bucket):
    """A GetTrail request signed without its X-Amz-Target was replayed with
    `X-Amz-Target: ...StopLogging` and stopped the trail. Every x-amz-* header
    present must be signed: 403 InvalidSignatureException naming the header, and
    the trail keeps logging."""
    ct = server.client("cloudtrail")
    name = unique("tg-replay-trail")
    ct.create_trail(Name=name, S3BucketName=logs_bucket)
    ct.start_logging(Name=name)
    payload = json.dumps({"Name": name}).encode()
    status, h, body = signed(
        server,
        server.root_creds,
        "cloudtrail",
        payload,
        {"Content-Type": AMZ_JSON},
        after_signing={"X-Amz-Target": f"{CLOUDTRAIL_TARGET}.StopLogging"},
    )
    assert status == 403, body[:300]
    assert error_type(h) == "InvalidSignatureException"
    assert "x-amz-target" in json_error(body)["message"]
    assert ct.get_trail_status(Name=name)["IsLogging"] is True
    # The same request with its target signed is served.
    status, _h, body = cloudtrail(server, server.root_creds, "GetTrail", payload)
    assert status == 200, body[:300]
    ct.delete_trail(Name=name)


def test_unsigned_amz_header_on_a_query_request_is_refused(server, nobody):
    """The rule holds for every service: an IAM request with an unsigned x-amz-*
    header is refused as SignatureDoesNotMatch naming the header."""
    status, _h, body = query(
        server,
        nobody.creds,
        "Action=GetUser&Version=2010-05-08",
        after_signing={"X-Amz-Meta-Anything": "x"},
    )
    assert status == 403
    err = parse_xml_error(body)
    assert err["Code"] == "SignatureDoesNotMatch"
    assert "x-amz-meta-anything" in err["Message"]


def test_unsigned_amz_header_on_s3_is_access_denied(server):
    """S3 answers as AWS does: AccessDenied, "There were headers present in the
    request which were not signed"."""
    bucket = unique("tg-unsigned-hdr")
    s3 = server.client("s3", config=Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket=bucket)
    creds = server.root_creds
    req = AWSRequest(method="GET", url=f"{server.endpoint}/{bucket}", headers={})
    req.headers["x-amz-content-sha256"] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    SigV4Auth(
        Credentials(creds["aws_access_key_id"], creds["aws_secret_access_key"]), "s3", REGION
    ).add_auth(req)
    prepared = req.prepare()
    headers = dict(prepared.headers.items())
    headers["x-amz-request-payer"] = "requester"
    status, _h, body = http_request(prepared.url, headers=headers, method="GET")
    assert status == 403, body[:300]
    assert b"<Code>AccessDenied</Code>" in body
    assert b"There were headers present in the request which were not signed" in body
    s3.delete_bucket(Bucket=bucket)


def test_error_messages_quote_long_input_bounded(server, nobody):
    """An unknown X-Amz-Target of 20 KB is named in the error, cut to a bounded quote."""
    target = CLOUDTRAIL_TARGET + "." + "X" * (20 * 1024)
    status, _h, body = signed(
        server, nobody.creds, "cloudtrail", b"{}", {"Content-Type": AMZ_JSON, "X-Amz-Target": target}
    )
    assert status == 400
    assert len(json_error(body)["message"]) < 1024

