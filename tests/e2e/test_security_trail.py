"""Attacks on CloudTrail delivery, and what trailguard answers (issue 11, findings 5 and 6).

An attacker with CloudTrail permissions tries to keep what it just did out of the
trail's bucket by changing the trail before the next delivery. trailguard fixes
what a trail delivers when each event commits: every change to a trail starts a
settings epoch that governs only the records after the changing call's own, and
that call's own record is delivered by the old settings (or, if they would not
deliver it, by the new ones: StopLogging by the logging it ends, StartLogging by
the logging it begins). No later call drops, re-filters or moves an earlier record.

Most servers here deliver only on their hour-long interval or when a trail stops or
is deleted, and on graceful shutdown (SIGTERM forces a delivery): so "before
delivery" is certain, and a restart is "one delivery cycle".
"""

from __future__ import annotations

import datetime
import hashlib
import time

from e2e_util import ACCOUNT_ID, REGION, unique
from test_trails import (
    Setup,
    TrailLogs,
    create_users,
    event_ids_for,
    gunzip_one_member,
    list_keys,
    make_trail_bucket,
)
from test_validate_logs import DIGEST_ROOT, DeliveredTrail

SLOW = {"TRAILGUARD_TRAIL_LOG_INTERVAL": "3600", "TRAILGUARD_TRAIL_DIGEST_INTERVAL": "3600"}
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def trail_call_ids(srv, after_seq: int, event_name: str, trail_name: str) -> set[str]:
    """Event ids of CloudTrail calls named `event_name` on the trail `trail_name`."""
    ids = set()
    for r in srv.event_rows(after_seq):
        params = r.record.get("requestParameters") or {}
        if r.event_name == event_name and trail_name in (params.get("name"), params.get("trailName")):
            ids.add(r.event_id)
    return ids


def one(ids: set[str]) -> str:
    assert len(ids) == 1, ids
    return next(iter(ids))


def flush(t: Setup) -> TrailLogs:
    """One delivery cycle: SIGTERM (which delivers everything owed), then start again."""
    assert t.srv.stop() == 0
    t.srv.start()
    t.reconnect()
    return t.logs.refresh()


def assert_once(logs: TrailLogs):
    twice = {i: n for i, n in logs.counts().items() if n > 1}
    assert not twice, f"delivered more than once: {twice}"


def test_stop_then_start_logging_before_delivery_still_delivers_the_backlog(fresh_server):
    """Attack: create a user, make it admin, give it a key, then StopLogging and at once
    StartLogging, before the trail's next delivery, hoping the restart skips the backlog.
    trailguard: every one of those records reaches the bucket, StopLogging's and
    StartLogging's own included, and `validate-logs` vouches for the files holding them."""
    srv = fresh_server.start(extra_env=SLOW)
    since = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    t = Setup(srv, validation=True)
    iam, ct = srv.client("iam"), t.ct
    victim = unique("backdoor")
    iam.create_user(UserName=victim)
    iam.attach_user_policy(UserName=victim, PolicyArn=ADMIN)
    iam.create_access_key(UserName=victim)
    ct.stop_logging(Name=t.name)
    ct.start_logging(Name=t.name)

    attack = set()
    for name in ("CreateUser", "AttachUserPolicy", "CreateAccessKey"):
        attack.add(one(event_ids_for(srv, t.start_seq, name, [victim])))
    stop = one(trail_call_ids(srv, t.start_seq, "StopLogging", t.name))
    start = one(trail_call_ids(srv, t.start_seq, "StartLogging", t.name))

    # StopLogging makes the trail deliver what it owes at once.
    t.logs.wait_for(attack | {stop})
    flush(t)
    t.logs.wait_for(attack | {stop, start}, timeout=5)
    assert_once(t.logs)

    run = DeliveredTrail(srv, t.bucket, t.name, since).validate()
    assert run.code == 0, run.output
    holding = {key for key, records in t.logs.files.items() if {r["eventID"] for r in records} & (attack | {stop})}
    assert holding
    for key in holding:
        assert f"Log file\ts3://{t.bucket}/{key}\tvalid" in run.stdout, run.output


def test_excluding_management_events_for_one_delivery_does_not_erase_earlier_events(fresh_server):
    """Attack: after creating a user, PutEventSelectors to exclude management events, let
    one delivery run, then restore the selectors, hoping that delivery filtered the
    earlier events with the exclusion. trailguard: events committed before the change
    are delivered under the selectors they committed under, the excluding call itself
    is delivered (under the old selectors) and so is the restoring one (under the new);
    only what happened while management events were excluded stays out, as on AWS."""
    srv = fresh_server.start(extra_env=SLOW)
    t = Setup(srv)
    [before] = create_users(srv, unique("sel-before"), 1)
    t.ct.put_event_selectors(
        TrailName=t.name, EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": False}]
    )
    [during] = create_users(srv, unique("sel-during"), 1)
    flush(t)  # one delivery cycle with management events excluded
    t.ct.put_event_selectors(
        TrailName=t.name, EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}]
    )
    [after] = create_users(srv, unique("sel-after"), 1)
    flush(t)

    changes = trail_call_ids(srv, t.start_seq, "PutEventSelectors", t.name)
    assert len(changes) == 2
    wanted = changes | event_ids_for(srv, t.start_seq, "CreateUser", [before, after])
    t.logs.wait_for(wanted, timeout=5)
    delivered = set(t.logs.counts())
    assert not event_ids_for(srv, t.start_seq, "CreateUser", [during]) & delivered, (
        "an event committed while management events were excluded was delivered"
    )
    assert_once(t.logs)


