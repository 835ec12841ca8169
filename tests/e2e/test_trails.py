"""CloudTrail trails: the control plane through boto3 and the AWS CLI, and delivery of
log files to S3.

Control plane (shared server): CreateTrail (defaults, TrailAlreadyExists, trail-name
rules, S3BucketDoesNotExist, InsufficientS3BucketPolicy), DescribeTrails, GetTrail,
ListTrails, GetTrailStatus with Start/StopLogging, UpdateTrail, Put/GetEventSelectors
(basic and advanced), AddTags/ListTags/RemoveTags, DeleteTrail, ListPublicKeys.

Delivery (private servers with short intervals through TRAILGUARD_TRAIL_LOG_INTERVAL /
TRAILGUARD_TRAIL_DIGEST_INTERVAL, in seconds): the key layout, one gzip member holding
{"Records": [...]}, every management event after StartLogging delivered exactly once,
nothing from before it, WriteOnly selectors, StopLogging, the flush on SIGTERM, and no
loss or duplication across SIGKILLs.
"""

from __future__ import annotations

import collections
import datetime
import json
import re
import threading
import time
import zlib

import pytest
import rsa
from botocore.config import Config

from e2e_util import ACCOUNT_ID, REGION, AwsCliError, raises_aws, unique

PATH_STYLE = Config(s3={"addressing_style": "path"})
CLOUDTRAIL = "cloudtrail.amazonaws.com"
FAST = {"TRAILGUARD_TRAIL_LOG_INTERVAL": "1", "TRAILGUARD_TRAIL_DIGEST_INTERVAL": "3"}
DELIVERY_TIMEOUT = 20.0


def trail_arn(name: str) -> str:
    return f"arn:aws:cloudtrail:{REGION}:{ACCOUNT_ID}:trail/{name}"


def cloudtrail_bucket_policy(bucket: str, prefixes=(None,), *, source_arn: str | None = None) -> dict:
    """The bucket policy AWS documents for trail delivery, for each key prefix."""
    objects = [
        f"arn:aws:s3:::{bucket}/{p}/AWSLogs/{ACCOUNT_ID}/*" if p else f"arn:aws:s3:::{bucket}/AWSLogs/{ACCOUNT_ID}/*"
        for p in prefixes
    ]
    put_condition = {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}
    acl_statement = {
        "Sid": "AWSCloudTrailAclCheck",
        "Effect": "Allow",
        "Principal": {"Service": CLOUDTRAIL},
        "Action": "s3:GetBucketAcl",
        "Resource": f"arn:aws:s3:::{bucket}",
    }
    if source_arn:
        put_condition["StringEquals"]["aws:SourceArn"] = source_arn
        acl_statement["Condition"] = {"StringEquals": {"aws:SourceArn": source_arn}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            acl_statement,
            {
                "Sid": "AWSCloudTrailWrite",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL},
                "Action": "s3:PutObject",
                "Resource": objects if len(objects) > 1 else objects[0],
                "Condition": put_condition,
            },
        ],
    }


def make_trail_bucket(srv, prefixes=(None,), *, policy: dict | None = None, with_policy=True) -> str:
    s3 = srv.client("s3", config=PATH_STYLE)
    bucket = unique("tg-trail-logs")
    s3.create_bucket(Bucket=bucket)
    if with_policy:
        doc = policy if policy is not None else cloudtrail_bucket_policy(bucket, prefixes)
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(doc))
    return bucket


def trails_named(ct, name) -> list[dict]:
    return [t for t in ct.describe_trails()["trailList"] if t["Name"] == name]


# ----- control plane ----------------------------------------------------------


@pytest.fixture(scope="module")
def logs_bucket(server) -> str:
    """A bucket on the shared server whose policy lets CloudTrail write unprefixed logs."""
    return make_trail_bucket(server)


