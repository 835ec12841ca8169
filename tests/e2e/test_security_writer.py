"""Attacks on the store's single writer (issue 11, findings 2, 8 and 12), and what
trailguard answers.

The rule: nothing slow, external or unbounded runs while the writer is held.
Speech synthesis and policy simulation are prepared outside the transaction and
committed inside it, so a slow call from one tenant never stalls another's writes,
and every input is held to AWS's documented limits before any work starts."""

import json
import threading
import time

from e2e_util import make_user, raises_aws, unique

# Polly's limits for SynthesizeSpeech: 6,000 characters, at most 3,000 billed.
MAX_BILLED = 3000
MAX_TOTAL = 6000

SENTENCE = "The quick brown fox jumps over the lazy dog. "


def long_text(chars: int) -> str:
    return (SENTENCE * (chars // len(SENTENCE) + 1))[:chars]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_long_synthesis_does_not_stall_other_tenants_writes(server):
    """Attack: keep Polly busy with the longest text it takes, so every other
    call waits for the writer. trailguard synthesizes outside the transaction:
    another user's CreateUser completes while the synthesis is still running."""
    polly = server.client("polly")
    iam = server.client("iam")
    text = long_text(MAX_BILLED - 10)
    spoken = {}

    def synthesize():
        spoken["start"] = time.monotonic()
        out = polly.synthesize_speech(Text=text, VoiceId="Joanna", OutputFormat="mp3")
        spoken["bytes"] = len(out["AudioStream"].read())
        spoken["request_id"] = out["ResponseMetadata"]["RequestId"]
        spoken["end"] = time.monotonic()

    name = unique("writer")
    iam.create_user(UserName=name)
    worker = threading.Thread(target=synthesize)
    worker.start()
    # Write as fast as one client can for as long as the synthesis runs.
    writes = []
    while worker.is_alive() and len(writes) < 2000:
        iam.tag_user(UserName=name, Tags=[{"Key": "n", "Value": str(len(writes))}])
        writes.append(time.monotonic())
        time.sleep(0.02)
    worker.join(timeout=120)
    assert not worker.is_alive() and "end" in spoken, "the synthesis never finished"
    assert spoken["bytes"] > 100_000  # minutes of real speech, not an error
    took = spoken["end"] - spoken["start"]
    # Holding the writer, the synthesis would stop every write for its whole
    # length; outside it, writes keep completing all along.
    times = [spoken["start"], *writes, spoken["end"]]
    longest = max(b - a for a, b in zip(times, times[1:]))
    print(f"synthesis {took:.2f} s; {len(writes)} writes meanwhile; longest wait {longest:.2f} s")
    assert len(writes) >= 3 and longest < took / 2, (took, longest, len(writes))
    # The call was retried around its synthesis, but is recorded once.
    records = server.events_for_request(spoken["request_id"])
    assert [r["eventName"] for r in records] == ["SynthesizeSpeech"]
    assert records[0]["responseElements"]["requestCharacters"] == len(text)


def test_text_over_polly_limits_is_refused_before_synthesis(server):
    """Attack: ask for more speech than Polly allows (more billed characters, or a
    huge SSML document with little text). trailguard answers Polly's
    TextLengthExceededException at once, synthesizing nothing."""
    polly = server.client("polly")
    started = time.monotonic()
    with raises_aws("TextLengthExceededException", 400):
        polly.synthesize_speech(Text=long_text(MAX_BILLED + 1), VoiceId="Joanna", OutputFormat="mp3")
    # Markup is not billed, but counts toward the 6,000 characters in all.
    padding = "<break time='1ms'/>" * (MAX_TOTAL // 19 + 1)
    ssml = f"<speak>Hi{padding}</speak>"
    assert len(ssml) > MAX_TOTAL
    with raises_aws("TextLengthExceededException", 400):
        polly.synthesize_speech(Text=ssml, TextType="ssml", VoiceId="Joanna", OutputFormat="pcm")
    assert time.monotonic() - started < 5


def test_denied_caller_causes_no_synthesis(server):
    """Attack: a user without Polly permissions sends the longest text, hoping
    the work starts before the decision. Authorization runs before any slow work
    is asked for: the denial comes back at once."""
    nobody = make_user(server)
    polly = server.client("polly", **nobody.creds)
    started = time.monotonic()
    with raises_aws("AccessDeniedException", 403):
        polly.synthesize_speech(Text=long_text(MAX_BILLED), VoiceId="Joanna", OutputFormat="mp3")
    assert time.monotonic() - started < 1


def simulate_all(iam, **kw):
    """Every page of a simulation, with the page sizes seen."""
    results, sizes, marker = [], [], None
    while True:
        args = dict(kw, **({"Marker": marker} if marker else {}))
        page = iam.simulate_custom_policy(**args)
        results += page["EvaluationResults"]
        sizes.append(len(page["EvaluationResults"]))
        if not page["IsTruncated"]:
            assert "Marker" not in page
            return results, sizes
        marker = page["Marker"]


def test_simulation_pages_cover_the_whole_product(server):
    """Paging with MaxItems and Marker walks the actions x resources product in
    order, every pair once, with the same answers as one unpaged call."""
    iam = server.client("iam")
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/1"},
                {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"},
            ],
        }
    )
    actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [f"arn:aws:s3:::b/{i}" for i in range(4)]
    kw = {"PolicyInputList": [policy], "ActionNames": actions, "ResourceArns": resources}
    whole = iam.simulate_custom_policy(**kw)
    assert not whole["IsTruncated"]
    paged, sizes = simulate_all(iam, MaxItems=5, **kw)
    assert sizes == [5, 5, 2]
    strip = lambda rs: [(r["EvalActionName"], r["EvalResourceName"], r["EvalDecision"]) for r in rs]
    assert strip(paged) == strip(whole["EvaluationResults"])
    assert [(a, r) for a, r, _ in strip(paged)] == [(a, r) for a in actions for r in resources]
    decisions = [d for _, _, d in strip(paged)]
    assert decisions == ["implicitDeny", "allowed", "implicitDeny", "implicitDeny"] + ["allowed"] * 4 + ["implicitDeny"] * 4


def test_huge_simulation_from_a_read_only_user_is_paged_with_bounded_memory(server):
    """Attack: a read-only user simulates 2,000 actions x 2,000 resources (4
    million evaluations). trailguard evaluates only the page asked for (at most
    1,000, AWS's MaxItems), outside the writer, in bounded memory, while other
    writes go on."""
    reader = make_user(
        server,
        inline_policy={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["iam:Get*", "iam:List*", "iam:Simulate*"], "Resource": "*"}],
        },
    )
    iam = server.client("iam", **reader.creds)
    actions = [f"iam:GetUser{i:04d}" for i in range(2000)]
    resources = [f"arn:aws:iam::123456789012:user/u{i:04d}" for i in range(2000)]
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]})
    before = rss_kib(server.proc.pid)
    started = time.monotonic()
    page = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=actions, ResourceArns=resources, MaxItems=1000)
    assert len(page["EvaluationResults"]) == 1000 and page["IsTruncated"]
    first = page["EvaluationResults"]
    assert (first[0]["EvalActionName"], first[0]["EvalResourceName"]) == (actions[0], resources[0])
    assert (first[-1]["EvalActionName"], first[-1]["EvalResourceName"]) == (actions[0], resources[999])
    second = iam.simulate_custom_policy(
        PolicyInputList=[policy], ActionNames=actions, ResourceArns=resources, MaxItems=1000, Marker=page["Marker"]
    )["EvaluationResults"]
    assert (second[0]["EvalActionName"], second[0]["EvalResourceName"]) == (actions[0], resources[1000])
    assert (second[-1]["EvalActionName"], second[-1]["EvalResourceName"]) == (actions[0], resources[1999])
    assert time.monotonic() - started < 30
    # The whole product would be gigabytes; two pages cost a few megabytes.
    assert rss_kib(server.proc.pid) - before < 200 * 1024
    # The default page is AWS's 100.
    default = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=actions, ResourceArns=resources)
    assert len(default["EvaluationResults"]) == 100 and default["IsTruncated"]
    # Meanwhile the writer is free.
    server.client("iam").create_user(UserName=unique("after-sim"))


