"""Helpers shared by the trailguard end-to-end tests (no fixtures here)."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from botocore.exceptions import ClientError

ACCOUNT_ID = "123456789012"
ROOT_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
ROOT_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ROOT_ARN = f"arn:aws:iam::{ACCOUNT_ID}:root"
REGION = "us-east-1"

ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"

# Unique ids: a 4-letter prefix followed by 17 upper-case alphanumerics.
USER_ID_RE = re.compile(r"^AIDA[A-Z0-9]{17}$")
ROLE_ID_RE = re.compile(r"^AROA[A-Z0-9]{17}$")
GROUP_ID_RE = re.compile(r"^AGPA[A-Z0-9]{17}$")
POLICY_ID_RE = re.compile(r"^ANPA[A-Z0-9]{17}$")
INSTANCE_PROFILE_ID_RE = re.compile(r"^AIPA[A-Z0-9]{17}$")
# Access key ids are 20 characters; secrets are 40.
ACCESS_KEY_ID_RE = re.compile(r"^AKIA[A-Z0-9]{16}$")
SESSION_KEY_ID_RE = re.compile(r"^ASIA[A-Z0-9]{16}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9/+]{40}$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
EVENT_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def unique(prefix: str) -> str:
    """A name that no other test (or earlier run on the same data dir) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def allow_all_policy() -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }


def policy_doc(actions, effect="Allow", resource="*") -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": effect, "Action": actions, "Resource": resource}],
    }


def trust_policy(principal_aws) -> dict:
    """Trust policy letting the given AWS principal(s) call sts:AssumeRole."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": principal_aws},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def trust_account_root() -> dict:
    return trust_policy(ROOT_ARN)


def trust_ec2() -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def dumps(doc: dict) -> str:
    return json.dumps(doc)


def creds_from_access_key(access_key: dict) -> dict:
    """boto3-style credential kwargs from a CreateAccessKey 'AccessKey' dict."""
    return {
        "aws_access_key_id": access_key["AccessKeyId"],
        "aws_secret_access_key": access_key["SecretAccessKey"],
    }


def creds_from_sts(credentials: dict) -> dict:
    """boto3-style credential kwargs from an STS 'Credentials' dict."""
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


def error_code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def error_message(exc: ClientError) -> str:
    return exc.response["Error"].get("Message", "")


def http_status(resp_or_exc) -> int:
    resp = resp_or_exc.response if isinstance(resp_or_exc, ClientError) else resp_or_exc
    return resp["ResponseMetadata"]["HTTPStatusCode"]


def request_id(resp_or_exc) -> str:
    resp = resp_or_exc.response if isinstance(resp_or_exc, ClientError) else resp_or_exc
    return resp["ResponseMetadata"]["RequestId"]


@contextmanager
def raises_aws(code: str, status: int | None = None, message_contains: str | None = None):
    """Expect a botocore ClientError with the given AWS error code (and HTTP status)."""
    with pytest.raises(ClientError) as excinfo:
        yield excinfo
    err = excinfo.value.response.get("Error", {})
    assert err.get("Code") == code, f"expected error {code}, got {err!r}"
    if status is not None:
        got = http_status(excinfo.value)
        assert got == status, f"expected HTTP {status} for {code}, got {got}"
    if message_contains is not None:
        assert message_contains in err.get("Message", ""), (
            f"expected {message_contains!r} in error message {err.get('Message')!r}"
        )


def parse_xml_error(body: bytes) -> dict:
    """Parse an awsQuery XML ErrorResponse into {'Code':..., 'Message':..., 'RequestId':...}."""
    root = ET.fromstring(body)
    assert _local(root.tag) == "ErrorResponse", f"not an ErrorResponse: {body[:300]!r}"
    out = {}
    for el in root.iter():
        name = _local(el.tag)
        if name in ("Code", "Message", "Type", "RequestId") and el.text is not None:
            out.setdefault(name, el.text)
    return out


def xml_find_text(body: bytes, tag: str) -> str | None:
    root = ET.fromstring(body)
    for el in root.iter():
        if _local(el.tag) == tag:
            return el.text
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def walk(obj):
    """Yield (key, value) for every dict entry, recursively (lists included)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k, v
            yield from walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from walk(v)


def wait_until(predicate, timeout=5.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@dataclass
class IamUser:
    name: str
    arn: str
    user_id: str
    access_key_id: str
    secret_access_key: str
    creds: dict = field(repr=False)


def make_user(server, *, admin=False, inline_policy=None, path=None, prefix="u") -> IamUser:
    """Create (as root) an IAM user with one access key; optionally give it policies."""
    iam = server.client("iam")
    name = unique(prefix)
    kwargs = {"UserName": name}
    if path:
        kwargs["Path"] = path
    user = iam.create_user(**kwargs)["User"]
    if admin:
        iam.attach_user_policy(UserName=name, PolicyArn=ADMIN_POLICY_ARN)
    if inline_policy is not None:
        iam.put_user_policy(
            UserName=name, PolicyName="inline", PolicyDocument=json.dumps(inline_policy)
        )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return IamUser(
        name=name,
        arn=user["Arn"],
        user_id=user["UserId"],
        access_key_id=key["AccessKeyId"],
        secret_access_key=key["SecretAccessKey"],
        creds=creds_from_access_key(key),
    )


def make_role(server, *, trust=None, admin=False, max_session_duration=None, prefix="r") -> dict:
    """Create (as root) a role; returns the CreateRole 'Role' dict."""
    iam = server.client("iam")
    name = unique(prefix)
    kwargs = {
        "RoleName": name,
        "AssumeRolePolicyDocument": json.dumps(trust or trust_account_root()),
    }
    if max_session_duration is not None:
        kwargs["MaxSessionDuration"] = max_session_duration
    role = iam.create_role(**kwargs)["Role"]
    if admin:
        iam.attach_role_policy(RoleName=name, PolicyArn=ADMIN_POLICY_ARN)
    return role


_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_request(url, data=None, headers=None, method=None, timeout=10.0):
    """Plain HTTP without proxies; returns (status, headers, body) even for 4xx/5xx."""
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with _NO_PROXY_OPENER.open(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class AwsCliError(Exception):
    def __init__(self, cmd, returncode, stdout, stderr):
        super().__init__(
            f"aws CLI exited {returncode}: {' '.join(cmd)}\nstdout: {stdout}\nstderr: {stderr}"
        )
        self.cmd = cmd
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def wait_for_deletion_task(iam, task, timeout=15.0):
    """Polls a deletion task until it finishes; returns the last status answer."""
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        answer = iam.get_service_linked_role_deletion_status(DeletionTaskId=task)
        if not seen or seen[-1] != answer["Status"]:
            seen.append(answer["Status"])
        if answer["Status"] in ("SUCCEEDED", "FAILED"):
            answer["_seen"] = seen
            return answer
        time.sleep(0.1)
    raise AssertionError(f"deletion task {task} did not finish: {seen}")
