"""Attacks on the server itself, before and around authentication, and what trailguard answers.

Slow and idle clients cannot hold the server (header and body timeouts, a
connection limit); the data directory is its owner's alone; a restart never
undoes a recorded change to root keys; and the health endpoint tells the truth
when the store cannot take a write. Limits are set small through the
environment (TRAILGUARD_HEADER_TIMEOUT, _BODY_TIMEOUT, _MAX_CONNECTIONS) so
each attack takes seconds.
"""

from __future__ import annotations

import concurrent.futures
import os
import resource
import select
import socket
import sqlite3
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest
from botocore.config import Config

from conftest import HEALTH_PATH, free_port, server_binary
from e2e_util import (
    ACCOUNT_ID,
    REGION,
    ROOT_ACCESS_KEY_ID,
    ROOT_SECRET_ACCESS_KEY,
    http_request,
    raises_aws,
    unique,
    wait_until,
)


def _connect(srv) -> socket.socket:
    return socket.create_connection(("127.0.0.1", srv.port), timeout=5)


def _closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> float | None:
    """Seconds until the server closes `sock` (None if it stays open), sending
    one byte of `trickle` every half second meanwhile."""
    started = time.monotonic()
    sent = 0
    while time.monotonic() - started < seconds:
        if sent < len(trickle):
            try:
                sock.send(trickle[sent : sent + 1])
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - started
            sent += 1
        readable, _, _ = select.select([sock], [], [], 0.5)
        if readable:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                return time.monotonic() - started
            if not data:
                return time.monotonic() - started
    return None


def _read_response(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection or `timeout` passes."""
    deadline = time.monotonic() + timeout
    out = b""
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], 0.2)
        if readable:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
    return out


def test_slowloris_headers_one_byte_at_a_time_are_cut_off_while_others_are_served(fresh_server):
    """Attack: open a connection and send the request head a byte at a time, never
    finishing it, to hold a connection forever. trailguard closes it once the
    header timeout (here 2 s) passes, and serves other clients meanwhile."""
    srv = fresh_server.start(extra_env={"TRAILGUARD_HEADER_TIMEOUT": "2"})
    sock = _connect(srv)
    sock.sendall(b"POST / HTTP/1.1\r\n")
    result = {}

    def attack():
        result["closed_after"] = _closed_within(sock, 8.0, trickle=b"X-Slow: " + b"a" * 40)

    attacker = threading.Thread(target=attack)
    attacker.start()
    time.sleep(0.5)
    assert srv.client("sts").get_caller_identity()["Account"] == ACCOUNT_ID
    attacker.join()
    sock.close()
    closed_after = result["closed_after"]
    assert closed_after is not None, "a slowloris connection was held open for 8 s"
    assert closed_after < 4.5, f"closed only after {closed_after:.1f} s"
    # And a new client is served after it.
    assert http_request(srv.endpoint + HEALTH_PATH, timeout=5)[0] == 200


@pytest.mark.parametrize(
    ("service", "content_type"),
    [("s3", "application/xml"), ("sts", "text/xml")],
)
def test_stalled_body_is_answered_request_timeout_and_the_connection_closed(
    fresh_server, service, content_type
):
    """Attack: send a request's headers announcing a 1000-byte body, then 10
    bytes, then nothing. trailguard answers 400 RequestTimeout in the service's
    error shape once the body timeout (here 2 s) passes, and closes the connection."""
    srv = fresh_server.start(extra_env={"TRAILGUARD_BODY_TIMEOUT": "2"})
    sock = _connect(srv)
    auth = (
        f"AWS4-HMAC-SHA256 Credential={ROOT_ACCESS_KEY_ID}/20260101/{REGION}/{service}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
    )
    head = (
        f"PUT /bucket/key HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
        f"Authorization: {auth}\r\nX-Amz-Date: 20260101T000000Z\r\n"
        "Content-Length: 1000\r\n\r\n"
    )
    started = time.monotonic()
    sock.sendall(head.encode() + b"0123456789")
    response = _read_response(sock, timeout=8.0)
    elapsed = time.monotonic() - started
    sock.close()
    assert response, "the server never answered a stalled body"
    status_line, _, rest = response.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 400"), response[:300]
    assert b"<Code>RequestTimeout</Code>" in rest, response[:600]
    assert b"not read from or written to within the timeout period" in rest
    assert content_type.encode() in rest.lower()
    assert 1.5 < elapsed < 6.0, f"answered after {elapsed:.1f} s"


def test_a_client_that_never_reads_its_response_is_cut_off(fresh_server):
    """Attack: ask for a 7.5 MiB object with a tiny receive window and never read
    the response, to hold the connection while the server waits to write.
    trailguard gives up on a write that makes no progress for the header timeout
    (here 2 s) and closes the connection, so the client never gets the rest."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    srv = fresh_server.start(extra_env={"TRAILGUARD_HEADER_TIMEOUT": "2"})
    s3 = srv.client("s3", config=Config(s3={"addressing_style": "path"}))
    bucket = unique("tg-slowread")
    s3.create_bucket(Bucket=bucket)
    size = 7 * 1024 * 1024 + 512 * 1024
    s3.put_object(Bucket=bucket, Key="big", Body=os.urandom(size))

    netloc = f"127.0.0.1:{srv.port}"
    request = AWSRequest(method="GET", url=f"http://{netloc}/{bucket}/big", headers={"Host": netloc})
    S3SigV4Auth(Credentials(ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY), "s3", REGION).add_auth(request)
    head = f"GET /{bucket}/big HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in request.headers.items()
    ) + "\r\n"
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", srv.port))
    sock.sendall(head.encode())
    time.sleep(5)  # read nothing for well past the timeout
    received = _read_response(sock, timeout=10.0)
    sock.close()
    assert received.startswith(b"HTTP/1.1 200"), received[:200]
    assert len(received) < size, "the server waited for a client that never read"
    # The server is fine for everyone else.
    assert s3.head_object(Bucket=bucket, Key="big")["ContentLength"] == size


