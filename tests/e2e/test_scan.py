"""`trailguard scan` and `trailguard rules test`, as a security team runs them:
over a folder of exported logs in AWS's layout (gzip CloudTrail files, NDJSON,
a damaged file), with every output format, lists, filters and exit status;
and the same records scanned offline and watched online give the same
findings."""

from __future__ import annotations

import gzip
import json
import subprocess
import time
from pathlib import Path

import pytest

from conftest import server_binary
from e2e_util import ACCOUNT_ID, make_user

ACCT = "111122223333"


def record(n, **changes):
    r = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAALICE", "arn": f"arn:aws:iam::{ACCT}:user/alice",
                         "accountId": ACCT, "accessKeyId": "AKIAALICE", "userName": "alice"},
        "eventTime": f"2026-12-01T10:{n % 60:02d}:00Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": "ListUsers",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.0 Python/3.11.8 Linux/6.1.0-18-amd64",
        "requestParameters": None,
        "responseElements": None,
        "eventID": f"ev-{n}",
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCT,
    }
    r.update(changes)
    return r


def scan(*args, stdin=None, check_codes=(0, 1)):
    out = subprocess.run([str(server_binary()), "scan", *map(str, args)], input=stdin,
                         capture_output=True, timeout=120)
    assert out.returncode in check_codes, (out.returncode, out.stderr.decode())
    return out


def lines(out):
    return [json.loads(l) for l in out.stdout.decode().splitlines() if l.strip()]


@pytest.fixture
def logs(tmp_path):
    """A folder in AWS's layout: two gzip CloudTrail files, a broken one, an
    NDJSON export, and a file that is not JSON."""
    tmp_path = tmp_path / "logs"
    day = tmp_path / "AWSLogs" / ACCT / "CloudTrail" / "us-east-1" / "2026" / "12" / "01"
    day.mkdir(parents=True)
    first = [record(i) for i in range(5)] + [
        record(10, eventSource="cloudtrail.amazonaws.com", eventName="StopLogging"),
        record(11, userIdentity={"type": "Root", "principalId": ACCT, "arn": f"arn:aws:iam::{ACCT}:root",
                                 "accountId": ACCT, "accessKeyId": "AKIAROOT"}),
    ]
    second = [
        record(12, userAgent="aws-cli/2.15.0 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.kali.2024"),
        record(13, userAgent="aws-cli/2.15.0 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.kali.2024"),
        record(14, sourceIPAddress="203.0.113.66", eventName="CreateUser"),
        record(15, sourceIPAddress="185.220.101.4", eventName="DescribeInstances", eventSource="ec2.amazonaws.com"),
    ]
    with gzip.open(day / f"{ACCT}_CloudTrail_us-east-1_20261201T1000Z_aaaa.json.gz", "wt") as f:
        json.dump({"Records": first}, f)
    with gzip.open(day / f"{ACCT}_CloudTrail_us-east-1_20261201T1005Z_bbbb.json.gz", "wt") as f:
        f.write(json.dumps({"Records": second}, indent=1))
    whole = gzip.compress(json.dumps({"Records": [record(20 + i) for i in range(50)]}).encode())
    (day / f"{ACCT}_CloudTrail_us-east-1_20261201T1010Z_cccc.json.gz").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "export.ndjson").write_text(
        json.dumps(record(30, eventName="DeleteAccountPasswordPolicy")) + "\n\n{not json\n"
        + json.dumps({"eventName": "NoSource"}) + "\n")
    (tmp_path / "notes.txt").write_text("these are notes, not logs\n")
    return tmp_path


def test_a_folder_of_exported_logs_gives_each_finding_with_the_events_behind_it(logs):
    out = scan(logs, "--format", "jsonl")
    assert out.returncode == 1
    found = {f["type"]: f for f in lines(out)}
    assert set(found) >= {"Stealth:IAMUser/CloudTrailLoggingDisabled", "Policy:IAMUser/RootCredentialUsage",
                          "PenTest:IAMUser/KaliLinux", "Stealth:IAMUser/PasswordPolicyChange"}
    kali = found["PenTest:IAMUser/KaliLinux"]
    assert kali["count"] == 2 and kali["band"] == "medium" and kali["severity"] == 5
    assert kali["firstSeen"] == "2026-12-01T10:12:00.000Z" and kali["lastSeen"] == "2026-12-01T10:13:00.000Z"
    assert [e["eventId"] for e in kali["events"]] == ["ev-12", "ev-13"]
    # Each event names where it is: the file, and the byte offset and line of
    # the record in the file's (inflated) content.
    for e in kali["events"]:
        text = gzip.decompress(Path(e["file"]).read_bytes()).decode()
        assert text[e["offset"]:].startswith("{")
        assert json.JSONDecoder().raw_decode(text[e["offset"]:])[0]["eventID"] == e["eventId"]
        assert text.count("\n", 0, e["offset"]) + 1 == e["line"]
    policy = found["Stealth:IAMUser/PasswordPolicyChange"]
    assert policy["events"][0]["file"].endswith("export.ndjson") and policy["events"][0]["line"] == 1
    # Bad input is reported with where it was, counted, and never stops the scan.
    err = out.stderr.decode()
    assert "cccc.json.gz" in err and "ends early" in err
    assert "export.ndjson:3" in err and "export.ndjson:4" in err
    assert "notes.txt" in err
    assert "scanned 5 files" in err
    # The damaged file's records before the damage were still read.
    records = int(err.split(" records (")[0].rsplit(" ", 1)[1])
    assert 11 + 3 < records < 11 + 3 + 50


