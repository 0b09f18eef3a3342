"""The Đô Lương district report (DOMAIN.md), reproduced from events through the HTTP API.

The demo province is pushed as shuffled batches with re-sent events; around the report's
dossiers it holds refused, withdrawn and carried-over dossiers and other units. Every figure of
the report is then read back through the metrics API.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.db import Database
from app.demo import (
    COMMUNE_NAMES,
    DISTRICT,
    NEW_COMMUNES,
    NEW_OTHER_COMMUNE,
    DemoData,
    build_demo,
    commune_code,
    new_commune_code,
)
from app.reference import service as reference
from app.reference.schemas import ProcedureIn, UnitItem
from tests.conftest import ADMIN_TOKEN, empty_tables

BATCH = 5000


async def _load_reference(app: FastAPI, demo: DemoData) -> None:
    """Units and procedures in one transaction (the events are what goes through HTTP)."""
    database: Database = app.state.db
    async with database.sessionmaker() as session:
        items = [UnitItem.model_validate(unit) for unit in demo.units]
        await reference.put_units(session=session, items=items)
        for procedure in demo.procedures:
            fields = {k: procedure[k] for k in ("name", "level", "online_service", "sector_code")}
            await reference.put_procedure(
                session=session, code=procedure["code"], data=ProcedureIn(**fields)
            )
        await session.commit()


async def _push(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], demo: DemoData
) -> dict[str, int]:
    """All events, plus a tenth of them re-sent, shuffled, in batches of up to 5000."""
    rng = random.Random(7)
    events = list(demo.events)
    events += rng.sample(demo.events, len(demo.events) // 10)
    rng.shuffle(events)
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
    for start in range(0, len(events), BATCH):
        response = await client.post(
            "/api/v1/events/batch",
            json={"events": events[start : start + BATCH]},
            headers=ingest_headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        for key in totals:
            totals[key] += body[key]
    return totals


@dataclass
class Loaded:
    client: httpx.AsyncClient
    read_headers: dict[str, str]
    demo: DemoData


@pytest.fixture(scope="module")
async def district(app: FastAPI) -> AsyncIterator[Loaded]:
    """The demo province loaded once per backend for this module's tests."""
    database: Database = app.state.db
    async with database.engine.begin() as conn:
        await empty_tables(conn)
    demo = build_demo(seed=0)
    await _load_reference(app, demo)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        keys = {}
        for scope in ("ingest", "read"):
            body = {"name": f"replay-{scope}", "scopes": [scope], "source": "igate"}
            response = await client.post("/api/v1/admin/api-keys", json=body, headers=admin)
            keys[scope] = {"Authorization": f"Bearer {response.json()['key']}"}
        totals = await _push(client, keys["ingest"], demo)
        assert totals == {
            "accepted": len(demo.events),
            "duplicates": len(demo.events) // 10,
            "rejected": 0,
        }
        yield Loaded(client, keys["read"], demo)


async def _row(
    client: httpx.AsyncClient, headers: dict[str, str], family: str, query: dict[str, str]
) -> dict[str, Any]:
    response = await client.get(f"/api/v1/metrics/{family}", params=query, headers=headers)
    assert response.status_code == 200, response.text
    (row,) = response.json()["rows"]
    assert isinstance(row, dict)
    return row


async def test_the_replay_reproduces_every_figure_of_the_district_report(
    district: Loaded,
) -> None:
    client, read_headers, expected = district.client, district.read_headers, district.demo.expected

    # 1 Jan – 3 May 2024, district desk: 645 online of 645 = 100 %
    desk = await _row(client, read_headers, "online", expected["district_desk_online"]["query"])
    assert (desk["received_online"], desk["received"]) == (645, 645)
    assert desk["online_rate"] == 1.0
    assert (desk["online_rate_numerator"], desk["online_rate_denominator"]) == (645, 645)

    # same period, commune level: 3,555 online of 3,999 = 88.9 %
    communes = await _row(client, read_headers, "online", expected["commune_online"]["query"])
    assert (communes["received_online"], communes["received"]) == (3555, 3999)
    assert round(communes["online_rate"] * 100, 1) == 88.9

    # Q1 2024, whole district
    q1 = await _row(client, read_headers, "digitization", expected["q1_digitization"]["query"])
    assert (q1["with_digitized_component"], q1["received"]) == (3350, 3351)
    assert (
        q1["digitized_component_rate_numerator"],
        q1["digitized_component_rate_denominator"],
    ) == (
        3350,
        3351,
    )
    assert (q1["fully_digitized"], q1["received"]) == (3343, 3351)
    assert round(q1["fully_digitized_rate"] * 100, 2) == 99.76
    assert (q1["result_digitized"], q1["resolved"]) == (3294, 3294)
    assert q1["result_digitized_rate"] == 1.0

    # procedures: district 261 = 111 + 150; commune 156 = 36 + 114
    response = await client.get("/api/v1/metrics/procedures", headers=read_headers)
    levels = {r["level"]: r for r in response.json()["rows"]}
    assert {k: levels["district"][k] for k in ("total", "full_online", "partial_online")} == {
        "total": 261,
        "full_online": 111,
        "partial_online": 150,
    }
    assert {k: levels["commune"][k] for k in ("total", "full_online", "partial_online")} == {
        "total": 156,
        "full_online": 36,
        "partial_online": 114,
    }

    # and the figures the demo declares are the ones just read
    for name in ("district_desk_online", "commune_online", "q1_digitization"):
        spec = expected[name]
        row = await _row(client, read_headers, spec["family"], spec["query"])
        assert {k: row[k] for k in spec["figures"]} == spec["figures"]


