"""Records written per second with trail delivery on, and what delivery kept.

Starts trailguard twice on fresh data directories: once with no trail, once with
a logging trail (log files every second, digests every 10 s, validation on).
Each time the SigV4 load generator runs the create-delete-role workload (every
request writes state and one CloudTrail record) for the same duration. With the
trail on, the script then stops the server with SIGTERM (which flushes
delivery), restarts it, reads every delivered log file back through boto3 and
checks that each recorded management event was delivered exactly once.

    .venv/bin/python benches/delivery/delivery_bench.py --seconds 10 --connections 8
"""

import argparse
import gzip
import json
import os
import sys
import signal
import subprocess
import tempfile
import time
from collections import Counter


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench_server import ACCOUNT, KEY, SECRET, client, free_port, start  # noqa: E402
BUCKET = "bench-trail"








def make_trail(port):
    s3 = client("s3", port)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
                       "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/AWSLogs/{ACCOUNT}/*"}],
    }))
    ct = client("cloudtrail", port)
    ct.create_trail(Name="bench", S3BucketName=BUCKET, EnableLogFileValidation=True)
    ct.start_logging(Name="bench")


def load(loadgen, port, seconds, connections, label):
    out = subprocess.run([loadgen, "--endpoint", f"http://127.0.0.1:{port}", "--workload", "create-delete-role",
                          "--connections", str(connections), "--seconds", str(seconds), "--target", label],
                         check=True, capture_output=True, text=True,
                         env=dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET)).stdout
    return json.loads(out.strip().splitlines()[-1])


def delivered(port):
    s3 = client("s3", port)
    ids = Counter()
    files = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"AWSLogs/{ACCOUNT}/CloudTrail/"):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
            files += 1
            for r in json.loads(gzip.decompress(body))["Records"]:
                ids[r["eventID"]] += 1
    return ids, files


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--binary", default="target/release/trailguard")
    ap.add_argument("--loadgen", default="target/release/trailguard-loadgen")
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("no-trail", "trail-delivering"):
            data = os.path.join(tmp, mode)
            port = free_port()
            proc = start(args.binary, data, port, TRAILGUARD_TRAIL_LOG_INTERVAL="1", TRAILGUARD_TRAIL_DIGEST_INTERVAL="10")
            if mode == "trail-delivering":
                make_trail(port)
            run = load(args.loadgen, port, args.seconds, args.connections, mode)
            results[mode] = run
            if mode == "trail-delivering":
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
                proc = start(args.binary, data, port, TRAILGUARD_TRAIL_LOG_INTERVAL="1", TRAILGUARD_TRAIL_DIGEST_INTERVAL="10")
                ids, files = delivered(port)
                # Every role the load created or deleted was recorded after StartLogging.
                lookups = client("cloudtrail", port).get_paginator("lookup_events")
                recorded = {e["EventId"]
                            for name in ("CreateRole", "DeleteRole")
                            for page in lookups.paginate(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])
                            for e in page["Events"]}
                dupes = sum(1 for c in ids.values() if c > 1)
                missing = len(recorded - set(ids))
                results["delivery"] = {"log_files": files, "records_delivered": len(ids), "role_events_recorded": len(recorded),
                                       "duplicates": dupes, "management_events_not_delivered": missing}
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    for k, v in results.items():
        print(json.dumps({k: v}))


if __name__ == "__main__":
    main()
