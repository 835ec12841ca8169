"""Attacks on GuardDuty, and what trailguard answers.

Lists (trusted IP lists and threat lists) are S3 objects that GuardDuty reads as
its service-linked role, never the server's own files; errors name a line, never
its content; a member account cannot hide its findings from its administrator.
"""

import json
import sqlite3

import pytest

from e2e_util import ACCOUNT_ID, ROOT_SECRET_ACCESS_KEY, make_user, raises_aws, request_id
from test_guardduty_findings import all_ids, create_account, findings

ROLE = "AWSServiceRoleForAmazonGuardDuty"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/guardduty.amazonaws.com/{ROLE}"
# What a leak of a server file or a list would show.
LEAK_MARKERS = (ROOT_SECRET_ACCESS_KEY, "TRAILGUARD_", "PATH=", "root:x:0", "HOME=")


def records_of(srv, response_or_error):
    """The CloudTrail records of one call, found by its request id."""
    return srv.events_for_request(request_id(response_or_error))


def assert_clean(text):
    for marker in LEAK_MARKERS:
        assert marker not in text, f"{marker!r} leaked in {text!r}"


def lookup_errors(client, name):
    """errorMessage of every LookupEvents record of `name` the account sees."""
    events = client.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])
    return [json.loads(e["CloudTrailEvent"]).get("errorMessage", "") for e in events["Events"]]


@pytest.mark.parametrize("location", [
    "file:///proc/self/environ",
    "file:///dev/zero",
    "file:///proc/self/fd/2",
    "file:///etc/passwd",
    "/etc/passwd",
    "https://evil.example.com/lists/x.txt",
])
def test_second_account_root_names_a_server_file_as_a_list(fresh_server, location):
    """A second account's root asks GuardDuty to load a list from the server's
    own files (its environment holds the default root's secret; /dev/zero never
    ends): refused at once with BadRequestException, and neither the answer nor
    the CloudTrail record (the trail store and LookupEvents) holds a byte of any file."""
    srv = fresh_server.start()
    _, creds = create_account(srv)
    gd = srv.client("guardduty", **creds)
    det = gd.create_detector(Enable=True)["DetectorId"]
    for create in (gd.create_threat_intel_set, gd.create_ip_set):
        with raises_aws("BadRequestException", 400, "not an S3 object") as err:
            create(DetectorId=det, Name="grab", Format="TXT", Location=location, Activate=True)
        assert_clean(json.dumps(err.value.response, default=str))
        (record,) = records_of(srv, err.value)
        assert record["errorCode"] == "BadRequestException"
        assert_clean(json.dumps(record))
    # Nor by moving an existing list there.
    srv.client("s3", **creds).create_bucket(Bucket="b-own-lists")
    srv.client("s3", **creds).put_object(Bucket="b-own-lists", Key="t.txt", Body=b"203.0.113.9\n")
    tid = gd.create_threat_intel_set(DetectorId=det, Name="ok", Format="TXT",
                                     Location="s3://b-own-lists/t.txt", Activate=True)["ThreatIntelSetId"]
    with raises_aws("BadRequestException", 400, "not an S3 object") as err:
        gd.update_threat_intel_set(DetectorId=det, ThreatIntelSetId=tid, Location=location)
    assert_clean(json.dumps(err.value.response, default=str))
    assert gd.get_threat_intel_set(DetectorId=det, ThreatIntelSetId=tid)["Location"] == "s3://b-own-lists/t.txt"
    for name in ("CreateThreatIntelSet", "CreateIPSet", "UpdateThreatIntelSet"):
        for message in lookup_errors(srv.client("cloudtrail", **creds), name):
            assert_clean(message)
    assert not srv._records_containing(ROOT_SECRET_ACCESS_KEY)


