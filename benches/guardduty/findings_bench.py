"""GuardDuty: detection latency, and ListFindings over many stored findings.

1. Detection latency: with a detector enabled, each root call is recorded and
   then detected (Policy:IAMUser/RootCredentialUsage, one aggregated finding).
   The script makes a call at a random moment, then polls GetFindings every 10 ms until the
   finding's count has grown, and reports the time from the call's response to
   the finding's update (committed call to stored finding).
2. ListFindings latency with N findings stored (default 100,000): findings are
   written straight into a stopped server's SQLite store, through the same
   schema and document shape the server writes (sample findings of the
   catalogue's types, distinct ids), then ListFindings (first page, and with a
   severity criterion) and GetFindingsStatistics are timed through boto3.

    .venv/bin/python benches/guardduty/findings_bench.py --findings 100000
"""

import argparse
import json
import math
import os
import random
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid

import boto3

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench_server import ACCOUNT, client, free_port, start, timed  # noqa: E402








def as_result(p50_p99, runs):
    return {"p50_ms": round(p50_p99[0], 2), "p99_ms": round(p50_p99[1], 2), "runs": runs}


def percentiles(samples):
    samples = sorted(samples)
    return {"p50_ms": round(statistics.median(samples), 2),
            "p99_ms": round(samples[max(0, math.ceil(len(samples) * 0.99) - 1)], 2), "runs": len(samples)}


def detection_latency(port, runs):
    gd, iam = client("guardduty", port), client("iam", port)
    det = gd.create_detector(Enable=True)["DetectorId"]
    iam.list_users()
    crit = {"Criterion": {"type": {"Equals": ["Policy:IAMUser/RootCredentialUsage"]}}}
    while not gd.list_findings(DetectorId=det, FindingCriteria=crit)["FindingIds"]:
        time.sleep(0.05)
    fid = gd.list_findings(DetectorId=det, FindingCriteria=crit)["FindingIds"][0]
    out = []
    for _ in range(runs):
        before = gd.get_findings(DetectorId=det, FindingIds=[fid])["Findings"][0]["Service"]["Count"]
        # Calls land at any point of the detection worker's 500 ms tick, not in
        # step with it.
        time.sleep(random.uniform(0, 0.5))
        iam.list_users()
        t = time.perf_counter()
        # The polls are root calls too; each is counted, so wait for any growth
        # beyond what the polls themselves add once detected.
        while gd.get_findings(DetectorId=det, FindingIds=[fid])["Findings"][0]["Service"]["Count"] <= before:
            time.sleep(0.01)
        out.append((time.perf_counter() - t) * 1000)
    return det, out


def fill(db, det, n):
    types = json.load(open("crates/detect/data/guardduty-finding-types.json"))
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    batch = []
    for i in range(n):
        t = types[i % len(types)]
        fid = uuid.UUID(int=i + 1).hex
        ts = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - (n - i)))
        doc = {
            "accountId": ACCOUNT, "arn": f"arn:aws:guardduty:us-east-1:{ACCOUNT}:detector/{det}/finding/{fid}",
            "createdAt": ts, "description": t["description"], "id": fid, "partition": "aws", "region": "us-east-1",
            "resource": {"resourceType": t["resourceType"],
                         "accessKeyDetails": {"accessKeyId": "ASIASZ4SI7REXAMPLE", "userName": f"user{i % 500}", "userType": "IAMUser"}},
            "schemaVersion": "2.0",
            "service": {"action": {"actionType": t["actionType"]}, "archived": i % 10 == 0, "count": 1 + i % 7,
                        "detectorId": det, "eventFirstSeen": ts, "eventLastSeen": ts, "resourceRole": t["resourceRole"],
                        "serviceName": "guardduty", "additionalInfo": {"value": "{}", "type": "default"}},
            "severity": float(t["severity"]), "title": t["title"], "type": t["type"], "updatedAt": ts,
        }
        batch.append(("guardduty.finding", f"{ACCOUNT}/us-east-1/{det}/{fid}", json.dumps(doc).encode()))
        if len(batch) == 10000 or i == n - 1:
            conn.executemany("INSERT OR REPLACE INTO kv (ns, key, value) VALUES (?,?,?)", batch)
            conn.commit()
            batch.clear()
    # Findings written behind the server's back have no summaries: drop the
    # detector's ready marker so the server builds them, as for an older store.
    conn.execute("DELETE FROM kv WHERE ns = 'guardduty.summary.ready'")
    conn.commit()
    conn.close()


def wait_for_summaries(db, timeout=600):
    """Seconds until the server has built the summaries."""
    t = time.time()
    while time.time() - t < timeout:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as ro:
            if ro.execute("SELECT count(*) FROM kv WHERE ns = 'guardduty.summary.ready'").fetchone()[0]:
                return time.time() - t
        time.sleep(0.05)
    raise RuntimeError("the server did not build finding summaries")




def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--findings", type=int, default=100_000)
    ap.add_argument("--detections", type=int, default=100)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--binary", default="target/release/trailguard")
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="tg-guardduty-")
    port = free_port()
    proc = start(args.binary, data, port)
    det, samples = detection_latency(port, args.detections)
    print(json.dumps({"detection_latency": percentiles(samples)}))
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    t = time.time()
    fill(os.path.join(data, "trailguard.db"), det, args.findings)
    print(f"stored {args.findings} findings in {time.time() - t:.0f} s", file=sys.stderr)
    proc = start(args.binary, data, port)
    try:
        gd = client("guardduty", port)
        built = wait_for_summaries(os.path.join(data, "trailguard.db"))
        print(f"summaries built in {built:.1f} s", file=sys.stderr)
        first = gd.list_findings(DetectorId=det, MaxResults=50)
        assert len(first["FindingIds"]) == 50 and "NextToken" in first
        high = {"Criterion": {"severity": {"GreaterThanOrEqual": 7}, "service.archived": {"Equals": ["false"]}}}
        tags = {"Criterion": {"resource.instanceDetails.tags.value": {"Equals": ["prod"]}}}
        results = {
            "findings": args.findings,
            "summaries_built_s": round(built, 2),
            "list_findings_first_page": as_result(
                timed(lambda: gd.list_findings(DetectorId=det, MaxResults=50), args.runs), args.runs),
            "list_findings_high_current": as_result(
                timed(lambda: gd.list_findings(DetectorId=det, FindingCriteria=high), args.runs), args.runs),
            "list_findings_unindexed_field": as_result(
                timed(lambda: gd.list_findings(DetectorId=det, FindingCriteria=tags), args.runs), args.runs),
            "get_findings_statistics": as_result(timed(
                lambda: gd.get_findings_statistics(DetectorId=det, FindingStatisticTypes=["COUNT_BY_SEVERITY"]),
                args.runs), args.runs),
        }
        print(json.dumps(results))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()


if __name__ == "__main__":
    main()
