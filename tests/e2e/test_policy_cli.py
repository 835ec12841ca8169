"""`trailguard policy simulate`: the offline simulator for policy authors."""

import json
import os
import subprocess

from conftest import DEFAULT_BIN


def _run(tmp_path, policy, *args):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy, indent=2))
    binary = os.environ.get("TRAILGUARD_BIN", str(DEFAULT_BIN))
    return subprocess.run(
        [binary, "policy", "simulate", "--policy", str(path), *args], capture_output=True, text=True, timeout=30
    )


POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "ReadOwnPrefix", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:username}/*"},
        {"Sid": "NeverFromOutside", "Effect": "Deny", "Action": "*", "Resource": "*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
    ],
}


def test_allowed_with_the_deciding_statement(tmp_path):
    r = _run(tmp_path, POLICY, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::b/alice/x",
             "--context", "aws:username=alice", "--context", "aws:SourceIp=10.1.2.3", "--expect", "allowed")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "s3:GetObject on arn:aws:s3:::b/alice/x: allowed" in r.stdout
    assert "policy.json:4:5 (Sid ReadOwnPrefix)" in r.stdout


def test_explicit_deny_and_expectation_failure(tmp_path):
    r = _run(tmp_path, POLICY, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::b/alice/x",
             "--context", "aws:username=alice", "--context", "aws:SourceIp=203.0.113.1", "--expect", "allowed")
    assert r.returncode == 1
    assert "explicitDeny" in r.stdout
    assert "Sid NeverFromOutside" in r.stdout


def test_malformed_policy_is_reported(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"Statement": [{"Effect": "allow"}]}')
    binary = os.environ.get("TRAILGUARD_BIN", str(DEFAULT_BIN))
    r = subprocess.run([binary, "policy", "simulate", "--policy", str(bad), "--action", "s3:GetObject"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "MalformedPolicyDocument" in r.stderr