def test_bad_line_holding_a_secret_is_named_never_echoed(fresh_server):
    """A list whose second line is a secret-looking string: refused with
    BadRequestException naming line 2 and what is wrong, in the answer and in
    the record, without a character of the line."""
    srv = fresh_server.start()
    gd = srv.client("guardduty")
    det = gd.create_detector(Enable=True)["DetectorId"]
    s3 = srv.client("s3")
    s3.create_bucket(Bucket="lists-with-secrets")
    secret = "aws_secret_access_key=Zq8vS3cr3tV4lu3ThatMustNeverLeak0000000000"
    for key, body in (("plain.txt", f"198.51.100.1\n{secret}\n"),
                      ("otx.csv", f"Indicator type,Indicator,Description\nIPv4,{secret},x\n"),
                      ("otx-type.csv", f"Indicator type,Indicator,Description\n{secret},1.2.3.4,x\n")):
        s3.put_object(Bucket="lists-with-secrets", Key=key, Body=body.encode())
        fmt = "OTX_CSV" if key.endswith(".csv") else "TXT"
        for create in (gd.create_threat_intel_set, gd.create_ip_set):
            with raises_aws("BadRequestException", 400, "line 2") as err:
                create(DetectorId=det, Name="leaky", Format=fmt, Location=f"s3://lists-with-secrets/{key}",
                       Activate=True)
            assert "Zq8vS3cr3t" not in json.dumps(err.value.response, default=str)
            (record,) = records_of(srv, err.value)
            assert "line 2" in record["errorMessage"] and "Zq8vS3cr3t" not in json.dumps(record)
    assert gd.list_threat_intel_sets(DetectorId=det)["ThreatIntelSetIds"] == []
    assert not srv._records_containing("Zq8vS3cr3t")


def test_oversize_list_is_refused_from_its_size_before_its_bytes(fresh_server):
    """An object whose stored size is over AWS's 35 MB list limit is refused
    from that size alone: its (here small and valid) bytes are never read."""
    srv = fresh_server.start()
    gd = srv.client("guardduty")
    det = gd.create_detector(Enable=True)["DetectorId"]
    s3 = srv.client("s3")
    s3.create_bucket(Bucket="big-lists")
    s3.put_object(Bucket="big-lists", Key="huge.txt", Body=b"203.0.113.7\n")
    s3.put_object(Bucket="big-lists", Key="limit.txt", Body=b"203.0.113.8\n")
    srv.stop()
    con = sqlite3.connect(srv.db_path)
    for key, size in (("huge.txt", 35 * 1024 * 1024 + 1), ("limit.txt", 35 * 1024 * 1024)):
        (value,) = con.execute("SELECT value FROM kv WHERE ns='s3.object' AND key=?",
                               (f"big-lists/{key}",)).fetchone()
        doc = json.loads(value)
        doc["size"] = size
        con.execute("UPDATE kv SET value=? WHERE ns='s3.object' AND key=?",
                    (json.dumps(doc).encode() if isinstance(value, bytes) else json.dumps(doc),
                     f"big-lists/{key}"))
    con.commit()
    con.close()
    srv.start()
    gd = srv.client("guardduty")
    assert srv.client("s3").head_object(Bucket="big-lists", Key="huge.txt")["ContentLength"] > 35 << 20
    with raises_aws("BadRequestException", 400, "larger than 35 MB"):
        gd.create_threat_intel_set(DetectorId=det, Name="huge", Format="TXT",
                                   Location="s3://big-lists/huge.txt", Activate=True)
    # At the limit is not over it.
    gd.create_threat_intel_set(DetectorId=det, Name="limit", Format="TXT",
                               Location="s3://big-lists/limit.txt", Activate=True)


def test_list_in_another_accounts_private_bucket_is_refused(fresh_server):
    """A second account names the default account's private bucket as its list:
    GuardDuty's role in the second account may not read it, so the call fails
    with BadRequestException and says nothing of the object."""
    srv = fresh_server.start()
    s3 = srv.client("s3")
    s3.create_bucket(Bucket="a-private-lists")
    s3.put_object(Bucket="a-private-lists", Key="trusted.txt", Body=b"10.9.8.7\n")
    _, creds = create_account(srv)
    gd = srv.client("guardduty", **creds)
    det = gd.create_detector(Enable=True)["DetectorId"]
    for location in ("s3://a-private-lists/trusted.txt", "s3://a-private-lists/absent.txt",
                     "https://a-private-lists.s3.amazonaws.com/trusted.txt"):
        with raises_aws("BadRequestException", 400, "cannot read the list") as err:
            gd.create_ip_set(DetectorId=det, Name="theirs", Format="TXT", Location=location, Activate=True)
        assert "10.9.8.7" not in json.dumps(err.value.response, default=str)
    assert gd.list_ip_sets(DetectorId=det)["IpSetIds"] == []


