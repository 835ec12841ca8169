"""IAM users and groups: CRUD, membership, validation, pagination."""

import datetime

from e2e_util import (
    ACCOUNT_ID,
    ADMIN_POLICY_ARN,
    GROUP_ID_RE,
    USER_ID_RE,
    raises_aws,
    unique,
)


def test_create_get_user(iam):
    name = unique("alice")
    created = iam.create_user(UserName=name)["User"]
    assert created["UserName"] == name
    assert created["Path"] == "/"
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"
    assert USER_ID_RE.match(created["UserId"]), created["UserId"]
    assert isinstance(created["CreateDate"], datetime.datetime)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - created["CreateDate"]).total_seconds()) < 300

    got = iam.get_user(UserName=name)["User"]
    assert got["UserName"] == name
    assert got["UserId"] == created["UserId"]
    assert got["Arn"] == created["Arn"]
    assert got["CreateDate"] == created["CreateDate"]


def test_user_ids_are_unique(iam):
    ids = {iam.create_user(UserName=unique("uid"))["User"]["UserId"] for _ in range(5)}
    assert len(ids) == 5


def test_user_with_path(iam):
    name = unique("pathuser")
    user = iam.create_user(UserName=name, Path="/engineering/backend/")["User"]
    assert user["Path"] == "/engineering/backend/"
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/engineering/backend/{name}"
    assert iam.get_user(UserName=name)["User"]["Arn"] == user["Arn"]


def test_duplicate_user_is_entity_already_exists(iam):
    name = unique("dup")
    iam.create_user(UserName=name)
    with raises_aws("EntityAlreadyExists", 409):
        iam.create_user(UserName=name)


def test_user_names_are_case_insensitive_unique(iam):
    name = unique("CaseUser")
    iam.create_user(UserName=name)
    with raises_aws("EntityAlreadyExists", 409):
        iam.create_user(UserName=name.lower())


def test_get_missing_user_is_no_such_entity(iam):
    name = unique("ghost")
    with raises_aws("NoSuchEntity", 404) as ei:
        iam.get_user(UserName=name)
    assert name in ei.value.response["Error"]["Message"]


def test_invalid_user_names_are_validation_errors(iam):
    with raises_aws("ValidationError", 400):
        iam.create_user(UserName="has space")
    with raises_aws("ValidationError", 400):
        iam.create_user(UserName="a" * 65)
    with raises_aws("ValidationError", 400):
        iam.create_user(UserName="bad/slash")
    # 64 characters is the maximum and is fine.
    long_ok = (unique("max") + "x" * 64)[:64]
    assert iam.create_user(UserName=long_ok)["User"]["UserName"] == long_ok


def test_list_users_includes_created(iam):
    names = {unique("lu") for _ in range(3)}
    path = f"/{unique('list')}/"
    for n in names:
        iam.create_user(UserName=n, Path=path)
    listed = iam.list_users(PathPrefix=path)
    assert {u["UserName"] for u in listed["Users"]} == names
    assert listed["IsTruncated"] is False
    everything = {
        u["UserName"]
        for page in iam.get_paginator("list_users").paginate()
        for u in page["Users"]
    }
    assert names <= everything


def test_list_users_pagination_with_markers(iam):
    path = f"/{unique('pg')}/"
    names = {f"pg{i}-{unique('p')}" for i in range(7)}
    for n in names:
        iam.create_user(UserName=n, Path=path)

    seen = []
    page = iam.list_users(PathPrefix=path, MaxItems=3)
    assert page["IsTruncated"] is True
    assert page.get("Marker")
    pages = 0
    while True:
        pages += 1
        assert 1 <= len(page["Users"]) <= 3
        seen += [u["UserName"] for u in page["Users"]]
        if not page["IsTruncated"]:
            assert not page.get("Marker")
            break
        assert page["Marker"]
        page = iam.list_users(PathPrefix=path, MaxItems=3, Marker=page["Marker"])
        assert pages < 10, "pagination does not terminate"
    assert sorted(seen) == sorted(names), "every user exactly once"
    assert pages >= 3


def test_list_users_paginator(iam):
    path = f"/{unique('pgn')}/"
    names = {unique("pgn") for _ in range(7)}
    for n in names:
        iam.create_user(UserName=n, Path=path)
    paginator = iam.get_paginator("list_users")
    pages = list(paginator.paginate(PathPrefix=path, PaginationConfig={"PageSize": 2}))
    got = [u["UserName"] for p in pages for u in p["Users"]]
    assert sorted(got) == sorted(names)
    assert len(pages) >= 4
    # MaxItems on the paginator stops early and hands out a resume token.
    first = paginator.paginate(
        PathPrefix=path, PaginationConfig={"PageSize": 2, "MaxItems": 3}
    ).build_full_result()
    assert len(first["Users"]) == 3
    rest = paginator.paginate(
        PathPrefix=path, PaginationConfig={"PageSize": 2, "StartingToken": first["NextToken"]}
    ).build_full_result()
    assert sorted(u["UserName"] for u in first["Users"] + rest["Users"]) == sorted(names)


