"""IAM access keys: creation, limits, status, deletion, last-used tracking."""

import time

from e2e_util import (
    ACCESS_KEY_ID_RE,
    SECRET_RE,
    creds_from_access_key,
    make_user,
    raises_aws,
    unique,
    wait_until,
)


def test_create_access_key_shape(iam):
    user = unique("ak")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    assert key["UserName"] == user
    assert ACCESS_KEY_ID_RE.match(key["AccessKeyId"]), key["AccessKeyId"]
    assert SECRET_RE.match(key["SecretAccessKey"]), "secret must be 40 base64-ish chars"
    assert key["Status"] == "Active"
    assert "CreateDate" in key

    listed = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert len(listed) == 1
    assert listed[0]["AccessKeyId"] == key["AccessKeyId"]
    assert listed[0]["Status"] == "Active"
    assert listed[0]["UserName"] == user
    assert "SecretAccessKey" not in listed[0]


def test_new_key_authenticates_as_the_user(server):
    user = make_user(server)
    ident = server.client("sts", **user.creds).get_caller_identity()
    assert ident["Arn"] == user.arn
    assert ident["UserId"] == user.user_id


def test_at_most_two_access_keys(iam):
    user = unique("ak2")
    iam.create_user(UserName=user)
    k1 = iam.create_access_key(UserName=user)["AccessKey"]
    k2 = iam.create_access_key(UserName=user)["AccessKey"]
    assert k1["AccessKeyId"] != k2["AccessKeyId"]
    assert k1["SecretAccessKey"] != k2["SecretAccessKey"]
    with raises_aws("LimitExceeded", 409):
        iam.create_access_key(UserName=user)
    assert len(iam.list_access_keys(UserName=user)["AccessKeyMetadata"]) == 2
    # Deleting one frees a slot.
    iam.delete_access_key(UserName=user, AccessKeyId=k1["AccessKeyId"])
    iam.create_access_key(UserName=user)


def test_access_key_for_missing_user(iam):
    with raises_aws("NoSuchEntity", 404):
        iam.create_access_key(UserName=unique("nouser"))
    with raises_aws("NoSuchEntity", 404):
        iam.list_access_keys(UserName=unique("nouser"))


def test_inactive_key_is_rejected_then_reactivated(server, iam):
    user = make_user(server)
    sts = server.client("sts", **user.creds)
    assert sts.get_caller_identity()["Arn"] == user.arn

    iam.update_access_key(UserName=user.name, AccessKeyId=user.access_key_id, Status="Inactive")
    meta = iam.list_access_keys(UserName=user.name)["AccessKeyMetadata"]
    assert [m["Status"] for m in meta] == ["Inactive"]
    with raises_aws("InvalidClientTokenId", 403):
        sts.get_caller_identity()
    with raises_aws("InvalidClientTokenId", 403):
        server.client("iam", **user.creds).list_users()

    iam.update_access_key(UserName=user.name, AccessKeyId=user.access_key_id, Status="Active")
    assert sts.get_caller_identity()["Arn"] == user.arn


def test_deleted_key_is_rejected(server, iam):
    user = make_user(server)
    sts = server.client("sts", **user.creds)
    assert sts.get_caller_identity()["Arn"] == user.arn
    iam.delete_access_key(UserName=user.name, AccessKeyId=user.access_key_id)
    assert iam.list_access_keys(UserName=user.name)["AccessKeyMetadata"] == []
    with raises_aws("InvalidClientTokenId", 403):
        sts.get_caller_identity()
    with raises_aws("NoSuchEntity", 404):
        iam.delete_access_key(UserName=user.name, AccessKeyId=user.access_key_id)


def test_update_or_delete_key_of_other_user_is_no_such_entity(server, iam):
    a = make_user(server)
    b = make_user(server)
    with raises_aws("NoSuchEntity", 404):
        iam.update_access_key(UserName=b.name, AccessKeyId=a.access_key_id, Status="Inactive")
    with raises_aws("NoSuchEntity", 404):
        iam.delete_access_key(UserName=b.name, AccessKeyId=a.access_key_id)
    # a's key is untouched.
    assert server.client("sts", **a.creds).get_caller_identity()["Arn"] == a.arn


def test_user_without_policy_cannot_create_keys_for_others(server):
    user = make_user(server)
    victim = unique("victim")
    server.client("iam").create_user(UserName=victim)
    with raises_aws("AccessDenied", 403):
        server.client("iam", **user.creds).create_access_key(UserName=victim)


def test_get_access_key_last_used(server, iam):
    user = unique("lu")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]

    before = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
    assert before["UserName"] == user
    assert "LastUsedDate" not in before["AccessKeyLastUsed"]
    assert before["AccessKeyLastUsed"]["ServiceName"] == "N/A"
    assert before["AccessKeyLastUsed"]["Region"] == "N/A"

    started = time.time()
    server.client("sts", **creds_from_access_key(key)).get_caller_identity()

    def used():
        info = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
        return info if "LastUsedDate" in info else None

    info = wait_until(used, timeout=10, interval=0.2, what="LastUsedDate to be recorded")
    assert info["ServiceName"] == "sts"
    assert info["Region"] == "us-east-1"
    assert info["LastUsedDate"].timestamp() >= started - 120

