"""Reads scim2-tester's report: each check's status line (SUCCESS, ERROR, CRITICAL, SKIPPED,
...) and the line after it. An erring check is named by the check and the attribute its
message quotes ('name', 'emails', ...). Fails on an erring check not in the known list, and
on a known one that no longer errs."""

import re
import sys

who, report, known_file = sys.argv[1], sys.argv[2], sys.argv[3]
lines = open(report, encoding="utf-8", errors="replace").read().splitlines()
known = {l.strip() for l in open(known_file, encoding="utf-8") if l.strip() and not l.startswith("#")}
counts = {}
failing = set()
for i, line in enumerate(lines):
    m = re.match(r"^(SUCCESS|ERROR|CRITICAL|WARNING|SKIPPED)\s+(\S+)", line)
    if not m:
        continue
    status, check = m.groups()
    counts[status] = counts.get(status, 0) + 1
    if status in ("ERROR", "CRITICAL"):
        detail = lines[i + 1] if i + 1 < len(lines) else ""
        attr = re.search(r"'([^']+)'", detail)
        failing.add(f"{check} {attr.group(1) if attr else detail.strip()}")
print(f"scim2-tester with the {who} key: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
if not counts.get("SUCCESS"):
    print("  no check passed: the tester did not run", file=sys.stderr)
    sys.exit(1)
new = sorted(failing - known)
fixed = sorted(known - failing)
for f in new:
    print(f"  fails: {f}", file=sys.stderr)
for f in fixed:
    print(f"  now passes (remove it from known-failures.txt): {f}", file=sys.stderr)
sys.exit(1 if new or fixed else 0)