def test_records_made_while_stopped_are_not_delivered_and_nothing_around_them_is_lost(fresh_server):
    """Attack (the other direction): StopLogging, act, StartLogging, all within one
    delivery interval. trailguard: what came before the stop (StopLogging included)
    and after the start (StartLogging included) is delivered; what was done while
    the trail was stopped is not, as on AWS, and is still in the event history."""
    srv = fresh_server.start(extra_env=SLOW)
    t = Setup(srv)
    [before] = create_users(srv, unique("stopped-before"), 1)
    t.ct.stop_logging(Name=t.name)
    hidden = create_users(srv, unique("stopped-during"), 2)
    t.ct.start_logging(Name=t.name)
    [after] = create_users(srv, unique("stopped-after"), 1)
    flush(t)

    wanted = (
        event_ids_for(srv, t.start_seq, "CreateUser", [before, after])
        | trail_call_ids(srv, t.start_seq, "StopLogging", t.name)
        | trail_call_ids(srv, t.start_seq, "StartLogging", t.name)
    )
    assert len(wanted) == 4
    t.logs.wait_for(wanted, timeout=5)
    while_stopped = event_ids_for(srv, t.start_seq, "CreateUser", hidden)
    assert len(while_stopped) == 2
    assert not while_stopped & set(t.logs.counts()), "delivered events made while the trail was stopped"
    assert_once(t.logs)


def test_update_trail_moving_the_bucket_delivers_the_backlog_where_it_was_bound(fresh_server):
    """Attack: UpdateTrail to another bucket and prefix before the next delivery, so the
    events before the change land where nobody watches. trailguard: each event is
    delivered under the settings in force when it happened (as AWS decides what a
    trail logs when the event happens): the backlog and the UpdateTrail call itself go
    to the old bucket and prefix, later events to the new one, none to both."""
    srv = fresh_server.start(extra_env=SLOW)
    t = Setup(srv, prefix="watched")
    moved_to = make_trail_bucket(srv, prefixes=("elsewhere",))
    [before] = create_users(srv, unique("move-before"), 1)
    t.ct.update_trail(Name=t.name, S3BucketName=moved_to, S3KeyPrefix="elsewhere")
    [after] = create_users(srv, unique("move-after"), 1)
    flush(t)

    old_ids = event_ids_for(srv, t.start_seq, "CreateUser", [before]) | trail_call_ids(
        srv, t.start_seq, "UpdateTrail", t.name
    )
    new_ids = event_ids_for(srv, t.start_seq, "CreateUser", [after])
    assert len(old_ids) == 2 and len(new_ids) == 1
    old_logs = t.logs.wait_for(old_ids, timeout=5)
    new_logs = TrailLogs(t.s3, moved_to, "elsewhere").wait_for(new_ids, timeout=5)
    assert not set(old_logs.counts()) & new_ids
    assert not set(new_logs.counts()) & old_ids
    assert_once(old_logs)
    assert_once(new_logs)
    assert list_keys(t.s3, moved_to, "AWSLogs/") == [] and list_keys(t.s3, t.bucket, "AWSLogs/") == []


def test_delete_trail_still_delivers_what_was_committed_before_it(fresh_server):
    """Attack: act, then DeleteTrail before the next delivery, so the last events never
    reach the bucket. trailguard (as AWS, which keeps delivered files and writes a final
    digest after DeleteTrail): everything committed before the deletion, DeleteTrail's
    own record included, is delivered to the trail's bucket at once, with a final
    signed digest listing it; nothing after the deletion is delivered; a trail created
    again under the same name starts a fresh digest chain."""
    srv = fresh_server.start(extra_env=SLOW)
    t = Setup(srv, validation=True)
    [before] = create_users(srv, unique("del-before"), 1)
    t.ct.delete_trail(Name=t.name)
    owed = event_ids_for(srv, t.start_seq, "CreateUser", [before]) | trail_call_ids(
        srv, t.start_seq, "DeleteTrail", t.name
    )
    assert len(owed) == 2
    t.logs.wait_for(owed)  # no restart needed: a deleted trail delivers what it owes at once

    digests = DeliveredTrail(srv, t.bucket, t.name, "")
    holding = {key for key, records in t.logs.files.items() if {r["eventID"] for r in records} & owed}
    final = [d for d in digests.digests() if holding & {f["s3Object"] for f in d.doc["logFiles"]}]
    assert final, "no digest lists the log files delivered after DeleteTrail"
    for d in final:
        for f in d.doc["logFiles"]:
            raw = t.s3.get_object(Bucket=t.bucket, Key=f["s3Object"])["Body"].read()
            assert f["hashValue"] == hashlib.sha256(gunzip_one_member(raw)).hexdigest()

    [gone] = create_users(srv, unique("del-after"), 1)
    t.ct.create_trail(Name=t.name, S3BucketName=t.bucket, EnableLogFileValidation=True)
    t.ct.start_logging(Name=t.name)
    [again] = create_users(srv, unique("del-again"), 1)
    count = len(digests.digest_keys())
    # Digest keys name the second: a digest that would take the key of the
    # final one (same trail name, same second) waits for the next delivery
    # rather than overwrite it, and a fast server gets here within that second.
    time.sleep(1.1)
    flush(t)
    t.logs.wait_for(event_ids_for(srv, t.start_seq, "CreateUser", [again]), timeout=5)
    assert not event_ids_for(srv, t.start_seq, "CreateUser", [gone]) & set(t.logs.counts())
    assert_once(t.logs)
    digests = DeliveredTrail(srv, t.bucket, t.name, "")
    fresh = digests.digests()[count:]
    assert fresh and fresh[0].doc["previousDigestSignature"] is None
    assert all(k.startswith(DIGEST_ROOT) for k in digests.digest_keys())
    assert ACCOUNT_ID in fresh[0].key and REGION in fresh[0].key
