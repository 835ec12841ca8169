"""First start without configured credentials: generate, print, store and reuse them."""

import re

from e2e_util import ACCESS_KEY_ID_RE, SECRET_RE, raises_aws, wait_until

KEY_LINE = re.compile(r"^\s*aws_access_key_id\s*=\s*(\S+)\s*$", re.M)
SECRET_LINE = re.compile(r"^\s*aws_secret_access_key\s*=\s*(\S+)\s*$", re.M)


def _printed_creds(srv, timeout=10.0):
    def parse():
        text = srv.stdout_text()
        k, s = KEY_LINE.search(text), SECRET_LINE.search(text)
        return (k.group(1), s.group(1)) if k and s else None

    return wait_until(parse, timeout=timeout, what="aws configure snippet on stdout")


def test_generated_credentials_are_printed_stored_and_reused(fresh_server):
    srv = fresh_server.start(fixed_root_creds=False)
    key_id, secret = _printed_creds(srv)
    assert ACCESS_KEY_ID_RE.match(key_id), key_id
    assert SECRET_RE.match(secret), "generated secret must be 40 characters"
    assert key_id != "AKIAIOSFODNN7EXAMPLE"
    creds = {"aws_access_key_id": key_id, "aws_secret_access_key": secret}

    ident = srv.client("sts", **creds).get_caller_identity()
    account = ident["Account"]
    assert re.fullmatch(r"\d{12}", account), account
    assert ident["Arn"] == f"arn:aws:iam::{account}:root"

    iam = srv.client("iam", **creds)
    created = iam.create_user(UserName="survivor")["User"]
    assert created["Arn"] == f"arn:aws:iam::{account}:user/survivor"

    assert srv.stop() == 0, "graceful SIGTERM shutdown should exit 0"

    # Second start on the same data dir: same credentials, same account, same state.
    srv.start()
    second_stdout = srv.stdout_text()
    match = KEY_LINE.search(second_stdout)
    if match:
        assert match.group(1) == key_id, "second start printed different credentials"
    ident2 = srv.client("sts", **creds).get_caller_identity()
    assert ident2["Account"] == account
    assert ident2["Arn"] == ident["Arn"]
    got = srv.client("iam", **creds).get_user(UserName="survivor")["User"]
    assert got["UserId"] == created["UserId"]

    # A wrong secret for the generated key is still rejected.
    bad = dict(creds, aws_secret_access_key=("A" if secret[0] != "A" else "B") + secret[1:])
    with raises_aws("SignatureDoesNotMatch", 403):
        srv.client("sts", **bad).get_caller_identity()


def test_two_fresh_data_dirs_get_different_credentials(fresh_server, tmp_path):
    a = fresh_server.start(fixed_root_creds=False, data_dir=tmp_path / "a")
    b = fresh_server.start(fixed_root_creds=False, data_dir=tmp_path / "b")
    key_a, secret_a = _printed_creds(a)
    key_b, secret_b = _printed_creds(b)
    assert key_a != key_b
    assert secret_a != secret_b
    # Each server accepts only its own root keys.
    with raises_aws("InvalidClientTokenId", 403):
        b.client("sts", aws_access_key_id=key_a, aws_secret_access_key=secret_a).get_caller_identity()


def test_configured_credentials_are_not_printed(fresh_server):
    srv = fresh_server.start()  # TRAILGUARD_ROOT_* set
    ident = srv.client("sts").get_caller_identity()
    assert ident["Account"] == "123456789012"
    assert "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" not in srv.stdout_text() + srv.stderr_text()

