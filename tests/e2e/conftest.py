"""Fixtures for the trailguard black-box end-to-end tests.

The server under test is the real binary (TRAILGUARD_BIN, default
<repo>/target/debug/trailguard), started as a subprocess on a free loopback
port. Clients are boto3 and the AWS CLI v1 from the same virtualenv.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from e2e_util import (
    ACCOUNT_ID,
    REGION,
    ROOT_ACCESS_KEY_ID,
    ROOT_SECRET_ACCESS_KEY,
    AwsCliError,
    http_request,
    walk,
)

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_BIN = REPO_ROOT / "target" / "debug" / "trailguard"
AWS_CLI = Path(sys.executable).parent / "aws"
HEALTH_PATH = "/_trailguard/health"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0

# Variables that could make boto3 / the CLI talk to something other than the
# server under test, or pick up credentials from the developer's machine.
_AWS_ENV_TO_DROP = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_IAM",
    "AWS_ENDPOINT_URL_STS",
    "AWS_CA_BUNDLE",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_PAGER",
)


def pytest_configure(config):
    """Isolate every AWS client in this process (and the CLI children) from the host."""
    isolated = Path(tempfile.mkdtemp(prefix="trailguard-e2e-aws-"))
    (isolated / "config").write_text("")
    (isolated / "credentials").write_text("")
    for name in _AWS_ENV_TO_DROP:
        os.environ.pop(name, None)
    os.environ.update(
        {
            "AWS_CONFIG_FILE": str(isolated / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(isolated / "credentials"),
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_RETRY_MODE": "standard",
            "AWS_PAGER": "",
        }
    )
    # Never route loopback traffic through a proxy.
    no_proxy = "127.0.0.1,localhost"
    for var in ("NO_PROXY", "no_proxy"):
        existing = os.environ.get(var)
        os.environ[var] = f"{existing},{no_proxy}" if existing else no_proxy


def server_binary() -> Path:
    return Path(os.environ.get("TRAILGUARD_BIN") or DEFAULT_BIN)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class EventRow:
    seq: int
    event_id: str
    account_id: str
    event_time: str
    event_source: str
    event_name: str
    record: dict


class TrailguardServer:
    """One trailguard process on one data dir. Can be stopped, killed and restarted."""

    def __init__(
        self,
        data_dir: Path,
        log_dir: Path,
        *,
        fixed_root_creds: bool = True,
        extra_env: dict | None = None,
    ):
        self.binary = server_binary()
        self.extra_env = dict(extra_env or {})
        self.data_dir = Path(data_dir)
        self.log_dir = Path(log_dir)
        self.fixed_root_creds = fixed_root_creds
        self.db_path = self.data_dir / "trailguard.db"
        self.account_id = ACCOUNT_ID if fixed_root_creds else None
        self.root_creds = (
            {
                "aws_access_key_id": ROOT_ACCESS_KEY_ID,
                "aws_secret_access_key": ROOT_SECRET_ACCESS_KEY,
            }
            if fixed_root_creds
            else None
        )
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.endpoint: str | None = None
        self.runs = 0
        self.stdout_path: Path | None = None
        self.stderr_path: Path | None = None
        self.log_files: list[Path] = []
        # Every secret access key a client saw in a response (checked against logs and trail).
        self.secrets: set[str] = set()
        if fixed_root_creds:
            self.secrets.add(ROOT_SECRET_ACCESS_KEY)

    # ----- process control -------------------------------------------------

    def _env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRAILGUARD_")}
        if self.fixed_root_creds:
            env["TRAILGUARD_ACCOUNT_ID"] = ACCOUNT_ID
            env["TRAILGUARD_ROOT_ACCESS_KEY_ID"] = ROOT_ACCESS_KEY_ID
            env["TRAILGUARD_ROOT_SECRET_ACCESS_KEY"] = ROOT_SECRET_ACCESS_KEY
        # Verbose server logging makes the "no secrets in logs" checks stricter.
        env.setdefault("RUST_LOG", "info,trailguard=debug")
        env.setdefault("RUST_BACKTRACE", "1")
        env.update(self.extra_env)
        return env

    def start(self) -> "TrailguardServer":
        if not self.binary.exists():
            pytest.fail(
                f"trailguard binary not found at {self.binary} "
                "(build it with `cargo build` or set TRAILGUARD_BIN)",
                pytrace=False,
            )
        assert not self.running, "server already running"
        # trailguard refuses a data directory other users can reach.
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        last_error = None
        for _attempt in range(3):  # a picked port can be stolen before the server binds it
            self.runs += 1
            self.port = free_port()
            self.endpoint = f"http://127.0.0.1:{self.port}"
            self.stdout_path = self.log_dir / f"run{self.runs}.stdout.log"
            self.stderr_path = self.log_dir / f"run{self.runs}.stderr.log"
            self.log_files += [self.stdout_path, self.stderr_path]
            with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
                self.proc = subprocess.Popen(
                    [
                        str(self.binary),
                        "serve",
                        "--listen",
                        f"127.0.0.1:{self.port}",
                        "--data-dir",
                        str(self.data_dir),
                    ],
                    env=self._env(),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    cwd=str(self.data_dir),
                )
            try:
                self._wait_healthy()
                return self
            except _ExitedEarly as e:
                last_error = e
                continue
        raise AssertionError(f"trailguard did not start: {last_error}")

    def _wait_healthy(self):
        deadline = time.monotonic() + START_TIMEOUT
        url = self.endpoint + HEALTH_PATH
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise _ExitedEarly(
                    f"exit code {self.proc.returncode}\nstdout:\n{self.stdout_text()}\n"
                    f"stderr:\n{self.stderr_text()}"
                )
            try:
                status, _, _ = http_request(url, timeout=2.0)
                if status == 200:
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.05)
        self.kill()
        raise AssertionError(
            f"trailguard not healthy within {START_TIMEOUT}s\nstdout:\n{self.stdout_text()}\n"
            f"stderr:\n{self.stderr_text()}"
        )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """Graceful stop (SIGTERM). Returns the exit code; SIGKILLs and fails if it hangs."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"trailguard ignored SIGTERM for {timeout}s")
        return self.proc.returncode

    def kill(self):
        """Hard kill (SIGKILL), as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> "TrailguardServer":
        self.stop()
        return self.start()

    def stdout_text(self) -> str:
        return _read(self.stdout_path)

    def stderr_text(self) -> str:
        return _read(self.stderr_path)

    def all_logs(self) -> str:
        return "".join(_read(p) for p in self.log_files)

    # ----- clients ----------------------------------------------------------

    def client(self, service: str, **creds):
        """A boto3 client for `service` against this server.

        creds: aws_access_key_id / aws_secret_access_key / aws_session_token
        (default: the root credentials). Extra botocore Config via `config=`.
        """
        config = creds.pop("config", None)
        if not creds:
            assert self.root_creds, "no root credentials known for this server"
            creds = dict(self.root_creds)
        session = boto3.session.Session(region_name=REGION, **creds)
        base = Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            region_name=REGION,
        )
        client = session.client(
            service,
            endpoint_url=self.endpoint,
            config=base.merge(config) if config else base,
        )
        client.meta.events.register("after-call", self._collect_secrets)
        return client

    def _collect_secrets(self, parsed=None, **_kwargs):
        for key, value in walk(parsed or {}):
            if key == "SecretAccessKey" and isinstance(value, str):
                self.secrets.add(value)

    def aws(self, *args, creds: dict | None = None, check: bool = True, timeout: float = 120):
        """Run the AWS CLI v1 against this server; returns parsed JSON (or None)."""
        creds = creds or self.root_creds
        assert creds, "no credentials for the AWS CLI"
        env = dict(os.environ)
        env["AWS_ACCESS_KEY_ID"] = creds["aws_access_key_id"]
        env["AWS_SECRET_ACCESS_KEY"] = creds["aws_secret_access_key"]
        if creds.get("aws_session_token"):
            env["AWS_SESSION_TOKEN"] = creds["aws_session_token"]
        cmd = [
            str(AWS_CLI),
            *[str(a) for a in args],
            "--endpoint-url",
            self.endpoint,
            "--region",
            REGION,
            "--output",
            "json",
        ]
        proc = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
        if proc.returncode != 0:
            if check:
                raise AwsCliError(cmd, proc.returncode, proc.stdout, proc.stderr)
            return None
        out = json.loads(proc.stdout) if proc.stdout.strip() else None
        self._collect_secrets(out)
        return out

    # ----- the CloudTrail table ----------------------------------------------

    def event_rows(self, since_seq: int = 0) -> list[EventRow]:
        if not self.db_path.exists():
            return []
        uri = f"file:{urllib.parse.quote(str(self.db_path))}?mode=ro"
        con = sqlite3.connect(uri, uri=True, timeout=10)
        try:
            rows = con.execute(
                "SELECT seq, event_id, account_id, event_time, event_source, event_name, record "
                "FROM cloudtrail_events WHERE seq > ? ORDER BY seq",
                (since_seq,),
            ).fetchall()
        finally:
            con.close()
        return [EventRow(*row[:6], json.loads(row[6])) for row in rows]

    def events(self) -> list[dict]:
        return [r.record for r in self.event_rows()]

    def events_since(self, seq: int) -> list[dict]:
        return [r.record for r in self.event_rows(seq)]

    def max_seq(self) -> int:
        rows = self.event_rows()
        return rows[-1].seq if rows else 0

    def events_for_request(self, request_id: str, timeout: float = 5.0) -> list[dict]:
        """Records whose requestID is request_id, waiting briefly for the first one."""
        deadline = time.monotonic() + timeout
        while True:
            found = [
                r for r in self._records_containing(request_id) if r.get("requestID") == request_id
            ]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def _records_containing(self, text: str) -> list[dict]:
        if not self.db_path.exists():
            return []
        uri = f"file:{urllib.parse.quote(str(self.db_path))}?mode=ro"
        con = sqlite3.connect(uri, uri=True, timeout=10)
        try:
            rows = con.execute(
                "SELECT record FROM cloudtrail_events WHERE instr(record, ?) > 0 ORDER BY seq",
                (text,),
            ).fetchall()
        finally:
            con.close()
        return [json.loads(r[0]) for r in rows]


class _ExitedEarly(Exception):
    pass


def _read(path: Path | None) -> str:
    if path is None or not path.exists():
        return ""
    return path.read_text(errors="replace")


class ServerFactory:
    """Starts servers on one data dir owned by a single test; kills them all at teardown."""

    def __init__(self, base: Path):
        self.base = base
        self.data_dir = base / "data"
        self.servers: list[TrailguardServer] = []

    def start(
        self,
        *,
        fixed_root_creds: bool = True,
        data_dir: Path | None = None,
        extra_env: dict | None = None,
    ):
        srv = TrailguardServer(
            data_dir or self.data_dir,
            self.base / f"logs{len(self.servers)}",
            fixed_root_creds=fixed_root_creds,
            extra_env=extra_env,
        )
        self.servers.append(srv)
        return srv.start()

    def cleanup(self):
        for srv in self.servers:
            srv.kill()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The shared server (fixed root credentials) used by most tests."""
    base = tmp_path_factory.mktemp("trailguard-session")
    srv = TrailguardServer(base / "data", base / "logs")
    try:
        srv.start()
        yield srv
    finally:
        _stop_quietly(srv)


def _stop_quietly(srv: TrailguardServer):
    try:
        srv.stop()
    except AssertionError:
        pass
    finally:
        srv.kill()


@pytest.fixture
def fresh_server(tmp_path):
    """A factory for servers on a data dir private to this test: fresh_server.start()."""
    factory = ServerFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.cleanup()


@pytest.fixture
def iam(server):
    return server.client("iam")


@pytest.fixture
def sts(server):
    return server.client("sts")
