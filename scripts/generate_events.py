#!/usr/bin/env python3
"""Write a JSON Lines file of canonical events, for trying ``onestop import`` at scale.

    python3 scripts/generate_events.py /tmp/events.jsonl --events 1000000 --invalid-every 100000

Dossiers of 4 events each (received, processing, resolved, returned) over 40 units and a year,
one in five received online. With ``--invalid-every N``, every N-th line is broken (alternately
not JSON and an unknown status), so the import's summary can be checked: accepted = events -
broken lines. Deterministic: the same arguments give the same file.
"""

from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta, timezone

import orjson

ZONE = timezone(timedelta(hours=7))
STEPS = (("received", 0), ("processing", 1), ("resolved", 5), ("returned", 6))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--invalid-every", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    start = datetime(2025, 1, 1, 8, 0, tzinfo=ZONE)
    written = 0
    broken = 0
    with open(args.path, "wb") as fh:
        dossier = 0
        while written < args.events:
            dossier += 1
            unit = f"H40.{rng.randrange(40):02d}"
            received = start + timedelta(minutes=rng.randrange(365 * 24 * 60))
            due = received + timedelta(days=rng.choice((3, 5, 7, 10)))
            channel = "online" if rng.random() < 0.2 else "direct"
            code = f"000.00.{unit[-2:]}.H40-{received:%y%m%d}-{dossier:07d}"
            for status, day in STEPS:
                if written >= args.events:
                    break
                written += 1
                if args.invalid_every and written % args.invalid_every == 0:
                    broken += 1
                    if broken % 2:
                        fh.write(b'{"event_id": "broken\n')
                        continue
                    bad_status = "lost"
                else:
                    bad_status = None
                body = {
                    "event_id": f"gen-{dossier}-{status}",
                    "dossier_code": code,
                    "status": bad_status or status,
                    "occurred_at": (received + timedelta(days=day)).isoformat(),
                    "unit_code": unit,
                    "procedure_code": f"1.00{rng.randrange(100):02d}",
                    "channel": channel,
                    "due_at": due.isoformat(),
                    "components_total": 3,
                    "components_digitized": rng.randrange(4),
                }
                fh.write(orjson.dumps(body) + b"\n")
    print(f"wrote {written} lines ({broken} broken) to {args.path}")


if __name__ == "__main__":
    main()
