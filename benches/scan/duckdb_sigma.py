"""The fastest way an analyst runs Sigma rules over CloudTrail files today:
pySigma converts each rule to DuckDB SQL, DuckDB reads the gzip files once
into a table of the fields the rules name, and each rule's query runs on it.
Prints one JSON line: records, seconds, matches per rule.

    python benches/scan/duckdb_sigma.py CORPUS_DIR RULES_DIR THREADS
"""

import json
import re
import sys
import time
from pathlib import Path

import duckdb
from sigma.collection import SigmaCollection
from sigma_backend_duckdb import DuckDBBackend

corpus, rules_dir, threads = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
backend = DuckDBBackend()
queries = {}
for f in sorted(rules_dir.rglob("*.yml")):
    try:
        for q in backend.convert(SigmaCollection.from_yaml(f.read_text())):
            queries[f.name] = q
    except Exception as e:  # a rule the backend cannot convert
        print(json.dumps({"skipped": f.name, "why": str(e)[:100]}), file=sys.stderr)

# Every field a query names: quoted dotted names, and CloudTrail's top-level
# fields (the backend leaves those unquoted).
TOP = ["eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
       "userAgent", "errorCode", "errorMessage", "requestParameters", "responseElements",
       "additionalEventData", "requestID", "eventID", "readOnly", "eventType", "managementEvent",
       "recipientAccountId", "eventCategory", "resources", "userIdentity"]
fields = set(TOP)
for q in queries.values():
    fields |= set(re.findall(r'"([A-Za-z0-9_.]+)"', q))
    bare = re.sub(r"'(?:[^']|'')*'", "''", q)  # string literals out of the way
    fields |= set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=|<>|!=|\s+(?:LIKE|ILIKE|IN|IS)\s)", bare))
fields -= {"SELECT", "FROM", "WHERE", "NOT", "AND", "OR", "logs", "NULL"}
cols = ", ".join(f"json_extract_string(r, '$.{f}') AS \"{f}\"" for f in sorted(fields))

con = duckdb.connect()
con.execute(f"SET threads={threads}")
started = time.time()
con.execute(
    f"""CREATE TABLE logs AS SELECT {cols} FROM (
          SELECT unnest(Records) AS r FROM read_json('{corpus}/**/*.json.gz',
            columns={{Records: 'JSON[]'}}, maximum_object_size=1073741824))"""
)
loaded = time.time()
records = con.execute("SELECT count(*) FROM logs").fetchone()[0]
matches = {}
for name, q in queries.items():
    matches[name] = con.execute(f"SELECT count(*) FROM ({q})").fetchone()[0]
done = time.time()
print(json.dumps({"tool": "duckdb+pysigma", "records": records, "rules": len(queries),
                  "load_s": round(loaded - started, 2), "query_s": round(done - loaded, 2),
                  "seconds": round(done - started, 2), "matches": sum(matches.values())}))
