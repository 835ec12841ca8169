"""Log file integrity validation with the real AWS CLI: `aws cloudtrail validate-logs`.

One private server delivers logs every second and digests every 3 seconds
(TRAILGUARD_TRAIL_LOG_INTERVAL=1, TRAILGUARD_TRAIL_DIGEST_INTERVAL=3) for a trail with
log file validation. Covered: the digest files themselves (key layout, the S3 metadata
signature and signature-algorithm, every documented field, the chain of previous-digest
links and signatures, log hashes, every delivered log in exactly one digest, RSA
signatures that verify against ListPublicKeys), validate-logs passing on an untouched
delivery, and validate-logs catching each kind of tampering: an altered log, a
deleted log, an altered digest, a digest deleted from the middle of the chain and a
digest body copied over a newer one. Each tampering is undone afterwards and the
delivery must validate again.

validate-logs makes its S3 clients without --endpoint-url, so the CLI runs with
AWS_ENDPOINT_URL pointing at the server (that also covers its CloudTrail client).
"""

from __future__ import annotations

import binascii
import datetime
import gzip
import hashlib
import json
import os
import re
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import rsa

from conftest import AWS_CLI, ServerFactory
from e2e_util import ACCOUNT_ID, REGION, unique, wait_until
from test_trails import PATH_STYLE, gunzip_one_member, list_keys, make_trail_bucket, trail_arn

FAST = {"TRAILGUARD_TRAIL_LOG_INTERVAL": "1", "TRAILGUARD_TRAIL_DIGEST_INTERVAL": "3"}
DIGEST_ROOT = f"AWSLogs/{ACCOUNT_ID}/CloudTrail-Digest/{REGION}/"
LOG_ROOT = f"AWSLogs/{ACCOUNT_ID}/CloudTrail/{REGION}/"
SETUP_TIMEOUT = 40.0


@dataclass
class Digest:
    key: str
    raw: bytes  # the gzip object as stored
    body: bytes  # inflated JSON bytes, what the signature covers
    doc: dict
    metadata: dict


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def ratio(self, kind: str) -> tuple[int, int, int]:
        """(valid, total, invalid) from the summary line for `kind` ("digest" or "log")."""
        m = re.search(
            rf"^(\d+)/(\d+) {kind} files valid(?:, (\d+)/\d+ {kind} files INVALID)?$", self.stdout, re.M
        )
        assert m, f"no {kind} summary in:\n{self.stdout}"
        return int(m[1]), int(m[2]), int(m[3] or 0)


class DeliveredTrail:
    def __init__(self, srv, bucket: str, name: str, cli_start: str):
        self.srv = srv
        self.bucket = bucket
        self.name = name
        self.arn = trail_arn(name)
        self.cli_start = cli_start
        self.s3 = srv.client("s3", config=PATH_STYLE)
        self.ct = srv.client("cloudtrail")
        self.digest_key_re = re.compile(
            re.escape(DIGEST_ROOT)
            + rf"(\d{{4}})/(\d{{2}})/(\d{{2}})/{ACCOUNT_ID}_CloudTrail-Digest_{REGION}_{re.escape(name)}_{REGION}_"
            r"(\d{8}T\d{6}Z)\.json\.gz"
        )

    def digest_keys(self) -> list[str]:
        keys = list_keys(self.s3, self.bucket, DIGEST_ROOT)
        for key in keys:
            assert self.digest_key_re.fullmatch(key), f"digest key does not follow CloudTrail's layout: {key}"
        return sorted(keys)

    def log_keys(self) -> list[str]:
        return list_keys(self.s3, self.bucket, LOG_ROOT)

    def digest(self, key: str) -> Digest:
        obj = self.s3.get_object(Bucket=self.bucket, Key=key)
        raw = obj["Body"].read()
        body = gunzip_one_member(raw)
        return Digest(key, raw, body, json.loads(body), obj["Metadata"])

    def digests(self) -> list[Digest]:
        return [self.digest(k) for k in self.digest_keys()]

    def listed_logs(self, digests=None) -> list[str]:
        return [log["s3Object"] for d in (digests or self.digests()) for log in d.doc["logFiles"]]

    def validate(self) -> Run:
        env = dict(os.environ)
        env["AWS_ACCESS_KEY_ID"] = self.srv.root_creds["aws_access_key_id"]
        env["AWS_SECRET_ACCESS_KEY"] = self.srv.root_creds["aws_secret_access_key"]
        env["AWS_ENDPOINT_URL"] = self.srv.endpoint
        cmd = [
            str(AWS_CLI), "cloudtrail", "validate-logs", "--trail-arn", self.arn,
            "--start-time", self.cli_start, "--verbose", "--region", REGION,
        ]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def assert_valid(self) -> Run:
        run = self.validate()
        assert run.code == 0, f"validate-logs failed:\n{run.output}"
        assert "INVALID" not in run.output and "not found" not in run.output, run.output
        valid, total, _ = run.ratio("digest")
        assert valid == total >= 3
        valid, total, _ = run.ratio("log")
        assert valid == total >= 1
        return run

    def assert_invalid(self, expected_line: str, kind: str) -> Run:
        run = self.validate()
        assert run.code == 1, f"validate-logs passed a tampered delivery:\n{run.output}"
        assert expected_line in run.stderr, f"expected {expected_line!r} in:\n{run.output}"
        assert run.ratio(kind)[2] >= 1
        return run

    @contextmanager
    def tampered(self, key: str, *, body: bytes | None = None, metadata: dict | None = None, delete=False):
        """Replace or delete one object, then put the original bytes and metadata back."""
        original = self.s3.get_object(Bucket=self.bucket, Key=key)
        raw, meta = original["Body"].read(), original["Metadata"]
        if delete:
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        else:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, Metadata=meta if metadata is None else metadata)
        try:
            yield
        finally:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=raw, Metadata=meta)


