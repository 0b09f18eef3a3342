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
# Dossiers are numbered backwards in time from "now", at a constant rate: 1M dossiers are two
# years of a province (~1,370 a day), 100k the last ~73 days. A longer history is more
# dossiers at the same daily rate, as it is in production; codes follow receipt order, so rows
# lie in the tables roughly in time order, as appended rows do.
PER_DAY = 1_000_000 / 730


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


def dossier_events(
    index: int, rng: random.Random, ctx: _Ctx, position: int
) -> list[dict[str, Any]]:
    """The events of dossier number ``index`` (``position`` dossiers before the newest)."""
    code = f"BD{index:09d}"
    unit = ctx.unit_codes[ctx.pick_unit(rng)]
    proc, _level, sector = ctx.procs[rng.randrange(len(ctx.procs))]
    r = rng.random()
    channel = "online" if r < 0.6 else ("direct" if r < 0.97 else "postal")
    received = ctx.newest - timedelta(days=(position + rng.random()) / PER_DAY)
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
        self.newest = self.now - timedelta(hours=2)

    def pick_unit(self, rng: random.Random) -> int:
        import bisect

        return bisect.bisect_left(self._cum, rng.random() * self._total)


def generate(
    first: int, count: int, seed: int = 7, *, anchor: int = 0
) -> Iterator[list[dict[str, Any]]]:
    """Dossiers ``first`` … ``first + count - 1``: yields each dossier's events.

    Dossier ``anchor`` is the newest (received just before now); each later number is
    received 1/PER_DAY days earlier.
    """
    ctx = _Ctx()
    for index in range(first, first + count):
        rng = random.Random(seed * 1_000_003 + index)
        yield dossier_events(index, rng, ctx, index - anchor)


def in_sync_order(first: int, count: int, seed: int = 7) -> list[dict[str, Any]]:
    """All events of the dossiers (the newest ones), as a sync would send them (by time)."""
    events = [e for evs in generate(first, count, seed, anchor=first) for e in evs]
    events.sort(key=lambda e: e["occurred_at"])
    return events


def quarter_and_year(today: date | None = None) -> dict[str, tuple[date, date]]:
    """The periods of (e): the last full quarter and the last full year before today."""
    today = today or datetime.now(UTC).date()
    q_first_month = ((today.month - 1) // 3) * 3 + 1
    quarter_end = date(today.year, q_first_month, 1) - timedelta(days=1)
    quarter_start = date(quarter_end.year, ((quarter_end.month - 1) // 3) * 3 + 1, 1)
    return {
        "quarter": (quarter_start, quarter_end),
        "year": (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
    }


def last_month(today: date | None = None) -> tuple[date, date]:
    """The last full month: inside even the shortest history (100k dossiers, ~73 days)."""
    today = today or datetime.now(UTC).date()
    end = date(today.year, today.month, 1) - timedelta(days=1)
    return date(end.year, end.month, 1), end
