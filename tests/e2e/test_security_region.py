"""Attacks that sign a request for another real region, and what trailguard answers.

Trails and GuardDuty detectors are regional: a single-region trail in us-east-1
selects only what is served in us-east-1, and a detector there reads only
us-east-1's records. The red team signed calls on us-east-1 resources for
eu-west-1, so they were served and recorded in eu-west-1, where nothing looked.

trailguard now answers as AWS does:

- S3 serves a bucket only in the bucket's region. Any call on a bucket or its
  objects signed for another region is refused before it is authorized or run:
  `AuthorizationHeaderMalformed` (400), "The authorization header is malformed;
  the region 'eu-west-1' is wrong; expecting 'us-east-1'", with
  `<Region>us-east-1</Region>` in the error document. botocore follows that
  element and re-signs for the bucket's region, so an ordinary client still
  succeeds, served and recorded where the bucket is. `ListBuckets` is global.
  `CreateBucket` outside us-east-1 needs the region's own location constraint
  (`IllegalLocationConstraintException`).
- CloudTrail changes a trail (UpdateTrail, DeleteTrail, Start/StopLogging,
  PutEventSelectors, AddTags/RemoveTags) only from its home region:
  `InvalidHomeRegionException` (400) from any other, single- and multi-region
  trails alike. Reads of a multi-region trail by ARN work from every region
  (its shadow trails).

Every S3 test here turns botocore's redirect off (`no_redirect`) to see the refusal
itself, except where the redirect is what is tested.
"""

from __future__ import annotations

import json

from botocore.config import Config

from e2e_util import ACCOUNT_ID, make_user, raises_aws, unique
from test_guardduty_findings import all_ids, wait_for
from test_guardduty_seed import policy_for
from test_security_trail import one, trail_call_ids
from test_trails import FAST, PATH_STYLE, Setup, make_trail_bucket, trail_arn

WEST = "eu-west-1"
WRONG_REGION = "The authorization header is malformed; the region 'eu-west-1' is wrong; expecting 'us-east-1'"


def no_redirect(client):
    """botocore re-signs an S3 call for the region an `AuthorizationHeaderMalformed`
    names and sends it again; mark every call as already redirected so the
    client shows the refusal itself."""

    def mark(context, **_):
        context.setdefault("s3_redirect", {})["redirected"] = True

    client.meta.events.register("before-call.s3", mark)
    return client


def west_s3(srv, **creds):
    return no_redirect(srv.client("s3", config=Config(region_name=WEST, s3={"addressing_style": "path"}), **creds))


def west(srv, service, **creds):
    return srv.client(service, config=Config(region_name=WEST), **creds)


def s3_rows(srv, since, name, key=None):
    return [r for r in srv.event_rows(since) if r.event_source == "s3.amazonaws.com" and r.event_name == name
            and (key is None or key in json.dumps(r.record.get("requestParameters") or {}))]


