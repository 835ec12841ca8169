"""Amazon Lex V1 through boto3 and the AWS CLI: the seed post's OrderFlowers walk-
through from bot creation to the Polly record in the trail, the model-building
API's rules, the runtime's conversation, and the bot keeping its role alive."""

import base64
import json

from e2e_util import ACCOUNT_ID, make_user, raises_aws, wait_for_deletion_task

ROLE = "AWSServiceRoleForLexBots"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/lex.amazonaws.com/{ROLE}"


def msg(text):
    return {"contentType": "PlainText", "content": text}


def prompt(text, attempts=2):
    return {"messages": [msg(text)], "maxAttempts": attempts}


FLOWER_TYPES = {
    "name": "FlowerTypes",
    "description": "Types of flowers to pick up",
    "enumerationValues": [{"value": "tulips"}, {"value": "lilies"}, {"value": "roses"}],
}

ORDER_FLOWERS_INTENT = {
    "name": "OrderFlowers",
    "description": "Intent to order a bouquet of flowers for pick up",
    "sampleUtterances": ["I would like to pick up flowers", "I would like to order some flowers"],
    "slots": [
        {"name": "FlowerType", "slotConstraint": "Required", "slotType": "FlowerTypes", "slotTypeVersion": "$LATEST",
         "valueElicitationPrompt": prompt("What type of flowers would you like to order?"), "priority": 1},
        {"name": "PickupDate", "slotConstraint": "Required", "slotType": "AMAZON.DATE",
         "valueElicitationPrompt": prompt("What day do you want the {FlowerType} to be picked up?"), "priority": 2},
        {"name": "PickupTime", "slotConstraint": "Required", "slotType": "AMAZON.TIME",
         "valueElicitationPrompt": prompt("At what time do you want the {FlowerType} to be picked up?"), "priority": 3},
    ],
    "confirmationPrompt": prompt("Okay, your {FlowerType} will be ready for pickup by {PickupTime} on {PickupDate}.  Does this sound okay?"),
    "rejectionStatement": {"messages": [msg("Okay, I will not place your order.")]},
    "fulfillmentActivity": {"type": "ReturnIntent"},
}


def order_flowers_bot(name):
    return {
        "name": name,
        "description": "Bot to order flowers on the behalf of a user",
        "locale": "en-US",
        "childDirected": False,
        "voiceId": "Salli",
        "idleSessionTTLInSeconds": 300,
        "clarificationPrompt": prompt("I didn't understand you, what would you like to do?"),
        "abortStatement": {"messages": [msg("Sorry, I'm not able to assist at this time")]},
        "intents": [{"intentName": "OrderFlowers", "intentVersion": "$LATEST"}],
    }


def build_order_flowers(lex, bot="OrderFlowers"):
    lex.put_slot_type(**FLOWER_TYPES)
    lex.put_intent(**ORDER_FLOWERS_INTENT)
    return lex.put_bot(**order_flowers_bot(bot))