def test_create_trail_defaults_and_lookups(server, logs_bucket):
    ct = server.client("cloudtrail")
    bucket = logs_bucket
    name = unique("tg-trail")
    created = ct.create_trail(Name=name, S3BucketName=bucket)
    arn = trail_arn(name)
    assert created["Name"] == name
    assert created["S3BucketName"] == bucket
    assert created["TrailARN"] == arn
    assert created["IncludeGlobalServiceEvents"] is True
    assert created["IsMultiRegionTrail"] is False
    assert created["LogFileValidationEnabled"] is False
    assert created["IsOrganizationTrail"] is False
    assert "S3KeyPrefix" not in created

    with raises_aws("TrailAlreadyExistsException", 400):
        ct.create_trail(Name=name, S3BucketName=bucket)

    trail = ct.get_trail(Name=name)["Trail"]
    assert ct.get_trail(Name=arn)["Trail"] == trail
    assert trail["TrailARN"] == arn and trail["HomeRegion"] == REGION
    assert trail["S3BucketName"] == bucket
    assert trail["HasCustomEventSelectors"] is False
    assert trail["HasInsightSelectors"] is False
    assert trail["IsOrganizationTrail"] is False

    assert trails_named(ct, name) == [trail]
    by_name = ct.describe_trails(trailNameList=[name])["trailList"]
    by_arn = ct.describe_trails(trailNameList=[arn])["trailList"]
    assert by_name == by_arn == [trail]

    listed = [t for t in ct.list_trails()["Trails"] if t["Name"] == name]
    assert listed == [{"TrailARN": arn, "Name": name, "HomeRegion": REGION}]

    ct.delete_trail(Name=name)


def test_create_trail_with_prefix_validation_and_tags(server):
    ct = server.client("cloudtrail")
    bucket = make_trail_bucket(server, prefixes=("audit/logs",))
    name = unique("tg-trail")
    created = ct.create_trail(
        Name=name,
        S3BucketName=bucket,
        S3KeyPrefix="audit/logs",
        EnableLogFileValidation=True,
        IsMultiRegionTrail=True,
        TagsList=[{"Key": "team", "Value": "security"}],
    )
    assert created["S3KeyPrefix"] == "audit/logs"
    assert created["LogFileValidationEnabled"] is True
    assert created["IsMultiRegionTrail"] is True
    arn = created["TrailARN"]
    assert ct.list_tags(ResourceIdList=[arn])["ResourceTagList"] == [
        {"ResourceId": arn, "TagsList": [{"Key": "team", "Value": "security"}]}
    ]
    ct.delete_trail(Name=arn)


@pytest.mark.parametrize(
    "bad_name",
    ["a", "ab", "-bad", "bad-", "my..trail", "my-_trail", "my__trail", "has space", "x" * 129, "192.168.5.4", "tr@il"],
)
def test_trail_names_are_validated(server, bad_name, logs_bucket):
    ct = server.client("cloudtrail")
    bucket = logs_bucket
    with raises_aws("InvalidTrailNameException", 400):
        ct.create_trail(Name=bad_name, S3BucketName=bucket)


def test_edge_of_valid_trail_names(server, logs_bucket):
    ct = server.client("cloudtrail")
    bucket = logs_bucket
    for name in ("a.b_c-d1", "x" * 128, "Mixed.Case_9"):
        assert ct.create_trail(Name=name, S3BucketName=bucket)["Name"] == name
        ct.delete_trail(Name=name)


