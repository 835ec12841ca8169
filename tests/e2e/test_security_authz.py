"""Attacks on the agreement between authorization and the handler: the caller is
authorized on the resource one member names while the handler acts on the one
another member names (issue 11, finding 4).

boto3 drops members an operation does not define, so each attack is a raw SigV4
request (botocore's SigV4Auth over an AWSRequest) carrying the member the handler
reads, naming the resource the caller is denied, and a decoy member naming one it
may use. trailguard drops every member the operation's AWS model does not define
before authorization, so the decoy is never seen: the call is denied on the
resource the handler would have acted on, and nothing changes."""

from __future__ import annotations

import json

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from e2e_util import ACCOUNT_ID, REGION, http_request, make_user, raises_aws, unique

CLOUDTRAIL_TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"
PATH_STYLE = Config(s3={"addressing_style": "path"})


def signed(server, user, service, method, path, body, headers):
    """Sends one request signed with the user's key; returns (status, headers, body)."""
    req = AWSRequest(method=method, url=server.endpoint + path, data=body.encode(), headers=headers)
    SigV4Auth(Credentials(user.access_key_id, user.secret_access_key), service, REGION).add_auth(req)
    prepared = req.prepare()
    return http_request(prepared.url, data=prepared.body, headers=dict(prepared.headers.items()), method=method)


def cloudtrail_call(server, user, operation, params):
    return signed(
        server,
        user,
        "cloudtrail",
        "POST",
        "/",
        json.dumps(params),
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"{CLOUDTRAIL_TARGET}.{operation}"},
    )


