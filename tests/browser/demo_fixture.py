"""A small district (a desk and three communes, Q1 2024) whose figures are known by construction.

Each dossier is a line of plain facts (channel, receipt, due and resolution days, components);
the events sent to the API and the figures the dashboard must show are both derived from those
facts here, by the contract's definitions, so the browser test compares the page with numbers
computed independently of the service.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

PERIOD_FROM = dt.date(2024, 1, 1)
PERIOD_TO = dt.date(2024, 3, 31)
DISTRICT = "000.00.31.H40"
UNITS: list[dict[str, Any]] = [
    {"code": DISTRICT, "name": "UBND huyện Đô Lương", "level": "district", "parent_code": None},
    {"code": "000.01.31.H40", "name": "UBND thị trấn Đô Lương", "level": "commune"},
    {"code": "000.02.31.H40", "name": "UBND xã Đà Sơn", "level": "commune"},
    {"code": "000.03.31.H40", "name": "UBND xã Đặng Sơn", "level": "commune"},
]
for _unit in UNITS[1:]:
    _unit["parent_code"] = DISTRICT


@dataclass(frozen=True)
class DossierFacts:
    code: str
    unit_code: str
    channel: str
    received: dt.date
    due: dt.date
    resolved: dt.date | None
    components: tuple[int, int]  # total, digitized
    result_digitized: bool


@dataclass
class DemoFigures:
    """What the page must show for the district over Q1 2024."""

    tiles: dict[str, tuple[int, int]] = field(default_factory=dict)  # numerator, denominator
    child_units: list[str] = field(default_factory=list)
    overdue_now: list[str] = field(default_factory=list)  # open today, past due


@dataclass
class SmallDistrict:
    units: list[dict[str, Any]]
    events: list[dict[str, Any]]
    figures: DemoFigures


def _facts() -> list[DossierFacts]:
    facts = []
    for u, unit in enumerate(UNITS):
        for j in range(6 + 3 * u):
            received = dt.date(2024, 1 + j % 3, 4 + j)
            due = received + dt.timedelta(days=10)
            resolved = None if j % 5 == 4 else received + dt.timedelta(days=14 if j % 6 == 3 else 4)
            channel = "postal" if j % 7 == 5 else "direct" if j % 4 == 0 else "online"
            facts.append(
                DossierFacts(
                    code=f"{unit['code']}-{received:%y%m%d}-{j + 1:04d}",
                    unit_code=unit["code"],
                    channel=channel,
                    received=received,
                    due=due,
                    resolved=resolved,
                    components=(3, 2) if j % 8 == 7 else (3, 3),
                    result_digitized=j % 9 != 8,
                )
            )
    # Outside the period: must appear in no Q1 figure.
    facts.append(
        DossierFacts(
            f"{DISTRICT}-240405-0099",
            DISTRICT,
            "online",
            dt.date(2024, 4, 5),
            dt.date(2024, 4, 15),
            dt.date(2024, 4, 8),
            (1, 1),
            True,
        )
    )
    return facts


def _events(facts: list[DossierFacts]) -> list[dict[str, Any]]:
    events = []
    for d in facts:
        events.append(
            {
                "event_id": f"{d.code}/received",
                "dossier_code": d.code,
                "status": "received",
                "occurred_at": f"{d.received}T08:00:00+07:00",
                "unit_code": d.unit_code,
                "procedure_code": "1.001234",
                "channel": d.channel,
                "due_at": f"{d.due}T17:00:00+07:00",
                "components_total": d.components[0],
                "components_digitized": d.components[1],
            }
        )
        if d.resolved:
            events.append(
                {
                    "event_id": f"{d.code}/resolved",
                    "dossier_code": d.code,
                    "status": "resolved",
                    "occurred_at": f"{d.resolved}T10:00:00+07:00",
                    "unit_code": d.unit_code,
                    "result_digitized": d.result_digitized,
                }
            )
    return events


def _figures(facts: list[DossierFacts]) -> DemoFigures:
    """The contract's definitions, applied to the facts (every dossier is in the district)."""
    received = [d for d in facts if PERIOD_FROM <= d.received <= PERIOD_TO]
    resolved = [d for d in facts if d.resolved and PERIOD_FROM <= d.resolved <= PERIOD_TO]
    open_at_end = [
        d
        for d in facts
        if d.received <= PERIOD_TO and (d.resolved is None or d.resolved > PERIOD_TO)
    ]
    # due_at is 17:00 on the due day, before the end of the period when the day is in it
    overdue_open = [d for d in open_at_end if d.due <= PERIOD_TO]
    late = [d for d in resolved if d.resolved and d.resolved > d.due]
    fully = [d for d in received if d.components[0] > 0 and d.components[0] == d.components[1]]
    return DemoFigures(
        tiles={
            "online_rate": (sum(d.channel == "online" for d in received), len(received)),
            "on_time_rate": (len(resolved) - len(late), len(resolved)),
            "overdue_rate": (len(late) + len(overdue_open), len(resolved) + len(open_at_end)),
            "fully_digitized_rate": (len(fully), len(received)),
            "result_digitized_rate": (sum(d.result_digitized for d in resolved), len(resolved)),
        },
        child_units=[u["code"] for u in UNITS[1:]],
        overdue_now=[d.code for d in facts if d.resolved is None and d.due < dt.date.today()],
    )


def small_district() -> SmallDistrict:
    facts = _facts()
    return SmallDistrict(units=UNITS, events=_events(facts), figures=_figures(facts))
