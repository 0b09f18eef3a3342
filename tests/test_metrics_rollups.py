"""The rollups answer exactly what counting the dossiers answers, however events arrive."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from sqlalchemy import delete, func, select, update

from app.db import Database
from app.dossiers.models import Dossier
from app.metrics import rollups
from app.metrics.formulas import COUNTS
from app.metrics.queries import (
    Aggregate,
    GroupBy,
    Period,
    Scope,
    aggregate,
    make_buckets,
    rollup_ranges,
)
from app.migrate import alembic_config, ensure_rollups, fill_ended_dates
from reliability.workload import make_batches
from tests.conftest import ADMIN_TOKEN
from tests.test_auth_hardening import other_instance

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2024, 6, 1, tzinfo=UTC)
UNITS = ["U1", "U2", "U3"]


def _at(day: date, hour: int) -> str:
    return f"{day.isoformat()}T{hour:02d}:30:00+07:00"


def history(
    seed: int, dossiers: int, start: date = date(2024, 1, 15), spread: int = 100
) -> list[dict[str, Any]]:
    """Events of dossiers received in the ``spread`` days from ``start`` (by default mid-January
    … April 2024): resolved early, on the due day (before and after its hour), late, or never;
    returned; withdrawn before or after their resolution; refused; with supplement requests
    moving the due date."""
    rng = random.Random(seed)
    return [e for n in range(dossiers) for e in one_dossier(rng, f"R{seed}-{n:03d}", start, spread)]


def one_dossier(rng: random.Random, code: str, start: date, spread: int) -> list[dict[str, Any]]:
    unit = rng.choice(UNITS)
    received = start + timedelta(days=rng.randrange(spread))
    due = received + timedelta(days=rng.randrange(1, 15))
    events: list[dict[str, Any]] = []

    def ev(status: str, day: date, hour: int, **fields: Any) -> None:
        events.append(
            {
                "event_id": f"{code}-{len(events)}",
                "dossier_code": code,
                "status": status,
                "occurred_at": _at(day, hour),
                "unit_code": unit,
                **fields,
            }
        )

    total = rng.randrange(0, 4)
    channel = rng.choice(["online", "direct", "postal", None])
    attributes = {
        **({"channel": channel} if channel else {}),
        # without a due date, the procedure's statutory duration gives one (when registered)
        **({"due_at": _at(due, 17)} if rng.random() < 0.8 else {"procedure_code": "P-DUR"}),
        "components_total": total,
        "components_digitized": rng.randrange(0, total + 1),
        "fee_required": rng.random() < 0.5,
        "paid_online": rng.random() < 0.5,
    }
    if rng.random() < 0.08:
        ev("refused", received, 9, **attributes)
        return events
    ev("received", received, 8, **attributes)
    if rng.random() < 0.2:
        due = due + timedelta(days=rng.randrange(1, 6))
        ev("supplement_requested", received + timedelta(days=1), 10, due_at=_at(due, 17))
        if rng.random() < 0.5:  # the citizen answers (or not: still waiting)
            ev("processing", received + timedelta(days=rng.randrange(2, 6)), 11)
            if rng.random() < 0.3:  # a second request
                ev("supplement_requested", received + timedelta(days=6), 10)
    if rng.random() < 0.1:
        ev("payment_requested", received + timedelta(days=rng.randrange(1, 4)), 14)
        if rng.random() < 0.7:
            ev("processing", received + timedelta(days=rng.randrange(4, 8)), 9)
    if rng.random() < 0.05:  # received, later refused: stays received, closed by the refusal
        ev("refused", received + timedelta(days=rng.randrange(1, 10)), 15)
        return events
    fate = rng.random()
    resolved = received + timedelta(days=rng.randrange(0, 20))
    if fate < 0.1:
        ev("withdrawn", resolved, 9)
    elif fate < 0.85:
        hour = rng.choice([9, 16, 18])
        ev(
            "resolved",
            resolved,
            hour,
            result_digitized=rng.random() < 0.7,
            result_signed=rng.random() < 0.5,
        )
        if rng.random() < 0.5:
            ev("returned", resolved + timedelta(days=rng.randrange(0, 3)), 19)
        if rng.random() < 0.05:
            ev("withdrawn", resolved + timedelta(days=1), 9)
    return events


async def push_shuffled(
    client: httpx.AsyncClient, headers: dict[str, str], events: list[dict[str, Any]], seed: int
) -> None:
    """In random order and random batch sizes: older events arrive after newer ones. The
    procedure of the dossiers without due_at has a statutory duration of 4 working days."""
    response = await client.put(
        "/api/v1/procedures/P-DUR",
        json={
            "name": "Thủ tục có thời hạn",
            "level": "commune",
            "online_service": "partial",
            "duration_working_days": 4,
        },
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code in (200, 201), response.text
    rng = random.Random(seed)
    events = events[:]
    rng.shuffle(events)
    while events:
        size = rng.randrange(1, 40)
        batch, events = events[:size], events[size:]
        response = await client.post(
            "/api/v1/events/batch", json={"events": batch}, headers=headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["rejected"] == 0, response.text


RANGES = [
    (date(2024, 1, 1), date(2024, 6, 30)),  # whole months only
    (date(2024, 1, 20), date(2024, 5, 10)),  # partial months at both ends
    (date(2024, 2, 1), date(2024, 2, 29)),  # one whole month
    (date(2024, 2, 10), date(2024, 2, 20)),  # inside one month
    (date(2024, 3, 31), date(2024, 4, 1)),  # across a month boundary, no whole month
    (date(2024, 3, 15), date(2024, 3, 15)),  # one day
]


async def both_ways(
    db: Database,
    first: date,
    last: date,
    period: Period,
    group_by: GroupBy,
    scope: Scope,
    now: datetime = NOW,
) -> tuple[Aggregate, Aggregate]:
    buckets = make_buckets(first, last, period, ZONE, now)
    answers = []
    for use_rollups in (True, False):
        async with db.sessionmaker() as session:
            answers.append(
                await aggregate(
                    session,
                    scope=scope,
                    buckets=buckets,
                    period=period,
                    group_by=group_by,
                    counts=list(COUNTS),
                    processing_days=True,
                    processing_days_net=True,
                    lateness_days=True,
                    use_rollups=use_rollups,
                )
            )
    return answers[0], answers[1]


def nonzero(result: Aggregate) -> dict[str, Any]:
    """The figures without the zero counts (a rollup row may hold zeros where no dossier is)."""
    return {
        "counts": {k: {n: v for n, v in c.items() if v} for k, c in result.counts.items()},
        "processing_days": result.processing_days,
        "processing_days_net": result.processing_days_net,
        "lateness_days_total": {k: v for k, v in result.lateness_days_total.items() if v},
    }


def drop_empty(figures: dict[str, Any]) -> dict[str, Any]:
    figures["counts"] = {k: c for k, c in figures["counts"].items() if c}
    return figures


async def assert_same_figures(db: Database, scopes: list[Scope]) -> int:
    compared = 0
    for first, last in RANGES:
        for period in (Period.none, Period.month, Period.quarter):
            for group_by in (GroupBy.none, GroupBy.unit):
                for scope in scopes:
                    fast, slow = await both_ways(db, first, last, period, group_by, scope)
                    expected = drop_empty(nonzero(slow))
                    assert drop_empty(nonzero(fast)) == expected, (first, last, period, group_by)
                    compared += 1
    return compared


async def test_rollups_answer_as_the_dossiers_do_after_events_in_any_order(
    db: Database, client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    await push_shuffled(client, ingest_headers, history(1, 120), seed=2)
    # the third: rows per unit as lineage maps them (U3 merged into U1, which also lists it)
    lineage = Scope(["U1", "U2", "U3"], rows={"U1": ["U1", "U3"], "U3": ["U3"]})
    scopes = [Scope(), Scope(["U1", "U3"]), lineage]
    assert await assert_same_figures(db, scopes) == len(RANGES) * 3 * 2 * len(scopes)


async def test_the_figures_are_not_all_zero(
    db: Database, client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    """The history of the comparison above holds every kind of count and a histogram."""
    await push_shuffled(client, ingest_headers, history(1, 120), seed=2)
    fast, _ = await both_ways(db, *RANGES[0], Period.none, GroupBy.none, Scope())
    counts = fast.counts[(None, 0)]
    assert all(counts[n] > 0 for n in rollups.ROLLUP_COUNTS), counts
    assert fast.lateness_days_total[(None, 0)] > 0
    assert len(fast.processing_days[(None, 0)]) > 3
    assert len(fast.processing_days_net[(None, 0)]) > 3
    assert fast.processing_days_net != fast.processing_days
    backlog, _ = await both_ways(db, *RANGES[3], Period.none, GroupBy.none, Scope())
    for name in ("in_progress_overdue", "in_progress_within_deadline"):
        assert backlog.counts[(None, 0)][name] > 0, name
    later, _ = await both_ways(db, *RANGES[1], Period.none, GroupBy.none, Scope())
    for name in ("in_progress_paused", "progress_in_progress_on_time"):
        assert later.counts[(None, 0)][name] > 0, name


async def test_a_calendar_change_moves_the_rolled_up_working_days(
    db: Database,
    client: httpx.AsyncClient,
    ingest_headers: dict[str, str],
    admin: dict[str, str],
) -> None:
    await push_shuffled(client, ingest_headers, history(3, 80), seed=4)
    before, _ = await both_ways(db, *RANGES[0], Period.none, GroupBy.none, Scope())
    changes = (("2024-03-09", True), ("2024-03-12", False), ("2024-02-20", False))
    try:
        for day, working in changes:
            response = await client.put(
                f"/api/v1/calendar/{day}", json={"working": working}, headers=admin
            )
            assert response.status_code in (200, 201), response.text
        response = await client.delete("/api/v1/calendar/2024-03-12", headers=admin)
        assert response.status_code == 204, response.text
        after, _ = await both_ways(db, *RANGES[0], Period.none, GroupBy.none, Scope())
        assert after.processing_days != before.processing_days
        await assert_same_figures(db, [Scope()])
    finally:  # the calendar table outlives the test's data: put it back
        for day, _ in changes:
            await client.delete(f"/api/v1/calendar/{day}", headers=admin)


async def test_missing_rollups_are_rebuilt_on_upgrade(
    db: Database, client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    await push_shuffled(client, ingest_headers, history(5, 40), seed=6)
    async with db.sessionmaker() as session, session.begin():
        await session.execute(delete(rollups.rollups))
        await session.execute(delete(rollups.rollup_days))
    assert await ensure_rollups(db.settings.database_url)
    await assert_same_figures(db, [Scope()])
    assert not await ensure_rollups(db.settings.database_url)  # present now: left alone


async def test_unchanged_counts_write_no_rollup_rows(
    db: Database, client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    """A status change that moves no count (processing) adds no row and changes none."""
    received = {
        "event_id": "a",
        "dossier_code": "D1",
        "status": "received",
        "occurred_at": "2024-03-04T08:00:00+07:00",
        "unit_code": "U1",
    }
    processing = {**received, "event_id": "b", "status": "processing"}
    processing["occurred_at"] = "2024-03-05T08:00:00+07:00"
    await push_shuffled(client, ingest_headers, [received], seed=0)

    async def snapshot() -> list[tuple[Any, ...]]:
        async with db.sessionmaker() as session:
            rows = await session.execute(select(rollups.rollups).order_by("span", "day"))
            return [tuple(r) for r in rows]

    before = await snapshot()
    await push_shuffled(client, ingest_headers, [processing], seed=0)
    assert await snapshot() == before
    async with db.sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(rollups.rollups))
    assert count == 3  # the day, the month and the year of the receipt


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("2024-01-01", "2024-12-31", [("m", "2024-01-01", "2024-12-31")]),
        (
            "2024-01-20",
            "2024-05-10",
            [
                ("m", "2024-02-01", "2024-04-30"),
                ("d", "2024-01-20", "2024-01-31"),
                ("d", "2024-05-01", "2024-05-10"),
            ],
        ),
        ("2024-02-10", "2024-02-20", [("d", "2024-02-10", "2024-02-20")]),
        ("2024-01-31", "2024-02-28", [("d", "2024-01-31", "2024-02-28")]),
        ("2024-12-01", "2024-12-31", [("m", "2024-12-01", "2024-12-31")]),
        (
            "2023-12-15",
            "2024-01-31",
            [("m", "2024-01-01", "2024-01-31"), ("d", "2023-12-15", "2023-12-31")],
        ),
    ],
)
def test_rollup_ranges_split_whole_months_from_edge_days(
    first: str, last: str, expected: list[tuple[str, str, str]]
) -> None:
    got = rollup_ranges(date.fromisoformat(first), date.fromisoformat(last))
    assert [(s, a.isoformat(), b.isoformat()) for s, a, b in got] == expected


async def test_upgrade_fills_the_end_dates_of_older_dossiers(
    db: Database, client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    """A database from before ``ended_date`` gets it in the configured zone, as the fold
    writes it."""
    await push_shuffled(client, ingest_headers, history(7, 30), seed=8)
    ended = select(Dossier.code, Dossier.ended_date).where(Dossier.ended_at.is_not(None))
    async with db.sessionmaker() as session, session.begin():
        folded = {c: d for c, d in await session.execute(ended)}
        await session.execute(update(Dossier).values(ended_date=None))
    assert await fill_ended_dates(db.settings.database_url) == len(folded) > 10
    async with db.sessionmaker() as session:
        assert {c: d for c, d in await session.execute(ended)} == folded


async def test_concurrent_batches_from_two_instances_keep_the_rollups_exact(
    app: FastAPI,
    db: Database,
    client: httpx.AsyncClient,
    database_url: str,
    ingest_headers: dict[str, str],
) -> None:
    """Batches sharing dossiers and days, in flight at once on two app instances: the rollups
    then equal a recount from the dossiers."""
    rng = random.Random(12)
    batches = make_batches(rng, history(12, 80), min_size=3, max_size=15)
    async with other_instance(database_url) as worker2:
        workers = [client, worker2]
        responses = await asyncio.gather(
            *(
                workers[i % 2].post(
                    "/api/v1/events/batch", json={"events": b}, headers=ingest_headers
                )
                for i, b in enumerate(batches)
            )
        )
    assert {r.status_code for r in responses} == {200}

    async def nonzero_rows() -> set[tuple[Any, ...]]:
        async with db.sessionmaker() as session:
            kept = set()
            # the sums follow the key columns (span, day, unit; and days)
            for target, keys in ((rollups.rollups, 3), (rollups.rollup_days, 4)):
                for row in await session.execute(select(target)):
                    values = tuple(row)
                    if any(values[keys:]):
                        kept.add((target.name, *values))
            return kept

    maintained = await nonzero_rows()
    async with db.sessionmaker() as session, session.begin():
        await rollups.rebuild(session)
    assert maintained == await nonzero_rows()
    assert len(maintained) > 100


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("2024-01-01", "2024-12-31", [("y", "2024-01-01", "2024-12-31")]),
        (
            "2023-07-01",
            "2024-12-31",
            [("y", "2024-01-01", "2024-12-31"), ("m", "2023-07-01", "2023-12-31")],
        ),
        (
            "2022-12-15",
            "2024-02-10",
            [
                ("y", "2023-01-01", "2023-12-31"),
                ("d", "2022-12-15", "2022-12-31"),
                ("m", "2024-01-01", "2024-01-31"),
                ("d", "2024-02-01", "2024-02-10"),
            ],
        ),
        (  # no whole year
            "2024-01-01",
            "2024-12-30",
            [("m", "2024-01-01", "2024-11-30"), ("d", "2024-12-01", "2024-12-30")],
        ),
    ],
)
def test_rollup_ranges_take_whole_years_from_the_year_rows(
    first: str, last: str, expected: list[tuple[str, str, str]]
) -> None:
    got = rollup_ranges(date.fromisoformat(first), date.fromisoformat(last), years=True)
    assert [(s, a.isoformat(), b.isoformat()) for s, a, b in got] == expected


def test_rollup_ranges_take_no_year_rows_unless_asked() -> None:
    got = rollup_ranges(date(2023, 1, 1), date(2024, 12, 31))
    assert [s for s, _, _ in got] == ["m"]


TWO_YEARS = {"start": date(2023, 1, 2), "spread": 540}  # received 2 January 2023 … June 2024
LATER = datetime(2025, 1, 1, tzinfo=UTC)  # every bucket below has ended


async def rollup_rows(db: Database) -> dict[str, set[tuple[Any, ...]]]:
    """Every row of the three rollup tables with a sum that is not zero, per table."""
    tables = [
        (rollups.rollups, 3),
        (rollups.rollup_days, 4),
        (rollups.rollup_net_days, 4),
    ]  # the sums follow the key columns (span, day, unit; and days)
    out: dict[str, set[tuple[Any, ...]]] = {}
    async with db.sessionmaker() as session:
        for target, keys in tables:
            rows = {tuple(r) for r in await session.execute(select(target))}
            out[target.name] = {r for r in rows if any(r[keys:])}
    return out


def years_from_months(rows: set[tuple[Any, ...]], keys: int) -> set[tuple[Any, ...]]:
    """The year rows that summing ``rows``' month rows gives (zero sums left out)."""
    years: dict[tuple[Any, ...], list[int]] = {}
    for row in rows:
        if row[0] == rollups.MONTH:
            key = (rollups.YEAR, row[1].replace(month=1), *row[2:keys])
            sums = years.setdefault(key, [0] * (len(row) - keys))
            for i, value in enumerate(row[keys:]):
                sums[i] += value
    return {(*k, *v) for k, v in years.items() if any(v)}


