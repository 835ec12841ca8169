"""GuardDuty findings out: EventBridge-format events to webhooks (and a Slack-
compatible payload), delivered at least once from a durable outbox, across a
server crash, and updates held back by the detector's publishing frequency."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT_PROBE = "Recon:EC2/PortProbeUnprotectedPort"


class Receiver:
    """A webhook that records what it is sent; it can be told to fail."""

    def __init__(self):
        self.bodies = []
        self.failing = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.failing:
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.bodies.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def wait_for(self, predicate, timeout=20.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = [b for b in list(self.bodies) if predicate(b)]
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"nothing matching arrived; got {len(self.bodies)} bodies")

    def close(self):
        self.httpd.shutdown()


def about(finding_type):
    return lambda b: b.get("detail", {}).get("type") == finding_type


def test_findings_reach_webhooks_at_least_once_across_a_crash(fresh_server):
    events, slack = Receiver(), Receiver()
    try:
        srv = fresh_server.start(extra_env={"TRAILGUARD_FINDINGS_WEBHOOKS": f"{events.url},slack+{slack.url}"})
        gd = srv.client("guardduty")
        det = gd.create_detector(Enable=True)["DetectorId"]
        gd.create_sample_findings(DetectorId=det, FindingTypes=[PORT_PROBE])
        (event,) = events.wait_for(about(PORT_PROBE))
        assert event["source"] == "aws.guardduty" and event["detail-type"] == "GuardDuty Finding"
        assert event["version"] == "0" and event["account"] == "123456789012" and event["region"] == "us-east-1"
        finding = gd.get_findings(DetectorId=det, FindingIds=[event["detail"]["id"]])["Findings"][0]
        assert finding["Type"] == PORT_PROBE and event["detail"]["severity"] == finding["Severity"]
        (note,) = slack.wait_for(lambda b: PORT_PROBE in b.get("text", ""))
        assert finding["Id"] in note["text"]

        # An update waits for the publishing frequency (six hours by default).
        gd.create_sample_findings(DetectorId=det, FindingTypes=[PORT_PROBE])
        time.sleep(2.0)
        assert len([b for b in events.bodies if about(PORT_PROBE)(b)]) == 1

        # The webhook is down; the server crashes; the event still arrives.
        events.failing = True
        gd.create_sample_findings(DetectorId=det, FindingTypes=["Backdoor:EC2/C&CActivity.B"])
        slack.wait_for(lambda b: "Backdoor:EC2/C&CActivity.B" in b.get("text", ""))
        time.sleep(1.5)
        srv.kill()
        events.failing = False
        srv.start()
        (late,) = events.wait_for(about("Backdoor:EC2/C&CActivity.B"), timeout=30)
        assert late["detail"]["service"]["count"] == 1
    finally:
        events.close()
        slack.close()
