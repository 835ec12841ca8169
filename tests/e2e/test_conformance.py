"""Every operation trailguard serves exists, under the same name, in the
service model botocore ships (AWS's own API definition)."""

import json
import os
import subprocess

import botocore.session

from conftest import DEFAULT_BIN


def _operations():
    binary = os.environ.get("TRAILGUARD_BIN", str(DEFAULT_BIN))
    out = subprocess.run([binary, "operations"], check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_every_operation_is_in_the_botocore_model():
    ops = _operations()
    assert len(ops) > 80
    session = botocore.session.get_session()
    models = {}
    missing = []
    for op in ops:
        svc = op["service"]
        if svc not in models:
            models[svc] = session.get_service_model(svc)
        if op["operation"] not in models[svc].operation_names:
            missing.append(f'{svc}:{op["operation"]}')
        assert op["action"] == f'{svc}:{op["operation"]}'
    assert missing == []


def test_read_only_flags_match_aws_naming():
    # AWS's read-only IAM calls are the Get/List/Simulate family.
    for op in _operations():
        if op["service"] != "iam":
            continue
        reads = op["operation"].startswith(("Get", "List", "Simulate"))
        assert op["read_only"] == reads, op
