#!/usr/bin/env python3
"""Compare the hosts a replay banned with the generator's ground truth.

usage: compare.py KIND REPLAY.jsonl TRUTH.json
Exit 1 when a jail's banned set differs from its rule's, or a victim is banned.
"""
import json
import sys

# jail name in scripts/bench/KIND.yaml -> rule in the truth file
RULES = {
    "libp2p": {"peer_status": "peer_status", "status_misbehaving": "peer_status+misbehaving"},
    "flow": {"suspicious": "suspicious"},
    "sshd": {"sshd_normal": "sshd_normal"},
}


def main():
    kind, replay, truth_path = sys.argv[1:4]
    truth = json.load(open(truth_path))
    banned = {}
    for line in open(replay):
        ev = json.loads(line)
        if ev["event"] == "ban":
            banned.setdefault(ev["jail"], set()).add(ev["host"])
    victims = set(truth["summary"]["victims_never_ban"])
    ok = True
    for jail, rule in RULES[kind].items():
        want = set(truth["summary"]["banned"][rule])
        got = banned.get(jail, set())
        hit_victims = got & victims
        same = got == want
        print(f"        {jail:<22} banned {len(got):5d}, truth {len(want):5d}: "
              f"{'equal' if same else 'DIFFERENT'}; victims banned: {len(hit_victims)}")
        if not same:
            print(f"          only replay: {sorted(got - want)[:10]}  only truth: {sorted(want - got)[:10]}")
        ok = ok and same and not hit_victims
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
