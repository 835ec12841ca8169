"""LookupEvents latency over a large trail.

Fills a fresh data directory's trail with N CloudTrail records (shaped like the
ones the server writes: a mix of IAM events by a few users over 80 days, written
straight into SQLite with the server stopped, through the same schema), starts
the server, and times LookupEvents through boto3: no attribute, EventName,
Username, ResourceName, and a second page via NextToken.

    .venv/bin/python benches/lookup/lookup_bench.py --records 1000000
"""

import argparse
import json
import os
import signal
import sqlite3
import sys
import tempfile
import time
import uuid

import boto3

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench_server import ACCOUNT, KEY, SECRET, free_port, start, timed  # noqa: E402
NAMES = ["CreateUser", "GetUser", "ListUsers", "AttachUserPolicy", "GetRole", "AssumeRole", "CreateRole"]
USERS = ["alice", "bob", "carol", "deploy-bot", "root"]






def fill(db, n):
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    now_ms = int(time.time() * 1000)
    span_ms = 80 * 24 * 3600 * 1000
    batch = []
    for i in range(n):
        t_ms = now_ms - span_ms + (span_ms * i) // n
        name = NAMES[i % len(NAMES)]
        user = USERS[(i // 7) % len(USERS)]
        target = f"user-{i % 5000}"
        event_id = str(uuid.UUID(int=i + 1))
        t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_ms / 1000))
        record = json.dumps({
            "eventVersion": "1.08",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLEEXAMPLE01", "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}",
                             "accountId": ACCOUNT, "accessKeyId": "AKIAEXAMPLEEXAMPLE01", "userName": user},
            "eventTime": t, "eventSource": "iam.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
            "sourceIPAddress": "192.0.2.10", "userAgent": "aws-cli/1.46.3", "requestParameters": {"userName": target},
            "responseElements": None, "requestID": event_id, "eventID": event_id, "readOnly": name.startswith(("Get", "List")),
            "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": ACCOUNT, "eventCategory": "Management",
        })
        batch.append((event_id, ACCOUNT, t, t_ms, "iam.amazonaws.com", name, int(name.startswith(("Get", "List"))),
                      user, "AKIAEXAMPLEEXAMPLE01", record, target))
        if len(batch) == 20000 or i == n - 1:
            cur = conn.executemany(
                "INSERT INTO cloudtrail_events (event_id, account_id, event_time, event_time_ms, event_source, event_name,"
                " read_only, username, access_key_id, record) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [b[:10] for b in batch])
            last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
            first = last - len(batch) + 1
            conn.executemany(
                "INSERT INTO cloudtrail_event_resources (seq, resource_type, resource_name) VALUES (?, 'AWS::IAM::User', ?)",
                [(first + k, b[10]) for k, b in enumerate(batch)])
            conn.commit()
            batch.clear()
    conn.close()




def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--binary", default="target/release/trailguard")
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="tg-lookup-")
    port = free_port()
    proc = start(args.binary, data, port)  # creates the schema
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    t = time.time()
    fill(os.path.join(data, "trailguard.db"), args.records)
    print(f"filled {args.records} records in {time.time() - t:.0f} s", file=sys.stderr)
    proc = start(args.binary, data, port)
    try:
        # Records written straight into the table arrive un-indexed, as a
        # server that had just restarted after a crash would find them; its
        # worker indexes them (lookups are exact meanwhile, by reading the
        # unindexed records). Time that, then measure the steady state.
        t = time.time()
        db = sqlite3.connect(f"file:{os.path.join(data, 'trailguard.db')}?mode=ro", uri=True)
        while True:
            upto, newest = db.execute(
                "SELECT (SELECT indexed_upto FROM cloudtrail_lookup_state), (SELECT MAX(seq) FROM cloudtrail_events)"
            ).fetchone()
            if upto >= newest:
                break
            if time.time() - t > 900:
                raise SystemExit("the lookup index did not catch up within 15 minutes")
            time.sleep(0.5)
        db.close()
        print(f"the server indexed {args.records} records in {time.time() - t:.0f} s", file=sys.stderr)
        ct = boto3.client("cloudtrail", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id=KEY, aws_secret_access_key=SECRET)
        ct.lookup_events(MaxResults=50)
        page = ct.lookup_events(MaxResults=50)
        cases = {
            "no attribute, 50 newest": lambda: ct.lookup_events(MaxResults=50),
            "EventName=CreateRole": lambda: ct.lookup_events(MaxResults=50, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateRole"}]),
            "Username=carol": lambda: ct.lookup_events(MaxResults=50, LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "carol"}]),
            "ResourceName=user-42": lambda: ct.lookup_events(MaxResults=50, LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": "user-42"}]),
            "second page (NextToken)": lambda: ct.lookup_events(MaxResults=50, NextToken=page["NextToken"]),
        }
        print("| lookup | p50 ms | p99 ms |")
        print("| --- | ---: | ---: |")
        for name, fn in cases.items():
            p50, p99 = timed(fn, args.runs)
            print(f"| {name} | {p50:.1f} | {p99:.1f} |")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()


if __name__ == "__main__":
    main()
