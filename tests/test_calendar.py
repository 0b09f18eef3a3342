"""Working days: weekends, Vietnamese public holidays (Tết), admin overrides."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from sqlalchemy import select

from app.db import Database
from app.reference.calendar import delete_override, ensure_work_days
from app.reference.models import CalendarOverride
from app.reference.workdays import working_days
from tests.factories import event


@pytest.fixture
async def calendar_db(db: Database) -> AsyncIterator[Database]:
    """The database; the test's overrides are removed after it, through the calendar service,
    so ``work_days`` is back to the defaults for the tests that follow."""
    async with db.sessionmaker() as session:
        await ensure_work_days(session=session)
        await session.commit()
    yield db
    async with db.sessionmaker() as session:
        for day in (await session.execute(select(CalendarOverride.day))).scalars().all():
            await delete_override(session=session, day=day)
        await session.commit()


async def _count(db: Database, after: str, through: str) -> int:
    async with db.read_sessionmaker() as session:
        return await working_days(
            session=session, after=date.fromisoformat(after), through=date.fromisoformat(through)
        )


async def test_same_day_counts_zero_working_days(calendar_db: Database) -> None:
    assert await _count(calendar_db, "2024-03-05", "2024-03-05") == 0


async def test_a_week_counts_five_working_days(calendar_db: Database) -> None:
    assert await _count(calendar_db, "2024-03-04", "2024-03-11") == 5


async def test_tet_inside_a_count_is_skipped(calendar_db: Database) -> None:
    # Wed 7 Feb 2024 -> Fri 16 Feb 2024: 8-14 Feb is Tết Giáp Thìn, so only 15 and 16 count
    assert await _count(calendar_db, "2024-02-07", "2024-02-16") == 2


async def test_reunification_and_labour_day_are_skipped(calendar_db: Database) -> None:
    # Fri 26 Apr -> Fri 3 May 2024: 29 Apr (substituted), 30 Apr, 1 May off; 2 and 3 May count
    assert await _count(calendar_db, "2024-04-26", "2024-05-03") == 2


async def test_override_makes_a_saturday_a_working_day_and_delete_restores(
    calendar_db: Database, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    put = await client.put(
        "/api/v1/calendar/2024-05-04", json={"working": True, "note": "Làm bù"}, headers=admin
    )
    assert put.status_code == 201, put.text
    assert put.json()["note"] == "Làm bù"
    assert await _count(calendar_db, "2024-05-03", "2024-05-06") == 2
    assert await _count(calendar_db, "2024-05-06", "2024-05-10") == 4
    deleted = await client.delete("/api/v1/calendar/2024-05-04", headers=admin)
    assert deleted.status_code == 204
    assert await _count(calendar_db, "2024-05-03", "2024-05-06") == 1


async def test_override_makes_a_weekday_a_day_off(
    calendar_db: Database, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    put = await client.put("/api/v1/calendar/2024-03-06", json={"working": False}, headers=admin)
    assert put.status_code == 201
    again = await client.put("/api/v1/calendar/2024-03-06", json={"working": False}, headers=admin)
    assert again.status_code == 200
    assert await _count(calendar_db, "2024-03-04", "2024-03-11") == 4


async def test_calendar_lists_holidays_and_overrides_of_the_year(
    calendar_db: Database,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    await client.put("/api/v1/calendar/2024-05-04", json={"working": True}, headers=admin)
    response = await client.get("/api/v1/calendar", params={"year": 2024}, headers=read_headers)
    assert response.status_code == 200
    days = {d["date"]: d for d in response.json()["days"]}
    assert days["2024-02-12"]["working"] is False and days["2024-02-12"]["holiday"]
    assert days["2024-05-04"] == {
        "date": "2024-05-04",
        "working": True,
        "default_working": False,
        "holiday": None,
        "override": True,
        "note": None,
    }
    assert "2024-03-09" not in days  # an ordinary Saturday is not listed


async def test_delete_of_a_day_without_override_is_404(
    calendar_db: Database, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.delete("/api/v1/calendar/2024-03-06", headers=admin)
    assert response.status_code == 404


async def test_override_outside_the_calendar_is_422_with_the_field(
    calendar_db: Database, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.put(
        "/api/v1/calendar/1900-01-01", json={"working": True}, headers=admin
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "day"]


async def test_not_a_date_is_422(
    calendar_db: Database, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.put(
        "/api/v1/calendar/2024-02-30", json={"working": True}, headers=admin
    )
    assert response.status_code == 422


async def test_metrics_count_processing_days_with_the_overrides(
    calendar_db: Database,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    # received Fri 1 Mar 2024, resolved Mon 4 Mar: 1 working day; 2 once Saturday is worked
    events = [
        event("D1", "received", "2024-03-01T08:00:00+07:00", unit="U1"),
        event("D1", "resolved", "2024-03-04T08:00:00+07:00", unit="U1"),
    ]
    response = await client.post(
        "/api/v1/events/batch", json={"events": events}, headers=ingest_headers
    )
    assert response.json()["accepted"] == 2
    params = {"from": "2024-03-01", "to": "2024-03-31"}

    async def p50() -> int:
        answer = await client.get("/api/v1/metrics/delay", params=params, headers=read_headers)
        value: int = answer.json()["rows"][0]["processing_days_p50"]
        return value

    assert await p50() == 1
    await client.put("/api/v1/calendar/2024-03-02", json={"working": True}, headers=admin)
    assert await p50() == 2
