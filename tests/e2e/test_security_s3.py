"""Attacks on S3, and what trailguard answers (issue 11: finding 13 and the S3
items found alongside).

Routing: a call for a sub-resource trailguard does not serve (ACLs, versioning,
tagging, public access blocks, ...) answers `NotImplemented` (501) and changes
nothing, instead of being taken for the plain GET/PUT/DELETE of the bucket or
object. Signatures: presigned URLs (`UNSIGNED-PAYLOAD`) and `aws-chunked`
uploads whose every chunk is signed work, and any tampering is refused.
Bucket policies: decided on every S3 call, for IAM users and roles, for other
accounts and for the service principals that write into buckets (CloudTrail,
GuardDuty); an explicit Deny wins over any Allow.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import hmac
import json
import time
import urllib.parse

import pytest
from botocore.config import Config

from e2e_util import (
    ACCOUNT_ID,
    REGION,
    ROOT_ACCESS_KEY_ID,
    ROOT_SECRET_ACCESS_KEY,
    http_request,
    make_user,
    raises_aws,
    unique,
    wait_until,
    xml_find_text,
)

PATH_STYLE = Config(s3={"addressing_style": "path"})
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
FAST_TRAILS = {"TRAILGUARD_TRAIL_LOG_INTERVAL": "1", "TRAILGUARD_TRAIL_DIGEST_INTERVAL": "3"}
NOT_IMPLEMENTED = "A header or query you provided implies functionality that is not implemented."


@pytest.fixture(scope="module")
def s3(server):
    return server.client("s3", config=PATH_STYLE)


def new_bucket(s3, prefix="tg-sec") -> str:
    name = unique(prefix)
    s3.create_bucket(Bucket=name)
    return name


# ----- raw SigV4, for what boto3 cannot send ------------------------------------


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret: str, date: str) -> bytes:
    k = _hmac(("AWS4" + secret).encode(), date)
    k = _hmac(k, REGION)
    k = _hmac(k, "s3")
    return _hmac(k, "aws4_request")


def signed_headers_for(srv, method: str, path: str, query: str, headers: dict, payload_hash: str,
                       key_id=ROOT_ACCESS_KEY_ID, secret=ROOT_SECRET_ACCESS_KEY):
    """Headers for a header-signed S3 request (path as sent, query canonicalised);
    returns (headers, seed signature, amz date, scope)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    host = urllib.parse.urlparse(srv.endpoint).netloc
    h = {k.lower(): v for k, v in headers.items()}
    h.update({"host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash})
    names = sorted(h)
    pairs = sorted(
        (urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
        for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)
    )
    canonical = "\n".join([
        method,
        path,
        "&".join(f"{k}={v}" for k, v in pairs),
        "".join(f"{n}:{' '.join(str(h[n]).split())}\n" for n in names),
        ";".join(names),
        payload_hash,
    ])
    scope = f"{date}/{REGION}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signature = hmac.new(signing_key(secret, date), to_sign.encode(), hashlib.sha256).hexdigest()
    h["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    del h["host"]
    return h, signature, amz_date, scope


def raw(srv, method: str, path: str, query: str = "", body: bytes = b"", headers: dict | None = None):
    """A header-signed request with a signed payload hash; returns (status, headers, body)."""
    h, _, _, _ = signed_headers_for(srv, method, path, query, headers or {}, hashlib.sha256(body).hexdigest())
    url = srv.endpoint + path + (f"?{query}" if query else "")
    return http_request(url, data=body if method in ("PUT", "POST") else None, headers=h, method=method)


def chunk(secret: str, amz_date: str, scope: str, previous: str, data: bytes) -> tuple[bytes, str]:
    """One aws-chunked chunk signed after `previous`, as AWS's streaming SigV4 documents."""
    to_sign = "\n".join([
        "AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, EMPTY_SHA256, hashlib.sha256(data).hexdigest(),
    ])
    sig = hmac.new(signing_key(secret, amz_date[:8]), to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{len(data):x};chunk-signature={sig}\r\n".encode() + data + b"\r\n", sig


def chunked_put(srv, bucket: str, key: str, data: bytes, *, chunk_size=8192, tamper=None):
    """PUT `data` as aws-chunked with STREAMING-AWS4-HMAC-SHA256-PAYLOAD; `tamper`
    may rewrite the list of framed chunks before sending."""
    pieces = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    path = f"/{bucket}/{key}"
    headers = {
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
    }
    h, seed, amz_date, scope = signed_headers_for(srv, "PUT", path, "", headers, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    framed, previous = [], seed
    for p in pieces:
        c, previous = chunk(ROOT_SECRET_ACCESS_KEY, amz_date, scope, previous, p)
        framed.append(c)
    if tamper:
        framed = tamper(framed)
    body = b"".join(framed)
    return http_request(srv.endpoint + path, data=body, headers=h, method="PUT")


# ----- routing by sub-resource ------------------------------------------------


def test_get_bucket_sub_resources_do_not_answer_an_object_listing(server, s3):
    """Attack: GET ?acl, ?versioning, ?encryption (and every other unserved
    sub-resource) used to answer the bucket's object listing. trailguard answers
    S3's NotImplemented (501), with no key in the body."""
    bucket = new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="secret-listing-key", Body=b"x")
    for call in (s3.get_bucket_acl, s3.get_bucket_versioning, s3.get_bucket_encryption,
                 s3.get_bucket_tagging, s3.get_public_access_block, s3.get_bucket_lifecycle_configuration,
                 s3.get_bucket_cors, s3.get_bucket_website, s3.get_bucket_logging, s3.get_object_lock_configuration,
                 s3.get_bucket_ownership_controls, s3.get_bucket_policy_status, s3.list_multipart_uploads,
                 s3.list_object_versions):
        with raises_aws("NotImplemented", 501, NOT_IMPLEMENTED):
            call(Bucket=bucket)
    for sub in ("acl", "versioning", "encryption", "tagging", "uploads", "versions", "replication", "somethingNew"):
        status, _, body = raw(server, "GET", f"/{bucket}", sub)
        assert status == 501, (sub, body)
        assert xml_find_text(body, "Code") == "NotImplemented"
        assert b"secret-listing-key" not in body
    # The served sub-resources still answer.
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["secret-listing-key"]


def test_put_object_tagging_does_not_overwrite_the_object(s3):
    """Attack: PutObjectTagging / PutObjectAcl used to store the tagging XML as
    the object. trailguard answers NotImplemented and the object is unchanged."""
    bucket = new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="report.csv", Body=b"precious data")
    with raises_aws("NotImplemented", 501):
        s3.put_object_tagging(Bucket=bucket, Key="report.csv",
                              Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    with raises_aws("NotImplemented", 501):
        s3.put_object_acl(Bucket=bucket, Key="report.csv", ACL="private")
    with raises_aws("NotImplemented", 501):
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    # A copy would otherwise store an empty object over the destination.
    with raises_aws("NotImplemented", 501):
        s3.copy_object(Bucket=bucket, Key="report.csv", CopySource={"Bucket": bucket, "Key": "other"})
    # Object lock would be silently missing: refused rather than ignored.
    with raises_aws("NotImplemented", 501):
        s3.put_object(Bucket=bucket, Key="report.csv", Body=b"locked?", ObjectLockMode="COMPLIANCE",
                      ObjectLockRetainUntilDate=datetime.datetime(2099, 1, 1, tzinfo=datetime.timezone.utc))
    with raises_aws("NotImplemented", 501):
        s3.create_bucket(Bucket=unique("tg-sec-lock"), ObjectLockEnabledForBucket=True)
    assert s3.get_object(Bucket=bucket, Key="report.csv")["Body"].read() == b"precious data"


def test_delete_of_a_sub_resource_does_not_delete_the_bucket_or_object(s3):
    """Attack: DeleteBucketTagging, DeletePublicAccessBlock, DeleteBucketCors and
    DeleteObjectTagging used to delete the bucket or the object itself.
    trailguard answers NotImplemented and both are still there."""
    bucket = new_bucket(s3)
    with raises_aws("NotImplemented", 501):
        s3.delete_bucket_tagging(Bucket=bucket)
    with raises_aws("NotImplemented", 501):
        s3.delete_public_access_block(Bucket=bucket)
    with raises_aws("NotImplemented", 501):
        s3.delete_bucket_cors(Bucket=bucket)
    s3.head_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="keep", Body=b"still here")
    with raises_aws("NotImplemented", 501):
        s3.delete_object_tagging(Bucket=bucket, Key="keep")
    with raises_aws("NotImplemented", 501):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "keep"}]})
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"still here"