def test_trail_needs_an_existing_bucket_whose_policy_lets_cloudtrail_write(server, logs_bucket):
    ct = server.client("cloudtrail")
    name = unique("tg-trail")

    with raises_aws("S3BucketDoesNotExistException", 400):
        ct.create_trail(Name=name, S3BucketName=unique("tg-no-such-bucket"))

    no_policy = make_trail_bucket(server, with_policy=False)
    with raises_aws("InsufficientS3BucketPolicyException", 400):
        ct.create_trail(Name=name, S3BucketName=no_policy)

    def bucket_with(mutate) -> str:
        bucket = unique("tg-trail-logs")
        server.client("s3", config=PATH_STYLE).create_bucket(Bucket=bucket)
        doc = cloudtrail_bucket_policy(bucket)
        mutate(doc, bucket)
        server.client("s3", config=PATH_STYLE).put_bucket_policy(Bucket=bucket, Policy=json.dumps(doc))
        return bucket

    def other_service(doc, _bucket):
        for st in doc["Statement"]:
            st["Principal"] = {"Service": "config.amazonaws.com"}

    def no_put_object(doc, _bucket):
        doc["Statement"] = doc["Statement"][:1]

    def denied(doc, bucket):
        doc["Statement"].append(
            {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
        )

    for mutate in (other_service, no_put_object, denied):
        with raises_aws("InsufficientS3BucketPolicyException", 400):
            ct.create_trail(Name=name, S3BucketName=bucket_with(mutate))

    # The policy must cover the trail's prefix.
    unprefixed = logs_bucket
    with raises_aws("InsufficientS3BucketPolicyException", 400):
        ct.create_trail(Name=name, S3BucketName=unprefixed, S3KeyPrefix="elsewhere")
    assert not trails_named(ct, name)

    # A policy scoped to this trail's ARN and one covering the whole bucket both do.
    scoped = unique("tg-trail-logs")
    s3 = server.client("s3", config=PATH_STYLE)
    s3.create_bucket(Bucket=scoped)
    s3.put_bucket_policy(Bucket=scoped, Policy=json.dumps(cloudtrail_bucket_policy(scoped, source_arn=trail_arn(name))))
    assert ct.create_trail(Name=name, S3BucketName=scoped)["S3BucketName"] == scoped
    ct.delete_trail(Name=name)

    whole = bucket_with(lambda doc, b: doc["Statement"][1].update(Resource=f"arn:aws:s3:::{b}/*"))
    assert ct.create_trail(Name=name, S3BucketName=whole, S3KeyPrefix="any/prefix")["S3KeyPrefix"] == "any/prefix"
    ct.delete_trail(Name=name)


def test_logging_status_follows_start_and_stop(server, logs_bucket):
    ct = server.client("cloudtrail")
    name = unique("tg-trail")
    ct.create_trail(Name=name, S3BucketName=logs_bucket)
    status = ct.get_trail_status(Name=name)
    assert status["IsLogging"] is False
    assert "StartLoggingTime" not in status

    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    ct.start_logging(Name=name)
    status = ct.get_trail_status(Name=trail_arn(name))
    assert status["IsLogging"] is True
    started = status["StartLoggingTime"]
    assert before - datetime.timedelta(seconds=5) <= started <= before + datetime.timedelta(seconds=60)

    ct.stop_logging(Name=name)
    status = ct.get_trail_status(Name=name)
    assert status["IsLogging"] is False
    assert status["StopLoggingTime"] >= started
    assert status["StartLoggingTime"] == started

    with raises_aws("TrailNotFoundException", 400):
        ct.get_trail_status(Name=unique("tg-missing"))
    with raises_aws("TrailNotFoundException", 400):
        ct.start_logging(Name=unique("tg-missing"))
    ct.delete_trail(Name=name)


def test_update_trail(server):
    ct = server.client("cloudtrail")
    bucket = make_trail_bucket(server, prefixes=("pre", "newpre"))
    name = unique("tg-trail")
    ct.create_trail(Name=name, S3BucketName=bucket, S3KeyPrefix="pre")

    updated = ct.update_trail(Name=name, S3KeyPrefix="newpre", EnableLogFileValidation=True, IsMultiRegionTrail=True)
    assert updated["Name"] == name and updated["TrailARN"] == trail_arn(name)
    assert updated["S3KeyPrefix"] == "newpre"
    assert updated["LogFileValidationEnabled"] is True
    assert updated["IsMultiRegionTrail"] is True
    trail = ct.get_trail(Name=name)["Trail"]
    assert (trail["S3KeyPrefix"], trail["LogFileValidationEnabled"], trail["IsMultiRegionTrail"]) == ("newpre", True, True)

    # A multi-region trail must include global service events.
    with raises_aws("InvalidParameterCombinationException", 400):
        ct.update_trail(Name=name, IncludeGlobalServiceEvents=False)
    # The bucket policy is checked again for a new prefix; a failed update changes nothing.
    with raises_aws("InsufficientS3BucketPolicyException", 400):
        ct.update_trail(Name=name, S3KeyPrefix="uncovered")
    assert ct.get_trail(Name=name)["Trail"] == trail

    updated = ct.update_trail(Name=name, EnableLogFileValidation=False)
    assert updated["LogFileValidationEnabled"] is False and updated["S3KeyPrefix"] == "newpre"
    with raises_aws("TrailNotFoundException", 400):
        ct.update_trail(Name=unique("tg-missing"), EnableLogFileValidation=True)
    ct.delete_trail(Name=name)


def test_event_selectors_basic_and_advanced(server, logs_bucket):
    ct = server.client("cloudtrail")
    name = unique("tg-trail")
    arn = ct.create_trail(Name=name, S3BucketName=logs_bucket)["TrailARN"]

    default = ct.get_event_selectors(TrailName=name)
    assert default["TrailARN"] == arn
    assert default["EventSelectors"][0]["ReadWriteType"] == "All"
    assert default["EventSelectors"][0]["IncludeManagementEvents"] is True

    basic = [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]
    put = ct.put_event_selectors(TrailName=name, EventSelectors=basic)
    assert put["TrailARN"] == arn
    got = ct.get_event_selectors(TrailName=arn)
    assert [(s["ReadWriteType"], s["IncludeManagementEvents"]) for s in got["EventSelectors"]] == [("WriteOnly", True)]
    assert not got.get("AdvancedEventSelectors")
    assert ct.get_trail(Name=name)["Trail"]["HasCustomEventSelectors"] is True

    advanced = [
        {
            "Name": "Management writes",
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Management"]},
                {"Field": "readOnly", "Equals": ["false"]},
            ],
        }
    ]
    put = ct.put_event_selectors(TrailName=name, AdvancedEventSelectors=advanced)
    assert put["AdvancedEventSelectors"] == advanced
    got = ct.get_event_selectors(TrailName=name)
    assert got["AdvancedEventSelectors"] == advanced
    assert not got.get("EventSelectors")  # advanced selectors replace the basic ones

    with raises_aws("InvalidEventSelectorsException", 400):
        ct.put_event_selectors(
            TrailName=name,
            AdvancedEventSelectors=[{"Name": "no category", "FieldSelectors": [{"Field": "readOnly", "Equals": ["true"]}]}],
        )
    assert ct.get_event_selectors(TrailName=name)["AdvancedEventSelectors"] == advanced

    ct.put_event_selectors(TrailName=name, EventSelectors=[{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}])
    got = ct.get_event_selectors(TrailName=name)
    assert got["EventSelectors"][0]["ReadWriteType"] == "ReadOnly"
    assert not got.get("AdvancedEventSelectors")

    with raises_aws("TrailNotFoundException", 400):
        ct.get_event_selectors(TrailName=unique("tg-missing"))
    ct.delete_trail(Name=name)