def write_json(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return f"file://{path}"


def test_seed_walk_through_order_flowers_speaks_through_polly_on_your_behalf(fresh_server, tmp_path):
    """The seed post, as a person types it: create the OrderFlowers bot, see the
    role appear, talk to the bot, find Polly's SynthesizeSpeech in the trail as
    Lex's assumed role, and fail to delete the role while the bot exists."""
    srv = fresh_server.start()
    iam = srv.client("iam")
    srv.aws("lex-models", "put-slot-type", "--cli-input-json", write_json(tmp_path, "t.json", FLOWER_TYPES))
    srv.aws("lex-models", "put-intent", "--cli-input-json", write_json(tmp_path, "i.json", ORDER_FLOWERS_INTENT))
    with raises_aws("NoSuchEntity", 404):
        iam.get_role(RoleName=ROLE)
    seq = srv.max_seq()
    bot = srv.aws("lex-models", "put-bot", "--cli-input-json", write_json(tmp_path, "b.json", order_flowers_bot("OrderFlowers")))
    assert bot["status"] == "BUILDING" and bot["version"] == "$LATEST" and bot["checksum"]
    assert srv.aws("lex-models", "get-bot", "--name", "OrderFlowers", "--version-or-alias", "$LATEST")["status"] == "READY"

    # The role appeared: Lex's path, only Lex trusted, AmazonLexBotPolicy granting Polly.
    role = iam.get_role(RoleName=ROLE)["Role"]
    assert role["Arn"] == ROLE_ARN
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lex.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    attached = iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AmazonLexBotPolicy"]
    policy = iam.get_policy(PolicyArn=attached[0]["PolicyArn"])["Policy"]
    doc = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"]
    assert "polly:SynthesizeSpeech" in json.dumps(doc)
    created = [e for e in srv.events_since(seq) if e["eventName"] == "CreateServiceLinkedRole"]
    assert len(created) == 1
    assert created[0]["userIdentity"]["invokedBy"] == "lex.amazonaws.com"
    assert created[0]["requestParameters"] == {"aWSServiceName": "lex.amazonaws.com"}

    # "I would like to order some flowers" -> "What type of flowers would you like to order?"
    def say(text, user="seed-user"):
        return srv.aws("lex-runtime", "post-text", "--bot-name", "OrderFlowers", "--bot-alias", "$LATEST",
                       "--user-id", user, "--input-text", text)

    turn = say("I would like to order some flowers")
    assert turn["intentName"] == "OrderFlowers"
    assert turn["dialogState"] == "ElicitSlot" and turn["slotToElicit"] == "FlowerType"
    assert turn["message"] == "What type of flowers would you like to order?"
    assert turn["slots"] == {"FlowerType": None, "PickupDate": None, "PickupTime": None}
    assert say("roses")["message"] == "What day do you want the roses to be picked up?"
    turn = say("2030-05-17")
    assert turn["slots"]["PickupDate"] == "2030-05-17" and turn["slotToElicit"] == "PickupTime"
    turn = say("10:30 am")
    assert turn["dialogState"] == "ConfirmIntent"
    assert turn["message"] == "Okay, your roses will be ready for pickup by 10:30 on 2030-05-17.  Does this sound okay?"
    turn = say("yes")
    assert turn["dialogState"] == "ReadyForFulfillment"
    assert turn["slots"] == {"FlowerType": "roses", "PickupDate": "2030-05-17", "PickupTime": "10:30"}
    assert "message" not in turn

    # Spoken: PostContent answers with speech, which Lex asks Polly for through its role.
    seq = srv.max_seq()
    (tmp_path / "in.txt").write_text("I would like to order some flowers")
    out = tmp_path / "reply.mp3"
    answer = srv.aws("lex-runtime", "post-content", "--bot-name", "OrderFlowers", "--bot-alias", "$LATEST",
                     "--user-id", "voice-user", "--content-type", "text/plain; charset=utf-8",
                     "--accept", "audio/mpeg", "--input-stream", str(tmp_path / "in.txt"), str(out))
    assert answer["contentType"] == "audio/mpeg"
    assert answer["message"] == "What type of flowers would you like to order?"
    assert base64.b64decode(answer["encodedMessage"]).decode() == answer["message"]
    audio = out.read_bytes()
    assert len(audio) > 2000
    assert audio[:3] == b"ID3" or (audio[0] == 0xFF and audio[1] & 0xE0 == 0xE0), audio[:4]

    events = srv.events_since(seq)
    assume = [e for e in events if e["eventName"] == "AssumeRole"]
    assert len(assume) == 1
    assert assume[0]["userIdentity"] == {"type": "AWSService", "invokedBy": "lex.amazonaws.com"}
    assert assume[0]["requestParameters"]["roleArn"] == ROLE_ARN
    assert assume[0]["requestParameters"]["roleSessionName"] == "OrderFlowers"
    speech = [e for e in events if e["eventName"] == "SynthesizeSpeech"]
    assert len(speech) == 1
    rec = speech[0]
    identity = rec["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{ROLE}/OrderFlowers"
    assert identity["principalId"] == f"{role['RoleId']}:OrderFlowers"
    assert identity["accountId"] == ACCOUNT_ID
    assert identity["accessKeyId"].startswith("ASIA")
    assert identity["invokedBy"] == "lex.amazonaws.com"
    assert identity["sessionContext"]["sessionIssuer"] == {
        "type": "Role", "principalId": role["RoleId"], "arn": ROLE_ARN, "accountId": ACCOUNT_ID, "userName": ROLE,
    }
    assert identity["sessionContext"]["attributes"]["mfaAuthenticated"] == "false"
    assert rec["eventSource"] == "polly.amazonaws.com"
    assert rec["sourceIPAddress"] == "lex.amazonaws.com"
    assert rec["userAgent"] == "lex.amazonaws.com"
    assert rec["awsRegion"] == "us-east-1"
    assert rec["requestParameters"] == {"outputFormat": "mp3", "textType": "text", "voiceId": "Salli", "text": "**********"}
    assert rec["responseElements"] == {"requestCharacters": 45, "contentType": "audio/mpeg"}
    assert rec["recipientAccountId"] == ACCOUNT_ID
    assert "What type of flowers" not in json.dumps(events)

    # A second spoken turn reuses the session: no new AssumeRole.
    seq = srv.max_seq()
    (tmp_path / "in.txt").write_text("tulips")
    srv.aws("lex-runtime", "post-content", "--bot-name", "OrderFlowers", "--bot-alias", "$LATEST",
            "--user-id", "voice-user", "--content-type", "text/plain; charset=utf-8",
            "--input-stream", str(tmp_path / "in.txt"), str(out))
    names = [e["eventName"] for e in srv.events_since(seq)]
    assert names.count("SynthesizeSpeech") == 1 and "AssumeRole" not in names
    assert iam.get_role(RoleName=ROLE)["Role"]["RoleLastUsed"]["Region"] == "us-east-1"

    # The role cannot be deleted while the bot uses it, and the task says why.
    task = srv.aws("iam", "delete-service-linked-role", "--role-name", ROLE)["DeletionTaskId"]
    assert task.startswith(f"task/aws-service-role/lex.amazonaws.com/{ROLE}/")
    status = wait_for_deletion_task(iam, task)
    assert status["Status"] == "FAILED"
    assert status["Reason"]["RoleUsageList"] == [
        {"Region": "us-east-1", "Resources": [f"arn:aws:lex:us-east-1:{ACCOUNT_ID}:bot:OrderFlowers"]}
    ]
    srv.aws("lex-models", "delete-bot", "--name", "OrderFlowers")
    task = iam.delete_service_linked_role(RoleName=ROLE)["DeletionTaskId"]
    assert wait_for_deletion_task(iam, task)["Status"] == "SUCCEEDED"


def test_model_building_rules(fresh_server):
    srv = fresh_server.start()
    lex = srv.client("lex-models")
    lex.put_slot_type(**FLOWER_TYPES)
    # An update must carry the current checksum; a creation must not carry one.
    with raises_aws("PreconditionFailedException", 412):
        lex.put_slot_type(**FLOWER_TYPES)
    current = lex.get_slot_type(name="FlowerTypes", version="$LATEST")
    updated = lex.put_slot_type(**FLOWER_TYPES, checksum=current["checksum"], valueSelectionStrategy="TOP_RESOLUTION")
    assert updated["checksum"] != current["checksum"]
    assert updated["valueSelectionStrategy"] == "TOP_RESOLUTION"
    with raises_aws("PreconditionFailedException", 412):
        lex.put_intent(name="Fresh", checksum="abc", sampleUtterances=["hi"])
    # Names follow Lex's pattern.
    with raises_aws("BadRequestException", 400, "^([A-Za-z]_?)+$"):
        lex.put_intent(name="bad-name")
    # Slots need an existing type.
    with raises_aws("BadRequestException", 400, "NoSuchType"):
        lex.put_intent(name="Broken", slots=[{"name": "X", "slotConstraint": "Optional", "slotType": "NoSuchType", "slotTypeVersion": "$LATEST"}])
    lex.put_intent(**ORDER_FLOWERS_INTENT)
    with raises_aws("NotFoundException", 404):
        lex.get_bot(name="Nobody", versionOrAlias="$LATEST")
    with raises_aws("BadRequestException", 400, "NoIntent"):
        lex.put_bot(**{**order_flowers_bot("Broken"), "intents": [{"intentName": "NoIntent", "intentVersion": "$LATEST"}]})
    with raises_aws("BadRequestException", 400):
        lex.put_bot(**{**order_flowers_bot("Voiceless"), "voiceId": "NotAVoice"})
    lex.put_bot(**order_flowers_bot("FlowersOne"))
    lex.put_bot(**order_flowers_bot("FlowersTwo"))
    lex.put_bot(**order_flowers_bot("Other"))
    # Resources in use cannot be deleted.
    with raises_aws("ResourceInUseException", 400, "FlowersOne"):
        lex.delete_intent(name="OrderFlowers")
    with raises_aws("ResourceInUseException", 400, "OrderFlowers"):
        lex.delete_slot_type(name="FlowerTypes")
    # Listing: by name, filtered and paged.
    page = lex.get_bots(maxResults=2)
    assert [b["name"] for b in page["bots"]] == ["FlowersOne", "FlowersTwo"]
    rest = lex.get_bots(maxResults=2, nextToken=page["nextToken"])
    assert [b["name"] for b in rest["bots"]] == ["Other"] and "nextToken" not in rest
    assert [b["name"] for b in lex.get_bots(nameContains="Flowers")["bots"]] == ["FlowersOne", "FlowersTwo"]
    assert {b["status"] for b in page["bots"]} == {"READY"}
    # Aliases point at $LATEST and hold their bot.
    lex.put_bot_alias(name="prod", botName="FlowersOne", botVersion="$LATEST")
    assert lex.get_bot_alias(name="prod", botName="FlowersOne")["botVersion"] == "$LATEST"
    with raises_aws("ResourceInUseException", 400, "prod"):
        lex.delete_bot(name="FlowersOne")
    lex.delete_bot_alias(name="prod", botName="FlowersOne")
    for name in ("FlowersOne", "FlowersTwo", "Other"):
        lex.delete_bot(name=name)
    lex.delete_intent(name="OrderFlowers")
    lex.delete_slot_type(name="FlowerTypes")
    assert lex.get_bots()["bots"] == []
    with raises_aws("NotFoundException", 404):
        lex.delete_intent(name="OrderFlowers")


def test_runtime_conversation_rules(fresh_server):
    srv = fresh_server.start()
    lex = srv.client("lex-models")
    rt = srv.client("lex-runtime")
    build_order_flowers(lex, "Flowers")
    lex.put_bot_alias(name="live", botName="Flowers", botVersion="$LATEST")

    def text(t, user="u1", alias="live", **kw):
        return rt.post_text(botName="Flowers", botAlias=alias, userId=user, inputText=t, **kw)

    # Not understood: the clarification prompt, then the abort statement.
    first = text("what is the weather like")
    assert first["dialogState"] == "ElicitIntent"
    assert first["message"] == "I didn't understand you, what would you like to do?"
    # Session attributes come back; one answer can fill several slots.
    turn = text("I want to pick up flowers", sessionAttributes={"customer": "ada"})
    assert turn["sessionAttributes"] == {"customer": "ada"}
    assert turn["slotToElicit"] == "FlowerType"
    text("lilies")
    turn = text("tomorrow at 9 am")
    assert turn["dialogState"] == "ConfirmIntent"
    assert turn["slots"]["PickupTime"] == "09:00"
    assert text("no")["message"] == "Okay, I will not place your order."
    # Conversations are per user.
    assert text("order some flowers", user="u2")["slotToElicit"] == "FlowerType"
    # Giving up after the prompt's attempts.
    text("I would like to order some flowers", user="u3")
    text("roses", user="u3")
    text("whenever", user="u3")
    text("no idea", user="u3")
    gave_up = text("still no idea", user="u3")
    assert gave_up["dialogState"] == "Failed"
    assert gave_up["message"] == "Sorry, I'm not able to assist at this time"
    # Errors in Lex's shapes.
    with raises_aws("NotFoundException", 404):
        text("hello", alias="nosuchalias")
    with raises_aws("NotFoundException", 404):
        rt.post_text(botName="Nobody", botAlias="$LATEST", userId="u1", inputText="hi")
    with raises_aws("NotAcceptableException", 406):
        rt.post_content(botName="Flowers", botAlias="live", userId="u1", contentType="text/plain; charset=utf-8",
                        accept="video/mp4", inputStream=b"hello")
    with raises_aws("UnsupportedMediaTypeException", 415):
        rt.post_content(botName="Flowers", botAlias="live", userId="u1",
                        contentType="audio/l16; rate=16000; channels=1", inputStream=b"\x00\x01")
    # Text in, text out: headers carry the turn, no Polly call.
    seq = srv.max_seq()
    out = rt.post_content(botName="Flowers", botAlias="live", userId="u4", contentType="text/plain; charset=utf-8",
                          accept="text/plain; charset=utf-8", inputStream=b"I would like to order some flowers")
    assert out["contentType"].startswith("text/plain")
    assert out["slots"] == {"FlowerType": None, "PickupDate": None, "PickupTime": None}
    assert out["dialogState"] == "ElicitSlot"
    assert out["audioStream"].read() == b""
    assert "SynthesizeSpeech" not in [e["eventName"] for e in srv.events_since(seq)]
    # A bot saved but not built cannot talk; a code hook is refused plainly.
    lex.put_bot(**{**order_flowers_bot("Draft"), "processBehavior": "SAVE"})
    assert lex.get_bot(name="Draft", versionOrAlias="$LATEST")["status"] == "NOT_BUILT"
    with raises_aws("BadRequestException", 400, "not built"):
        rt.post_text(botName="Draft", botAlias="$LATEST", userId="u1", inputText="order flowers")
    hooked = {**ORDER_FLOWERS_INTENT, "name": "Hooked",
              "fulfillmentActivity": {"type": "CodeHook", "codeHook": {"uri": "arn:aws:lambda:us-east-1:123456789012:function:f", "messageVersion": "1.0"}},
              "confirmationPrompt": None, "slots": [], "sampleUtterances": ["book a table"]}
    lex.put_intent(**{k: v for k, v in hooked.items() if v is not None})
    lex.put_bot(**{**order_flowers_bot("Hook"), "intents": [{"intentName": "Hooked", "intentVersion": "$LATEST"}]})
    with raises_aws("DependencyFailedException", 424, "Lambda"):
        rt.post_text(botName="Hook", botAlias="$LATEST", userId="u1", inputText="book a table")


def test_first_bot_needs_permission_to_create_the_role(fresh_server):
    srv = fresh_server.start()
    build_order_flowers(srv.client("lex-models"), "Seed")
    srv.client("lex-models").delete_bot(name="Seed")
    iam = srv.client("iam")
    task = iam.delete_service_linked_role(RoleName=ROLE)["DeletionTaskId"]
    assert wait_for_deletion_task(iam, task)["Status"] == "SUCCEEDED"
    only_lex = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lex:*", "Resource": "*"}]}
    user = make_user(srv, inline_policy=only_lex)
    lex = srv.client("lex-models", **user.creds)
    with raises_aws("AccessDeniedException", 403, "iam:CreateServiceLinkedRole"):
        lex.put_bot(**order_flowers_bot("Mine"))
    with raises_aws("NoSuchEntity", 404):
        iam.get_role(RoleName=ROLE)
    # The seed's statement: may create Lex's role, and only Lex's.
    iam.put_user_policy(UserName=user.name, PolicyName="slr", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": "*",
                       "Condition": {"StringLike": {"iam:AWSServiceName": "lex.amazonaws.com"}}}],
    }))
    assert lex.put_bot(**order_flowers_bot("Mine"))["name"] == "Mine"
    assert iam.get_role(RoleName=ROLE)["Role"]["Path"] == "/aws-service-role/lex.amazonaws.com/"
    # Without lex:PostText the runtime is closed to another user.
    other = make_user(srv, inline_policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "lex:GetBot", "Resource": "*"}]})
    with raises_aws("AccessDeniedException", 403, "lex:PostText"):
        srv.client("lex-runtime", **other.creds).post_text(
            botName="Mine", botAlias="$LATEST", userId="someone", inputText="order flowers")