def test_deeply_nested_create_bucket_configuration_is_refused(server):
    """Attack: a CreateBucket body of 50,000 nested elements. trailguard's bounded
    XML reader answers MalformedXML (400) without recursing; no bucket is made."""
    name = unique("tg-sec-xml")
    body = b"<a>" * 50_000 + b"</a>" * 50_000
    status, _, answer = raw(server, "PUT", f"/{name}", body=body)
    assert status == 400 and xml_find_text(answer, "Code") == "MalformedXML"
    status, _, _ = raw(server, "HEAD", f"/{name}")
    assert status == 404


# ----- signatures -------------------------------------------------------------


def test_presigned_urls_work_and_tampered_ones_fail(server, s3):
    """Presigned GET and PUT URLs (payload UNSIGNED-PAYLOAD) never verified before.
    trailguard accepts them as S3 does, and refuses one whose key, expiry or
    signature was changed (SignatureDoesNotMatch, 403)."""
    bucket = new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="shared.txt", Body=b"shared by url")
    s3 = server.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "shared.txt"}, ExpiresIn=300)
    status, _, body = http_request(get_url)
    assert (status, body) == (200, b"shared by url")

    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "upload.txt"}, ExpiresIn=300)
    status, _, body = http_request(put_url, data=b"uploaded by url", method="PUT")
    assert status == 200, body
    assert s3.get_object(Bucket=bucket, Key="upload.txt")["Body"].read() == b"uploaded by url"

    for method, tampered, data in (
        ("GET", get_url.replace("shared.txt", "upload.txt"), None),
        ("GET", get_url.replace("X-Amz-Expires=300", "X-Amz-Expires=600"), None),
        ("PUT", put_url.replace("upload.txt", "shared.txt"), b"overwritten"),
        ("PUT", get_url, b"overwritten"),
    ):
        status, _, body = http_request(tampered, data=data, method=method)
        assert status == 403, (method, tampered, body)
        assert xml_find_text(body, "Code") == "SignatureDoesNotMatch"
    assert s3.get_object(Bucket=bucket, Key="shared.txt")["Body"].read() == b"shared by url"


