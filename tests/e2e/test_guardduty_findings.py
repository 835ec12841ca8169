"""GuardDuty findings through boto3 and the AWS CLI: the seed walk-through (enable,
generate sample findings, open one, filter on a value, archive by filter), the
finding criteria, statistics and feedback, and the first live detections on
trailguard's own trail, which name the CloudTrail events behind them."""

import json
import time

from e2e_util import ACCOUNT_ID, make_user, raises_aws

SEVERITY = {"Low": (1.0, 3.9), "Medium": (4.0, 6.9), "High": (7.0, 8.9)}


def detector(srv):
    gd = srv.client("guardduty")
    return gd, gd.create_detector(Enable=True)["DetectorId"]


def all_ids(gd, det, criteria=None):
    args = {"DetectorId": det, "MaxResults": 50}
    if criteria is not None:
        args["FindingCriteria"] = {"Criterion": criteria}
    ids = []
    for page in gd.get_paginator("list_findings").paginate(**args):
        ids += page["FindingIds"]
    return ids


def findings(gd, det, ids):
    out = []
    for i in range(0, len(ids), 50):
        out += gd.get_findings(DetectorId=det, FindingIds=ids[i:i + 50])["Findings"]
    return out


def wait_for(gd, det, criteria, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        ids = all_ids(gd, det, criteria)
        if ids:
            return findings(gd, det, ids)
        time.sleep(0.2)
    raise AssertionError(f"no finding matched {criteria}")


def test_seed_walk_through_sample_findings_filter_and_archive(fresh_server):
    srv = fresh_server.start()
    det = srv.aws("guardduty", "create-detector", "--enable")["DetectorId"]
    gd = srv.client("guardduty")
    srv.aws("guardduty", "create-sample-findings", "--detector-id", det)
    every = [f for f in findings(gd, det, all_ids(gd, det))
             if json.loads(f["Service"]["AdditionalInfo"]["Value"]).get("sample")]
    types = {f["Type"] for f in every}
    # One of each classic type, from every source (root's own calls may add a
    # live RootCredentialUsage finding beside them).
    assert len(every) == len(types) >= 60
    for t in ("Recon:EC2/PortProbeUnprotectedPort", "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom",
              "Stealth:IAMUser/CloudTrailLoggingDisabled", "Policy:IAMUser/RootCredentialUsage"):
        assert t in types, t
    f = next(f for f in every if f["Type"] == "Recon:EC2/PortProbeUnprotectedPort")
    assert f["SchemaVersion"] == "2.0" and f["AccountId"] == ACCOUNT_ID and f["Region"] == "us-east-1"
    assert f["Arn"] == f"arn:aws:guardduty:us-east-1:{ACCOUNT_ID}:detector/{det}/finding/{f['Id']}"
    assert len(f["Id"]) == 32
    assert f["Resource"]["ResourceType"] == "Instance"
    assert f["Resource"]["InstanceDetails"]["InstanceId"] == "i-99999999"
    assert f["Service"]["Action"]["ActionType"] == "PORT_PROBE"
    assert f["Service"]["Archived"] is False and f["Service"]["Count"] == 1
    assert f["Service"]["DetectorId"] == det and f["Service"]["ServiceName"] == "guardduty"
    assert json.loads(f["Service"]["AdditionalInfo"]["Value"]) == {"sample": True}
    assert isinstance(f["Severity"], float)
    for g in every:
        assert any(lo <= g["Severity"] <= hi for lo, hi in SEVERITY.values()), g["Type"]
    # Samples again: the same findings count up instead of multiplying.
    gd.create_sample_findings(DetectorId=det, FindingTypes=["Recon:EC2/PortProbeUnprotectedPort"])
    again = findings(gd, det, all_ids(gd, det, {"type": {"Equals": ["Recon:EC2/PortProbeUnprotectedPort"]}}))
    assert len(again) == 1 and again[0]["Service"]["Count"] == 2 and again[0]["Id"] == f["Id"]

    # Filter on a value.
    high = all_ids(gd, det, {"severity": {"GreaterThanOrEqual": 7}})
    assert high and all(g["Severity"] >= 7 for g in findings(gd, det, high))
    by_type = all_ids(gd, det, {"type": {"Equals": ["Recon:EC2/PortProbeUnprotectedPort"]}})
    assert by_type == [f["Id"]]
    assert f["Id"] not in all_ids(gd, det, {"type": {"NotEquals": ["Recon:EC2/PortProbeUnprotectedPort"]}})
    # Sorted by severity, highest first.
    page = gd.list_findings(DetectorId=det, SortCriteria={"AttributeName": "severity", "OrderBy": "DESC"}, MaxResults=5)
    top = findings(gd, det, page["FindingIds"])
    assert [g["Severity"] for g in top] == sorted((g["Severity"] for g in top), reverse=True)
    assert "NextToken" in page

    # Archive by filter: new and updated matches are archived.
    srv.aws("guardduty", "create-filter", "--detector-id", det, "--name", "suppress-probes", "--action", "ARCHIVE",
            "--rank", "1", "--finding-criteria", json.dumps({"Criterion": {"type": {"Eq": ["Recon:EC2/PortProbeUnprotectedPort"]}}}))
    assert gd.list_filters(DetectorId=det)["FilterNames"] == ["suppress-probes"]
    got = gd.get_filter(DetectorId=det, FilterName="suppress-probes")
    assert got["Action"] == "ARCHIVE" and got["Rank"] == 1
    gd.create_sample_findings(DetectorId=det, FindingTypes=["Recon:EC2/PortProbeUnprotectedPort"])
    archived = all_ids(gd, det, {"service.archived": {"Equals": ["true"]}})
    assert archived == [f["Id"]]
    ids = all_ids(gd, det)
    current = all_ids(gd, det, {"service.archived": {"Equals": ["false"]}})
    assert f["Id"] not in current and len(current) == len(ids) - 1
    # Archive and unarchive by hand.
    gd.unarchive_findings(DetectorId=det, FindingIds=[f["Id"]])
    assert findings(gd, det, [f["Id"]])[0]["Service"]["Archived"] is False
    # Two sample findings: the live root-credential finding this test's own
    # root calls keep bringing back (a new occurrence unarchives it) is not one.
    live = set(all_ids(gd, det, {"type": {"Equals": ["Policy:IAMUser/RootCredentialUsage"]}}))
    two = [i for i in current if i not in live][:2]
    gd.archive_findings(DetectorId=det, FindingIds=two)
    assert set(two) <= set(all_ids(gd, det, {"service.archived": {"Equals": ["true"]}}))
    gd.update_filter(DetectorId=det, FilterName="suppress-probes", Action="NOOP")
    gd.delete_filter(DetectorId=det, FilterName="suppress-probes")
    assert gd.list_filters(DetectorId=det)["FilterNames"] == []

    # Statistics and feedback.
    ids = all_ids(gd, det)
    stats = gd.get_findings_statistics(DetectorId=det, FindingStatisticTypes=["COUNT_BY_SEVERITY"])["FindingStatistics"]
    assert sum(stats["CountBySeverity"].values()) == len(ids)
    grouped = gd.get_findings_statistics(DetectorId=det, GroupBy="SEVERITY")["FindingStatistics"]["GroupedBySeverity"]
    assert {g["Severity"] for g in grouped} <= {2.0, 5.0, 8.0}
    assert sum(g["TotalFindings"] for g in grouped) == len(ids)
    gd.update_findings_feedback(DetectorId=det, FindingIds=[f["Id"]], Feedback="USEFUL")
    assert findings(gd, det, [f["Id"]])[0]["Service"]["UserFeedback"] == "USEFUL"

    # Deleting the detector takes its findings with it.
    gd.delete_detector(DetectorId=det)
    det2 = gd.create_detector(Enable=True)["DetectorId"]
    assert all_ids(gd, det2) == []


def test_criteria_and_filter_errors(fresh_server):
    srv = fresh_server.start()
    gd, det = detector(srv)
    with raises_aws("BadRequestException", 400):
        gd.list_findings(DetectorId=det, FindingCriteria={"Criterion": {"type": {"Matches": ["Recon:*"]}}})
    with raises_aws("BadRequestException", 400):
        gd.create_sample_findings(DetectorId=det, FindingTypes=["Nope:EC2/NotAType"])
    with raises_aws("BadRequestException", 400):
        gd.create_filter(DetectorId=det, Name="no spaces!", FindingCriteria={"Criterion": {}})
    with raises_aws("BadRequestException", 400):
        gd.create_filter(DetectorId=det, Name="bad-action", Action="DELETE", FindingCriteria={"Criterion": {}})
    gd.create_filter(DetectorId=det, Name="recon", FindingCriteria={"Criterion": {"type": {"Matches": ["Recon:*"]}}})
    with raises_aws("BadRequestException", 400, "already exists"):
        gd.create_filter(DetectorId=det, Name="recon", FindingCriteria={"Criterion": {}})
    with raises_aws("BadRequestException", 400):
        gd.get_filter(DetectorId=det, FilterName="missing")
    with raises_aws("BadRequestException", 400):
        gd.get_findings(DetectorId=det, FindingIds=[])
    with raises_aws("BadRequestException", 400, "not owned"):
        gd.list_findings(DetectorId="0" * 32)


def test_live_detections_name_the_events_behind_them(fresh_server):
    srv = fresh_server.start()
    gd, det = detector(srv)
    # Root credentials in use: one finding, counting up.
    iam = srv.client("iam")
    seq = srv.max_seq()
    iam.list_users()
    iam.list_roles()
    # The detector may first see root's own CreateDetector call: wait until
    # the finding has counted the calls made since.
    recorded = {e["eventID"]: e for e in srv.events_since(seq)}
    deadline = time.time() + 15
    while True:
        root = wait_for(gd, det, {"type": {"Equals": ["Policy:IAMUser/RootCredentialUsage"]}})
        ids_behind = set(json.loads(root[0]["Service"]["AdditionalInfo"]["Value"])["cloudTrailEventIds"])
        if ids_behind & set(recorded) or time.time() > deadline:
            break
        time.sleep(0.1)
    assert len(root) == 1
    assert ids_behind & set(recorded)
    assert all(recorded[i]["userIdentity"]["type"] == "Root" for i in ids_behind & set(recorded))
    assert root[0]["Resource"]["AccessKeyDetails"]["UserType"] == "Root"

    # A user turns off a trail from a Kali box.
    s3 = srv.client("s3")
    s3.create_bucket(Bucket="gd-trail-logs")
    s3.put_bucket_policy(Bucket="gd-trail-logs", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::gd-trail-logs/AWSLogs/{ACCOUNT_ID}/*"}]}))
    srv.client("cloudtrail").create_trail(Name="watched", S3BucketName="gd-trail-logs")
    srv.client("cloudtrail").start_logging(Name="watched")
    user = make_user(srv, admin=True)
    from botocore.config import Config
    kali = srv.client("cloudtrail", **user.creds, config=Config(user_agent_extra="kali-linux/2026.3"))
    kali.stop_logging(Name="watched")
    stealth = wait_for(gd, det, {"type": {"Equals": ["Stealth:IAMUser/CloudTrailLoggingDisabled"]}})
    assert len(stealth) == 1
    f = stealth[0]
    assert f["Severity"] <= 3.9
    call = f["Service"]["Action"]["AwsApiCallAction"]
    assert call["Api"] == "StopLogging" and call["ServiceName"] == "cloudtrail.amazonaws.com"
    assert call["RemoteIpDetails"]["IpAddressV4"] == "127.0.0.1"
    assert f["Resource"]["AccessKeyDetails"]["UserName"] == user.name
    assert f["Resource"]["AccessKeyDetails"]["AccessKeyId"] == user.access_key_id
    (event_id,) = json.loads(f["Service"]["AdditionalInfo"]["Value"])["cloudTrailEventIds"]
    behind = next(e for e in srv.events() if e["eventID"] == event_id)
    assert behind["eventName"] == "StopLogging" and behind["userIdentity"]["arn"] == user.arn
    pentest = wait_for(gd, det, {"type": {"Equals": ["PenTest:IAMUser/KaliLinux"]}})
    assert pentest[0]["Severity"] >= 4.0
    # A refused StopLogging is no finding.
    nobody = make_user(srv)
    with raises_aws("AccessDeniedException", 403):
        srv.client("cloudtrail", **nobody.creds).stop_logging(Name="watched")
    time.sleep(1.5)
    stealth = findings(gd, det, all_ids(gd, det, {"type": {"Equals": ["Stealth:IAMUser/CloudTrailLoggingDisabled"]}}))
    assert len(stealth) == 1 and stealth[0]["Service"]["Count"] == 1

    # A disabled detector detects nothing.
    gd.update_detector(DetectorId=det, Enable=False)
    before = findings(gd, det, all_ids(gd, det, {"type": {"Equals": ["Policy:IAMUser/RootCredentialUsage"]}}))[0]
    iam.list_users()
    time.sleep(1.5)
    after = findings(gd, det, [before["Id"]])[0]
    assert after["Service"]["Count"] == before["Service"]["Count"]


def test_threat_and_trusted_lists(fresh_server, tmp_path):
    """Lists load from objects in a trailguard bucket; an active threat
    list naming the caller's IP makes MaliciousIPCaller.Custom findings, and a
    trusted list silences every detection."""
    srv = fresh_server.start()
    gd, det = detector(srv)
    s3 = srv.client("s3")
    s3.create_bucket(Bucket="gd-lists")
    s3.put_object(Bucket="gd-lists", Key="threats.txt", Body=b"# known bad\n127.0.0.1\n203.0.113.0/24\nevil.example.com\n")
    s3.put_object(Bucket="gd-lists", Key="bad.txt", Body=b"10.0.0.1\nnot an ip at all\n")
    with raises_aws("BadRequestException", 400, "line 2"):
        gd.create_threat_intel_set(DetectorId=det, Name="broken", Format="TXT",
                                   Location="s3://gd-lists/bad.txt", Activate=True)
    assert gd.list_threat_intel_sets(DetectorId=det)["ThreatIntelSetIds"] == []
    with raises_aws("BadRequestException", 400, "does not exist"):
        gd.create_threat_intel_set(DetectorId=det, Name="missing", Format="TXT",
                                   Location="s3://gd-lists/nope.txt", Activate=True)
    tid = srv.aws("guardduty", "create-threat-intel-set", "--detector-id", det, "--name", "bad-hosts",
                  "--format", "TXT", "--location", "https://s3.amazonaws.com/gd-lists/threats.txt",
                  "--activate")["ThreatIntelSetId"]
    got = gd.get_threat_intel_set(DetectorId=det, ThreatIntelSetId=tid)
    assert got["Status"] == "ACTIVE" and got["Format"] == "TXT" and got["Name"] == "bad-hosts"
    assert gd.list_threat_intel_sets(DetectorId=det)["ThreatIntelSetIds"] == [tid]

    user = make_user(srv, admin=True)
    srv.client("iam", **user.creds).list_users()
    srv.client("iam", **user.creds).create_group(GroupName="from-a-bad-host")
    # Root's own calls come from the same address; look at the user's.
    mine = {"resource.accessKeyDetails.userName": {"Equals": [user.name]}}
    recon = wait_for(gd, det, {"type": {"Equals": ["Recon:IAMUser/MaliciousIPCaller.Custom"]}, **mine})
    assert recon[0]["Service"]["Action"]["AwsApiCallAction"]["Api"] == "ListUsers"
    assert recon[0]["Service"]["Evidence"]["ThreatIntelligenceDetails"][0]["ThreatListName"] == "bad-hosts"
    assert recon[0]["Resource"]["AccessKeyDetails"]["UserName"] == user.name
    unauthorized = wait_for(gd, det, {"type": {"Equals": ["UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom"]}, **mine})
    assert unauthorized[0]["Service"]["Action"]["AwsApiCallAction"]["Api"] == "CreateGroup"

    # A trusted list (one at most) silences the IP entirely.
    s3.put_object(Bucket="gd-lists", Key="trusted.txt", Body=b"127.0.0.0/8\n")
    trusted = "https://gd-lists.s3.us-east-1.amazonaws.com/trusted.txt"
    iid = gd.create_ip_set(DetectorId=det, Name="office", Format="TXT", Location=trusted,
                           Activate=True)["IpSetId"]
    with raises_aws("BadRequestException", 400, "at most 1"):
        gd.create_ip_set(DetectorId=det, Name="second", Format="TXT", Location=trusted, Activate=True)
    time.sleep(1.0)
    before = {f["Id"]: f["Service"]["Count"] for f in findings(gd, det, all_ids(gd, det))}
    srv.client("iam", **user.creds).list_users()
    srv.client("iam").list_users()
    time.sleep(1.5)
    after = {f["Id"]: f["Service"]["Count"] for f in findings(gd, det, all_ids(gd, det))}
    assert after == before
    # Deactivated, it no longer silences.
    gd.update_ip_set(DetectorId=det, IpSetId=iid, Activate=False)
    assert gd.get_ip_set(DetectorId=det, IpSetId=iid)["Status"] == "INACTIVE"
    srv.client("iam", **user.creds).list_users()
    deadline = time.time() + 10
    while time.time() < deadline:
        count = findings(gd, det, [recon[0]["Id"]])[0]["Service"]["Count"]
        if count > before[recon[0]["Id"]]:
            break
        time.sleep(0.2)
    assert count > before[recon[0]["Id"]]
    gd.delete_ip_set(DetectorId=det, IpSetId=iid)
    gd.delete_threat_intel_set(DetectorId=det, ThreatIntelSetId=tid)
    assert gd.list_ip_sets(DetectorId=det)["IpSetIds"] == []


def create_account(srv):
    """`trailguard account create` on the server's data directory, as a person would."""
    import re
    import subprocess

    out = subprocess.run([str(srv.binary), "account", "create", "--data-dir", str(srv.data_dir)],
                         check=True, capture_output=True, text=True).stdout
    account = re.search(r"Created account (\d{12})", out).group(1)
    key = re.search(r"aws_access_key_id = (\S+)", out).group(1)
    secret = re.search(r"aws_secret_access_key = (\S+)", out).group(1)
    srv.secrets.add(secret)
    return account, {"aws_access_key_id": key, "aws_secret_access_key": secret}


def test_administrator_and_member_accounts(fresh_server):
    srv = fresh_server.start()
    member_account, member_creds = create_account(srv)
    assert member_account != ACCOUNT_ID
    admin = srv.client("guardduty")
    member = srv.client("guardduty", **member_creds)
    assert srv.client("sts", **member_creds).get_caller_identity()["Account"] == member_account
    admin_det = admin.create_detector(Enable=True)["DetectorId"]
    member_det = member.create_detector(Enable=True)["DetectorId"]

    out = admin.create_members(DetectorId=admin_det, AccountDetails=[
        {"AccountId": member_account, "Email": "member@example.com"},
        {"AccountId": ACCOUNT_ID, "Email": "self@example.com"},
    ])
    assert [u["AccountId"] for u in out["UnprocessedAccounts"]] == [ACCOUNT_ID]
    listed = admin.list_members(DetectorId=admin_det, OnlyAssociated="false")["Members"]
    assert [(m["AccountId"], m["RelationshipStatus"]) for m in listed] == [(member_account, "Created")]
    assert admin.invite_members(DetectorId=admin_det, AccountIds=[member_account])["UnprocessedAccounts"] == []

    (invitation,) = member.list_invitations()["Invitations"]
    assert invitation["AccountId"] == ACCOUNT_ID and invitation["RelationshipStatus"] == "Invited"
    assert member.get_invitations_count()["InvitationsCount"] == 1
    with raises_aws("BadRequestException", 400):
        member.accept_administrator_invitation(DetectorId=member_det, AdministratorId=ACCOUNT_ID, InvitationId="nope")
    srv.aws("guardduty", "accept-administrator-invitation", "--detector-id", member_det,
            "--administrator-id", ACCOUNT_ID, "--invitation-id", invitation["InvitationId"], creds=member_creds)
    assert member.get_administrator_account(DetectorId=member_det)["Administrator"]["AccountId"] == ACCOUNT_ID
    (m,) = admin.get_members(DetectorId=admin_det, AccountIds=[member_account])["Members"]
    assert m["RelationshipStatus"] == "Enabled" and m["DetectorId"] == member_det and m["Email"] == "member@example.com"

    # The member's findings are the administrator's to see and archive.
    member.create_sample_findings(DetectorId=member_det, FindingTypes=["Trojan:EC2/DNSDataExfiltration"])
    theirs = all_ids(admin, admin_det, {"accountId": {"Equals": [member_account]},
                                        "type": {"Equals": ["Trojan:EC2/DNSDataExfiltration"]}})
    assert len(theirs) == 1
    finding = admin.get_findings(DetectorId=admin_det, FindingIds=theirs)["Findings"][0]
    assert finding["AccountId"] == member_account and finding["Service"]["DetectorId"] == member_det
    admin.archive_findings(DetectorId=admin_det, FindingIds=theirs)
    assert member.get_findings(DetectorId=member_det, FindingIds=theirs)["Findings"][0]["Service"]["Archived"] is True
    # The member does not see the administrator's findings.
    admin.create_sample_findings(DetectorId=admin_det, FindingTypes=["Recon:EC2/Portscan"])
    assert all_ids(member, member_det, {"type": {"Equals": ["Recon:EC2/Portscan"]}}) == []

    admin.disassociate_members(DetectorId=admin_det, AccountIds=[member_account])
    assert all_ids(admin, admin_det, {"accountId": {"Equals": [member_account]}}) == []
    assert "Administrator" not in member.get_administrator_account(DetectorId=member_det)
    admin.delete_members(DetectorId=admin_det, AccountIds=[member_account])
    assert admin.list_members(DetectorId=admin_det, OnlyAssociated="false")["Members"] == []

    # A declined invitation leaves nothing behind.
    admin.create_members(DetectorId=admin_det, AccountDetails=[{"AccountId": member_account, "Email": "m@example.com"}])
    admin.invite_members(DetectorId=admin_det, AccountIds=[member_account])
    member.decline_invitations(AccountIds=[ACCOUNT_ID])
    assert member.list_invitations()["Invitations"] == []


def test_findings_exported_to_a_publishing_destination(fresh_server):
    import gzip

    srv = fresh_server.start()
    gd, det = detector(srv)
    s3 = srv.client("s3")
    s3.create_bucket(Bucket="gd-export")
    # GuardDuty writes as its service principal, which only the bucket policy can allow.
    s3.put_bucket_policy(Bucket="gd-export", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "AllowGuardDutyPutObject", "Effect": "Allow",
                       "Principal": {"Service": "guardduty.amazonaws.com"}, "Action": "s3:PutObject",
                       "Resource": "arn:aws:s3:::gd-export/*"}],
    }))
    with raises_aws("BadRequestException", 400):
        gd.create_publishing_destination(DetectorId=det, DestinationType="S3",
                                         DestinationProperties={"DestinationArn": "arn:aws:s3:::no-such-bucket"})
    dest = gd.create_publishing_destination(
        DetectorId=det, DestinationType="S3",
        DestinationProperties={"DestinationArn": "arn:aws:s3:::gd-export/findings",
                               "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/abcd"})["DestinationId"]
    got = gd.describe_publishing_destination(DetectorId=det, DestinationId=dest)
    assert got["Status"] == "PUBLISHING" and got["DestinationProperties"]["DestinationArn"] == "arn:aws:s3:::gd-export/findings"
    assert [d["DestinationId"] for d in gd.list_publishing_destinations(DetectorId=det)["Destinations"]] == [dest]
    gd.create_sample_findings(DetectorId=det, FindingTypes=["Recon:EC2/Portscan", "Trojan:EC2/BlackholeTraffic"])
    prefix = f"findings/AWSLogs/{ACCOUNT_ID}/GuardDuty/us-east-1/"
    deadline = time.time() + 15
    exported = []
    while time.time() < deadline:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="gd-export", Prefix=prefix).get("Contents", [])]
        exported = [json.loads(line) for k in keys
                    for line in gzip.decompress(s3.get_object(Bucket="gd-export", Key=k)["Body"].read()).splitlines()]
        if {"Recon:EC2/Portscan", "Trojan:EC2/BlackholeTraffic"} <= {f["type"] for f in exported}:
            break
        time.sleep(0.2)
    types = [f["type"] for f in exported]
    assert types.count("Recon:EC2/Portscan") == 1 and types.count("Trojan:EC2/BlackholeTraffic") == 1
    assert all(k.endswith(".jsonl.gz") for k in keys)
    gd.delete_publishing_destination(DetectorId=det, DestinationId=dest)
    assert gd.list_publishing_destinations(DetectorId=det)["Destinations"] == []


def test_severity_equals_a_number_by_value(fresh_server):
    """Prowler asks `severity` `Eq ["8"]` for high findings; stored severities are
    doubles (8.0), and GuardDuty compares them by value, so they match."""
    gd, det = detector(fresh_server.start())
    gd.create_sample_findings(DetectorId=det)
    every = findings(gd, det, all_ids(gd, det))
    whole = {g["Severity"] for g in every if g["Severity"] == int(g["Severity"])}
    assert whole, "no sample finding has a whole-number severity"
    for sev in sorted(whole):
        matched = findings(gd, det, all_ids(gd, det, {"severity": {"Eq": [str(int(sev))]}}))
        assert matched and all(g["Severity"] == sev for g in matched)
        assert {g["Id"] for g in every if g["Severity"] == sev} <= {g["Id"] for g in matched}
