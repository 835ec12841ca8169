"""Every operation trailguard serves exists, under the same name, in the
service model botocore ships (AWS's own API definition)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import botocore.session

from conftest import DEFAULT_BIN


def _operations():
    binary = os.environ.get("TRAILGUARD_BIN", str(DEFAULT_BIN))
    out = subprocess.run([binary, "operations"], check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# S3 authorizes some calls as actions named otherwise (the Service Authorization Reference).
IAM_ACTION_NOT_NAMED_LIKE_THE_OPERATION = {
    "s3:ListBuckets": "s3:ListAllMyBuckets",
    "s3:HeadBucket": "s3:ListBucket",
    "s3:ListObjects": "s3:ListBucket",
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:HeadObject": "s3:GetObject",
}


def test_every_operation_is_in_the_botocore_model():
    ops = _operations()
    assert len(ops) > 80
    session = botocore.session.get_session()
    # Lex V1's model-building and runtime APIs are two models signing as `lex`.
    model_names = {"lex": ["lex-models", "lex-runtime"]}
    served = {}
    missing = []
    for op in ops:
        svc = op["service"]
        if svc not in served:
            served[svc] = {
                name
                for model in model_names.get(svc, [svc])
                for name in session.get_service_model(model).operation_names
            }
        if op["operation"] not in served[svc]:
            missing.append(f'{svc}:{op["operation"]}')
        name = f'{svc}:{op["operation"]}'
        assert op["action"] == IAM_ACTION_NOT_NAMED_LIKE_THE_OPERATION.get(name, name)
    assert missing == []
    assert {"lex", "polly", "guardduty"} <= set(served)


def test_read_only_flags_match_aws_naming():
    # AWS's read-only IAM calls are the Get/List/Simulate family.
    for op in _operations():
        if op["service"] != "iam":
            continue
        reads = op["operation"].startswith(("Get", "List", "Simulate"))
        assert op["read_only"] == reads, op


def test_the_input_member_list_is_current_with_botocore():
    """crates/core/data/input-members.json (the members each served operation's
    model defines; the rest are dropped before authorization) is what
    scripts/input-members.py makes from this botocore and this binary's operations."""
    binary = os.environ.get("TRAILGUARD_BIN", str(DEFAULT_BIN))
    script = Path(__file__).resolve().parent.parent.parent / "scripts" / "input-members.py"
    done = subprocess.run(
        [sys.executable, str(script), binary, "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_cloudtrail_answers_the_short_target_prefix_smithy_sdks_send(server):
    """The AWS SDK for JavaScript v3 names CloudTrail's operations with the
    service's shape name (`CloudTrail_20131101.DescribeTrails`) where botocore
    sends the whole target prefix; AWS accepts both, and so does trailguard."""
    from e2e_util import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY
    from test_security_protocol import AMZ_JSON, signed

    creds = {"aws_access_key_id": ROOT_ACCESS_KEY_ID, "aws_secret_access_key": ROOT_SECRET_ACCESS_KEY}
    for target in ("CloudTrail_20131101.DescribeTrails",
                   "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails"):
        status, _, body = signed(server, creds, "cloudtrail", b"{}",
                                 {"Content-Type": AMZ_JSON, "X-Amz-Target": target})
        assert status == 200, body
        assert "trailList" in json.loads(body)
    status, _, _ = signed(server, creds, "cloudtrail", b"{}",
                          {"Content-Type": AMZ_JSON, "X-Amz-Target": "Other_20131101.DescribeTrails"})
    assert status == 400


def test_lex_listings_answer_without_the_models_trailing_slash(server):
    """Lex's model names `GET /bots/`, `/intents/` and `/slottypes/`; the AWS SDK
    for JavaScript v3 sends them without the trailing slash, and AWS serves both."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from e2e_util import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, http_request

    for path, member in (("/bots", "bots"), ("/intents", "intents"), ("/slottypes", "slotTypes"),
                         ("/bots/", "bots")):
        req = AWSRequest(method="GET", url=server.endpoint + path)
        SigV4Auth(Credentials(ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY), "lex", "us-east-1").add_auth(req)
        prepared = req.prepare()
        status, _, body = http_request(prepared.url, headers=dict(prepared.headers.items()), method="GET")
        assert status == 200, (path, body)
        assert member in json.loads(body)