def test_formats_guardduty_ocsf_and_table(logs):
    gd = lines(scan(logs, "--format", "guardduty"))
    root = next(f for f in gd if f["Type"] == "Policy:IAMUser/RootCredentialUsage")
    assert root["Severity"] == 2 and root["AccountId"] == ACCT and root["Region"] == "us-east-1"
    assert root["Resource"]["ResourceType"] == "AccessKey"
    assert root["Resource"]["AccessKeyDetails"]["UserName"] == "Root"
    assert root["Service"]["Count"] == 1 and root["Service"]["EventFirstSeen"] == "2026-12-01T10:11:00.000Z"
    assert root["Service"]["Action"]["AwsApiCallAction"]["Api"] == "ListUsers"
    info = json.loads(root["Service"]["AdditionalInfo"]["Value"])
    assert info["cloudTrailEventIds"] == ["ev-11"] and info["trailguardEvents"][0]["line"] == 1
    assert root["Title"] and root["Description"] and root["SchemaVersion"] == "2.0"
    ocsf = lines(scan(logs, "--format", "ocsf"))
    assert {f["class_uid"] for f in ocsf} == {2004}
    kali = next(f for f in ocsf if f["finding_info"]["types"] == ["PenTest:IAMUser/KaliLinux"])
    assert kali["severity_id"] == 3 and kali["count"] == 2
    assert [e["uid"] for e in kali["finding_info"]["related_events"]] == ["ev-12", "ev-13"]
    table = scan(logs, "--format", "table").stdout.decode().splitlines()
    assert table[0].split()[:2] == ["SEVERITY", "TYPE"]
    assert any("KaliLinux" in row and row.split()[0] == "MEDIUM" for row in table[1:])


def test_exit_status_severity_filters_and_lists(logs, tmp_path):
    # Nothing reaches high: exit 0, nothing written.
    out = scan(logs, "--min-severity", "high", "-q")
    assert out.returncode == 0 and out.stdout == b"" and out.stderr == b""
    assert scan(tmp_path / "missing", check_codes=(2,)).returncode == 2
    assert scan("--format", "nope", logs, check_codes=(2,)).returncode == 2
    # Time, account and region filters.
    only = lines(scan(logs, "--since", "2026-12-01T10:12:00Z", "--until", "2026-12-01T10:13:00Z"))
    assert [f["type"] for f in only] == ["PenTest:IAMUser/KaliLinux"] and only[0]["count"] == 1
    assert scan(logs, "--account", "999999999999", "-q").returncode == 0
    assert scan(logs, "--region", "eu-west-1", "-q").returncode == 0
    # Threat, trusted and Tor lists.
    threats = tmp_path / "threats.txt"
    threats.write_text("# bad hosts\n203.0.113.0/24\n")
    tor = tmp_path / "tor.txt"
    tor.write_text("185.220.101.4\n")
    types = {f["type"] for f in lines(scan(logs, "--threat-list", threats, "--tor-exit-list", tor))}
    assert {"UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom", "Recon:IAMUser/TorIPCaller"} <= types
    trusted = tmp_path / "trusted.csv"
    trusted.write_text("Indicator type,Indicator\nIPv4,198.51.100.7\n")
    quiet = {f["type"] for f in lines(scan(logs, "--trusted-list", trusted))}
    assert "PenTest:IAMUser/KaliLinux" not in quiet and "Policy:IAMUser/RootCredentialUsage" not in quiet
    bad = tmp_path / "bad.txt"
    bad.write_text("root:x:0:0:root:/root:/bin/bash\n")
    refused = scan(logs, "--threat-list", bad, check_codes=(2,))
    assert b"line 1" in refused.stderr and b"/bin/bash" not in refused.stderr


