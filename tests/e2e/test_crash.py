"""Durability: SIGKILL during concurrent writes loses no acknowledged write, and the
trail agrees with the state after restart."""

import collections
import threading
import time

from botocore.config import Config
from botocore.exceptions import ClientError

THREADS = 8
PATH = "/crash/"


def test_sigkill_during_concurrent_create_user(fresh_server):
    srv = fresh_server.start()
    clients = [
        srv.client("iam", config=Config(connect_timeout=2, read_timeout=10))
        for _ in range(THREADS)
    ]

    lock = threading.Lock()
    attempted: set[str] = set()
    acked: set[str] = set()
    errors_before_kill: list[str] = []
    killed = threading.Event()

    def worker(t: int):
        client = clients[t]
        i = 0
        while not killed.is_set():
            name = f"crash-{t}-{i}"
            i += 1
            with lock:
                attempted.add(name)
            try:
                client.create_user(UserName=name, Path=PATH)
            except ClientError as e:
                if not killed.is_set():
                    with lock:
                        errors_before_kill.append(f"{name}: {e}")
            except Exception as e:  # connection reset/refused once the server is gone
                if not killed.is_set():
                    with lock:
                        errors_before_kill.append(f"{name}: {type(e).__name__}: {e}")
                    time.sleep(0.01)
            else:
                with lock:
                    acked.add(name)

    threads = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(THREADS)]
    for th in threads:
        th.start()
    time.sleep(1.5)
    deadline = time.monotonic() + 15
    while not acked and time.monotonic() < deadline:  # a slow debug build: wait for one ack
        time.sleep(0.1)
    killed.set()
    srv.kill()
    for th in threads:
        th.join(timeout=30)
    assert not any(th.is_alive() for th in threads), "client threads hung after the kill"

    assert not errors_before_kill, f"calls failed while the server was up: {errors_before_kill[:5]}"
    assert acked, "no CreateUser succeeded before the kill"

    srv.start()  # same data dir, new process
    iam = srv.client("iam")
    existing = {}
    for page in iam.get_paginator("list_users").paginate(PathPrefix=PATH):
        for u in page["Users"]:
            assert u["UserName"] not in existing, f"user listed twice: {u['UserName']}"
            existing[u["UserName"]] = u

    print(f"attempted={len(attempted)} acked={len(acked)} existing after restart={len(existing)}")
    missing = acked - existing.keys()
    assert not missing, f"acknowledged users lost in the crash: {sorted(missing)[:10]}"
    phantom = existing.keys() - attempted
    assert not phantom, f"users nobody created: {sorted(phantom)[:10]}"

    # The trail agrees with the state.
    successes = collections.Counter()
    success_ids = {}
    for row in srv.event_rows():
        rec = row.record
        if rec.get("eventName") != "CreateUser" or rec.get("errorCode"):
            continue
        name = (rec.get("requestParameters") or {}).get("userName")
        if name is None or not name.startswith("crash-"):
            continue
        successes[name] += 1
        success_ids[name] = ((rec.get("responseElements") or {}).get("user") or {}).get("userId")

    for name, user in existing.items():
        assert successes[name] == 1, f"{name} exists but has {successes[name]} successful CreateUser records"
        assert success_ids[name] == user["UserId"], f"{name}: trail userId differs from state"
    ghost_events = set(successes) - existing.keys()
    assert not ghost_events, f"successful CreateUser records for users that do not exist: {sorted(ghost_events)[:10]}"

    # The restarted server keeps working.
    iam.create_user(UserName="after-crash", Path=PATH)
    assert iam.get_user(UserName="after-crash")["User"]["Path"] == PATH
