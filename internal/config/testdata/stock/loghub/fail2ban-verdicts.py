#!/usr/bin/env python3
"""Which lines of a log fail2ban's sshd filter counts as failures, and whom.

    python3 fail2ban-verdicts.py LOG [MODE] > LOG.fail2ban-MODE

Runs `fail2ban-regex -o '<ip>|<matches>' LOG 'sshd[mode=MODE]'` (fail2ban
1.0.2 from Debian; MODE defaults to normal) and prints "LINE HOST" for the
line each failure ticket was raised on: the last of the ticket's matched
lines (the earlier ones are fail2ban's multi-line helpers). The stock sshd
filters' tests compare themselves with this file host for host.
"""
import re, subprocess, sys
from collections import defaultdict, deque

log = sys.argv[1]
mode = sys.argv[2] if len(sys.argv) > 2 else "normal"
out = subprocess.run(["fail2ban-regex", "-o", "<ip>|<matches>", log, f"sshd[mode={mode}]"],
                     capture_output=True, text=True, check=True).stdout
lines = open(log, encoding="utf-8", errors="replace").read().split("\n")
where = defaultdict(deque)
for n, l in enumerate(lines, 1):
    where[l.rstrip()].append(n)
start = re.compile(r"^([0-9a-fA-F.:]+|None)\|(.*)$")
tickets = []
for l in out.split("\n"):
    m = start.match(l)
    if m:
        tickets.append([m.group(1), m.group(2)])
    elif tickets and l:
        tickets[-1][1] = l
for host, line in tickets:
    q = where.get(line.rstrip())
    if not q:
        sys.exit(f"ticket line not in the log: {line!r}")
    print(q.popleft(), host)
