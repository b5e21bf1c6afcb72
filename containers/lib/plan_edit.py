#!/usr/bin/env python3
"""One change to a topology, for the container tier's plan check.

    plan_edit.py apps FILE                  app service names, one a line
    plan_edit.py image FILE OUT APP IMAGE   APP's image replaced
    plan_edit.py sentinel FILE OUT          Sentinel down-after one second shorter
    plan_edit.py pg-memory FILE OUT         PostgreSQL's memory limit doubled
    plan_edit.py remove FILE OUT APP        APP's [[services]] table removed
    plan_edit.py rotate FILE OUT SECRET     SECRET at the next version (secret-versions)

Edits are made on the text (comments and order stay), checked by reading
the result back with tomllib; anything unexpected is an error (exit 2).
"""

import re
import sys
import tomllib


def fail(msg):
    print(f"plan_edit.py: {msg}", file=sys.stderr)
    sys.exit(2)


def sections(text):
    """(header, start, end) of every table, in order; the top level is ''."""
    heads = [(m.group(1), m.start()) for m in re.finditer(r"(?m)^\s*(\[\[?[^\]\n]+\]\]?)\s*(?:#.*)?$", text)]
    out = [("", 0, heads[0][1] if heads else len(text))]
    for i, (h, s) in enumerate(heads):
        out.append((h, s, heads[i + 1][1] if i + 1 < len(heads) else len(text)))
    return out


def app_tables(text):
    """(name, start, end) of every [[services]] table."""
    out = []
    for h, s, e in sections(text):
        if h == "[[services]]":
            m = re.search(r'(?m)^name\s*=\s*"([^"]+)"', text[s:e])
            if not m:
                fail("a [[services]] table without a name")
            out.append((m.group(1), s, e))
    return out


def table(text, header):
    for h, s, e in sections(text):
        if h == header:
            return s, e
    fail(f"no {header} table")


def duration_ms(d):
    total = 0
    for num, unit in re.findall(r"(\d+)(ms|s|m|h)", d):
        total += int(num) * {"ms": 1, "s": 1000, "m": 60000, "h": 3600000}[unit]
    return total


def mib(size):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMG])", size)
    if not m:
        fail(f"size {size!r} is not understood")
    return int(float(m.group(1)) * {"K": 1 / 1024, "M": 1, "G": 1024}[m.group(2)])


def write(out, text):
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        fail(f"the edit broke the TOML: {e}")
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv):
    if len(argv) < 3:
        fail(__doc__)
    kind, path = argv[1], argv[2]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    doc = tomllib.loads(text)
    if kind == "apps":
        for s in doc.get("services", []):
            print(s["name"])
        return
    out = argv[3]
    if kind == "image":
        app, image = argv[4], argv[5]
        for name, s, e in app_tables(text):
            if name == app:
                body, n = re.subn(r'(?m)^image\s*=\s*"[^"]*"', f'image = "{image}"', text[s:e], count=1)
                if n != 1:
                    fail(f"{app} has no image line")
                write(out, text[:s] + body + text[e:])
                return
        fail(f"no app {app}")
    elif kind == "sentinel":
        s, e = table(text, "[redis.sentinel]")
        sentinel = doc["redis"]["sentinel"]
        current = duration_ms(sentinel.get("down-after", "5s"))
        new = f"{current - 1000}ms" if current > 1500 else f"{current + 500}ms"
        body = text[s:e]
        if "down-after" in sentinel:
            body = re.sub(r'(?m)^down-after\s*=\s*"[^"]*"', f'down-after = "{new}"', body, count=1)
        else:
            body = body.replace("[redis.sentinel]", f'[redis.sentinel]\ndown-after = "{new}"', 1)
        write(out, text[:s] + body + text[e:])
    elif kind == "pg-memory":
        s, e = table(text, "[postgres]")
        limit = doc["postgres"]["resources"]["limits"]["memory"]
        body = text[s:e]
        pattern = r'(limits\s*=\s*\{[^}]*memory\s*=\s*")' + re.escape(limit) + '"'
        body, n = re.subn(pattern, lambda m: f'{m.group(1)}{mib(limit) * 2}M"', body, count=1)
        if n != 1:
            fail("the PostgreSQL memory limit is not written inline as `limits = { ..., memory = \"...\" }`")
        write(out, text[:s] + body + text[e:])
    elif kind == "remove":
        app = argv[4]
        for name, s, e in app_tables(text):
            if name == app:
                write(out, text[:s] + text[e:])
                return
        fail(f"no app {app}")
    elif kind == "rotate":
        secret = argv[4]
        if secret not in doc.get("secrets", {}):
            fail(f"no secret {secret}")
        versions = doc.get("secret-versions", {})
        if versions:
            fail("the topology has secret-versions already; this edit adds the table")
        write(out, text.rstrip("\n") + f"\n\n[secret-versions]\n{secret} = 2\n")
    else:
        fail(f"unknown edit {kind}")


if __name__ == "__main__":
    main(sys.argv)