def test_idle_connections_beyond_the_limit_do_not_lock_out_a_real_client(fresh_server):
    """Attack: open more idle connections than the server serves at once (here 4,
    with a 1 s header timeout) and send nothing. trailguard takes at most 4 at a
    time, closes each when its header timeout passes, and a well-behaved client
    queued behind them is served within seconds."""
    srv = fresh_server.start(
        extra_env={"TRAILGUARD_MAX_CONNECTIONS": "4", "TRAILGUARD_HEADER_TIMEOUT": "1"}
    )
    idle = [_connect(srv) for _ in range(8)]
    try:
        time.sleep(0.2)
        started = time.monotonic()
        sts = srv.client("sts", config=Config(read_timeout=20, connect_timeout=20))
        assert sts.get_caller_identity()["Account"] == ACCOUNT_ID
        waited = time.monotonic() - started
        # It queued behind idle connections (the limit holds) and was served
        # once they timed out.
        assert 0.8 < waited < 10, f"served after {waited:.1f} s"
        for sock in idle:
            assert _closed_within(sock, 5.0) is not None, "an idle connection was never closed"
    finally:
        for sock in idle:
            sock.close()


def _launch(
    tmp_path: Path, data_dir: Path, *, umask: int | None = None, nofile: int | None = None, extra_env=None
):
    """The binary on `data_dir` with the fixed root credentials; returns the process,
    its endpoint and its stderr file. The umask and the open-file limit are set in
    the child before exec."""

    def preexec():
        if umask is not None:
            os.umask(umask)
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAILGUARD_")}
    env.update(
        {
            "TRAILGUARD_ACCOUNT_ID": ACCOUNT_ID,
            "TRAILGUARD_ROOT_ACCESS_KEY_ID": ROOT_ACCESS_KEY_ID,
            "TRAILGUARD_ROOT_SECRET_ACCESS_KEY": ROOT_SECRET_ACCESS_KEY,
        }
    )
    env.update(extra_env or {})
    logs = tmp_path / f"launch-{port}"
    logs.mkdir()
    with open(logs / "stdout", "wb") as out, open(logs / "stderr", "wb") as err:
        proc = subprocess.Popen(
            [str(server_binary()), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data_dir)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            preexec_fn=preexec,
        )
    return proc, f"http://127.0.0.1:{port}", logs / "stderr"


def _stop(proc: subprocess.Popen):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _healthy(endpoint: str) -> bool:
    try:
        return http_request(endpoint + HEALTH_PATH, timeout=2)[0] == 200
    except OSError:
        return False


