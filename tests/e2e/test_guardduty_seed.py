"""The GuardDuty seed post end to end as a person types it into the AWS CLI, and
what GuardDuty does on the customer's behalf through its service-linked role:
reading a bucket's policy back before calling it public, in the customer's
trail. Also the detector's protection plans and the finding summaries that
serve large detectors."""

import json
import sqlite3
import time

from e2e_util import ACCOUNT_ID, make_user, raises_aws
from test_guardduty_findings import all_ids, create_account, wait_for

ROLE = "AWSServiceRoleForAmazonGuardDuty"
PUBLIC_READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                   "Resource": "arn:aws:s3:::{bucket}/*"}],
}


def policy_for(bucket, doc=PUBLIC_READ):
    return json.dumps(doc).replace("{bucket}", bucket)


def guardduty_reads(srv, since):
    """GuardDuty's own calls in the trail since a sequence number."""
    return [e for e in srv.events_since(since)
            if e["userIdentity"].get("invokedBy") == "guardduty.amazonaws.com"
            and e["userIdentity"]["type"] == "AssumedRole"]


def test_seed_walk_through_as_typed(fresh_server, tmp_path):
    srv = fresh_server.start()
    aws = srv.aws
    # Enable GuardDuty: its role appears.
    det = aws("guardduty", "create-detector", "--enable")["DetectorId"]
    role = aws("iam", "get-role", "--role-name", ROLE)["Role"]
    assert role["Path"] == "/aws-service-role/guardduty.amazonaws.com/"
    assert aws("guardduty", "get-detector", "--detector-id", det)["ServiceRole"] == role["Arn"]

    # Sample findings; open one; filter on a value.
    aws("guardduty", "create-sample-findings", "--detector-id", det)
    high = aws("guardduty", "list-findings", "--detector-id", det, "--finding-criteria",
               json.dumps({"Criterion": {"severity": {"Gte": 7}, "type": {"Eq": ["Backdoor:EC2/C&CActivity.B"]}}}))
    (fid,) = high["FindingIds"]
    (finding,) = aws("guardduty", "get-findings", "--detector-id", det, "--finding-ids", fid)["Findings"]
    assert finding["Type"] == "Backdoor:EC2/C&CActivity.B" and finding["Severity"] >= 7

    # Archive by filter: the next occurrence is archived on arrival.
    aws("guardduty", "create-filter", "--detector-id", det, "--name", "quiet-c2", "--action", "ARCHIVE",
        "--finding-criteria", json.dumps({"Criterion": {"type": {"Eq": ["Backdoor:EC2/C&CActivity.B"]}}}))
    aws("guardduty", "create-sample-findings", "--detector-id", det, "--finding-types", "Backdoor:EC2/C&CActivity.B")
    (finding,) = aws("guardduty", "get-findings", "--detector-id", det, "--finding-ids", fid)["Findings"]
    assert finding["Service"]["Archived"] is True and finding["Service"]["Count"] == 2

    # Trusted and threat lists, from a bucket; a local file is uploaded first.
    aws("s3api", "create-bucket", "--bucket", "seed-lists")
    threats = tmp_path / "threats.txt"
    threats.write_text("203.0.113.0/24\nbad.example.com\n")
    aws("s3api", "put-object", "--bucket", "seed-lists", "--key", "threats.txt", "--body", str(threats))
    tid = aws("guardduty", "create-threat-intel-set", "--detector-id", det, "--name", "partners-bad",
              "--format", "TXT", "--location", "s3://seed-lists/threats.txt", "--activate")["ThreatIntelSetId"]
    trusted = tmp_path / "trusted.txt"
    trusted.write_text("198.51.100.0/24\n")
    aws("s3", "cp", str(trusted), "s3://seed-lists/trusted.txt", "--only-show-errors")
    iid = aws("guardduty", "create-ip-set", "--detector-id", det, "--name", "office", "--format", "TXT",
              "--location", "s3://seed-lists/trusted.txt", "--activate")["IpSetId"]
    assert aws("guardduty", "get-threat-intel-set", "--detector-id", det, "--threat-intel-set-id", tid)["Status"] == "ACTIVE"
    assert aws("guardduty", "get-ip-set", "--detector-id", det, "--ip-set-id", iid)["Status"] == "ACTIVE"

    # Invite another account; it accepts; its findings are shared.
    member, member_creds = create_account(srv)
    member_det = aws("guardduty", "create-detector", "--enable", creds=member_creds)["DetectorId"]
    aws("guardduty", "create-members", "--detector-id", det, "--account-details",
        f"AccountId={member},Email=security@example.com")
    aws("guardduty", "invite-members", "--detector-id", det, "--account-ids", member)
    (inv,) = aws("guardduty", "list-invitations", creds=member_creds)["Invitations"]
    aws("guardduty", "accept-administrator-invitation", "--detector-id", member_det, "--administrator-id",
        ACCOUNT_ID, "--invitation-id", inv["InvitationId"], creds=member_creds)
    (m,) = aws("guardduty", "list-members", "--detector-id", det)["Members"]
    assert m["AccountId"] == member and m["RelationshipStatus"] == "Enabled"
    aws("guardduty", "create-sample-findings", "--detector-id", member_det, "--finding-types",
        "Recon:EC2/Portscan", creds=member_creds)
    shared = aws("guardduty", "list-findings", "--detector-id", det, "--finding-criteria",
                 json.dumps({"Criterion": {"accountId": {"Eq": [member]}, "type": {"Eq": ["Recon:EC2/Portscan"]}}}))["FindingIds"]
    assert len(shared) == 1

    # Someone makes a bucket public: GuardDuty reads the policy through its role,
    # and both the finding and GuardDuty's read are there to see.
    aws("s3api", "create-bucket", "--bucket", "seed-website")
    aws("s3api", "put-bucket-policy", "--bucket", "seed-website", "--policy", policy_for("seed-website"))
    gd = srv.client("guardduty")
    (public,) = wait_for(gd, det, {"type": {"Equals": ["Policy:S3/BucketAnonymousAccessGranted"]},
                                   "resource.s3BucketDetails.name": {"Equals": ["seed-website"]}})
    assert public["Resource"]["S3BucketDetails"][0]["Name"] == "seed-website"
    reads = aws("cloudtrail", "lookup-events", "--lookup-attributes",
                "AttributeKey=EventName,AttributeValue=GetBucketPolicy")["Events"]
    (read,) = [json.loads(e["CloudTrailEvent"]) for e in reads]
    assert read["userIdentity"]["type"] == "AssumedRole"
    assert read["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"] == ROLE
    assert read["userIdentity"]["invokedBy"] == "guardduty.amazonaws.com"
    assert read["requestParameters"]["bucketName"] == "seed-website"

    # Try to delete the role: refused while the detectors use it, and why.
    task = aws("iam", "delete-service-linked-role", "--role-name", ROLE)["DeletionTaskId"]
    deadline = time.time() + 15
    while True:
        status = aws("iam", "get-service-linked-role-deletion-status", "--deletion-task-id", task)
        if status["Status"] not in ("NOT_STARTED", "IN_PROGRESS") or time.time() > deadline:
            break
        time.sleep(0.2)
    assert status["Status"] == "FAILED"
    (usage,) = status["Reason"]["RoleUsageList"]
    assert usage["Resources"] == [f"arn:aws:guardduty:us-east-1:{ACCOUNT_ID}:detector/{det}"]