def test_tags_add_list_remove(server, logs_bucket):
    ct = server.client("cloudtrail")
    name = unique("tg-trail")
    arn = ct.create_trail(Name=name, S3BucketName=logs_bucket)["TrailARN"]

    def tags():
        listed = ct.list_tags(ResourceIdList=[arn])["ResourceTagList"]
        assert [r["ResourceId"] for r in listed] == [arn]
        return sorted((t["Key"], t.get("Value")) for t in listed[0].get("TagsList", []))

    assert tags() == []
    ct.add_tags(ResourceId=arn, TagsList=[{"Key": "env", "Value": "prod"}, {"Key": "owner", "Value": "sec"}])
    assert tags() == [("env", "prod"), ("owner", "sec")]
    ct.add_tags(ResourceId=arn, TagsList=[{"Key": "env", "Value": "staging"}])  # overwrite
    assert tags() == [("env", "staging"), ("owner", "sec")]
    ct.remove_tags(ResourceId=arn, TagsList=[{"Key": "env"}])
    assert tags() == [("owner", "sec")]
    ct.delete_trail(Name=name)


def test_delete_trail(server, logs_bucket):
    ct = server.client("cloudtrail")
    name = unique("tg-trail")
    ct.create_trail(Name=name, S3BucketName=logs_bucket)
    ct.start_logging(Name=name)
    ct.delete_trail(Name=name)
    with raises_aws("TrailNotFoundException", 400):
        ct.get_trail(Name=name)
    with raises_aws("TrailNotFoundException", 400):
        ct.get_trail_status(Name=name)
    with raises_aws("TrailNotFoundException", 400):
        ct.delete_trail(Name=name)
    assert not trails_named(ct, name)
    assert name not in {t["Name"] for t in ct.list_trails()["Trails"]}
    # The name is free again.
    ct.create_trail(Name=name, S3BucketName=logs_bucket)
    ct.delete_trail(Name=trail_arn(name))


