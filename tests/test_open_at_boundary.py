"""Open and overdue at an instant t: the dossier lists and every way the metrics count the
backlog agree about dossiers that end, or are received, exactly at t (formulas.OPEN)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import httpx

from app.db import Database
from app.metrics.formulas import COUNTS
from app.metrics.lists import ListQuery, ListState, list_dossiers
from app.metrics.queries import GroupBy, Period, Scope, aggregate, make_buckets, plan
from tests.metrics_helpers import dossier, push

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
T = datetime(2024, 3, 11, tzinfo=ZONE)  # the start of 11 March: the end of 10 March
LATER = datetime(2030, 1, 1, tzinfo=ZONE)
BACKLOG = ("in_progress", "in_progress_overdue", "in_progress_within_deadline")


async def _seed(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    before = "2024-03-01T08:00:00+07:00"
    await push(
        client,
        headers,
        # resolved exactly at t, due before it: still open (and overdue) at t
        dossier(
            "ENDS_AT_T", received=before, due="2024-03-05T17:00:00+07:00", resolved=T.isoformat()
        )
        # resolved a second before t: no longer open at t
        + dossier(
            "ENDS_BEFORE_T",
            received=before,
            due="2024-03-05T17:00:00+07:00",
            resolved="2024-03-10T23:59:59+07:00",
        )
        # received exactly at t: not yet open at t
        + dossier("RECEIVED_AT_T", received=T.isoformat(), due="2024-03-12T17:00:00+07:00")
        # due exactly at t: open, not overdue at t (due_at is not before t)
        + dossier("DUE_AT_T", received=before, due=T.isoformat())
        + dossier("OPEN", received=before, due="2024-03-20T17:00:00+07:00"),
    )


async def _listed(db: Database, state: ListState) -> set[str]:
    query = ListQuery(state, None, None, 366, 1, 500)
    async with db.sessionmaker() as session:
        _, items = await list_dossiers(session, scope=Scope(), query=query, now=T, today=T.date())
    return {item["dossier_code"] for item in items}


async def _backlog(
    db: Database, first: date, last: date, period: Period, now: datetime, use_rollups: bool
) -> dict[str, int]:
    buckets = make_buckets(first, last, period, ZONE, now)
    assert buckets[-1].end == T
    async with db.sessionmaker() as session:
        result = await aggregate(
            session,
            scope=Scope(),
            buckets=buckets,
            period=period,
            group_by=GroupBy.none,
            counts=BACKLOG,
            use_rollups=use_rollups,
        )
    return result.counts[(None, buckets[-1].number)]


async def test_lists_and_metrics_agree_at_the_instant_a_dossier_ends(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], db: Database
) -> None:
    await _seed(client, ingest_headers)
    open_ = await _listed(db, ListState.open)
    overdue = await _listed(db, ListState.overdue)
    due_soon = await _listed(db, ListState.due_soon)
    assert open_ == {"ENDS_AT_T", "DUE_AT_T", "OPEN"}
    assert overdue == {"ENDS_AT_T"}
    assert due_soon == {"DUE_AT_T", "OPEN"}
    expected = {
        "in_progress": len(open_),
        "in_progress_overdue": len(overdue),
        "in_progress_within_deadline": len(open_ - overdue),
    }
    first = date(2024, 3, 1)
    ways = {
        # a bucket that ended (running totals of the rollups), and the same from dossiers
        "rollups": (first, date(2024, 3, 10), Period.none, LATER, True),
        "dossiers": (first, date(2024, 3, 10), Period.none, LATER, False),
        # a bucket that ends now, at t: counted from the dossiers
        "now": (first, date(2024, 3, 11), Period.none, T, True),
        # several buckets at once: by bucket indexes
        "bucket indexes": (date(2024, 2, 1), date(2024, 3, 11), Period.month, T, False),
    }
    for way, args in ways.items():
        assert await _backlog(db, *args) == expected, way


def test_each_way_is_the_plan_it_claims() -> None:
    """The ways above are the plan's distinct backlog sources."""
    sources = {}
    for first, last, period, now, use_rollups in (
        (date(2024, 3, 1), date(2024, 3, 10), Period.none, LATER, True),
        (date(2024, 3, 1), date(2024, 3, 10), Period.none, LATER, False),
        (date(2024, 3, 1), date(2024, 3, 11), Period.none, T, True),
    ):
        steps = plan(
            buckets=make_buckets(first, last, period, ZONE, now),
            group_by=GroupBy.none,
            counts=BACKLOG,
            use_rollups=use_rollups,
        ).steps
        sources[(last, use_rollups)] = [s.source.value for s in steps]
    assert sources == {
        (date(2024, 3, 10), True): ["backlog_totals"],
        (date(2024, 3, 10), False): ["open_dossiers"],
        (date(2024, 3, 11), True): ["open_dossiers"],
    }
    assert all(COUNTS[name].span is not None for name in BACKLOG)