async def test_the_replay_is_consistent_across_families_and_reports(district: Loaded) -> None:
    client, read_headers = district.client, district.read_headers
    q1 = {"from": "2024-01-01", "to": "2024-03-31", "unit": DISTRICT}
    summary = await _row(client, read_headers, "summary", q1)
    delay = await _row(client, read_headers, "delay", q1)
    assert summary["resolved"] == delay["resolved"] == 3294
    assert (
        delay["resolved_early"] + delay["resolved_on_time"] + delay["resolved_late"]
        == delay["resolved"]
    )
    assert delay["resolved_late"] > 0  # the land and construction sectors miss deadlines
    by_unit = await client.get(
        "/api/v1/metrics/online", params=q1 | {"group_by": "unit"}, headers=read_headers
    )
    assert sum(r["received"] for r in by_unit.json()["rows"]) == 3351
    report = await client.get("/api/v1/reports/processing", params=q1, headers=read_headers)
    total = report.json()["total"]
    assert (total["received_in_period"], total["resolved_total"]) == (3351, 3294)
    assert total["carried_over"] > 0
    months = await client.get(
        "/api/v1/metrics/online", params=q1 | {"period": "month"}, headers=read_headers
    )
    assert sum(r["received"] for r in months.json()["rows"]) == 3351


def test_the_demo_is_deterministic_and_every_seed_keeps_the_figures() -> None:
    first, again, other = build_demo(0), build_demo(0), build_demo(1)
    assert first.events == again.events
    assert first.events != other.events
    assert first.expected == other.expected


async def test_monthly_buckets_equal_the_months_asked_one_by_one(district: Loaded) -> None:
    client, read_headers = district.client, district.read_headers
    response = await client.get(
        "/api/v1/metrics/summary",
        params={"from": "2024-01-01", "to": "2024-04-30", "unit": DISTRICT, "period": "month"},
        headers=read_headers,
    )
    months = response.json()["rows"]
    assert [m["period"] for m in months] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    for month in months:
        query = {"from": month["period_from"], "to": month["period_to"], "unit": DISTRICT}
        alone = await _row(client, read_headers, "summary", query)
        bucket = {k: v for k, v in month.items() if not k.startswith("period")}
        assert bucket == alone, month["period"]


async def test_monthly_buckets_by_sector_equal_the_months_asked_one_by_one(
    district: Loaded,
) -> None:
    client, read_headers = district.client, district.read_headers
    query = {"from": "2023-12-01", "to": "2024-05-31", "unit": DISTRICT, "group_by": "sector"}
    response = await client.get(
        "/api/v1/metrics/delay", params=query | {"period": "month"}, headers=read_headers
    )
    rows = response.json()["rows"]
    months = sorted({(r["period_from"], r["period_to"]) for r in rows})
    assert len(months) == 6
    for first, last in months:
        alone = await client.get(
            "/api/v1/metrics/delay",
            params=query | {"from": first, "to": last},
            headers=read_headers,
        )
        expected = {r["sector_code"]: r for r in alone.json()["rows"]}
        for row in (r for r in rows if r["period_from"] == first):
            bucket = {k: v for k, v in row.items() if not k.startswith("period")}
            assert bucket == expected[row["sector_code"]], (first, row["sector_code"])


async def test_a_new_communes_2024_trend_runs_through_the_communes_merged_into_it(
    district: Loaded,
) -> None:
    client, read_headers = district.client, district.read_headers
    new = new_commune_code(1)
    query = {"from": "2024-01-01", "to": "2024-03-31", "unit": new}
    plain = await _row(client, read_headers, "online", query)
    assert plain["received"] == 0  # it did not exist yet
    lineage = await _row(client, read_headers, "online", query | {"lineage": "true"})
    merged = [commune_code(i) for i in NEW_COMMUNES[0][1]]
    own = [await _row(client, read_headers, "online", query | {"unit": c}) for c in merged]
    assert lineage["received"] == sum(r["received"] for r in own) > 0
    # and across July 2025: its own dossiers after, its predecessors' before
    months = await client.get(
        "/api/v1/metrics/online",
        params={"from": "2025-05-01", "to": "2025-08-31", "unit": new, "period": "month"}
        | {"lineage": "true"},
        headers=read_headers,
    )
    assert all(r["received"] > 0 for r in months.json()["rows"])


async def test_the_rankings_of_q3_2025_list_only_todays_communes(district: Loaded) -> None:
    client, read_headers = district.client, district.read_headers
    params = {"indicator": "online_rate", "level": "commune"}
    response = await client.get(
        "/api/v1/rankings",
        params=params | {"from": "2025-07-01", "to": "2025-09-30"},
        headers=read_headers,
    )
    ranked = {r["unit_code"] for r in response.json()["rows"]}
    expected = {new_commune_code(n) for n in range(1, len(NEW_COMMUNES) + 1)}
    assert ranked == expected | {NEW_OTHER_COMMUNE[1]}
    before = await client.get(
        "/api/v1/rankings",
        params=params | {"from": "2024-01-01", "to": "2024-03-31"},
        headers=read_headers,
    )
    assert len(before.json()["rows"]) == len(COMMUNE_NAMES) + 3
