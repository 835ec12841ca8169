"""Runs last (file order): no secret handed out during the session leaked anywhere."""

import json


def test_no_secret_in_server_logs(server):
    # server.secrets holds the root secret and every SecretAccessKey any client received.
    assert len(server.secrets) > 1
    logs = server.all_logs()
    leaked = [s[:4] + "..." for s in server.secrets if s in logs]
    assert not leaked, f"secret access keys found in server stdout/stderr: {leaked}"


def test_no_secret_in_trail(server):
    rows = server.event_rows()
    assert rows
    for row in rows:
        blob = json.dumps(row.record)
        for secret in server.secrets:
            assert secret not in blob, f"secret leaked in event {row.event_id} ({row.event_name})"