def test_list_public_keys(server):
    ct = server.client("cloudtrail")
    keys = ct.list_public_keys()["PublicKeyList"]
    assert keys
    now = datetime.datetime.now(datetime.timezone.utc)
    current = [k for k in keys if k["ValidityStartTime"] <= now <= k["ValidityEndTime"]]
    assert current, keys
    for key in keys:
        assert re.fullmatch(r"[0-9a-f]{32}", key["Fingerprint"]), key["Fingerprint"]
        der = key["Value"]
        assert isinstance(der, bytes) and der[:2] == b"\x30\x82"  # a DER SEQUENCE: PKCS#1 RSAPublicKey
        public = rsa.PublicKey.load_pkcs1(der, format="DER")
        assert public.n.bit_length() >= 2048
    assert len({k["Fingerprint"] for k in keys}) == len(keys)

    # validate-logs asks for the keys of a window; the current key is in today's.
    window = ct.list_public_keys(StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(hours=2))
    assert {k["Fingerprint"] for k in current} <= {k["Fingerprint"] for k in window["PublicKeyList"]}
    with raises_aws("InvalidTimeRangeException", 400):
        ct.list_public_keys(StartTime=now, EndTime=now - datetime.timedelta(hours=1))


def test_cli_trail_commands(server, logs_bucket):
    bucket = logs_bucket
    name = unique("tg-cli-trail")
    created = server.aws("cloudtrail", "create-trail", "--name", name, "--s3-bucket-name", bucket, "--enable-log-file-validation")
    assert created["TrailARN"] == trail_arn(name) and created["LogFileValidationEnabled"] is True
    described = server.aws("cloudtrail", "describe-trails", "--trail-name-list", name)["trailList"]
    assert [t["TrailARN"] for t in described] == [trail_arn(name)]
    server.aws("cloudtrail", "start-logging", "--name", name)
    assert server.aws("cloudtrail", "get-trail-status", "--name", name)["IsLogging"] is True
    server.aws("cloudtrail", "put-event-selectors", "--trail-name", name,
               "--event-selectors", '[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": true}]')
    assert server.aws("cloudtrail", "get-event-selectors", "--trail-name", name)["EventSelectors"][0]["ReadWriteType"] == "WriteOnly"
    server.aws("cloudtrail", "stop-logging", "--name", name)
    assert server.aws("cloudtrail", "get-trail-status", "--name", name)["IsLogging"] is False

    # The CLI passes blobs through as base64 text (validate-logs decodes them itself).
    keys = server.aws("cloudtrail", "list-public-keys")["PublicKeyList"]
    assert keys and all(k["Value"].startswith("MII") for k in keys)

    server.aws("cloudtrail", "delete-trail", "--name", name)
    with pytest.raises(AwsCliError) as missing:
        server.aws("cloudtrail", "get-trail", "--name", name)
    assert "TrailNotFoundException" in missing.value.stderr


# ----- delivery ---------------------------------------------------------------


def log_root(prefix: str | None) -> str:
    root = f"AWSLogs/{ACCOUNT_ID}/CloudTrail/{REGION}/"
    return f"{prefix}/{root}" if prefix else root


def log_key_re(prefix: str | None) -> re.Pattern:
    return re.compile(
        re.escape(log_root(prefix))
        + rf"(\d{{4}})/(\d{{2}})/(\d{{2}})/{ACCOUNT_ID}_CloudTrail_{REGION}_(\d{{4}})(\d{{2}})(\d{{2}})T\d{{4}}Z_[A-Za-z0-9]{{16}}\.json\.gz"
    )


