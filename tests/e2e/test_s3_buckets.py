"""S3 buckets and objects: path-style REST/XML on the shared endpoint, through
boto3 and the AWS CLI.

Covered: CreateBucket (us-east-1's legacy idempotent re-create, BucketAlreadyOwnedByYou
elsewhere, InvalidBucketName), ListBuckets, HeadBucket, GetBucketLocation,
Put/Get/DeleteBucketPolicy (NoSuchBucketPolicy, MalformedPolicy), PutObject /
GetObject / HeadObject (user metadata, Content-Type, ETag = quoted MD5), NoSuchKey,
idempotent DeleteObject, ListObjects v1 (Prefix, Marker, MaxKeys, IsTruncated,
NextMarker only with a Delimiter) and ListObjectsV2 (Prefix, StartAfter, MaxKeys,
ContinuationToken, KeyCount, Delimiter/CommonPrefixes) including botocore's
paginators and its automatic EncodingType=url, keys with spaces, unicode and
slashes, DeleteBucket (BucketNotEmpty, NoSuchBucket), and `aws s3api` / `aws s3`.

S3's own audit records are deliberately not asserted on here.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import subprocess

import pytest
from botocore.config import Config

from conftest import AWS_CLI
from e2e_util import REGION, raises_aws, unique

PATH_STYLE = Config(s3={"addressing_style": "path"})


@pytest.fixture(scope="module")
def s3(server):
    return server.client("s3", config=PATH_STYLE)


def bucket_name(prefix="tg-s3") -> str:
    return unique(prefix)  # lower-case letters, digits and hyphens only


def new_bucket(s3, prefix="tg-s3", **kwargs) -> str:
    name = bucket_name(prefix)
    s3.create_bucket(Bucket=name, **kwargs)
    return name


def put_keys(s3, bucket, keys):
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())


def md5_etag(body: bytes) -> str:
    return '"' + hashlib.md5(body).hexdigest() + '"'


def status(resp) -> int:
    return resp["ResponseMetadata"]["HTTPStatusCode"]


def v1_keys(resp) -> list[str]:
    return [o["Key"] for o in resp.get("Contents", [])]


def prefixes(resp) -> list[str]:
    return [p["Prefix"] for p in resp.get("CommonPrefixes", [])]


def run_cli(srv, *args, check=True) -> subprocess.CompletedProcess:
    """The AWS CLI against srv with raw text output (for `aws s3 ...`, which prints no JSON)."""
    env = dict(os.environ)
    env["AWS_ACCESS_KEY_ID"] = srv.root_creds["aws_access_key_id"]
    env["AWS_SECRET_ACCESS_KEY"] = srv.root_creds["aws_secret_access_key"]
    cmd = [str(AWS_CLI), *map(str, args), "--endpoint-url", srv.endpoint, "--region", REGION]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    if check:
        assert proc.returncode == 0, f"{cmd} exited {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    return proc


# ----- buckets ----------------------------------------------------------------


def test_create_list_and_head_buckets(s3):
    name = bucket_name()
    created = s3.create_bucket(Bucket=name)
    assert status(created) == 200
    assert created["Location"] == f"/{name}"
    # us-east-1 keeps its legacy behaviour: re-creating your own bucket there is a 200.
    assert status(s3.create_bucket(Bucket=name)) == 200

    listed = s3.list_buckets()
    mine = [b for b in listed["Buckets"] if b["Name"] == name]
    assert len(mine) == 1
    assert isinstance(mine[0]["CreationDate"], datetime.datetime)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - mine[0]["CreationDate"]).total_seconds()) < 300
    assert listed["Owner"]["ID"]
    names = [b["Name"] for b in listed["Buckets"]]
    assert names == sorted(names)

    assert status(s3.head_bucket(Bucket=name)) == 200
    with raises_aws("404", 404):  # HEAD has no body, so botocore reports the status
        s3.head_bucket(Bucket=bucket_name("tg-missing"))


def test_bucket_names_are_validated(s3):
    for bad in ("Bad_Name", "ab", "-leading-hyphen", "two..dots", "192.168.5.4"):
        with raises_aws("InvalidBucketName", 400):
            s3.create_bucket(Bucket=bad)
    assert not {"Bad_Name", "ab"} & {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_bucket_location(s3):
    home = new_bucket(s3)
    assert s3.get_bucket_location(Bucket=home)["LocationConstraint"] is None

    config = {"LocationConstraint": "eu-west-1"}
    away = bucket_name("tg-eu")
    s3.create_bucket(Bucket=away, CreateBucketConfiguration=config)
    assert s3.get_bucket_location(Bucket=away)["LocationConstraint"] == "eu-west-1"
    # Outside us-east-1, re-creating your own bucket is an error.
    with raises_aws("BucketAlreadyOwnedByYou", 409):
        s3.create_bucket(Bucket=away, CreateBucketConfiguration=config)

    with raises_aws("NoSuchBucket", 404):
        s3.get_bucket_location(Bucket=bucket_name("tg-missing"))


def test_bucket_policy_put_get_delete(s3):
    bucket = new_bucket(s3)
    with raises_aws("NoSuchBucketPolicy", 404):
        s3.get_bucket_policy(Bucket=bucket)

    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadForCloudTrail",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": f"arn:aws:s3:::{bucket}",
            },
            {
                "Sid": "DenyInsecure",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }
    assert status(s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))) == 204
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == policy

    with raises_aws("MalformedPolicy", 400):
        s3.put_bucket_policy(Bucket=bucket, Policy="{not json")
    other_bucket = {**policy, "Statement": [{**policy["Statement"][0], "Resource": "arn:aws:s3:::someone-elses-bucket"}]}
    with raises_aws("MalformedPolicy", 400):
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(other_bucket))
    # A rejected policy leaves the old one in place.
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == policy

    assert status(s3.delete_bucket_policy(Bucket=bucket)) == 204
    with raises_aws("NoSuchBucketPolicy", 404):
        s3.get_bucket_policy(Bucket=bucket)
    with raises_aws("NoSuchBucket", 404):
        s3.put_bucket_policy(Bucket=bucket_name("tg-missing"), Policy=json.dumps(policy))


def test_delete_bucket_only_when_empty(s3):
    bucket = new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="keep/me.txt", Body=b"x")
    with raises_aws("BucketNotEmpty", 409):
        s3.delete_bucket(Bucket=bucket)
    assert status(s3.head_bucket(Bucket=bucket)) == 200

    s3.delete_object(Bucket=bucket, Key="keep/me.txt")
    assert status(s3.delete_bucket(Bucket=bucket)) == 204
    with raises_aws("404", 404):
        s3.head_bucket(Bucket=bucket)
    with raises_aws("NoSuchBucket", 404):
        s3.list_objects_v2(Bucket=bucket)
    with raises_aws("NoSuchBucket", 404):
        s3.delete_bucket(Bucket=bucket)
    assert bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


# ----- objects ----------------------------------------------------------------


def test_object_round_trip_with_metadata_content_type_and_etag(s3):
    bucket = new_bucket(s3)
    body = b"hello, trailguard\n"
    put = s3.put_object(
        Bucket=bucket,
        Key="notes/hello.txt",
        Body=body,
        ContentType="text/plain; charset=utf-8",
        Metadata={"Color": "Blue", "owner-team": "audit"},
    )
    assert put["ETag"] == md5_etag(body)

    got = s3.get_object(Bucket=bucket, Key="notes/hello.txt")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/plain; charset=utf-8"
    assert got["ContentLength"] == len(body)
    assert got["ETag"] == md5_etag(body)
    # S3 stores user-metadata names in lower case and values as given.
    assert got["Metadata"] == {"color": "Blue", "owner-team": "audit"}
    assert isinstance(got["LastModified"], datetime.datetime)

    head = s3.head_object(Bucket=bucket, Key="notes/hello.txt")
    assert head["ContentLength"] == len(body)
    assert head["ContentType"] == "text/plain; charset=utf-8"
    assert head["ETag"] == md5_etag(body)
    assert head["Metadata"] == {"color": "Blue", "owner-team": "audit"}

    # Overwrite replaces body, metadata and ETag; every byte value survives.
    binary = bytes(range(256)) * 4
    assert s3.put_object(Bucket=bucket, Key="notes/hello.txt", Body=binary)["ETag"] == md5_etag(binary)
    got = s3.get_object(Bucket=bucket, Key="notes/hello.txt")
    assert got["Body"].read() == binary
    assert got["Metadata"] == {}
    assert got["ContentType"] == "binary/octet-stream"  # S3's default when none is given

    assert s3.put_object(Bucket=bucket, Key="empty", Body=b"")["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
    assert s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""


def test_missing_objects_and_idempotent_delete(s3):
    bucket = new_bucket(s3)
    with raises_aws("NoSuchKey", 404):
        s3.get_object(Bucket=bucket, Key="nope.txt")
    with raises_aws("404", 404):
        s3.head_object(Bucket=bucket, Key="nope.txt")
    with raises_aws("NoSuchBucket", 404):
        s3.get_object(Bucket=bucket_name("tg-missing"), Key="nope.txt")
    with raises_aws("NoSuchBucket", 404):
        s3.put_object(Bucket=bucket_name("tg-missing"), Key="k", Body=b"x")

    # Deleting a key that is not there is a success, as is deleting twice.
    assert status(s3.delete_object(Bucket=bucket, Key="nope.txt")) == 204
    s3.put_object(Bucket=bucket, Key="gone.txt", Body=b"bye")
    assert status(s3.delete_object(Bucket=bucket, Key="gone.txt")) == 204
    assert status(s3.delete_object(Bucket=bucket, Key="gone.txt")) == 204
    with raises_aws("NoSuchKey", 404):
        s3.get_object(Bucket=bucket, Key="gone.txt")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


ODD_KEYS = [
    "dir one/naïve café.txt",
    "dir one/sub/☃ snow+man.txt",
    "plus+sign&and=equals?.txt",
    "percent%20literal.txt",
    "trailing space ",
    "deep/a/b/c/d.txt",
    "quote'(paren)~tilde*star.txt",
    "日本語/ファイル.json",
]


def test_keys_with_spaces_unicode_and_slashes_round_trip(s3, server):
    bucket = new_bucket(s3)
    put_keys(s3, bucket, ODD_KEYS)
    for key in ODD_KEYS:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(key.encode())

    # S3 lists in UTF-8 byte order, which is code-point order. botocore asks for
    # EncodingType=url on both list calls and decodes the keys it gets back.
    expected = sorted(ODD_KEYS)
    assert v1_keys(s3.list_objects(Bucket=bucket)) == expected
    assert v1_keys(s3.list_objects_v2(Bucket=bucket)) == expected
    assert v1_keys(s3.list_objects_v2(Bucket=bucket, Prefix="dir one/")) == [k for k in expected if k.startswith("dir one/")]
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert prefixes(top) == ["deep/", "dir one/", "日本語/"]
    assert v1_keys(top) == [k for k in expected if "/" not in k]

    # The CLI (another botocore, its own encoding) sees the same keys.
    listed = server.aws("s3api", "list-objects-v2", "--bucket", bucket)
    assert [o["Key"] for o in listed["Contents"]] == expected

    for key in ODD_KEYS:
        s3.delete_object(Bucket=bucket, Key=key)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


LIST_KEYS = ["c", "a/2", "b/1", "a/1", "a/3", "b/2", "a/sub/x"]


def test_list_objects_v1_prefix_marker_max_keys(s3):
    bucket = new_bucket(s3)
    put_keys(s3, bucket, LIST_KEYS)
    everything = sorted(LIST_KEYS)

    whole = s3.list_objects(Bucket=bucket)
    assert v1_keys(whole) == everything
    assert whole["IsTruncated"] is False
    assert whole["Name"] == bucket
    assert whole["MaxKeys"] == 1000
    first = whole["Contents"][0]
    assert first["Size"] == len(first["Key"]) and first["ETag"] == md5_etag(first["Key"].encode())
    assert first["StorageClass"] == "STANDARD"

    assert v1_keys(s3.list_objects(Bucket=bucket, Prefix="a/")) == ["a/1", "a/2", "a/3", "a/sub/x"]
    assert v1_keys(s3.list_objects(Bucket=bucket, Prefix="zzz")) == []

    page = s3.list_objects(Bucket=bucket, MaxKeys=2)
    assert v1_keys(page) == everything[:2]
    assert page["IsTruncated"] is True
    assert page["MaxKeys"] == 2
    # Without a Delimiter, S3 v1 gives no NextMarker: clients continue from the last key.
    assert "NextMarker" not in page

    after = s3.list_objects(Bucket=bucket, Marker="a/3")
    assert v1_keys(after) == ["a/sub/x", "b/1", "b/2", "c"]
    assert after["Marker"] == "a/3"
    # A marker need not be an existing key.
    assert v1_keys(s3.list_objects(Bucket=bucket, Marker="b")) == ["b/1", "b/2", "c"]
    assert v1_keys(s3.list_objects(Bucket=bucket, Prefix="a/", Marker="a/2")) == ["a/3", "a/sub/x"]

    rolled = s3.list_objects(Bucket=bucket, Delimiter="/")
    assert prefixes(rolled) == ["a/", "b/"]
    assert v1_keys(rolled) == ["c"]
    truncated = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=1)
    assert truncated["IsTruncated"] is True
    assert truncated["NextMarker"] == "a/"  # with a Delimiter, S3 says where to resume
    nested = s3.list_objects(Bucket=bucket, Prefix="a/", Delimiter="/")
    assert v1_keys(nested) == ["a/1", "a/2", "a/3"] and prefixes(nested) == ["a/sub/"]


def test_list_objects_v1_paginators_return_every_key_once_in_order(s3):
    bucket = new_bucket(s3)
    keys = [f"k/{i:03d}" for i in range(23)] + ["j", "l"]
    put_keys(s3, bucket, reversed(keys))
    paginator = s3.get_paginator("list_objects")

    pages = list(paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 4}))
    assert len(pages) == 7
    assert [k for p in pages for k in v1_keys(p)] == sorted(keys)
    assert all(p["IsTruncated"] for p in pages[:-1]) and not pages[-1]["IsTruncated"]

    # With a Delimiter the common prefix "k/" counts once even across pages.
    pages = list(paginator.paginate(Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1}))
    assert [k for p in pages for k in v1_keys(p)] == ["j", "l"]
    assert [c for p in pages for c in prefixes(p)] == ["k/"]


def test_list_objects_v2_tokens_start_after_and_common_prefixes(s3):
    bucket = new_bucket(s3)
    put_keys(s3, bucket, LIST_KEYS)
    everything = sorted(LIST_KEYS)

    whole = s3.list_objects_v2(Bucket=bucket)
    assert v1_keys(whole) == everything
    assert whole["KeyCount"] == len(everything)
    assert whole["IsTruncated"] is False and "NextContinuationToken" not in whole

    first = s3.list_objects_v2(Bucket=bucket, MaxKeys=3)
    assert v1_keys(first) == everything[:3]
    assert first["KeyCount"] == 3 and first["MaxKeys"] == 3
    assert first["IsTruncated"] is True
    token = first["NextContinuationToken"]
    second = s3.list_objects_v2(Bucket=bucket, MaxKeys=3, ContinuationToken=token)
    assert second["ContinuationToken"] == token
    assert v1_keys(second) == everything[3:6]
    third = s3.list_objects_v2(Bucket=bucket, MaxKeys=3, ContinuationToken=second["NextContinuationToken"])
    assert v1_keys(third) == everything[6:]
    assert third["IsTruncated"] is False and "NextContinuationToken" not in third

    started = s3.list_objects_v2(Bucket=bucket, StartAfter="a/3")
    assert started["StartAfter"] == "a/3"
    assert v1_keys(started) == ["a/sub/x", "b/1", "b/2", "c"]
    assert v1_keys(s3.list_objects_v2(Bucket=bucket, Prefix="b/")) == ["b/1", "b/2"]
    assert v1_keys(s3.list_objects_v2(Bucket=bucket, Prefix="a/", StartAfter="a/1", MaxKeys=2)) == ["a/2", "a/3"]

    rolled = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert prefixes(rolled) == ["a/", "b/"]
    assert v1_keys(rolled) == ["c"]
    assert rolled["KeyCount"] == 3  # common prefixes count as keys
    assert rolled["Delimiter"] == "/"
    nested = s3.list_objects_v2(Bucket=bucket, Prefix="a/", Delimiter="/")
    assert v1_keys(nested) == ["a/1", "a/2", "a/3"] and prefixes(nested) == ["a/sub/"]

    paginated = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2})
    assert [k for p in paginated for k in v1_keys(p)] == everything
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1})
    pages = list(pages)
    assert [c for p in pages for c in prefixes(p)] == ["a/", "b/"]
    assert [k for p in pages for k in v1_keys(p)] == ["c"]

    with raises_aws("InvalidArgument", 400):
        s3.list_objects_v2(Bucket=bucket, ContinuationToken="not-a-token")


# ----- the AWS CLI ------------------------------------------------------------


def test_cli_s3api_and_s3_commands(server, tmp_path):
    bucket = bucket_name("tg-cli")
    assert server.aws("s3api", "create-bucket", "--bucket", bucket) == {"Location": f"/{bucket}"}
    assert server.aws("s3api", "get-bucket-location", "--bucket", bucket)["LocationConstraint"] is None

    local = tmp_path / "report.txt"
    local.write_bytes(b"quarterly numbers\n")
    put = server.aws(
        "s3api", "put-object", "--bucket", bucket, "--key", "docs/q1 report.txt", "--body", str(local),
        "--content-type", "text/plain", "--metadata", "Dept=finance",
    )
    assert put["ETag"] == md5_etag(local.read_bytes())
    head = server.aws("s3api", "head-object", "--bucket", bucket, "--key", "docs/q1 report.txt")
    assert head["ContentLength"] == len(b"quarterly numbers\n")
    assert head["ContentType"] == "text/plain"
    assert head["Metadata"] == {"dept": "finance"}
    assert head["ETag"] == put["ETag"]

    other = tmp_path / "other.bin"
    other.write_bytes(os.urandom(3000))
    out = run_cli(server, "s3", "cp", other, f"s3://{bucket}/docs/other.bin").stdout
    assert "upload: " in out and f" to s3://{bucket}/docs/other.bin" in out
    run_cli(server, "s3", "cp", local, f"s3://{bucket}/top.txt")

    top = run_cli(server, "s3", "ls", f"s3://{bucket}/").stdout.splitlines()
    assert any(line.split() == ["PRE", "docs/"] for line in top), top
    assert any(line.endswith(" 18 top.txt") for line in top), top
    docs = run_cli(server, "s3", "ls", f"s3://{bucket}/docs/").stdout.splitlines()
    sizes = {name: int(size) for _day, _time, size, name in (line.split(None, 3) for line in docs)}
    assert sizes == {"q1 report.txt": 18, "other.bin": 3000}, docs
    assert bucket in run_cli(server, "s3", "ls").stdout

    back = tmp_path / "back.bin"
    run_cli(server, "s3", "cp", f"s3://{bucket}/docs/other.bin", back)
    assert back.read_bytes() == other.read_bytes()
    missing = run_cli(server, "s3", "cp", f"s3://{bucket}/docs/absent.bin", tmp_path / "x", check=False)
    assert missing.returncode != 0 and "404" in missing.stderr

    listed = server.aws("s3api", "list-objects", "--bucket", bucket, "--prefix", "docs/")
    assert [o["Key"] for o in listed["Contents"]] == ["docs/other.bin", "docs/q1 report.txt"]

    refused = run_cli(server, "s3", "rb", f"s3://{bucket}", check=False)
    assert refused.returncode != 0 and "BucketNotEmpty" in refused.stderr
    run_cli(server, "s3", "rm", f"s3://{bucket}/", "--recursive")
    run_cli(server, "s3", "rb", f"s3://{bucket}")
    assert bucket not in {b["Name"] for b in server.aws("s3api", "list-buckets")["Buckets"]}