def test_standard_input_and_json_arrays():
    recs = [record(1, userIdentity={"type": "Root", "arn": f"arn:aws:iam::{ACCT}:root", "accessKeyId": "AKIAROOT"}),
            record(2, userIdentity={"type": "Root", "arn": f"arn:aws:iam::{ACCT}:root", "accessKeyId": "AKIAROOT"})]
    for body in (json.dumps(recs).encode(), "\n".join(json.dumps(r) for r in recs).encode(),
                 gzip.compress(json.dumps({"Records": recs}).encode())):
        (f,) = lines(scan("-", stdin=body))
        assert f["type"] == "Policy:IAMUser/RootCredentialUsage" and f["count"] == 2
        assert f["events"][0]["file"] == "-"


def test_sigma_rules_in_scan_and_rules_test(logs, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "user_created.yml").write_text(
        "title: IAM user created from an unusual network\n"
        "id: 5b0a1c2e-0000-4000-8000-000000000001\n"
        "level: high\n"
        "tags: [attack.persistence]\n"
        "logsource: {product: aws, service: cloudtrail}\n"
        "detection:\n"
        "  selection:\n    eventSource: iam.amazonaws.com\n    eventName: CreateUser\n"
        "  trusted:\n    sourceIPAddress|cidr: 198.51.100.0/24\n"
        "  condition: selection and not trusted\n")
    (rules / "user_created.positive.json").write_text(json.dumps([record(1, eventName="CreateUser", sourceIPAddress="192.0.2.1")]))
    (rules / "user_created.negative.json").write_text(json.dumps([record(2, eventName="CreateUser"), record(3)]))
    found = lines(scan(logs, "--rules", rules, "--no-builtin"))
    assert [f["type"] for f in found] == ["Sigma:IAMUser/5b0a1c2e-0000-4000-8000-000000000001"]
    f = found[0]
    assert f["title"] == "IAM user created from an unusual network" and f["severity"] == 8 and f["band"] == "high"
    assert f["rule"] == {"source": "sigma", "id": "5b0a1c2e-0000-4000-8000-000000000001",
                         "title": "IAM user created from an unusual network"}
    assert [e["eventId"] for e in f["events"]] == ["ev-14"]
    test = subprocess.run([str(server_binary()), "rules", "test", str(rules)], capture_output=True, timeout=60)
    assert test.returncode == 0, test.stdout.decode()
    assert "1 passed, 0 failed" in test.stdout.decode()
    (rules / "user_created.negative.json").write_text(json.dumps([record(2, eventName="CreateUser", sourceIPAddress="192.0.2.9")]))
    failing = subprocess.run([str(server_binary()), "rules", "test", str(rules)], capture_output=True, timeout=60)
    assert failing.returncode == 1 and b"matches this negative event" in failing.stdout
    (rules / "broken.yml").write_text("title: x\ndetection:\n  sel:\n    a|nope: 1\n  condition: sel\n")
    assert scan(logs, "--rules", rules, check_codes=(2,)).returncode == 2


FAST = {"TRAILGUARD_TRAIL_LOG_INTERVAL": "1", "TRAILGUARD_TRAIL_DIGEST_INTERVAL": "3"}