def gunzip_one_member(raw: bytes) -> bytes:
    """Inflate a gzip object that must be exactly one member, as validate-logs requires."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    data = inflater.decompress(raw) + inflater.flush()
    assert inflater.eof, "truncated gzip stream"
    assert inflater.unused_data == b"", "more than one gzip member (or trailing bytes)"
    return data


def list_keys(s3, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


class TrailLogs:
    """The log files delivered for one trail, each read and checked once."""

    def __init__(self, s3, bucket: str, prefix: str | None):
        self.s3 = s3  # replace after a restart: the endpoint changes
        self.bucket = bucket
        self.prefix = prefix
        self.key_re = log_key_re(prefix)
        self.files: dict[str, list[dict]] = {}

    def refresh(self) -> "TrailLogs":
        for key in list_keys(self.s3, self.bucket, log_root(self.prefix)):
            if key not in self.files:
                self.files[key] = self._read(key)
        return self

    def _read(self, key: str) -> list[dict]:
        m = self.key_re.fullmatch(key)
        assert m, f"log file key does not follow CloudTrail's layout: {key}"
        assert m.group(1, 2, 3) == m.group(4, 5, 6), f"date path and file name disagree: {key}"
        raw = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        doc = json.loads(gunzip_one_member(raw))
        assert list(doc) == ["Records"], f"{key}: top level is {list(doc)}"
        assert isinstance(doc["Records"], list) and doc["Records"], f"{key}: no records"
        return doc["Records"]

    def records(self) -> list[dict]:
        return [r for recs in self.files.values() for r in recs]

    def counts(self) -> collections.Counter:
        return collections.Counter(r["eventID"] for r in self.records())

    def wait_for(self, event_ids, timeout: float = DELIVERY_TIMEOUT) -> "TrailLogs":
        wanted = set(event_ids)
        deadline = time.monotonic() + timeout
        while True:
            missing = wanted - set(self.refresh().counts())
            if not missing:
                return self
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(missing)} of {len(wanted)} events not delivered within {timeout}s")
            time.sleep(0.25)


def is_management(record: dict) -> bool:
    # S3's own records are not part of these checks.
    return record.get("managementEvent") is True and record.get("eventSource") != "s3.amazonaws.com"


def management_ids(srv, after_seq: int, upto_seq: int) -> set[str]:
    return {r.event_id for r in srv.event_rows(after_seq) if r.seq <= upto_seq and is_management(r.record)}


def assert_exactly_once(srv, logs: TrailLogs, *, before_start_seq: int, after_seq: int, upto_seq: int):
    """Every management event in (after_seq, upto_seq] delivered once; nothing twice; nothing older."""
    counts = logs.refresh().counts()
    twice = {i: n for i, n in counts.items() if n > 1}
    assert not twice, f"{len(twice)} events delivered more than once"
    seq_of = {r.event_id: r.seq for r in srv.event_rows()}
    unknown = set(counts) - set(seq_of)
    assert not unknown, f"delivered events that were never recorded: {sorted(unknown)[:5]}"
    early = [i for i in counts if seq_of[i] <= before_start_seq]
    assert not early, f"{len(early)} events from before StartLogging were delivered"
    missing = management_ids(srv, after_seq, upto_seq) - set(counts)
    assert not missing, f"{len(missing)} management events were never delivered"


class Setup:
    def __init__(self, srv, *, prefix=None, validation=False, selectors=None, start=True):
        self.srv = srv
        self.prefix = prefix
        self.bucket = make_trail_bucket(srv, prefixes=(prefix,))
        self.name = unique("tg-trail")
        self.arn = trail_arn(self.name)
        kwargs = {"Name": self.name, "S3BucketName": self.bucket, "EnableLogFileValidation": validation}
        if prefix:
            kwargs["S3KeyPrefix"] = prefix
        self.ct.create_trail(**kwargs)
        if selectors:
            self.ct.put_event_selectors(TrailName=self.name, EventSelectors=selectors)
        self.before_start_seq = srv.max_seq()
        self.logs = TrailLogs(self.s3, self.bucket, prefix)
        if start:
            self.ct.start_logging(Name=self.name)
        self.start_seq = srv.max_seq()

    @property
    def ct(self):
        return self.srv.client("cloudtrail")

    @property
    def s3(self):
        return self.srv.client("s3", config=PATH_STYLE)

    def reconnect(self):
        """After a restart (new port)."""
        self.logs.s3 = self.s3


def create_users(srv, prefix: str, n: int) -> list[str]:
    iam = srv.client("iam")
    names = [f"{prefix}-{i}" for i in range(n)]
    for name in names:
        iam.create_user(UserName=name)
    return names


def event_ids_for(srv, after_seq: int, event_name: str, user_names) -> set[str]:
    wanted = set(user_names)
    return {
        r.event_id
        for r in srv.event_rows(after_seq)
        if r.event_name == event_name and (r.record.get("requestParameters") or {}).get("userName") in wanted
    }


def test_delivery_layout_content_and_exactly_once(fresh_server):
    srv = fresh_server.start(extra_env=FAST)
    t = Setup(srv, prefix="pre")
    users = create_users(srv, unique("dl"), 3)
    created = event_ids_for(srv, t.start_seq, "CreateUser", users)
    assert len(created) == 3
    upto = srv.max_seq()
    t.logs.wait_for(management_ids(srv, t.start_seq, upto))

    assert t.logs.files, "no log files"
    delivered = {r["eventID"]: r for r in t.logs.records()}
    recorded = {r.event_id: r.record for r in srv.event_rows(t.start_seq)}
    for event_id in created:
        record = delivered[event_id]
        assert record["eventSource"] == "iam.amazonaws.com"
        assert record["eventName"] == "CreateUser"
        assert record["recipientAccountId"] == ACCOUNT_ID
        assert record == recorded[event_id]  # the same record event history holds
    assert {delivered[i]["requestParameters"]["userName"] for i in created} == set(users)

    status = srv.client("cloudtrail").get_trail_status(Name=t.name)
    assert status["IsLogging"] is True
    assert status["LatestDeliveryTime"] >= status["StartLoggingTime"]
    assert not status.get("LatestDeliveryError")
    # Nothing lands outside the prefix.
    assert list_keys(t.s3, t.bucket, "AWSLogs/") == []

    # Quiescence: more calls, their delivery, then the whole set checked.
    create_users(srv, unique("dl2"), 2)
    upto = srv.max_seq()
    t.logs.wait_for(management_ids(srv, t.start_seq, upto))
    assert_exactly_once(srv, t.logs, before_start_seq=t.before_start_seq, after_seq=t.start_seq, upto_seq=upto)


def test_write_only_selector_delivers_no_reads(fresh_server):
    srv = fresh_server.start(extra_env=FAST)
    t = Setup(srv, selectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}])
    iam = srv.client("iam")
    [first] = create_users(srv, unique("wo"), 1)
    iam.get_user(UserName=first)
    iam.list_users()
    srv.client("cloudtrail").get_trail_status(Name=t.name)
    [last] = create_users(srv, unique("wo-last"), 1)  # a write after the reads

    t.logs.wait_for(event_ids_for(srv, t.start_seq, "CreateUser", [first, last]))
    writes = {r.event_id for r in srv.event_rows(t.start_seq) if is_management(r.record) and r.record["readOnly"] is False}
    t.logs.wait_for(writes)
    reads = [r["eventName"] for r in t.logs.records() if r.get("readOnly") is not False]
    assert not reads, f"read events delivered by a WriteOnly trail: {reads}"
    assert max(t.logs.counts().values()) == 1


def test_stop_logging_stops_delivery(fresh_server):
    srv = fresh_server.start(extra_env=FAST)
    t = Setup(srv)
    [before] = create_users(srv, unique("stop-before"), 1)
    srv.client("cloudtrail").stop_logging(Name=t.name)
    stopped_seq = srv.max_seq()
    [after] = create_users(srv, unique("stop-after"), 1)

    # What happened while logging is delivered; what came after never is.
    t.logs.wait_for(event_ids_for(srv, t.start_seq, "CreateUser", [before]))
    time.sleep(3.5)  # several log intervals in which nothing may be delivered
    t.logs.refresh()
    seq_of = {r.event_id: r.seq for r in srv.event_rows()}
    late = [r["eventName"] for r in t.logs.records() if seq_of.get(r["eventID"], stopped_seq + 1) > stopped_seq]
    assert not late, f"delivered after StopLogging: {late}"

    # Logging again resumes delivery without filling the gap.
    srv.client("cloudtrail").start_logging(Name=t.name)
    [again] = create_users(srv, unique("stop-again"), 1)
    t.logs.wait_for(event_ids_for(srv, t.start_seq, "CreateUser", [again]))
    assert not event_ids_for(srv, t.start_seq, "CreateUser", [after]) & set(t.logs.counts())


def test_graceful_shutdown_flushes_pending_events(fresh_server):
    slow = {"TRAILGUARD_TRAIL_LOG_INTERVAL": "3600", "TRAILGUARD_TRAIL_DIGEST_INTERVAL": "3600"}
    srv = fresh_server.start(extra_env=slow)
    t = Setup(srv, prefix="flush")
    users = create_users(srv, unique("flush"), 3)
    upto = srv.max_seq()
    time.sleep(1.5)
    assert t.logs.refresh().files == {}, "delivered before the (hour-long) interval elapsed"

    assert srv.stop() == 0
    srv.start()
    t.reconnect()
    # Present at once after restart: written while shutting down.
    t.logs.refresh()
    assert t.logs.files, "SIGTERM did not flush the pending events to S3"
    assert event_ids_for(srv, t.start_seq, "CreateUser", users) <= set(t.logs.counts())
    assert_exactly_once(srv, t.logs, before_start_seq=t.before_start_seq, after_seq=t.start_seq, upto_seq=upto)
    assert srv.client("cloudtrail").get_trail_status(Name=t.name)["IsLogging"] is True


def _hammer(srv, stop: threading.Event, prefix: str):
    """Create users as fast as the server answers until told to stop (errors expected at the kill)."""
    iam = srv.client("iam", config=Config(connect_timeout=2, read_timeout=10))
    i = 0
    while not stop.is_set():
        try:
            iam.create_user(UserName=f"{prefix}-{i}")
        except Exception:
            time.sleep(0.01)
        i += 1


def test_sigkill_during_delivery_loses_and_duplicates_nothing(fresh_server):
    srv = fresh_server.start(extra_env=FAST)
    t = Setup(srv, prefix="crash")
    # Kill at different phases of the one-second delivery cycle.
    for cycle, run_for in enumerate((1.6, 2.3, 3.05)):
        stop = threading.Event()
        workers = [
            threading.Thread(target=_hammer, args=(srv, stop, f"crash-{cycle}-{w}"), daemon=True) for w in range(2)
        ]
        for w in workers:
            w.start()
        time.sleep(run_for)
        srv.kill()
        stop.set()
        for w in workers:
            w.join(timeout=15)
        srv.start()
        t.reconnect()

    create_users(srv, unique("crash-after"), 2)
    upto = srv.max_seq()
    expected = management_ids(srv, t.start_seq, upto)
    assert len(expected) > 10
    t.logs.wait_for(expected, timeout=30)
    assert_exactly_once(srv, t.logs, before_start_seq=t.before_start_seq, after_seq=t.start_seq, upto_seq=upto)


def test_s3_data_events_go_only_to_trails_that_select_them(fresh_server):
    srv = fresh_server.start(extra_env=FAST)
    everything = Setup(srv, prefix="mgmt")
    data = Setup(srv, prefix="data", start=False)
    data.ct.put_event_selectors(TrailName=data.name, AdvancedEventSelectors=[{
        "Name": "objects in the data bucket",
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
            {"Field": "resources.ARN", "StartsWith": [f"arn:aws:s3:::{data.bucket}/in/"]},
        ],
    }])
    data.ct.start_logging(Name=data.name)
    s3 = data.s3
    s3.put_object(Bucket=data.bucket, Key="in/report.csv", Body=b"a,b\n")
    s3.get_object(Bucket=data.bucket, Key="in/report.csv")["Body"].read()
    s3.put_object(Bucket=data.bucket, Key="out/other.csv", Body=b"c\n")
    rows = [r for r in srv.event_rows(data.start_seq) if r.event_source == "s3.amazonaws.com"
            and r.event_name in ("PutObject", "GetObject")]
    selected = {r.event_id for r in rows if "in/report.csv" in json.dumps(r.record)}
    assert len(selected) == 2
    data.logs.wait_for(selected)
    delivered = data.logs.records()
    assert {r["eventName"] for r in delivered} == {"PutObject", "GetObject"}
    for r in delivered:
        assert r["managementEvent"] is False and r["eventCategory"] == "Data"
        assert r["readOnly"] is (r["eventName"] == "GetObject")
        assert {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{data.bucket}/in/report.csv",
                "accountId": ACCOUNT_ID} in r["resources"]
        assert "a,b" not in json.dumps(r)
    # The default trail takes management events only, and LookupEvents shows no data events.
    time.sleep(2.5)
    assert not [r for r in everything.logs.refresh().records() if r["eventSource"] == "s3.amazonaws.com"
                and r["eventName"] in ("PutObject", "GetObject")]
    looked = srv.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "PutObject"}])["Events"]
    assert looked == []