def test_data_dir_and_every_file_are_owner_only_even_with_umask_000(tmp_path):
    """Attack: a local user reads the database (every secret, the digest-signing
    key) or the trail's objects. trailguard, even started with umask 000, creates
    its data directory 0700 and every directory 0700 and file 0600 in it."""
    data_dir = tmp_path / "nested" / "data"
    proc, endpoint, stderr = _launch(tmp_path, data_dir, umask=0)
    try:
        wait_until(lambda: proc.poll() is not None or _healthy(endpoint), timeout=30, what="start")
        assert proc.poll() is None, stderr.read_text()
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=ROOT_ACCESS_KEY_ID,
            aws_secret_access_key=ROOT_SECRET_ACCESS_KEY,
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
        )
        bucket = unique("tg-private")
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"object bytes")
        assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"object bytes"
        seen = {"dirs": 0, "files": 0}
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        for root, dirs, files in os.walk(data_dir):
            for d in dirs:
                mode = stat.S_IMODE((Path(root) / d).stat().st_mode)
                assert mode == 0o700, f"{Path(root) / d} is {mode:o}"
                seen["dirs"] += 1
            for f in files:
                mode = stat.S_IMODE((Path(root) / f).stat().st_mode)
                assert mode == 0o600, f"{Path(root) / f} is {mode:o}"
                seen["files"] += 1
        names = {p.name for p in data_dir.iterdir()}
        assert {"trailguard.db", "trailguard.db-wal", "trailguard.db-shm", "objects"} <= names
        assert seen["dirs"] >= 2 and seen["files"] >= 4, seen
    finally:
        _stop(proc)


def test_startup_refuses_a_data_dir_other_users_can_read(tmp_path):
    """Attack: the operator's data directory is 0755, so every local user can read
    the secrets in it. trailguard refuses to start and says which chmod to run,
    touching nothing inside."""
    data_dir = tmp_path / "open data"
    data_dir.mkdir()
    data_dir.chmod(0o755)
    proc, _, stderr = _launch(tmp_path, data_dir)
    try:
        assert proc.wait(timeout=15) != 0
    finally:
        _stop(proc)
    message = stderr.read_text()
    assert "open to other users (mode 0755)" in message, message
    assert f"chmod 700 '{data_dir}'" in message, message
    assert list(data_dir.iterdir()) == []


