"""Prints one line per Prometheus target: "JOB/INSTANCE HEALTH LAST_ERROR".

Reads the JSON of /api/v1/targets on standard input (the container test
tier's check of monitoring; see web.sh).
"""

import json
import sys

data = json.load(sys.stdin)
for t in sorted(data["data"]["activeTargets"], key=lambda t: (t["labels"].get("job", ""), t["scrapeUrl"])):
    job = t["labels"].get("job", "?")
    inst = t["labels"].get("instance", "?")
    err = " ".join(t.get("lastError", "").split())[:160]
    print(f"{job}/{inst} {t['health']} {err}".rstrip())