def test_update_user_rename_and_path(iam):
    old = unique("old")
    new = unique("new")
    iam.create_user(UserName=old)
    iam.update_user(UserName=old, NewUserName=new, NewPath="/moved/")
    with raises_aws("NoSuchEntity", 404):
        iam.get_user(UserName=old)
    user = iam.get_user(UserName=new)["User"]
    assert user["Path"] == "/moved/"
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/moved/{new}"


def test_update_missing_user_is_no_such_entity(iam):
    with raises_aws("NoSuchEntity", 404):
        iam.update_user(UserName=unique("ghost"), NewUserName=unique("x"))


def test_delete_user(iam):
    name = unique("del")
    iam.create_user(UserName=name)
    iam.delete_user(UserName=name)
    with raises_aws("NoSuchEntity", 404):
        iam.get_user(UserName=name)
    with raises_aws("NoSuchEntity", 404):
        iam.delete_user(UserName=name)
    # The name can be reused after deletion, with a new unique id.
    again = iam.create_user(UserName=name)["User"]
    assert again["UserName"] == name


def test_delete_user_with_access_key_is_delete_conflict(iam):
    name = unique("haskey")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    with raises_aws("DeleteConflict", 409):
        iam.delete_user(UserName=name)
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=name)


def test_delete_user_with_attached_policy_is_delete_conflict(iam):
    name = unique("haspol")
    iam.create_user(UserName=name)
    iam.attach_user_policy(UserName=name, PolicyArn=ADMIN_POLICY_ARN)
    with raises_aws("DeleteConflict", 409):
        iam.delete_user(UserName=name)
    iam.detach_user_policy(UserName=name, PolicyArn=ADMIN_POLICY_ARN)
    iam.delete_user(UserName=name)


def test_delete_user_in_group_is_delete_conflict(iam):
    user = unique("member")
    group = unique("grp")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    with raises_aws("DeleteConflict", 409):
        iam.delete_user(UserName=user)
    iam.remove_user_from_group(GroupName=group, UserName=user)
    iam.delete_user(UserName=user)


def test_group_crud_and_membership(iam):
    group = unique("devs")
    users = [unique("dev") for _ in range(2)]
    created = iam.create_group(GroupName=group)["Group"]
    assert created["GroupName"] == group
    assert created["Path"] == "/"
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:group/{group}"
    assert GROUP_ID_RE.match(created["GroupId"]), created["GroupId"]

    with raises_aws("EntityAlreadyExists", 409):
        iam.create_group(GroupName=group)

    for u in users:
        iam.create_user(UserName=u)
        iam.add_user_to_group(GroupName=group, UserName=u)
    # Adding twice is idempotent in AWS.
    iam.add_user_to_group(GroupName=group, UserName=users[0])

    got = iam.get_group(GroupName=group)
    assert got["Group"]["GroupId"] == created["GroupId"]
    assert sorted(u["UserName"] for u in got["Users"]) == sorted(users)

    for u in users:
        groups = iam.list_groups_for_user(UserName=u)["Groups"]
        assert [g["GroupName"] for g in groups] == [group]

    all_groups = {
        g["GroupName"] for p in iam.get_paginator("list_groups").paginate() for g in p["Groups"]
    }
    assert group in all_groups

    with raises_aws("DeleteConflict", 409):
        iam.delete_group(GroupName=group)

    iam.remove_user_from_group(GroupName=group, UserName=users[0])
    assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == [users[1]]
    assert iam.list_groups_for_user(UserName=users[0])["Groups"] == []
    iam.remove_user_from_group(GroupName=group, UserName=users[1])

    iam.delete_group(GroupName=group)
    with raises_aws("NoSuchEntity", 404):
        iam.get_group(GroupName=group)


def test_group_membership_errors(iam):
    group = unique("g")
    user = unique("u")
    iam.create_group(GroupName=group)
    iam.create_user(UserName=user)
    with raises_aws("NoSuchEntity", 404):
        iam.add_user_to_group(GroupName=group, UserName=unique("nouser"))
    with raises_aws("NoSuchEntity", 404):
        iam.add_user_to_group(GroupName=unique("nogroup"), UserName=user)
    with raises_aws("NoSuchEntity", 404):
        iam.remove_user_from_group(GroupName=group, UserName=user)  # not a member


def test_update_group_rename(iam):
    old = unique("gold")
    new = unique("gnew")
    user = unique("gm")
    iam.create_group(GroupName=old)
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=old, UserName=user)
    iam.update_group(GroupName=old, NewGroupName=new)
    with raises_aws("NoSuchEntity", 404):
        iam.get_group(GroupName=old)
    got = iam.get_group(GroupName=new)
    assert [u["UserName"] for u in got["Users"]] == [user]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]] == [new]


def test_delete_group_with_attached_policy_is_delete_conflict(iam):
    group = unique("gp")
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn=ADMIN_POLICY_ARN)
    with raises_aws("DeleteConflict", 409):
        iam.delete_group(GroupName=group)
    iam.detach_group_policy(GroupName=group, PolicyArn=ADMIN_POLICY_ARN)
    iam.delete_group(GroupName=group)