def test_deleted_root_key_stays_deleted_after_restart_and_both_changes_are_recorded(
    fresh_server, tmp_path
):
    """Attack: wait for a restart to bring back a root access key that was deleted
    (from the environment or the stored bootstrap document). trailguard records
    the key's creation on first start, never recreates it on a later one, and
    refuses to start with a configured root key the data directory never made."""
    srv = fresh_server.start()
    iam = srv.client("iam")
    spare = iam.create_access_key()["AccessKey"]
    spare_creds = {
        "aws_access_key_id": spare["AccessKeyId"],
        "aws_secret_access_key": spare["SecretAccessKey"],
    }
    srv.client("iam", **spare_creds).delete_access_key(AccessKeyId=ROOT_ACCESS_KEY_ID)
    with raises_aws("InvalidClientTokenId", 403):
        srv.client("sts").get_caller_identity()

    srv.restart()  # TRAILGUARD_ROOT_* still name the deleted key
    with raises_aws("InvalidClientTokenId", 403):
        srv.client("sts").get_caller_identity()
    assert srv.client("sts", **spare_creds).get_caller_identity()["Arn"].endswith(":root")
    assert f"root access key {ROOT_ACCESS_KEY_ID} was deleted" in srv.stderr_text()

    events = srv.events()
    key_events = [
        (e["eventName"], (e.get("responseElements") or {}).get("accessKey", {}).get("accessKeyId")
         or (e.get("requestParameters") or {}).get("accessKeyId"))
        for e in events
        if e["eventName"] in ("CreateAccessKey", "DeleteAccessKey")
    ]
    assert key_events == [
        ("CreateAccessKey", ROOT_ACCESS_KEY_ID),
        ("CreateAccessKey", spare["AccessKeyId"]),
        ("DeleteAccessKey", ROOT_ACCESS_KEY_ID),
    ], key_events
    bootstrap = events[0]
    assert bootstrap["eventName"] == "CreateAccessKey"
    assert bootstrap["userIdentity"] == {"type": "AWSService", "invokedBy": "iam.amazonaws.com"}
    assert bootstrap["sourceIPAddress"] == "AWS Internal"
    assert bootstrap["recipientAccountId"] == ACCOUNT_ID
    srv.stop()

    # A root key the data directory never made is refused, not silently added.
    forged = "AKIAFORGEDFORGED0001"
    proc, _, stderr = _launch(
        tmp_path,
        srv.data_dir,
        extra_env={
            "TRAILGUARD_ROOT_ACCESS_KEY_ID": forged,
            "TRAILGUARD_ROOT_SECRET_ACCESS_KEY": "x" * 40,
        },
    )
    try:
        assert proc.wait(timeout=15) != 0
    finally:
        _stop(proc)
    assert f"names {forged}, which this data directory never created" in stderr.read_text()
    assert [e["eventName"] for e in srv.events()].count("CreateAccessKey") == 2


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def test_health_fails_while_the_store_cannot_take_a_write_and_recovers(fresh_server):
    """Attack: hold the store's writer (here another process holds the SQLite
    write lock, as a stuck call would) so that every call blocks. trailguard's
    health endpoint answers 503 with the reason within a few seconds, without a
    thread per check, and ok again once the writer is free."""
    srv = fresh_server.start()
    iam = srv.client("iam", config=Config(read_timeout=30))
    assert http_request(srv.endpoint + HEALTH_PATH, timeout=5)[0] == 200

    holder = sqlite3.connect(str(srv.db_path), timeout=10, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        # The hold really blocks the server's writes.
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=12)
        blocked = pool.submit(iam.create_user, UserName=unique("blocked"))
        time.sleep(1.0)
        assert not blocked.done(), "a write went through while the store was held"

        started = time.monotonic()
        status, _, body = http_request(srv.endpoint + HEALTH_PATH, timeout=10)
        assert status == 503, body
        assert time.monotonic() - started < 4.0
        assert b"could not take a write" in body, body

        # Checks in a burst share one probe instead of each parking a thread.
        before = _threads(srv.proc.pid)
        burst = [
            pool.submit(http_request, srv.endpoint + HEALTH_PATH, None, None, None, 10)
            for _ in range(10)
        ]
        assert [f.result()[0] for f in burst] == [503] * 10
        assert _threads(srv.proc.pid) <= before + 2
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    wait_until(
        lambda: http_request(srv.endpoint + HEALTH_PATH, timeout=5)[0] == 200,
        timeout=10,
        what="health ok after the writer is free",
    )
    # The call that was blocked finished one way or the other; new calls work.
    try:
        blocked.result(timeout=30)
    except Exception:  # noqa: BLE001 - it may have timed out on the lock
        pass
    pool.shutdown(wait=True)
    iam.create_user(UserName=unique("after"))


def test_accept_failures_at_the_file_descriptor_limit_back_off_instead_of_flooding_the_log(tmp_path):
    """Attack: open connections until the server runs out of file descriptors, so
    every accept() fails. trailguard pauses between failed accepts (up to 1 s)
    and logs them at most about once a second, instead of spinning and writing
    megabytes of log a second; once the connections close it serves again."""
    data_dir = tmp_path / "data"
    proc, endpoint, stderr = _launch(tmp_path, data_dir, nofile=64)
    flood = []
    try:
        wait_until(lambda: proc.poll() is not None or _healthy(endpoint), timeout=30, what="start")
        assert proc.poll() is None, stderr.read_text()
        for _ in range(80):
            flood.append(socket.create_connection(("127.0.0.1", int(endpoint.rsplit(":", 1)[1])), timeout=5))
        time.sleep(1.0)
        before = stderr.stat().st_size
        time.sleep(3.0)
        grown = stderr.stat().st_size - before
        assert grown < 4096, f"{grown} bytes of log in 3 s at the descriptor limit"
        assert "Too many open files" in stderr.read_text(), "the failure is still logged"
        assert proc.poll() is None
    finally:
        for sock in flood:
            sock.close()
    try:
        wait_until(lambda: _healthy(endpoint), timeout=10, what="health after the flood")
    finally:
        _stop(proc)