def test_data_event_signed_for_another_region_is_refused_and_nothing_stored(fresh_server):
    """Attack: a user allowed only s3:PutObject on a us-east-1 bucket signs PutObject
    for eu-west-1, so the write is recorded where the us-east-1 trail's data-event
    selectors never look. trailguard: AuthorizationHeaderMalformed (400) naming the
    expected region in `<Region>`, nothing stored, no PutObject served in eu-west-1.
    The same put from us-east-1 (or from a default client, which follows `<Region>`
    to us-east-1) is stored, recorded in us-east-1 and delivered by the trail."""
    srv = fresh_server.start(extra_env=FAST)
    t = Setup(srv, start=False)
    data = make_trail_bucket(srv)
    t.ct.put_event_selectors(TrailName=t.name, EventSelectors=[{
        "ReadWriteType": "All", "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{data}/"]}]}])
    t.ct.start_logging(Name=t.name)
    since = srv.max_seq()
    user = make_user(srv, inline_policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{data}/*"}]})

    with raises_aws("AuthorizationHeaderMalformed", 400, WRONG_REGION) as err:
        west_s3(srv, **user.creds).put_object(Bucket=data, Key="west-obj", Body=b"y")
    assert err.value.response["Error"]["Region"] == "us-east-1"
    assert err.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    east = srv.client("s3", config=PATH_STYLE)
    assert "Contents" not in east.list_objects_v2(Bucket=data)
    assert not [r for r in s3_rows(srv, since, "PutObject") if "errorCode" not in r.record]

    # From the bucket's region, and through botocore's redirect, the write works
    # and is recorded in us-east-1, where the trail selects it.
    srv.client("s3", config=PATH_STYLE, **user.creds).put_object(Bucket=data, Key="east-obj", Body=b"x")
    followed = srv.client("s3", config=Config(region_name=WEST, s3={"addressing_style": "path"}), **user.creds)
    followed.put_object(Bucket=data, Key="followed-obj", Body=b"z")
    assert sorted(o["Key"] for o in east.list_objects_v2(Bucket=data)["Contents"]) == ["east-obj", "followed-obj"]
    stored = [r for r in s3_rows(srv, since, "PutObject") if "errorCode" not in r.record]
    assert {r.record["awsRegion"] for r in stored} == {"us-east-1"}
    assert len(stored) == 2
    t.logs.wait_for({r.event_id for r in stored})
    assert not [r for r in t.logs.records() if r["eventName"] == "PutObject" and r["awsRegion"] != "us-east-1"]


def test_every_bucket_call_signed_for_another_region_is_refused(server):
    """Attack: any other bucket-scoped call (read, list, delete, policy, location)
    on a us-east-1 bucket signed for eu-west-1. trailguard: each answers
    AuthorizationHeaderMalformed before authorization and changes nothing;
    ListBuckets, which is global, and GetBucketLocation, which is how a client
    learns where to sign, answer from any region."""
    s3 = server.client("s3", config=PATH_STYLE)
    bucket = make_trail_bucket(server)
    s3.put_object(Bucket=bucket, Key="keep", Body=b"k")
    w = west_s3(server)
    calls = [
        (w.get_object, {"Key": "keep"}), (w.delete_object, {"Key": "keep"}),
        (w.list_objects, {}), (w.list_objects_v2, {}), (w.get_bucket_policy, {}),
        (w.delete_bucket_policy, {}), (w.delete_bucket, {}),
    ]
    for call, extra in calls:
        with raises_aws("AuthorizationHeaderMalformed", 400, WRONG_REGION):
            call(Bucket=bucket, **extra)
    # HEAD has no error document: the region is in x-amz-bucket-region.
    for call, extra in ((w.head_bucket, {}), (w.head_object, {"Key": "keep"})):
        with raises_aws("400", 400) as err:
            call(Bucket=bucket, **extra)
        assert err.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"k"
    assert "AWSCloudTrailAclCheck" in s3.get_bucket_policy(Bucket=bucket)["Policy"]
    assert bucket in {b["Name"] for b in w.list_buckets()["Buckets"]}
    assert w.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None


def test_create_bucket_for_another_region_than_signed_is_refused(server):
    """Attack: CreateBucket signed for eu-west-1 with no location constraint (which
    would make a us-east-1 bucket recorded in eu-west-1), or with another region's.
    trailguard: IllegalLocationConstraintException (400), no bucket. The matching
    constraint works, as does any constraint from us-east-1 (AWS's global endpoint)."""
    w = west_s3(server)
    name = unique("tg-west").lower()
    with raises_aws("IllegalLocationConstraintException", 400, "unspecified location constraint"):
        w.create_bucket(Bucket=name)
    with raises_aws("IllegalLocationConstraintException", 400, "us-west-2 location constraint"):
        w.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    assert name not in {b["Name"] for b in w.list_buckets()["Buckets"]}
    w.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": WEST})
    assert w.get_bucket_location(Bucket=name)["LocationConstraint"] == WEST
    w.delete_bucket(Bucket=name)


def test_public_bucket_policy_from_another_region_is_refused(fresh_server):
    """Attack: make a us-east-1 bucket public with PutBucketPolicy signed for
    eu-west-1, out of sight of the us-east-1 GuardDuty detector. trailguard:
    AuthorizationHeaderMalformed, the bucket keeps no policy. The same call from
    us-east-1 works and the detector reports Policy:S3/BucketAnonymousAccessGranted,
    reading the policy back through its role in us-east-1."""
    srv = fresh_server.start()
    gd = srv.client("guardduty")
    det = gd.create_detector(Enable=True)["DetectorId"]
    s3 = srv.client("s3")
    s3.create_bucket(Bucket="region-site")
    with raises_aws("AuthorizationHeaderMalformed", 400, WRONG_REGION):
        west_s3(srv).put_bucket_policy(Bucket="region-site", Policy=policy_for("region-site"))
    with raises_aws("NoSuchBucketPolicy", 404):
        s3.get_bucket_policy(Bucket="region-site")

    seq = srv.max_seq()
    s3.put_bucket_policy(Bucket="region-site", Policy=policy_for("region-site"))
    (found,) = wait_for(gd, det, {"type": {"Equals": ["Policy:S3/BucketAnonymousAccessGranted"]},
                                  "resource.s3BucketDetails.name": {"Equals": ["region-site"]}})
    assert found["Region"] == "us-east-1"
    reads = [e for e in srv.events_since(seq) if e["userIdentity"].get("invokedBy") == "guardduty.amazonaws.com"
             and e["eventName"] == "GetBucketPolicy"]
    assert [(e["awsRegion"], e.get("errorCode")) for e in reads] == [("us-east-1", None)]


def test_guardduty_reads_a_bucket_in_another_region_through_its_role(fresh_server):
    """Not an attack: a us-east-1 detector's list lives in a eu-west-1 bucket.
    GuardDuty calls S3 at the bucket's region, as AWS services do, so its
    HeadObject and GetObject are served (and recorded) in eu-west-1 and the list
    loads; the region check never stands in a service's way."""
    srv = fresh_server.start()
    gd = srv.client("guardduty")
    det = gd.create_detector(Enable=True)["DetectorId"]
    w = srv.client("s3", config=Config(region_name=WEST))
    w.create_bucket(Bucket="west-lists", CreateBucketConfiguration={"LocationConstraint": WEST})
    w.put_object(Bucket="west-lists", Key="threats.txt", Body=b"203.0.113.9\n")
    seq = srv.max_seq()
    gd.create_threat_intel_set(DetectorId=det, Name="west", Format="TXT",
                               Location="s3://west-lists/threats.txt", Activate=True)
    reads = [e for e in srv.events_since(seq) if e["userIdentity"].get("invokedBy") == "guardduty.amazonaws.com"
             and e["eventSource"] == "s3.amazonaws.com"]
    assert sorted((e["eventName"], e["awsRegion"], e.get("errorCode")) for e in reads) == [
        ("GetObject", WEST, None), ("HeadObject", WEST, None)]


def test_trail_changes_from_another_region_are_refused(fresh_server):
    """Attack: a user allowed CloudTrail calls on a single-region us-east-1 trail
    stops, updates, re-selects, tags, restarts or deletes it by ARN with calls
    signed for eu-west-1, so the change is recorded where the trail never looks
    (StopLogging and DeleteTrail never reached the bucket). trailguard:
    InvalidHomeRegionException (400) for each; the trail keeps logging with its
    settings, and the refused calls change nothing."""
    srv = fresh_server.start(extra_env=FAST)
    t = Setup(srv)
    user = make_user(srv, inline_policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "cloudtrail:*", "Resource": t.arn}]})
    ct = west(srv, "cloudtrail", **user.creds)
    before = t.ct.get_trail(Name=t.name)["Trail"]
    calls = [
        (ct.stop_logging, {"Name": t.arn}),
        (ct.update_trail, {"Name": t.arn, "S3BucketName": t.bucket, "S3KeyPrefix": "elsewhere"}),
        (ct.put_event_selectors, {"TrailName": t.arn, "EventSelectors": [
            {"ReadWriteType": "All", "IncludeManagementEvents": False}]}),
        (ct.add_tags, {"ResourceId": t.arn, "TagsList": [{"Key": "k", "Value": "v"}]}),
        (ct.remove_tags, {"ResourceId": t.arn, "TagsList": [{"Key": "k"}]}),
        (ct.start_logging, {"Name": t.arn}),
        (ct.delete_trail, {"Name": t.arn}),
    ]
    for call, kwargs in calls:
        with raises_aws("InvalidHomeRegionException", 400, "home region"):
            call(**kwargs)
    assert t.ct.get_trail_status(Name=t.name)["IsLogging"] is True
    assert t.ct.get_trail(Name=t.name)["Trail"] == before
    assert t.ct.get_event_selectors(TrailName=t.name)["EventSelectors"][0]["IncludeManagementEvents"] is True
    assert t.ct.list_tags(ResourceIdList=[t.arn])["ResourceTagList"][0].get("TagsList", []) == []
    # By name from eu-west-1 it names no trail there at all.
    with raises_aws("TrailNotFoundException", 400):
        west(srv, "cloudtrail").stop_logging(Name=t.name)
    # The trail still delivers what comes next.
    marker = srv.client("iam").create_user(UserName=unique("after-west"))
    t.logs.wait_for({r.event_id for r in srv.event_rows(t.start_seq)
                     if r.event_name == "CreateUser" and r.record["requestParameters"]["userName"]
                     == marker["User"]["UserName"]})


def test_multi_region_trail_stop_logging_from_a_non_home_region_is_refused(fresh_server):
    """Attack: StopLogging on a multi-region trail by ARN from eu-west-1, where the
    trail has a shadow. trailguard: InvalidHomeRegionException, the trail keeps
    logging; reads of the trail by ARN from eu-west-1 (the shadow) still answer."""
    srv = fresh_server.start(extra_env=FAST)
    bucket = make_trail_bucket(srv)
    name = unique("tg-multi")
    arn = trail_arn(name)
    home = srv.client("cloudtrail")
    home.create_trail(Name=name, S3BucketName=bucket, IsMultiRegionTrail=True)
    home.start_logging(Name=name)
    ct = west(srv, "cloudtrail")
    with raises_aws("InvalidHomeRegionException", 400, "home region"):
        ct.stop_logging(Name=arn)
    with raises_aws("InvalidHomeRegionException", 400, "home region"):
        ct.delete_trail(Name=arn)
    assert home.get_trail_status(Name=name)["IsLogging"] is True
    assert ct.get_trail_status(Name=arn)["IsLogging"] is True
    assert ct.get_trail(Name=arn)["Trail"]["HomeRegion"] == "us-east-1"
    assert ct.get_event_selectors(TrailName=arn)["TrailARN"] == arn
    assert [x["TrailARN"] for x in ct.describe_trails()["trailList"]] == [arn]


def test_trail_changes_from_the_home_region_still_work_and_are_delivered(fresh_server):
    """The same changes from us-east-1 work, and each one's own record reaches the
    trail's bucket: PutEventSelectors, UpdateTrail, StopLogging, StartLogging and
    DeleteTrail, the StopLogging and DeleteTrail records by the logging they end."""
    srv = fresh_server.start(extra_env=FAST)
    t = Setup(srv)
    ct = t.ct
    ct.put_event_selectors(TrailName=t.arn, EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}])
    ct.update_trail(Name=t.arn, EnableLogFileValidation=False)
    ct.add_tags(ResourceId=t.arn, TagsList=[{"Key": "k", "Value": "v"}])
    ct.stop_logging(Name=t.arn)
    ct.start_logging(Name=t.arn)
    ct.delete_trail(Name=t.arn)
    wanted = set()
    for event in ("PutEventSelectors", "UpdateTrail", "StopLogging", "StartLogging", "DeleteTrail"):
        wanted.add(one(trail_call_ids(srv, t.start_seq, event, t.arn)))
    t.logs.wait_for(wanted)
    assert {r["awsRegion"] for r in t.logs.records() if r["eventSource"] == "cloudtrail.amazonaws.com"} == {"us-east-1"}
    assert ACCOUNT_ID in t.arn
