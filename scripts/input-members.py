#!/usr/bin/env python3
"""Regenerates crates/core/data/input-members.json: the top-level input
members AWS's model defines for every operation trailguard serves, taken from
the service models botocore ships (the version pinned in
tests/e2e/requirements.txt).

    /work/main/.venv/bin/python scripts/input-members.py [path/to/trailguard] [--check]

With --check it writes nothing and fails if the checked-in file differs.

The served operations come from `trailguard operations` (default binary:
target/debug/trailguard). `Services::execute` drops every parameter this file
does not list for the operation before authorization or the handler sees it.

Each member is written with `key`, the name it has in trailguard's decoded
parameter tree, which is where the protocols differ:
- awsQuery and awsJson1.1: the member name (locationName when set: none is, at
  the top level, for the operations served);
- restJson1 (`protocol::rest`): path labels under the member name with its
  first letter lowered (GuardDuty's current model spells `{DetectorId}` for the
  member `DetectorId`, its routes and records `detectorId`; Lex's label
  `{versionoralias}` is the member `versionOrAlias`), query members under their locationName, header
  members and a raw payload under the member name, body members under their
  locationName (`name` for GuardDuty's `Name`) or the member name;
- S3 (`protocol::s3`, its own names, which CloudTrail records): the explicit
  S3_KEYS table below; S3 members the decoder never produces keep their member
  name and are never present.
"""

import json
import pathlib
import subprocess
import sys

import botocore
import botocore.loaders

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "core" / "data" / "input-members.json"

# trailguard's signing name -> botocore models (Lex V1 is two models signing as `lex`).
MODELS = {"lex": ["lex-models", "lex-runtime"]}

# The names trailguard's S3 decoder gives S3 members (crates/protocol/src/s3.rs).
S3_KEYS = {
    "Bucket": "bucketName",
    "Key": "key",
    "Prefix": "prefix",
    "Marker": "marker",
    "MaxKeys": "maxKeys",
    "Delimiter": "delimiter",
    "EncodingType": "encodingType",
    "ContinuationToken": "continuationToken",
    "StartAfter": "startAfter",
    "FetchOwner": "fetchOwner",
    "Body": "Body",
    "Policy": "Body",
    "CreateBucketConfiguration": "CreateBucketConfiguration",
    "Metadata": "Metadata",
    "ContentType": "ContentType",
    "ACL": "x-amz-acl",
}
# Literal query parameters of S3 request URIs (`/{Bucket}?list-type=2`), which the
# decoder keeps (CloudTrail records them) although the model has no member.
S3_LITERALS = {"list-type": "listType"}


def lower_first(s):
    return s[:1].lower() + s[1:]


def key_of(protocol, name, member, payload):
    location = member.get("location")
    location_name = member.get("locationName")
    if protocol == "rest-xml":
        return S3_KEYS.get(name, name)
    if protocol == "rest-json":
        if location == "uri":
            return lower_first(name)
        if location == "querystring":
            return location_name or name
        if location in ("header", "headers") or name == payload:
            return name
    return location_name or name


def shape_type(shapes, member):
    return shapes[member["shape"]]["type"]


def operation(model, name):
    protocol = model["metadata"]["protocol"]
    op = model["operations"][name]
    shapes = model["shapes"]
    members = []
    if "input" in op:
        shape = shapes[op["input"]["shape"]]
        required = set(shape.get("required", []))
        payload = shape.get("payload")
        for m, spec in shape.get("members", {}).items():
            entry = {"key": key_of(protocol, m, spec, payload), "member": m}
            if spec.get("location"):
                entry["location"] = spec["location"]
            elif m == payload and shape_type(shapes, spec) in ("blob", "string"):
                entry["location"] = "payload"
            entry["type"] = shape_type(shapes, spec)
            if m in required:
                entry["required"] = True
            members.append(entry)
    if protocol == "rest-xml":
        uri = op["http"]["requestUri"]
        if "?" in uri:
            for literal in uri.split("?", 1)[1].split("&"):
                q = literal.split("=", 1)[0]
                if q in S3_LITERALS:
                    members.append(
                        {"key": S3_LITERALS[q], "member": q, "location": "literal", "type": "string"}
                    )
    # S3's decoder names both `Policy` and `CreateBucketConfiguration` `Body`: one entry each key.
    seen = set()
    unique = []
    for entry in members:
        if entry["key"] not in seen:
            seen.add(entry["key"])
            unique.append(entry)
    return {"protocol": protocol, "members": unique}


def render(out: dict) -> str:
    lines = ["{", f'"source": "botocore {botocore.__version__} service models, by scripts/input-members.py",', '"operations": {']
    items = sorted(out.items())
    for i, (k, v) in enumerate(items):
        sep = "," if i + 1 < len(items) else ""
        lines.append(f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}{sep}")
    lines += ["}", "}"]
    return "\n".join(lines) + "\n"


def main():
    args = [a for a in sys.argv[1:] if a != "--check"]
    check = "--check" in sys.argv[1:]
    binary = args[0] if args else str(ROOT / "target" / "debug" / "trailguard")
    lines = subprocess.run([binary, "operations"], check=True, capture_output=True, text=True).stdout
    served = [json.loads(line) for line in lines.splitlines() if line.strip()]
    loader = botocore.loaders.Loader()
    models = {}
    out = {}
    for op in served:
        svc, name = op["service"], op["operation"]
        for model_name in MODELS.get(svc, [svc]):
            if model_name not in models:
                models[model_name] = loader.load_service_model(model_name, "service-2")
            model = models[model_name]
            if name in model["operations"]:
                out[f"{svc}:{name}"] = operation(model, name)
                break
        else:
            sys.exit(f"{svc}:{name} is in no botocore model")
    text = render(out)
    if check:
        if OUT.read_text() != text:
            sys.exit(f"{OUT.relative_to(ROOT)} is stale: run scripts/input-members.py")
        print(f"{len(out)} operations: {OUT.relative_to(ROOT)} is current")
        return
    OUT.write_text(text)
    print(f"{len(out)} operations -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
