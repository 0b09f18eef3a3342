"""A generated province: 500 units in a tree, procedures, and dossiers over two years.

Deterministic for a seed. Each dossier has about five events (submitted, received, processing,
sometimes a supplement request, then resolved and returned, or withdrawn, refused, still open).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

SOURCE = "bench-igate"
START = datetime(2024, 12, 1, 1, 0, tzinfo=UTC)  # two years ending just before "now"
DAYS = 728


@dataclass(frozen=True)
class UnitRow:
    code: str
    name: str
    level: str
    parent_code: str | None


def units() -> list[UnitRow]:
    """1 province, 19 departments, 10 districts with 47 communes each: 500 units."""
    out = [UnitRow("P00", "UBND tỉnh Bench", "province", None)]
    out += [UnitRow(f"S{i:02d}", f"Sở {i:02d}", "department", "P00") for i in range(1, 20)]
    for d in range(1, 11):
        code = f"H{d:02d}"
        out.append(UnitRow(code, f"UBND huyện {d:02d}", "district", "P00"))
        out += [
            UnitRow(f"{code}.X{c:02d}", f"UBND xã {c:02d} huyện {d:02d}", "commune", code)
            for c in range(1, 48)
        ]
    return out


def procedures() -> list[tuple[str, str, str]]:
    """(code, level, sector_code): 300 procedures in 20 sectors."""
    levels = ("province", "district", "commune")
    return [(f"1.{i:06d}", levels[i % 3], f"LV{i % 20:02d}") for i in range(300)]


def _unit_weights(rows: list[UnitRow]) -> list[float]:
    weight = {"province": 2.0, "department": 8.0, "district": 6.0, "commune": 1.0}
    return [weight[u.level] for u in rows]


def _iso(t: datetime) -> str:
    return t.isoformat()


def dossier_events(index: int, rng: random.Random, ctx: _Ctx) -> list[dict[str, Any]]:
    """The events of dossier number ``index`` as canonical JSON-ready dicts."""
    code = f"BD{index:09d}"
    unit = ctx.unit_codes[ctx.pick_unit(rng)]
    proc, _level, sector = ctx.procs[rng.randrange(len(ctx.procs))]
    r = rng.random()
    channel = "online" if r < 0.6 else ("direct" if r < 0.97 else "postal")
    received = START + timedelta(days=rng.random() * DAYS, hours=rng.random() * 8)
    due = received + timedelta(days=rng.choice((3, 5, 7, 10, 15)))
    total = rng.choice((1, 2, 3, 4, 5))
    digitized = total if rng.random() < 0.7 else rng.randrange(total + 1)
    fee = rng.random() < 0.4
    attrs: dict[str, Any] = {
        "dossier_code": code,
        "unit_code": unit,
        "procedure_code": proc,
        "sector_code": sector,
        "channel": channel,
        "due_at": _iso(due),
        "components_total": total,
        "components_digitized": digitized,
        "fee_required": fee,
        "paid_online": fee and channel == "online" and rng.random() < 0.8,
    }
    steps: list[tuple[str, datetime, dict[str, Any]]] = []
    submitted = received - timedelta(hours=1 + rng.random() * 30)
    steps.append(("submitted", submitted, {}))
    fate = rng.random()
    if fate < 0.02:
        steps.append(("refused", received, {}))
    else:
        steps.append(("received", received, {}))
        at = received + timedelta(hours=2 + rng.random() * 20)
        steps.append(("processing", at, {}))
        if rng.random() < 0.1:
            at += timedelta(days=1 + rng.random() * 3)
            new_due = due + timedelta(days=3)
            steps.append(("supplement_requested", at, {"due_at": _iso(new_due)}))
            due = new_due
        if fate < 0.05:
            steps.append(("withdrawn", at + timedelta(days=rng.random() * 5), {}))
        elif fate < 0.92:
            late = rng.random() < 0.08
            span = (due - received).total_seconds()
            done = received + timedelta(
                seconds=span * (1.0 + rng.random() * 0.5 if late else 0.3 + rng.random() * 0.69)
            )
            done = max(done, at + timedelta(minutes=5))
            signed = rng.random() < 0.9
            steps.append(
                (
                    "resolved",
                    done,
                    {"result_digitized": rng.random() < 0.85, "result_signed": signed},
                )
            )
            steps.append(("returned", done + timedelta(hours=1 + rng.random() * 48), {}))
        # else: still open
    out = []
    for seq, (status, at, extra) in enumerate(steps):
        if at >= ctx.now:
            break
        body = dict(attrs)
        body.update(extra)
        body["event_id"] = f"{code}-{seq}"
        body["status"] = status
        body["occurred_at"] = _iso(at)
        out.append(body)
    return out


class _Ctx:
    def __init__(self) -> None:
        rows = units()
        self.unit_codes = [u.code for u in rows]
        self.procs = procedures()
        cumulative: list[float] = []
        total = 0.0
        for w in _unit_weights(rows):
            total += w
            cumulative.append(total)
        self._cum = cumulative
        self._total = total
        self.now = datetime.now(UTC) - timedelta(minutes=5)

    def pick_unit(self, rng: random.Random) -> int:
        import bisect

        return bisect.bisect_left(self._cum, rng.random() * self._total)


def generate(first: int, count: int, seed: int = 7) -> Iterator[list[dict[str, Any]]]:
    """Dossiers ``first`` … ``first + count - 1``: yields each dossier's events."""
    ctx = _Ctx()
    for index in range(first, first + count):
        rng = random.Random(seed * 1_000_003 + index)
        yield dossier_events(index, rng, ctx)


def in_sync_order(first: int, count: int, seed: int = 7) -> list[dict[str, Any]]:
    """All events of the dossiers, ordered as a sync would send them (by occurred_at)."""
    events = [e for evs in generate(first, count, seed) for e in evs]
    events.sort(key=lambda e: e["occurred_at"])
    return events


def quarter_and_year() -> dict[str, tuple[date, date]]:
    """The periods the metric benchmarks ask for: a full quarter and a full year of the data."""
    return {
        "quarter": (date(2026, 7, 1), date(2026, 9, 30)),
        "year": (date(2025, 1, 1), date(2025, 12, 31)),
    }