def test_simulation_limits_answer_aws_errors(server):
    """Inputs beyond AWS's documented limits for the simulator (action names 3
    to 128 characters, resource ARNs up to 2,048, policies up to 131,072,
    MaxItems up to 1,000, a Marker it issued) get AWS's ValidationError, before
    any evaluation starts."""
    iam = server.client("iam")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    ok = {"PolicyInputList": [policy], "ActionNames": ["iam:GetUser"]}
    with raises_aws("ValidationError", 400, "actionNames"):
        iam.simulate_custom_policy(**{**ok, "ActionNames": ["iam:" + "x" * 125]})
    with raises_aws("ValidationError", 400, "resourceArns"):
        iam.simulate_custom_policy(**ok, ResourceArns=["arn:aws:s3:::" + "b" * 2040])
    big = json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "x" * 131_072, "Effect": "Allow", "Action": "*", "Resource": "*"}]})
    with raises_aws("ValidationError", 400, "policyInputList"):
        iam.simulate_custom_policy(**{**ok, "PolicyInputList": [big]})
    outside = json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "\u0100", "Effect": "Allow", "Action": "*", "Resource": "*"}]}, ensure_ascii=False)
    with raises_aws("ValidationError", 400, "regular expression pattern"):
        iam.simulate_custom_policy(**{**ok, "PolicyInputList": [outside]})
    with raises_aws("ValidationError", 400, "maxItems"):
        iam.simulate_custom_policy(**ok, MaxItems=1001)
    with raises_aws("ValidationError", 400, "Marker"):
        iam.simulate_custom_policy(**ok, Marker="bm90IGEgbWFya2Vy")
    with raises_aws("MalformedPolicyDocument", 400):
        iam.simulate_custom_policy(**{**ok, "PolicyInputList": ['{"Version": "2012-10-17"']})
    # Exactly at the limits is fine.
    out = iam.simulate_custom_policy(**{**ok, "ActionNames": ["iam:" + "x" * 124]}, MaxItems=1000)
    assert out["EvaluationResults"][0]["EvalDecision"] == "allowed"