def test_chunk_signed_streaming_upload_is_accepted_and_decoded(server, s3):
    """aws-chunked uploads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) used to be
    refused. trailguard checks every chunk's signature against the chain from
    the request's seed signature and stores the decoded bytes."""
    bucket = new_bucket(s3)
    data = bytes(range(256)) * 100  # 25,600 bytes: three full chunks and a short one
    status, _, body = chunked_put(server, bucket, "streamed.bin", data)
    assert status == 200, body
    got = s3.get_object(Bucket=bucket, Key="streamed.bin")
    assert got["Body"].read() == data
    assert got["ContentLength"] == len(data)


def test_streaming_upload_with_a_bad_chunk_signature_stores_nothing(server, s3):
    """Attack: an aws-chunked upload whose second chunk was changed in flight (or
    swapped for a chunk signed for another position). trailguard answers
    SignatureDoesNotMatch (403) and stores nothing."""
    bucket = new_bucket(s3)
    data = b"A" * 8192 + b"B" * 8192 + b"C" * 100

    def flip_byte(framed):
        c = bytearray(framed[1])
        c[-10] ^= 1
        return [framed[0], bytes(c), *framed[2:]]

    def swap(framed):
        return [framed[1], framed[0], *framed[2:]]

    for tamper in (flip_byte, swap):
        status, _, body = chunked_put(server, bucket, "streamed.bin", data, tamper=tamper)
        assert status == 403, body
        assert xml_find_text(body, "Code") == "SignatureDoesNotMatch"
    # A truncated stream (no final chunk) is incomplete.
    status, _, body = chunked_put(server, bucket, "streamed.bin", data, tamper=lambda f: f[:-1])
    assert status == 400 and xml_find_text(body, "Code") == "IncompleteBody"
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


