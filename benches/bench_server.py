"""What the benchmark scripts share: a free port, a trailguard server started
on a data directory with the fixed benchmark credentials, and boto3 clients."""

import math
import os
import statistics
import socket
import subprocess
import time
import urllib.request

import boto3
from botocore.config import Config

ACCOUNT = "123456789012"
KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, data, port, **env):
    """Starts `trailguard serve` and waits until it answers its health check."""
    full_env = dict(os.environ, TRAILGUARD_ACCOUNT_ID=ACCOUNT, TRAILGUARD_ROOT_ACCESS_KEY_ID=KEY,
                    TRAILGUARD_ROOT_SECRET_ACCESS_KEY=SECRET, TRAILGUARD_LOG="warn", **env)
    proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data],
                            env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_trailguard/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def client(service, port):
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                        config=Config(s3={"addressing_style": "path"}))


def timed(fn, runs):
    """Runs `fn` `runs` times; returns the median and p99 in milliseconds."""
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    out.sort()
    return statistics.median(out), out[max(0, math.ceil(len(out) * 0.99) - 1)]