@pytest.fixture(scope="module")
def trail(tmp_path_factory):
    factory = ServerFactory(tmp_path_factory.mktemp("validate-logs"))
    try:
        srv = factory.start(extra_env=FAST)
        bucket = make_trail_bucket(srv)
        name = unique("tg-validated")
        ct = srv.client("cloudtrail")
        ct.create_trail(Name=name, S3BucketName=bucket, EnableLogFileValidation=True)
        started = datetime.datetime.now(datetime.timezone.utc)
        ct.start_logging(Name=name)
        iam = srv.client("iam")
        t = DeliveredTrail(srv, bucket, name, (started - datetime.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        calls = iter(range(1000))

        def ready():
            iam.create_user(UserName=f"{name}-{next(calls)}")  # keep events flowing into later digests
            digests = t.digests()
            return len(digests) >= 3 and any(d.doc["logFiles"] for d in digests[1:])

        wait_until(ready, SETUP_TIMEOUT, interval=0.5, what="three digests, a later one listing a log file")
        yield t
    finally:
        factory.cleanup()


def test_digest_files_follow_the_documented_format_and_chain(trail):
    digests = trail.digests()
    keys = {k["Fingerprint"]: k for k in trail.ct.list_public_keys()["PublicKeyList"]}
    for d in digests:
        doc, meta = d.doc, d.metadata
        assert meta["signature-algorithm"] == "SHA256withRSA"
        assert re.fullmatch(r"[0-9a-f]{256,}", meta["signature"]), meta["signature"]
        assert doc["awsAccountId"] == ACCOUNT_ID
        assert doc["digestS3Bucket"] == trail.bucket
        assert doc["digestS3Object"] == d.key
        assert doc["digestSignatureAlgorithm"] == "SHA256withRSA"
        assert doc["digestPublicKeyFingerprint"] in keys
        start, end = doc["digestStartTime"], doc["digestEndTime"]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", start) and start <= end
        # The key's timestamp is the digest's end time, to the second; its date path too.
        m = trail.digest_key_re.fullmatch(d.key)
        assert m[4] == end.replace("-", "").replace(":", "")
        assert "".join(m.group(1, 2, 3)) == m[4][:8]
        # The signature verifies, over exactly the string the CLI builds.
        public = rsa.PublicKey.load_pkcs1(keys[doc["digestPublicKeyFingerprint"]]["Value"], format="DER")
        previous = doc["previousDigestSignature"] or "null"
        to_sign = f"{end}\n{trail.bucket}/{d.key}\n{hashlib.sha256(d.body).hexdigest()}\n{previous}".encode()
        assert rsa.verify(to_sign, binascii.unhexlify(meta["signature"]), public) == "SHA-256"

    first = digests[0].doc
    assert first["previousDigestSignature"] is None
    assert first.get("previousDigestS3Object") is None and first.get("previousDigestS3Bucket") is None
    for older, newer in zip(digests, digests[1:]):
        doc = newer.doc
        assert doc["previousDigestSignature"] == older.metadata["signature"]
        assert doc["previousDigestS3Bucket"] == trail.bucket
        assert doc["previousDigestS3Object"] == older.key
        assert doc["previousDigestHashAlgorithm"] == "SHA-256"
        assert doc["previousDigestHashValue"] == hashlib.sha256(older.body).hexdigest()
        assert doc["digestStartTime"] == older.doc["digestEndTime"]  # no gap, no overlap

    listed = trail.listed_logs(digests)
    assert listed and len(listed) == len(set(listed)), "a log file is in more than one digest"
    for d in digests:
        for log in d.doc["logFiles"]:
            assert log["s3Bucket"] == trail.bucket
            assert log["s3Object"].startswith(LOG_ROOT)
            assert log["hashAlgorithm"] == "SHA-256"
            raw = trail.s3.get_object(Bucket=trail.bucket, Key=log["s3Object"])["Body"].read()
            assert log["hashValue"] == hashlib.sha256(gunzip_one_member(raw)).hexdigest()
    empty = [d.doc for d in digests if not d.doc["logFiles"]]
    assert all(e.get("newestEventTime") is None and e.get("oldestEventTime") is None for e in empty)


def test_every_delivered_log_gets_into_exactly_one_digest(trail):
    delivered = set(trail.log_keys())
    count = len(trail.digest_keys())
    # Two more digests: the later one began after this listing, so it covers all of it.
    wait_until(lambda: len(trail.digest_keys()) >= count + 2, 20, interval=0.5, what="two more digests")
    listed = trail.listed_logs()
    assert len(listed) == len(set(listed))
    assert delivered <= set(listed), f"never digested: {sorted(delivered - set(listed))}"
    assert set(listed) <= set(trail.log_keys())


def test_validate_logs_passes_on_an_untouched_delivery(trail):
    digests = trail.digests()
    run = trail.assert_valid()
    assert f"Validating log files for trail {trail.arn} between {trail.cli_start}" in run.stdout
    assert "Results found for " in run.stdout
    for d in digests:
        assert f"Digest file\ts3://{trail.bucket}/{d.key}\tvalid" in run.stdout
    for key in trail.listed_logs(digests):
        assert f"Log file\ts3://{trail.bucket}/{key}\tvalid" in run.stdout
    assert run.ratio("digest")[1] >= len(digests)
    assert run.ratio("log")[1] >= len(trail.listed_logs(digests))


def first_listed_log(trail) -> str:
    return trail.listed_logs()[0]


def test_altered_log_file_is_detected(trail):
    key = first_listed_log(trail)
    raw = trail.s3.get_object(Bucket=trail.bucket, Key=key)["Body"].read()
    doc = json.loads(gunzip_one_member(raw))
    doc["Records"][0]["sourceIPAddress"] = "203.0.113.66"
    with trail.tampered(key, body=gzip.compress(json.dumps(doc).encode())):
        trail.assert_invalid(f"Log file\ts3://{trail.bucket}/{key}\tINVALID: hash value doesn't match", "log")
    trail.assert_valid()


def test_deleted_log_file_is_detected(trail):
    key = first_listed_log(trail)
    with trail.tampered(key, delete=True):
        trail.assert_invalid(f"Log file\ts3://{trail.bucket}/{key}\tINVALID: not found", "log")
    trail.assert_valid()


def test_altered_digest_fails_its_signature(trail):
    target = next(d for d in trail.digests()[1:] if d.doc["logFiles"])
    # Hide a change to a log: rewrite the hash the digest holds for it.
    old_hash = target.doc["logFiles"][0]["hashValue"]
    new_hash = ("0" if old_hash[0] != "0" else "1") + old_hash[1:]
    altered = target.body.replace(old_hash.encode(), new_hash.encode(), 1)
    assert altered != target.body
    with trail.tampered(target.key, body=gzip.compress(altered)):
        trail.assert_invalid(
            f"Digest file\ts3://{trail.bucket}/{target.key}\tINVALID: signature verification failed", "digest"
        )
    trail.assert_valid()


def test_digest_deleted_from_the_middle_of_the_chain_is_detected(trail):
    middle = trail.digest_keys()[1]  # digests[2] links back to it, and digests[0] lies beyond
    with trail.tampered(middle, delete=True):
        run = trail.assert_invalid(f"Digest file\ts3://{trail.bucket}/{middle}\tINVALID: not found", "digest")
        # The CLI carries on past the hole and still checks the older digest.
        first = trail.digest_keys()[0]
        assert f"Digest file\ts3://{trail.bucket}/{first}\tvalid" in run.stdout
    trail.assert_valid()


def test_older_digest_copied_over_a_newer_one_is_detected(trail):
    older, newer = trail.digests()[:2]
    with trail.tampered(newer.key, body=older.raw, metadata=older.metadata):
        trail.assert_invalid(
            f"Digest file\ts3://{trail.bucket}/{newer.key}\tINVALID: has been moved from its original location",
            "digest",
        )
    trail.assert_valid()
