"""GuardDuty detectors as a linked service: the first detector creates
AWSServiceRoleForAmazonGuardDuty, and while a detector exists the role stays."""

import json

from e2e_util import ACCOUNT_ID, make_user, raises_aws, wait_for_deletion_task

ROLE = "AWSServiceRoleForAmazonGuardDuty"


def test_detector_lifecycle_and_its_role(fresh_server):
    srv = fresh_server.start()
    iam = srv.client("iam")
    seq = srv.max_seq()
    detector = srv.aws("guardduty", "create-detector", "--enable")["DetectorId"]
    assert len(detector) == 32 and all(c in "0123456789abcdef" for c in detector)
    events = srv.events_since(seq)
    role = iam.get_role(RoleName=ROLE)["Role"]
    assert role["Path"] == "/aws-service-role/guardduty.amazonaws.com/"
    attached = iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AmazonGuardDutyServiceRolePolicy"]
    assert [e["eventName"] for e in events] == ["CreateServiceLinkedRole", "CreateDetector"]
    assert events[0]["userIdentity"]["invokedBy"] == "guardduty.amazonaws.com"
    assert events[1]["eventSource"] == "guardduty.amazonaws.com"
    assert events[1]["responseElements"] == {"detectorId": detector}

    gd = srv.client("guardduty")
    got = gd.get_detector(DetectorId=detector)
    assert got["Status"] == "ENABLED" and got["FindingPublishingFrequency"] == "SIX_HOURS"
    assert got["ServiceRole"] == role["Arn"]
    assert gd.list_detectors()["DetectorIds"] == [detector]
    with raises_aws("BadRequestException", 400, "already exists"):
        gd.create_detector(Enable=True)
    gd.update_detector(DetectorId=detector, Enable=False, FindingPublishingFrequency="FIFTEEN_MINUTES")
    got = gd.get_detector(DetectorId=detector)
    assert got["Status"] == "DISABLED" and got["FindingPublishingFrequency"] == "FIFTEEN_MINUTES"
    with raises_aws("BadRequestException", 400):
        gd.update_detector(DetectorId=detector, FindingPublishingFrequency="WEEKLY")
    with raises_aws("BadRequestException", 400, "not owned"):
        gd.get_detector(DetectorId="0" * 32)

    # A detector keeps the role; once it is gone the role can go.
    task = iam.delete_service_linked_role(RoleName=ROLE)["DeletionTaskId"]
    status = wait_for_deletion_task(iam, task)
    assert status["Status"] == "FAILED"
    assert status["Reason"]["RoleUsageList"] == [{
        "Region": "us-east-1",
        "Resources": [f"arn:aws:guardduty:us-east-1:{ACCOUNT_ID}:detector/{detector}"],
    }]
    gd.delete_detector(DetectorId=detector)
    assert gd.list_detectors()["DetectorIds"] == []
    task = iam.delete_service_linked_role(RoleName=ROLE)["DeletionTaskId"]
    assert wait_for_deletion_task(iam, task)["Status"] == "SUCCEEDED"


def test_detector_in_another_region_blocks_deletion_too(fresh_server):
    srv = fresh_server.start()
    from botocore.config import Config
    west = srv.client("guardduty", config=Config(region_name="eu-west-1"))
    detector = west.create_detector(Enable=True)["DetectorId"]
    iam = srv.client("iam")
    status = wait_for_deletion_task(iam, iam.delete_service_linked_role(RoleName=ROLE)["DeletionTaskId"])
    assert status["Reason"]["RoleUsageList"][0]["Region"] == "eu-west-1"
    assert srv.client("guardduty").list_detectors()["DetectorIds"] == []
    west.delete_detector(DetectorId=detector)


def test_creating_a_detector_needs_permission_for_the_role(fresh_server):
    srv = fresh_server.start()
    user = make_user(srv, inline_policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "guardduty:*", "Resource": "*"}]})
    gd = srv.client("guardduty", **user.creds)
    with raises_aws("AccessDeniedException", 403, "iam:CreateServiceLinkedRole"):
        gd.create_detector(Enable=True)
    assert gd.list_detectors()["DetectorIds"] == []
    srv.client("iam").put_user_policy(UserName=user.name, PolicyName="slr", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": "*",
                       "Condition": {"StringLike": {"iam:AWSServiceName": "guardduty.amazonaws.com"}}}],
    }))
    assert gd.create_detector(Enable=True)["DetectorId"]