async def test_year_rows_are_the_sums_of_their_months_and_a_rebuild_keeps_them(
    db: Database, client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    await push_shuffled(client, ingest_headers, history(21, 150, **TWO_YEARS), seed=22)
    maintained = await rollup_rows(db)
    for name, keys in (
        ("metric_rollups", 3),
        ("metric_rollup_days", 4),
        ("metric_rollup_net_days", 4),
    ):
        years = {r for r in maintained[name] if r[0] == rollups.YEAR}
        assert {r[1] for r in years} == {date(2023, 1, 1), date(2024, 1, 1)}, name
        assert years == years_from_months(maintained[name], keys), name
    async with db.sessionmaker() as session, session.begin():
        await rollups.rebuild(session)
    assert await rollup_rows(db) == maintained


async def test_the_migration_fills_the_year_rows_from_the_month_rows(
    db: Database,
    client: httpx.AsyncClient,
    ingest_headers: dict[str, str],
    database_url: str,
) -> None:
    await push_shuffled(client, ingest_headers, history(23, 100, **TWO_YEARS), seed=24)
    maintained = await rollup_rows(db)
    config = alembic_config(database_url)
    await asyncio.to_thread(command.downgrade, config, "0018_resolved_later")
    assert not any(r[0] == rollups.YEAR for rows in (await rollup_rows(db)).values() for r in rows)
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await rollup_rows(db) == maintained


async def test_whole_years_answer_as_the_dossiers_do(
    db: Database, client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    await push_shuffled(client, ingest_headers, history(25, 150, **TWO_YEARS), seed=26)
    cases = [
        (date(2023, 1, 1), date(2023, 12, 31), Period.none),
        (date(2023, 1, 1), date(2023, 12, 31), Period.year),
        (date(2023, 1, 1), date(2024, 6, 30), Period.year),  # a year and a half
        (date(2023, 7, 1), date(2024, 12, 31), Period.year),
        (date(2023, 1, 1), date(2024, 12, 31), Period.none),
    ]
    for first, last, period in cases:
        for group_by in (GroupBy.none, GroupBy.unit):
            fast, slow = await both_ways(db, first, last, period, group_by, Scope(), now=LATER)
            expected = drop_empty(nonzero(slow))
            assert drop_empty(nonzero(fast)) == expected, (first, last, period, group_by)
            assert expected["counts"] and expected["processing_days"]


async def keep_only_year_rows(db: Database, year: int) -> None:
    """Delete the day and month rows of ``year`` from the three rollup tables: what still
    answers as the dossiers do reads the year rows."""
    async with db.sessionmaker() as session, session.begin():
        for target in (rollups.rollups, rollups.rollup_days, rollups.rollup_net_days):
            await session.execute(
                delete(target).where(
                    target.c.span != rollups.YEAR,
                    target.c.day >= date(year, 1, 1),
                    target.c.day <= date(year, 12, 31),
                )
            )


async def test_a_whole_year_is_read_from_its_year_rows(
    db: Database, client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    """Without the month and day rows of 2023, its intake and resolution figures are still
    those of the dossiers (the backlog at its end adds up the years before it from their year
    rows, and its own months from their month rows)."""
    await push_shuffled(client, ingest_headers, history(27, 100, **TWO_YEARS), seed=28)
    await keep_only_year_rows(db, 2023)
    for period in (Period.none, Period.year):
        fast, slow = await both_ways(
            db, date(2023, 1, 1), date(2023, 12, 31), period, GroupBy.unit, Scope(), now=LATER
        )
        summed = [drop_empty(nonzero(answer)) for answer in (fast, slow)]
        for figures in summed:
            figures["counts"] = {
                k: {n: v for n, v in c.items() if n in rollups.ROLLUP_COUNTS}
                for k, c in figures["counts"].items()
            }
        assert summed[0] == summed[1], period
        assert summed[1]["counts"] and summed[1]["processing_days"]


async def test_the_backlog_carries_the_years_before_from_their_year_rows(
    db: Database, client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    """Without the month and day rows of 2023, the backlog at the ends of 2024's buckets (and
    every other figure of 2024) is still that of the dossiers: the dossiers that entered and
    left it in 2023 are read from 2023's year rows."""
    await push_shuffled(client, ingest_headers, history(31, 150, **TWO_YEARS), seed=32)
    await keep_only_year_rows(db, 2023)
    for first, last in (
        (date(2024, 1, 1), date(2024, 6, 30)),
        (date(2024, 2, 10), date(2024, 9, 20)),
    ):
        for period in (Period.none, Period.quarter):
            for group_by in (GroupBy.none, GroupBy.unit):
                fast, slow = await both_ways(db, first, last, period, group_by, Scope(), now=LATER)
                expected = drop_empty(nonzero(slow))
                assert drop_empty(nonzero(fast)) == expected, (first, last, period, group_by)
                backlog = [c.get("in_progress", 0) for c in expected["counts"].values()]
                assert sum(backlog) > 0, (first, last, period, group_by)


async def test_months_and_quarters_of_a_year_keep_their_own_figures(
    db: Database, client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    """Monthly and quarterly buckets over a whole year read no year row (which would land in
    January's bucket)."""
    await push_shuffled(client, ingest_headers, history(29, 150, **TWO_YEARS), seed=30)
    for period in (Period.month, Period.quarter):
        for group_by in (GroupBy.none, GroupBy.unit):
            fast, slow = await both_ways(
                db, date(2023, 1, 1), date(2023, 12, 31), period, group_by, Scope(), now=LATER
            )
            expected = drop_empty(nonzero(slow))
            assert drop_empty(nonzero(fast)) == expected, (period, group_by)
            assert len({b for _, b in expected["processing_days"]}) > 1, (period, group_by)