def test_list_is_read_as_guardduty_role_granted_through_the_caller(fresh_server):
    """AWS's model: GuardDuty's role policy grants no s3:GetObject, so adding a
    list makes GuardDuty give its role read access to that object, which needs
    the caller's iam:PutRolePolicy on the role. Without it the caller is refused;
    with it, the grant is recorded as the caller's (invokedBy GuardDuty) and the
    read as the role's own HeadObject and GetObject; deleting the list takes the
    grant away (iam:DeleteRolePolicy)."""
    srv = fresh_server.start()
    gd_root = srv.client("guardduty")
    det = gd_root.create_detector(Enable=True)["DetectorId"]
    s3 = srv.client("s3")
    s3.create_bucket(Bucket="team-lists")
    s3.put_object(Bucket="team-lists", Key="threats.txt", Body=b"203.0.113.0/24\nbad.example.com\n")
    analyst = make_user(srv, inline_policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["guardduty:*", "s3:*"], "Resource": "*"}]})
    gd = srv.client("guardduty", **analyst.creds)
    with raises_aws("AccessDeniedException", 403, "iam:PutRolePolicy"):
        gd.create_threat_intel_set(DetectorId=det, Name="bad", Format="TXT",
                                   Location="s3://team-lists/threats.txt", Activate=True)
    srv.client("iam").put_user_policy(UserName=analyst.name, PolicyName="lists", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                                                "Action": ["iam:PutRolePolicy", "iam:DeleteRolePolicy"],
                                                "Resource": ROLE_ARN}]}))
    seq = srv.max_seq()
    tid = gd.create_threat_intel_set(DetectorId=det, Name="bad", Format="TXT",
                                     Location="s3://team-lists/threats.txt", Activate=True)["ThreatIntelSetId"]
    events = srv.events_since(seq)
    (grant,) = [e for e in events if e["eventName"] == "PutRolePolicy"]
    assert grant["userIdentity"]["arn"] == analyst.arn
    assert grant["userIdentity"]["invokedBy"] == "guardduty.amazonaws.com"
    assert grant["requestParameters"]["roleName"] == ROLE
    reads = [e for e in events if e["eventName"] in ("HeadObject", "GetObject")]
    assert [e["eventName"] for e in reads] == ["HeadObject", "GetObject"]
    for e in reads:
        assert e["userIdentity"]["type"] == "AssumedRole"
        assert e["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"] == ROLE
        assert e["userIdentity"]["invokedBy"] == "guardduty.amazonaws.com"
        assert e["requestParameters"]["key"] == "threats.txt"
    iam = srv.client("iam")
    names = iam.list_role_policies(RoleName=ROLE)["PolicyNames"]
    assert len(names) == 1
    doc = iam.get_role_policy(RoleName=ROLE, PolicyName=names[0])["PolicyDocument"]
    assert doc["Statement"][0]["Action"] == "s3:GetObject"
    assert doc["Statement"][0]["Resource"] == "arn:aws:s3:::team-lists/threats.txt"
    # The customer still cannot change the role itself.
    with raises_aws("UnmodifiableEntity", 400):
        iam.put_role_policy(RoleName=ROLE, PolicyName="mine", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    gd.delete_threat_intel_set(DetectorId=det, ThreatIntelSetId=tid)
    assert iam.list_role_policies(RoleName=ROLE)["PolicyNames"] == []


def member_of(srv):
    """The default account administers a second account that has accepted."""
    admin = srv.client("guardduty")
    admin_det = admin.create_detector(Enable=True)["DetectorId"]
    account, creds = create_account(srv)
    member = srv.client("guardduty", **creds)
    member_det = member.create_detector(Enable=True)["DetectorId"]
    return admin, admin_det, account, creds, member, member_det


def join(admin, admin_det, account, member, member_det):
    admin.create_members(DetectorId=admin_det, AccountDetails=[{"AccountId": account, "Email": "m@example.com"}])
    admin.invite_members(DetectorId=admin_det, AccountIds=[account])
    (inv,) = member.list_invitations()["Invitations"]
    member.accept_administrator_invitation(DetectorId=member_det, AdministratorId=ACCOUNT_ID,
                                           InvitationId=inv["InvitationId"])


def test_member_cannot_hide_its_findings_from_its_administrator(fresh_server):
    """A member account tries to hide its findings from its administrator:
    archiving or unarchiving them, creating, changing or deleting filters (an
    ARCHIVE-everything filter made before it joined included), and adding,
    changing or deleting trusted IP and threat lists. Each is refused with
    BadRequestException; the administrator does all of them, and the
    administrator's filters, not the member's, archive the member's findings."""
    srv = fresh_server.start()
    admin, admin_det, account, creds, member, member_det = member_of(srv)
    s3 = srv.client("s3", **creds)
    s3.create_bucket(Bucket="member-lists")
    s3.put_object(Bucket="member-lists", Key="trusted.txt", Body=b"0.0.0.0/0\n")
    everything = {"Criterion": {"severity": {"GreaterThanOrEqual": 0}}}
    # Prepared before joining, while it was its own administrator.
    member.create_filter(DetectorId=member_det, Name="hide-all", Action="ARCHIVE", FindingCriteria=everything)
    tid = member.create_threat_intel_set(DetectorId=member_det, Name="t", Format="TXT",
                                         Location="s3://member-lists/trusted.txt", Activate=False)["ThreatIntelSetId"]
    join(admin, admin_det, account, member, member_det)

    member.create_sample_findings(DetectorId=member_det, FindingTypes=["Recon:EC2/Portscan"])
    (fid,) = all_ids(admin, admin_det, {"accountId": {"Equals": [account]}, "type": {"Equals": ["Recon:EC2/Portscan"]}})
    (f,) = findings(admin, admin_det, [fid])
    assert f["Service"]["Archived"] is False, "the member's own ARCHIVE filter no longer applies"

    refused = {
        "ArchiveFindings": lambda: member.archive_findings(DetectorId=member_det, FindingIds=[fid]),
        "UnarchiveFindings": lambda: member.unarchive_findings(DetectorId=member_det, FindingIds=[fid]),
        "CreateFilter": lambda: member.create_filter(DetectorId=member_det, Name="hide-more", Action="ARCHIVE",
                                                     FindingCriteria=everything),
        "UpdateFilter": lambda: member.update_filter(DetectorId=member_det, FilterName="hide-all", Rank=2),
        "DeleteFilter": lambda: member.delete_filter(DetectorId=member_det, FilterName="hide-all"),
        "CreateIPSet": lambda: member.create_ip_set(DetectorId=member_det, Name="everyone", Format="TXT",
                                                    Location="s3://member-lists/trusted.txt", Activate=True),
        "CreateThreatIntelSet": lambda: member.create_threat_intel_set(
            DetectorId=member_det, Name="t2", Format="TXT", Location="s3://member-lists/trusted.txt",
            Activate=False),
        "UpdateThreatIntelSet": lambda: member.update_threat_intel_set(DetectorId=member_det,
                                                                       ThreatIntelSetId=tid, Activate=True),
        "DeleteThreatIntelSet": lambda: member.delete_threat_intel_set(DetectorId=member_det,
                                                                       ThreatIntelSetId=tid),
    }
    for name, call in refused.items():
        with raises_aws("BadRequestException", 400, "only the administrator account can") as err:
            call()
        assert err.value.operation_name == name
    assert member.list_filters(DetectorId=member_det)["FilterNames"] == ["hide-all"]
    assert member.list_ip_sets(DetectorId=member_det)["IpSetIds"] == []
    assert member.get_findings(DetectorId=member_det, FindingIds=[fid])["Findings"][0]["Service"]["Archived"] is False
    # What a member may still do: see its findings, give feedback, make samples.
    member.update_findings_feedback(DetectorId=member_det, FindingIds=[fid], Feedback="USEFUL")

    # The administrator archives and unarchives the member's finding...
    admin.archive_findings(DetectorId=admin_det, FindingIds=[fid])
    assert member.get_findings(DetectorId=member_det, FindingIds=[fid])["Findings"][0]["Service"]["Archived"] is True
    admin.unarchive_findings(DetectorId=admin_det, FindingIds=[fid])
    # ...manages lists...
    admin_s3 = srv.client("s3")
    admin_s3.create_bucket(Bucket="admin-lists")
    admin_s3.put_object(Bucket="admin-lists", Key="bad.txt", Body=b"203.0.113.0/24\n")
    atid = admin.create_threat_intel_set(DetectorId=admin_det, Name="org-bad", Format="TXT",
                                         Location="s3://admin-lists/bad.txt", Activate=True)["ThreatIntelSetId"]
    admin.update_threat_intel_set(DetectorId=admin_det, ThreatIntelSetId=atid, Name="org-bad-hosts")
    # ...and its ARCHIVE filter governs the member's findings.
    admin.create_filter(DetectorId=admin_det, Name="quiet-scans", Action="ARCHIVE",
                        FindingCriteria={"Criterion": {"type": {"Equals": ["Recon:EC2/Portscan"]}}})
    admin.update_filter(DetectorId=admin_det, FilterName="quiet-scans", Rank=3)
    member.create_sample_findings(DetectorId=member_det, FindingTypes=["Recon:EC2/Portscan"])
    (f,) = findings(admin, admin_det, [fid])
    assert f["Service"]["Archived"] is True and f["Service"]["Count"] == 2

    # Once the member leaves, its settings are its own again.
    member.disassociate_from_administrator_account(DetectorId=member_det)
    member.delete_filter(DetectorId=member_det, FilterName="hide-all")
    member.archive_findings(DetectorId=member_det, FindingIds=[fid])