def test_costly_simulations_cannot_pin_the_workers_and_throttle_others(server):
    """Attack: a user allowed only iam:SimulateCustomPolicy sends concurrent
    simulations whose wildcard patterns and long ARNs make every match costly,
    holding every slow-work worker so other callers are throttled. trailguard
    ends a page early once it has used its time (IsTruncated, a marker at the
    next pair), so the root's small simulation still gets a worker and answers."""
    attacker = make_user(server, prefix="simonly", inline_policy={
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:SimulateCustomPolicy", "Resource": "*"}],
    })
    slow = server.client("iam", **attacker.creds)
    patterns = [f"arn:aws:s3:::*{'a' * 1000}b{i}" for i in range(20)]
    costly = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": patterns}]})
    resources = [f"arn:aws:s3:::{'a' * 2030}{i:04d}" for i in range(35)]
    pages = []

    def attack():
        pages.append(slow.simulate_custom_policy(
            PolicyInputList=[costly], ActionNames=["s3:GetObject"] * 20,
            ResourceArns=resources, MaxItems=1000))

    attackers = [threading.Thread(target=attack) for _ in range(3)]
    for t in attackers:
        t.start()
    time.sleep(0.5)
    iam = server.client("iam")
    small = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    out = iam.simulate_custom_policy(PolicyInputList=[small], ActionNames=["s3:GetObject"])
    assert out["EvaluationResults"][0]["EvalDecision"] == "allowed"
    for t in attackers:
        t.join(timeout=120)
    assert len(pages) == 3
    for page in pages:
        # Cut short by its time budget: fewer results than asked, and a marker.
        assert page["IsTruncated"] is True and "Marker" in page
        assert 0 < len(page["EvaluationResults"]) < 700