# ----- bucket policies --------------------------------------------------------


def deny_policy(bucket: str, actions, resource=None) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyEveryone",
            "Effect": "Deny",
            "Principal": "*",
            "Action": actions,
            "Resource": resource or [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        }],
    })


def test_bucket_policy_deny_stops_an_administrator_of_the_same_account(server, s3):
    """Attack: an IAM user with AdministratorAccess writes, deletes and lists in
    a bucket whose policy explicitly denies those calls (bucket policies were not
    enforced). trailguard answers AccessDenied naming the resource-based policy,
    and the bucket's content is unchanged."""
    bucket = new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="evidence.log", Body=b"original")
    admin = make_user(server, admin=True, prefix="s3admin")
    mine = server.client("s3", config=PATH_STYLE, **admin.creds)
    mine.put_object(Bucket=bucket, Key="before-policy", Body=b"ok")  # allowed by identity alone
    s3.put_bucket_policy(Bucket=bucket, Policy=deny_policy(
        bucket, ["s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "s3:GetObject"]))
    for attempt in (
        lambda: mine.put_object(Bucket=bucket, Key="evidence.log", Body=b"forged"),
        lambda: mine.delete_object(Bucket=bucket, Key="evidence.log"),
        lambda: mine.list_objects_v2(Bucket=bucket),
        lambda: mine.list_objects(Bucket=bucket),
        lambda: mine.get_object(Bucket=bucket, Key="evidence.log"),
    ):
        with raises_aws("AccessDenied", 403, "explicit deny in a resource-based policy"):
            attempt()
    # The deny binds the account's root user too, except for the bucket policy itself.
    with raises_aws("AccessDenied", 403):
        s3.put_object(Bucket=bucket, Key="evidence.log", Body=b"forged")
    s3.delete_bucket_policy(Bucket=bucket)
    assert s3.get_object(Bucket=bucket, Key="evidence.log")["Body"].read() == b"original"
    assert sorted(o["Key"] for o in mine.list_objects_v2(Bucket=bucket)["Contents"]) == ["before-policy", "evidence.log"]


def test_bucket_policy_allow_alone_grants_a_same_account_user(server, s3):
    """A bucket policy naming a user of the bucket's account grants it without an
    identity policy (same account: either side allows); nothing else is granted."""
    bucket = new_bucket(s3)
    user = make_user(server, prefix="s3reader")
    theirs = server.client("s3", config=PATH_STYLE, **user.creds)
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    with raises_aws("AccessDenied", 403):
        theirs.get_object(Bucket=bucket, Key="a")
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": user.arn}, "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{bucket}/*"}],
    }))
    assert theirs.get_object(Bucket=bucket, Key="a")["Body"].read() == b"a"
    with raises_aws("AccessDenied", 403):
        theirs.put_object(Bucket=bucket, Key="a", Body=b"b")


def create_account(srv):
    """`trailguard account create` on the server's data directory."""
    import re
    import subprocess

    out = subprocess.run([str(srv.binary), "account", "create", "--data-dir", str(srv.data_dir)],
                         check=True, capture_output=True, text=True).stdout
    account = re.search(r"Created account (\d{12})", out).group(1)
    key = re.search(r"aws_access_key_id = (\S+)", out).group(1)
    secret = re.search(r"aws_secret_access_key = (\S+)", out).group(1)
    srv.secrets.add(secret)
    return account, {"aws_access_key_id": key, "aws_secret_access_key": secret}


def test_cross_account_access_needs_the_bucket_policy_and_the_callers_policy(fresh_server):
    """Another account's user reads a bucket only when the bucket policy lets its
    account in AND its own identity policy allows; either alone is AccessDenied,
    and the bucket policy and the bucket stay the owner's to change."""
    srv = fresh_server.start()
    owner = srv.client("s3", config=PATH_STYLE)
    bucket = new_bucket(owner, "tg-sec-xacct")
    owner.put_object(Bucket=bucket, Key="shared.txt", Body=b"for the partner")
    other_account, other_root = create_account(srv)
    other_iam = srv.client("iam", **other_root)
    other_iam.create_user(UserName="partner")
    key = other_iam.create_access_key(UserName="partner")["AccessKey"]
    srv.secrets.add(key["SecretAccessKey"])
    partner = srv.client("s3", config=PATH_STYLE, aws_access_key_id=key["AccessKeyId"],
                         aws_secret_access_key=key["SecretAccessKey"])

    # Neither side allows.
    with raises_aws("AccessDenied", 403):
        partner.get_object(Bucket=bucket, Key="shared.txt")
    # Only the caller's identity policy allows.
    other_iam.put_user_policy(UserName="partner", PolicyName="s3", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }))
    with raises_aws("AccessDenied", 403):
        partner.get_object(Bucket=bucket, Key="shared.txt")
    # Both allow.
    owner.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other_account}:root"},
                       "Action": ["s3:GetObject", "s3:ListBucket"],
                       "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}],
    }))
    assert partner.get_object(Bucket=bucket, Key="shared.txt")["Body"].read() == b"for the partner"
    assert [o["Key"] for o in partner.list_objects_v2(Bucket=bucket)["Contents"]] == ["shared.txt"]
    # Only what the bucket policy grants: no write, no policy change, no deletion.
    with raises_aws("AccessDenied", 403):
        partner.put_object(Bucket=bucket, Key="shared.txt", Body=b"overwritten")
    with raises_aws("AccessDenied", 403):
        partner.delete_bucket_policy(Bucket=bucket)
    with raises_aws("AccessDenied", 403):
        partner.delete_bucket(Bucket=bucket)
    # Only the bucket policy allows: the caller's side is gone.
    other_iam.delete_user_policy(UserName="partner", PolicyName="s3")
    with raises_aws("AccessDenied", 403):
        partner.get_object(Bucket=bucket, Key="shared.txt")
    assert owner.get_object(Bucket=bucket, Key="shared.txt")["Body"].read() == b"for the partner"


def trail_bucket_policy(bucket: str) -> dict:
    """AWS's documented CloudTrail bucket policy, plus a Deny that keeps everyone
    but CloudTrail from writing under AWSLogs/."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "s3:GetBucketAcl", "Resource": f"arn:aws:s3:::{bucket}"},
            {"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{ACCOUNT_ID}/*",
             "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}},
            {"Sid": "OnlyCloudTrailWritesLogs", "Effect": "Deny",
             "NotPrincipal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/*"},
        ],
    }


def test_forged_log_file_is_refused_while_cloudtrail_still_delivers(fresh_server):
    """Attack: an administrator drops a forged log file into the trail's folder
    and deletes a real one. With a bucket policy that lets only CloudTrail write
    there, trailguard refuses both (AccessDenied), while CloudTrail, writing as
    its service principal against the same policy, keeps delivering."""
    srv = fresh_server.start(extra_env=FAST_TRAILS)
    s3 = srv.client("s3", config=PATH_STYLE)
    bucket = new_bucket(s3, "tg-sec-trail")
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(trail_bucket_policy(bucket)))
    ct = srv.client("cloudtrail")
    ct.create_trail(Name="guarded", S3BucketName=bucket)
    ct.start_logging(Name="guarded")
    srv.client("iam").create_user(UserName=unique("trigger"))
    prefix = f"AWSLogs/{ACCOUNT_ID}/CloudTrail/"

    def delivered():
        return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]

    keys = wait_until(delivered, timeout=20, what="a delivered log file")
    assert ct.get_trail_status(Name="guarded").get("LatestDeliveryError") is None
    admin = make_user(srv, admin=True, prefix="forger")
    theirs = srv.client("s3", config=PATH_STYLE, **admin.creds)
    forged = json.dumps({"Records": []}).encode()
    with raises_aws("AccessDenied", 403):
        theirs.put_object(Bucket=bucket, Key=f"{prefix}{REGION}/forged.json.gz", Body=gzip.compress(forged))
    with raises_aws("AccessDenied", 403):
        theirs.delete_object(Bucket=bucket, Key=keys[0])
    assert not any("forged" in k for k in delivered())
    assert keys[0] in delivered()


def test_cloudtrail_delivery_is_refused_by_a_bucket_policy_deny(fresh_server):
    """A bucket policy that, after the trail was created, denies CloudTrail's
    writes is obeyed: nothing is delivered and the trail reports AccessDenied;
    restoring the policy delivers the backlog."""
    srv = fresh_server.start(extra_env=FAST_TRAILS)
    s3 = srv.client("s3", config=PATH_STYLE)
    bucket = new_bucket(s3, "tg-sec-trail")
    policy = trail_bucket_policy(bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    ct = srv.client("cloudtrail")
    ct.create_trail(Name="refused", S3BucketName=bucket)
    denied = dict(policy, Statement=policy["Statement"] + [{
        "Sid": "NoWrites", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/*"}])
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(denied))
    ct.start_logging(Name="refused")
    user = unique("while-denied")
    srv.client("iam").create_user(UserName=user)
    wait_until(lambda: ct.get_trail_status(Name="refused").get("LatestDeliveryError") == "AccessDenied",
               timeout=20, what="the delivery error")
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    def delivered_user():
        for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"AWSLogs/{ACCOUNT_ID}/CloudTrail/").get("Contents", []):
            records = json.loads(gzip.decompress(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()))
            if any(r.get("requestParameters", {}).get("userName") == user for r in records["Records"]):
                return True
        return False

    wait_until(delivered_user, timeout=20, what="the backlog after the policy was restored")


def test_guardduty_exports_only_where_the_bucket_policy_lets_it(fresh_server):
    """GuardDuty writes exported findings as guardduty.amazonaws.com: without a
    bucket policy naming it nothing is written and the destination reports
    UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY; with AWS's documented policy the
    queued findings arrive."""
    srv = fresh_server.start()
    gd = srv.client("guardduty")
    det = gd.create_detector(Enable=True)["DetectorId"]
    s3 = srv.client("s3", config=PATH_STYLE)
    bucket = new_bucket(s3, "tg-sec-gd")
    dest = gd.create_publishing_destination(
        DetectorId=det, DestinationType="S3",
        DestinationProperties={"DestinationArn": f"arn:aws:s3:::{bucket}",
                               "KmsKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/abcd"})["DestinationId"]
    gd.create_sample_findings(DetectorId=det, FindingTypes=["Recon:EC2/Portscan"])
    wait_until(lambda: gd.describe_publishing_destination(DetectorId=det, DestinationId=dest)["Status"]
               == "UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY", timeout=20, what="the refused export")
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "AllowGuardDutyPutObject", "Effect": "Allow",
                       "Principal": {"Service": "guardduty.amazonaws.com"}, "Action": "s3:PutObject",
                       "Resource": f"arn:aws:s3:::{bucket}/*",
                       "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}}],
    }))
    wait_until(lambda: s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) > 0, timeout=20,
               what="the export once the policy allows it")
    assert gd.describe_publishing_destination(DetectorId=det, DestinationId=dest)["Status"] == "PUBLISHING"


def test_bucket_policy_over_20_kb_is_refused(server, s3):
    """Attack: a user allowed only s3:PutBucketPolicy stores a policy of hundreds
    of kilobytes whose wildcards every later call on the bucket must match, so
    each denied GetObject held the store's writer for seconds. trailguard holds
    bucket policies to AWS's 20 KB limit (MalformedPolicy) and keeps the old one."""
    bucket = new_bucket(s3)
    small = deny_policy(bucket, ["s3:DeleteObject"])
    s3.put_bucket_policy(Bucket=bucket, Policy=small)
    patterns = [f"arn:aws:s3:::{bucket}/*{'a' * 500}b{i}" for i in range(60)]
    huge = deny_policy(bucket, ["s3:GetObject"], resource=patterns)
    assert len(huge.encode()) > 20 * 1024
    with raises_aws("MalformedPolicy", 400, "maximum allowed document size"):
        s3.put_bucket_policy(Bucket=bucket, Policy=huge)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(small)