def trail_with_bucket(server) -> tuple[str, str]:
    """A trail (and its bucket) made by root; returns (name, ARN)."""
    s3 = server.client("s3", config=PATH_STYLE)
    bucket = unique("tg-authz-logs")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "s3:GetBucketAcl",
                        "Resource": f"arn:aws:s3:::{bucket}",
                    },
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{ACCOUNT_ID}/*",
                        "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
                    },
                ],
            }
        ),
    )
    name = unique("tg-victim-trail")
    arn = server.client("cloudtrail").create_trail(Name=name, S3BucketName=bucket)["TrailARN"]
    return name, arn


def denied_on(server, resource: str, action: str = "cloudtrail:*"):
    """A user allowed everything in CloudTrail but explicitly denied on one resource."""
    return make_user(
        server,
        inline_policy={
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": action, "Resource": "*"},
                {"Effect": "Deny", "Action": action, "Resource": resource},
            ],
        },
    )


def test_a_user_denied_on_a_trail_cannot_rewrite_its_selectors_by_adding_a_Name_member(server):
    """PutEventSelectors with `TrailName` = the denied trail and a decoy `Name` = a
    trail the user may change: authorization used to read `Name`, the handler
    `TrailName`. trailguard answers AccessDeniedException on the denied trail and
    the trail keeps logging management events."""
    victim, victim_arn = trail_with_bucket(server)
    other, _ = trail_with_bucket(server)
    user = denied_on(server, victim_arn)
    ct = server.client("cloudtrail")
    before = ct.get_event_selectors(TrailName=victim)["EventSelectors"]
    # Through boto3 the call is denied (the member it sends is the one checked).
    with raises_aws("AccessDeniedException"):
        server.client("cloudtrail", **user.creds).put_event_selectors(
            TrailName=victim, EventSelectors=[{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": False}]
        )
    status, _, body = cloudtrail_call(
        server,
        user,
        "PutEventSelectors",
        {
            "TrailName": victim,
            "Name": other,
            "EventSelectors": [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": False}],
        },
    )
    assert status == 403, body
    error = json.loads(body)
    assert error["__type"] == "AccessDeniedException"
    assert f"on resource: {victim_arn}" in error["message"]
    assert ct.get_event_selectors(TrailName=victim)["EventSelectors"] == before
    # The same user may still change the trail it is not denied on.
    status, _, body = cloudtrail_call(
        server,
        user,
        "GetEventSelectors",
        {"TrailName": other, "Name": victim},
    )
    assert status == 200, body


def test_a_user_denied_on_a_trail_cannot_read_its_selectors_by_adding_a_Name_member(server):
    """GetEventSelectors with `TrailName` = the denied trail and a decoy `Name`:
    trailguard answers AccessDeniedException naming the denied trail."""
    victim, victim_arn = trail_with_bucket(server)
    user = denied_on(server, victim_arn)
    status, _, body = cloudtrail_call(
        server, user, "GetEventSelectors", {"TrailName": victim, "Name": unique("allowed")}
    )
    assert status == 403, body
    assert json.loads(body)["__type"] == "AccessDeniedException"
    assert f"on resource: {victim_arn}" in json.loads(body)["message"]


def test_a_user_denied_on_a_trail_cannot_tag_it_by_adding_a_Name_member(server):
    """AddTags and RemoveTags with `ResourceId` = the denied trail's ARN and a decoy
    `Name`: trailguard answers AccessDeniedException and the tags stay as they were."""
    victim, victim_arn = trail_with_bucket(server)
    ct = server.client("cloudtrail")
    ct.add_tags(ResourceId=victim_arn, TagsList=[{"Key": "owner", "Value": "security"}])
    user = denied_on(server, victim_arn)
    decoy = unique("allowed")
    status, _, body = cloudtrail_call(
        server,
        user,
        "AddTags",
        {"ResourceId": victim_arn, "Name": decoy, "TagsList": [{"Key": "owner", "Value": "attacker"}]},
    )
    assert status == 403, body
    assert json.loads(body)["__type"] == "AccessDeniedException"
    status, _, body = cloudtrail_call(
        server,
        user,
        "RemoveTags",
        {"ResourceId": victim_arn, "TrailName": decoy, "TagsList": [{"Key": "owner"}]},
    )
    assert status == 403, body
    assert json.loads(body)["__type"] == "AccessDeniedException"
    tags = ct.list_tags(ResourceIdList=[victim_arn])["ResourceTagList"][0]["TagsList"]
    assert tags == [{"Key": "owner", "Value": "security"}]


def test_a_member_the_model_does_not_define_is_not_recorded(server):
    """A decoy member is dropped before anything sees it: the denied call's
    CloudTrail record shows only the members PutEventSelectors defines."""
    victim, victim_arn = trail_with_bucket(server)
    user = denied_on(server, victim_arn)
    status, headers, _ = cloudtrail_call(
        server, user, "GetEventSelectors", {"TrailName": victim, "Name": "decoy-name", "Bogus": 1}
    )
    assert status == 403
    request_id = {k.lower(): v for k, v in headers.items()}["x-amzn-requestid"]
    [record] = server.events_for_request(request_id)
    assert record["errorCode"] == "AccessDenied"
    assert record["requestParameters"] == {"trailName": victim}


def test_a_user_denied_a_filter_name_cannot_create_it_by_adding_a_filterName_member(fresh_server):
    """CreateFilter with body `name` = the denied filter name (an ARCHIVE filter that
    would hide every finding) and a decoy `filterName` = an allowed one: authorization
    used to read `filterName`, the handler `name`. trailguard answers
    AccessDeniedException (403) and no filter exists."""
    srv = fresh_server.start()
    gd = srv.client("guardduty")
    detector = gd.create_detector(Enable=True)["DetectorId"]
    denied = "hide-everything"
    filter_arn = f"arn:aws:guardduty:{REGION}:{ACCOUNT_ID}:detector/{detector}/filter/{denied}"
    user = denied_on(srv, filter_arn, action="guardduty:*")
    body = {
        "name": denied,
        "filterName": "harmless",
        "action": "ARCHIVE",
        "findingCriteria": {"criterion": {"severity": {"gte": 0}}},
    }
    status, _, raw = signed(
        srv,
        user,
        "guardduty",
        "POST",
        f"/detector/{detector}/filter",
        json.dumps(body),
        {"Content-Type": "application/json"},
    )
    assert status == 403, raw
    assert json.loads(raw)["__type"] == "AccessDeniedException"
    assert gd.list_filters(DetectorId=detector)["FilterNames"] == []
    # Another name, not denied, is created: the denial was about the name the handler uses.
    body["name"] = "allowed-filter"
    body["filterName"] = denied
    status, _, raw = signed(
        srv,
        user,
        "guardduty",
        "POST",
        f"/detector/{detector}/filter",
        json.dumps(body),
        {"Content-Type": "application/json"},
    )
    assert status == 200, raw
    assert gd.list_filters(DetectorId=detector)["FilterNames"] == ["allowed-filter"]
