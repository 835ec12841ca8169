"""CloudTrail event history: `LookupEvents` over the records every call writes."""

import datetime
import json

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from e2e_util import REGION, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, http_request, make_user, raises_aws, unique


def test_lookup_by_attribute_newest_first_with_the_full_record(server):
    iam = server.client("iam")
    ct = server.client("cloudtrail")
    name = unique("lookup")
    rid = iam.create_user(UserName=name)["ResponseMetadata"]["RequestId"]
    iam.get_user(UserName=name)
    events = ct.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": name}])["Events"]
    assert [e["EventName"] for e in events] == ["GetUser", "CreateUser"]
    created = events[1]
    assert created["ReadOnly"] == "false" and events[0]["ReadOnly"] == "true"
    assert created["Username"] == "root"
    assert created["EventSource"] == "iam.amazonaws.com"
    assert created["Resources"] == [{"ResourceType": "AWS::IAM::User", "ResourceName": name}]
    assert isinstance(created["EventTime"], datetime.datetime)
    record = json.loads(created["CloudTrailEvent"])
    assert record["requestID"] == rid
    assert record["eventID"] == created["EventId"]
    by_id = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": created["EventId"]}])["Events"]
    assert [e["EventId"] for e in by_id] == [created["EventId"]]


def test_username_and_read_only_filters(server):
    user = make_user(server, admin=True)
    server.client("iam", **user.creds).list_users(MaxItems=1)
    ct = server.client("cloudtrail")
    mine = ct.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": user.name}])["Events"]
    assert [e["EventName"] for e in mine] == ["ListUsers"]
    assert mine[0]["AccessKeyId"] == user.access_key_id
    writes = ct.lookup_events(LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "false"}], MaxResults=50)["Events"]
    assert writes and all(e["ReadOnly"] == "false" for e in writes)


def test_pagination_returns_each_event_once_and_tokens_are_bound_to_their_parameters(server):
    iam = server.client("iam")
    ct = server.client("cloudtrail")
    prefix = unique("page")
    for i in range(5):
        iam.create_group(GroupName=f"{prefix}-{i}")
    attrs = [{"AttributeKey": "EventName", "AttributeValue": "CreateGroup"}]
    seen, token = [], None
    while True:
        kwargs = {"LookupAttributes": attrs, "MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        page = ct.lookup_events(**kwargs)
        seen.extend(e["EventId"] for e in page["Events"])
        token = page.get("NextToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) >= 5
    page = ct.lookup_events(LookupAttributes=attrs, MaxResults=2)
    with raises_aws("InvalidNextTokenException", 400):
        ct.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "DeleteGroup"}], NextToken=page["NextToken"]
        )
    # Paginators work as in boto3 against AWS.
    total = sum(len(p["Events"]) for p in ct.get_paginator("lookup_events").paginate(LookupAttributes=attrs, PaginationConfig={"PageSize": 3}))
    assert total == len(seen)


def test_bad_parameters_get_cloudtrails_exceptions(server):
    ct = server.client("cloudtrail")
    with raises_aws("InvalidLookupAttributesException", 400):
        ct.lookup_events(
            LookupAttributes=[
                {"AttributeKey": "EventName", "AttributeValue": "CreateUser"},
                {"AttributeKey": "Username", "AttributeValue": "root"},
            ]
        )
    with raises_aws("InvalidLookupAttributesException", 400):
        ct.lookup_events(LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "maybe"}])
    now = datetime.datetime.now(datetime.timezone.utc)
    with raises_aws("InvalidTimeRangeException", 400):
        ct.lookup_events(StartTime=now, EndTime=now - datetime.timedelta(hours=1))
    with raises_aws("InvalidNextTokenException", 400):
        ct.lookup_events(NextToken="bm90LWEtdG9rZW4=")


def test_cli_lookup_shows_what_a_service_did_on_my_behalf(server):
    """The seed's promise: the service's actions through its role are in the trail."""
    cluster = unique("ct").lower()
    server.aws(
        "redshift", "create-cluster", "--cluster-identifier", cluster, "--node-type", "ra3.xlplus",
        "--master-username", "admin", "--master-user-password", "Sup3rSecret!",
    )
    out = server.aws(
        "cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=Username,AttributeValue=redshift.amazonaws.com",
    )
    names = {(e["EventSource"], e["EventName"]) for e in out["Events"]}
    assert ("sts.amazonaws.com", "AssumeRole") in names
    server.aws("redshift", "delete-cluster", "--cluster-identifier", cluster, "--skip-final-cluster-snapshot")


def _signed_json(server, target, body, secret=None):
    """POST a JSON body signed for CloudTrail, via urllib, to see raw headers."""
    req = AWSRequest(
        method="POST",
        url=server.endpoint + "/",
        data=body.encode(),
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    SigV4Auth(Credentials(ROOT_ACCESS_KEY_ID, secret or ROOT_SECRET_ACCESS_KEY), "cloudtrail", REGION).add_auth(req)
    prepared = req.prepare()
    return http_request(prepared.url, data=prepared.body, headers=dict(prepared.headers.items()), method="POST")


def test_json_errors_agree_in_header_and_body(server):
    prefix = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"
    cases = [
        (f"{prefix}.LookupEvents", '{"MaxResults": 0}', "InvalidMaxResultsException"),
        (f"{prefix}.NoSuchOperation", "{}", "UnknownOperationException"),
        (f"{prefix}.LookupEvents", "[1, 2]", "SerializationException"),
    ]
    for target, body, code in cases:
        status, headers, raw = _signed_json(server, target, body)
        assert status == 400, raw
        lowered = {k.lower(): v for k, v in headers.items()}
        assert lowered["x-amzn-errortype"] == code
        assert json.loads(raw)["__type"] == code
        assert lowered["content-type"] == "application/x-amz-json-1.1"
    # Authentication failures use the JSON services' names.
    status, headers, raw = _signed_json(server, f"{prefix}.LookupEvents", "{}", secret="wrong-secret")
    assert status == 403
    assert json.loads(raw)["__type"] == "InvalidSignatureException"