def test_the_same_records_give_the_same_findings_online_and_offline(fresh_server, tmp_path):
    """A detector watching the trail as it is written, and `scan` over the
    log files the trail delivered, agree finding by finding."""
    srv = fresh_server.start(extra_env=FAST)
    admin = make_user(srv, admin=True)
    s3 = srv.client("s3", **admin.creds)
    s3.create_bucket(Bucket="trail-logs")
    s3.put_bucket_policy(Bucket="trail-logs", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
         "Resource": "arn:aws:s3:::trail-logs"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::trail-logs/AWSLogs/{ACCOUNT_ID}/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}]}))
    s3.create_bucket(Bucket="site")
    ct = srv.client("cloudtrail", **admin.creds)
    ct.create_trail(Name="main", S3BucketName="trail-logs")
    ct.start_logging(Name="main")
    gd = srv.client("guardduty", **admin.creds)
    det = gd.create_detector(Enable=True)["DetectorId"]
    # What both should see: root at work, a pen-testing machine, a public
    # bucket, and the trail stopped.
    srv.client("iam").list_users()
    srv.client("iam").list_roles()
    from botocore.config import Config
    kali = srv.client("iam", config=Config(user_agent_extra="exe/x86_64.kali.2024"), **admin.creds)
    kali.list_users()
    kali.list_groups()
    public = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
              "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*"}]}
    s3.put_bucket_policy(Bucket="site", Policy=json.dumps(public))
    ct.stop_logging(Name="main")

    def online():
        ids = []
        for page in gd.get_paginator("list_findings").paginate(DetectorId=det):
            ids += page["FindingIds"]
        out = gd.get_findings(DetectorId=det, FindingIds=ids)["Findings"] if ids else []
        return {f["Type"]: f for f in out}

    want = {"Policy:IAMUser/RootCredentialUsage", "PenTest:IAMUser/KaliLinux",
            "Policy:S3/BucketAnonymousAccessGranted",
            "Stealth:IAMUser/CloudTrailLoggingDisabled"}
    deadline = time.time() + 20
    while set(online()) < want and time.time() < deadline:
        time.sleep(0.3)
    live = online()
    assert set(live) >= want, set(live)
    # The trail's log files, as a security team would export them.
    logs = tmp_path / "export"
    deadline = time.time() + 20
    keys = []
    while time.time() < deadline:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="trail-logs").get("Contents", [])
                if "/CloudTrail/" in o["Key"]]
        exported = set()
        for k in keys:
            data = gzip.decompress(s3.get_object(Bucket="trail-logs", Key=k)["Body"].read())
            exported |= {r["eventID"] for r in json.loads(data)["Records"]}
        seen = {i for f in live.values() for i in json.loads(f["Service"]["AdditionalInfo"]["Value"])["cloudTrailEventIds"]}
        if seen <= exported:
            break
        time.sleep(0.3)
    for k in keys:
        dest = logs / k
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(s3.get_object(Bucket="trail-logs", Key=k)["Body"].read())
    offline = {f["Type"]: f for f in lines(scan(logs, "--format", "guardduty"))}
    for t in want:
        a, b = live[t], offline[t]
        ids = lambda f: json.loads(f["Service"]["AdditionalInfo"]["Value"])["cloudTrailEventIds"]
        # Online, the detector saw only what happened after it was created;
        # root's finding there counts the same calls the trail holds.
        assert sorted(ids(a)) == sorted(ids(b)), t
        assert a["Service"]["Count"] == b["Service"]["Count"], t
        assert a["Severity"] == b["Severity"] and a["Title"] == b["Title"], t
        assert a["Resource"]["ResourceType"] == b["Resource"]["ResourceType"], t
        assert a["Service"]["EventFirstSeen"] == b["Service"]["EventFirstSeen"], t
    assert offline["Policy:S3/BucketAnonymousAccessGranted"]["Resource"]["S3BucketDetails"][0]["Name"] == "site"


def test_sigma_correlations_over_exported_logs(tmp_path):
    """An event_count correlation: three failed console sign-ins of one user
    within ten minutes, across two files, is one finding naming all three."""
    logs = tmp_path / "logs"
    logs.mkdir()
    def failed(n, user, minute):
        return record(n, eventSource="signin.amazonaws.com", eventName="ConsoleLogin",
                      eventTime=f"2026-12-01T10:{minute:02d}:00Z",
                      userIdentity={"type": "IAMUser", "arn": f"arn:aws:iam::{ACCT}:user/{user}", "userName": user},
                      responseElements={"ConsoleLogin": "Failure"})
    (logs / "a.ndjson").write_text("\n".join(json.dumps(r) for r in [failed(1, "alice", 1), failed(2, "bob", 2), failed(3, "alice", 3)]))
    (logs / "b.ndjson").write_text("\n".join(json.dumps(r) for r in [failed(4, "alice", 5), failed(5, "bob", 40)]))
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "brute.yml").write_text(
        "title: Failed console login\nid: 6a1f0c5e-0000-4000-8000-000000000001\nname: failed_console_login\n"
        "logsource: {product: aws, service: cloudtrail}\n"
        "detection:\n  sel:\n    eventName: ConsoleLogin\n    responseElements.ConsoleLogin: Failure\n  condition: sel\n"
        "---\n"
        "title: Console brute force\nid: 6a1f0c5e-0000-4000-8000-000000000002\nlevel: high\n"
        "correlation:\n  type: event_count\n  rules: [failed_console_login]\n  group-by: [userIdentity.userName]\n"
        "  timespan: 10m\n  condition: {gte: 3}\n")
    found = lines(scan(logs, "--rules", rules, "--no-builtin"))
    assert [f["type"] for f in found] == ["Sigma:IAMUser/6a1f0c5e-0000-4000-8000-000000000002"]
    assert [e["eventId"] for e in found[0]["events"]] == ["ev-1", "ev-3", "ev-4"]
    assert found[0]["title"] == "Console brute force" and found[0]["band"] == "high"