def test_bucket_policy_read_through_the_role(fresh_server):
    srv = fresh_server.start()
    gd = srv.client("guardduty")
    det = gd.create_detector(Enable=True)["DetectorId"]
    user = make_user(srv, admin=True)
    s3 = srv.client("s3", **user.creds)
    for b in ("private-partner", "public-site", "public-drop"):
        s3.create_bucket(Bucket=b)
    seq = srv.max_seq()
    partner = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
        "Action": "s3:*", "Resource": ["arn:aws:s3:::{bucket}", "arn:aws:s3:::{bucket}/*"]}]}
    s3.put_bucket_policy(Bucket="private-partner", Policy=policy_for("private-partner", partner))
    s3.put_bucket_policy(Bucket="public-site", Policy=policy_for("public-site"))
    writable = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["s3:PutObject"],
        "Resource": "arn:aws:s3:::{bucket}/*"}]}
    s3.put_bucket_policy(Bucket="public-drop", Policy=policy_for("public-drop", writable))

    found = wait_for(gd, det, {"type": {"Equals": ["Policy:S3/BucketAnonymousAccessGranted"]}})
    deadline = time.time() + 10
    while len(found) < 2 and time.time() < deadline:
        time.sleep(0.2)
        found = wait_for(gd, det, {"type": {"Equals": ["Policy:S3/BucketAnonymousAccessGranted"]}})
    by_bucket = {f["Resource"]["S3BucketDetails"][0]["Name"]: f for f in found}
    assert set(by_bucket) == {"public-site", "public-drop"}
    site = by_bucket["public-site"]
    assert site["Severity"] == 8.0 and site["Resource"]["ResourceType"] == "S3Bucket"
    details = site["Resource"]["S3BucketDetails"][0]
    assert details["Arn"] == "arn:aws:s3:::public-site"
    perms = details["PublicAccess"]["PermissionConfiguration"]["BucketLevelPermissions"]["BucketPolicy"]
    assert perms == {"AllowsPublicReadAccess": True, "AllowsPublicWriteAccess": False}
    assert details["PublicAccess"]["EffectivePermission"] == "PUBLIC"
    drop = by_bucket["public-drop"]["Resource"]["S3BucketDetails"][0]["PublicAccess"]
    assert drop["PermissionConfiguration"]["BucketLevelPermissions"]["BucketPolicy"]["AllowsPublicWriteAccess"] is True
    assert site["Resource"]["AccessKeyDetails"]["UserName"] == user.name
    assert site["Service"]["Action"]["AwsApiCallAction"]["Api"] == "PutBucketPolicy"
    # The finding names the customer's call behind it.
    put = [e for e in srv.events_since(seq)
           if e["eventName"] == "PutBucketPolicy" and e["requestParameters"]["bucketName"] == "public-site"]
    info = json.loads(site["Service"]["AdditionalInfo"]["Value"])
    assert info["cloudTrailEventIds"] == [put[0]["eventID"]]

    # GuardDuty read all three policies (the partner's too) as its role, once
    # assuming it, and nothing it did made a finding of its own.
    mine = guardduty_reads(srv, seq)
    assert sorted(e["requestParameters"]["bucketName"] for e in mine if e["eventName"] == "GetBucketPolicy") == [
        "private-partner", "public-drop", "public-site"]
    for e in mine:
        assert e["sourceIPAddress"] == "guardduty.amazonaws.com" and e["userAgent"] == "guardduty.amazonaws.com"
        assert e["userIdentity"]["arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{ROLE}/GuardDuty"
        assert "errorCode" not in e
    assumed = [e for e in srv.events_since(seq) if e["eventName"] == "AssumeRole"
               and e["userIdentity"]["type"] == "AWSService"
               and e["requestParameters"]["roleArn"].endswith(ROLE)]
    assert len(assumed) == 1
    role = srv.client("iam").get_role(RoleName=ROLE)["Role"]
    assert role["RoleLastUsed"]["Region"] == "us-east-1"
    # GuardDuty's own calls are never findings of their own.
    time.sleep(1.0)
    assert all_ids(gd, det, {"resource.accessKeyDetails.userName": {"Equals": [ROLE]}}) == []
    assert len(wait_for(gd, det, {"type": {"Equals": ["Policy:S3/BucketAnonymousAccessGranted"]}})) == 2

    # Another public change of the same bucket counts up the same finding.
    s3.put_bucket_policy(Bucket="public-site", Policy=policy_for("public-site"))
    deadline = time.time() + 10
    while time.time() < deadline:
        (again,) = gd.get_findings(DetectorId=det, FindingIds=[site["Id"]])["Findings"]
        if again["Service"]["Count"] == 2:
            break
        time.sleep(0.2)
    assert again["Service"]["Count"] == 2


def test_guardduty_reads_in_the_detectors_region(fresh_server):
    from botocore.config import Config
    srv = fresh_server.start()
    west = Config(region_name="eu-west-1")
    gd = srv.client("guardduty", config=west)
    det = gd.create_detector(Enable=True)["DetectorId"]
    s3 = srv.client("s3", config=west)
    s3.create_bucket(Bucket="west-site", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    seq = srv.max_seq()
    s3.put_bucket_policy(Bucket="west-site", Policy=policy_for("west-site"))
    (found,) = wait_for(gd, det, {"type": {"Equals": ["Policy:S3/BucketAnonymousAccessGranted"]},
                                  "resource.s3BucketDetails.name": {"Equals": ["west-site"]}})
    assert found["Region"] == "eu-west-1"
    mine = guardduty_reads(srv, seq)
    assert [(e["eventName"], e["awsRegion"]) for e in mine] == [("GetBucketPolicy", "eu-west-1")]
    assumed = [e for e in srv.events_since(seq) if e["eventName"] == "AssumeRole"]
    assert [e["awsRegion"] for e in assumed] == ["eu-west-1"]
    role = srv.client("iam").get_role(RoleName=ROLE)["Role"]
    assert role["RoleLastUsed"]["Region"] == "eu-west-1"
    # A detector in us-east-1 sees nothing of it.
    east = srv.client("guardduty")
    east_det = east.create_detector(Enable=True)["DetectorId"]
    assert all_ids(east, east_det, {"type": {"Equals": ["Policy:S3/BucketAnonymousAccessGranted"]}}) == []


def test_detector_features_and_data_sources(fresh_server):
    srv = fresh_server.start()
    gd = srv.client("guardduty")
    with raises_aws("BadRequestException", 400, "same request"):
        gd.create_detector(Enable=True, DataSources={"S3Logs": {"Enable": True}},
                           Features=[{"Name": "S3_DATA_EVENTS", "Status": "ENABLED"}])
    with raises_aws("BadRequestException", 400, "CLOUD_TRAIL"):
        gd.create_detector(Enable=True, Features=[{"Name": "CLOUD_TRAIL", "Status": "DISABLED"}])
    assert gd.list_detectors()["DetectorIds"] == []
    with raises_aws("BadRequestException", 400, "groupBy"):
        gd.get_findings_statistics(DetectorId="0" * 32, GroupBy="COLOUR")
    det = gd.create_detector(Enable=True, Features=[
        {"Name": "EKS_AUDIT_LOGS", "Status": "ENABLED"},
        {"Name": "RUNTIME_MONITORING", "Status": "ENABLED",
         "AdditionalConfiguration": [{"Name": "ECS_FARGATE_AGENT_MANAGEMENT", "Status": "ENABLED"}]},
    ])["DetectorId"]
    got = gd.get_detector(DetectorId=det)
    status = {f["Name"]: f["Status"] for f in got["Features"]}
    assert status["CLOUD_TRAIL"] == status["DNS_LOGS"] == status["FLOW_LOGS"] == "ENABLED"
    assert status["S3_DATA_EVENTS"] == "ENABLED" and status["EKS_AUDIT_LOGS"] == "ENABLED"
    assert status["RDS_LOGIN_EVENTS"] == "DISABLED"
    runtime = next(f for f in got["Features"] if f["Name"] == "RUNTIME_MONITORING")
    assert runtime["AdditionalConfiguration"][0]["Name"] == "ECS_FARGATE_AGENT_MANAGEMENT"
    assert runtime["AdditionalConfiguration"][0]["Status"] == "ENABLED"
    assert got["DataSources"]["Kubernetes"]["AuditLogs"]["Status"] == "ENABLED"
    assert got["DataSources"]["S3Logs"]["Status"] == "ENABLED"
    assert got["DataSources"]["CloudTrail"]["Status"] == "ENABLED"

    # The deprecated spelling updates the same plans, and a bad request changes nothing.
    gd.update_detector(DetectorId=det, DataSources={"S3Logs": {"Enable": False},
                                                    "MalwareProtection": {"ScanEc2InstanceWithFindings": {"EbsVolumes": True}}})
    with raises_aws("BadRequestException", 400, "does not apply"):
        gd.update_detector(DetectorId=det, Features=[
            {"Name": "EKS_AUDIT_LOGS", "Status": "DISABLED"},
            {"Name": "S3_DATA_EVENTS", "Status": "ENABLED",
             "AdditionalConfiguration": [{"Name": "EKS_ADDON_MANAGEMENT", "Status": "ENABLED"}]}])
    got = gd.get_detector(DetectorId=det)
    status = {f["Name"]: f["Status"] for f in got["Features"]}
    assert status["S3_DATA_EVENTS"] == "DISABLED" and status["EBS_MALWARE_PROTECTION"] == "ENABLED"
    assert status["EKS_AUDIT_LOGS"] == "ENABLED"
    assert got["DataSources"]["MalwareProtection"]["ScanEc2InstanceWithFindings"]["EbsVolumes"]["Status"] == "ENABLED"
    cli = srv.aws("guardduty", "get-detector", "--detector-id", det)
    assert {f["Name"] for f in cli["Features"]} >= {"CLOUD_TRAIL", "S3_DATA_EVENTS", "RUNTIME_MONITORING"}


def test_summaries_are_built_for_a_store_without_them(fresh_server):
    """A detector whose findings predate summaries answers from the findings
    until the worker has built its summaries, and the same afterwards."""
    srv = fresh_server.start()
    gd = srv.client("guardduty")
    det = gd.create_detector(Enable=True)["DetectorId"]
    gd.create_sample_findings(DetectorId=det)
    # Root's own calls make a live finding too; let it arrive first.
    wait_for(gd, det, {"type": {"Equals": ["Policy:IAMUser/RootCredentialUsage"]},
                       "resource.accessKeyDetails.userName": {"Equals": ["Root"]}})
    # Root's calls keep updating (and unarchiving) the live finding: archive samples only.
    some = all_ids(gd, det, {"type": {"NotEquals": ["Policy:IAMUser/RootCredentialUsage"]}})[:5]
    gd.archive_findings(DetectorId=det, FindingIds=some)
    questions = [
        {"severity": {"GreaterThanOrEqual": 7}, "service.archived": {"Equals": ["false"]}},
        {"service.archived": {"Equals": ["true"]}},
        {"resource.resourceType": {"Equals": ["S3Bucket"]}},
        {"resource.instanceDetails.tags.value": {"Equals": ["GeneratedFindingInstaceValue1"]}},
        {"type": {"NotEquals": ["Recon:EC2/Portscan"]}, "updatedAt": {"GreaterThan": 0}},
    ]
    before = [all_ids(gd, det, q) for q in questions]
    assert sorted(before[1]) == sorted(some)
    srv.stop()
    db = sqlite3.connect(srv.db_path)
    removed = db.execute("DELETE FROM kv WHERE ns IN ('guardduty.summary', 'guardduty.summary.ready')").rowcount
    db.commit()
    db.close()
    assert removed > 60
    srv.start()
    gd = srv.client("guardduty")
    assert [all_ids(gd, det, q) for q in questions] == before
    deadline = time.time() + 15
    while time.time() < deadline:
        with sqlite3.connect(f"file:{srv.db_path}?mode=ro", uri=True) as ro:
            if ro.execute("SELECT count(*) FROM kv WHERE ns = 'guardduty.summary.ready'").fetchone()[0]:
                break
        time.sleep(0.2)
    else:
        raise AssertionError("summaries were not built")
    assert [all_ids(gd, det, q) for q in questions] == before
    top = gd.list_findings(DetectorId=det, SortCriteria={"AttributeName": "severity", "OrderBy": "DESC"},
                           MaxResults=50)["FindingIds"]
    by_id = {f["Id"]: f for f in gd.get_findings(DetectorId=det, FindingIds=top)["Findings"]}
    severities = [by_id[i]["Severity"] for i in top]
    assert severities == sorted(severities, reverse=True) and severities[0] == 8.0
