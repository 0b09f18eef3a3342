"""The worked example of docs/metrics.md ("The national index", "Worked example"): one month
of dossiers (March 2024, no public holiday in it) whose every figure is computed by hand in
``tests/test_national_index.py`` (the dossiers A-J are described there) and whose scorecard,
36.833 of 52 points, the dashboard shows (``tests/browser/test_dashboard_score.py``).

The events are of unit ``U1``; procedure ``P3`` has ``duration_working_days`` 3 (``put_p3``).
"""

from __future__ import annotations

from typing import Any

import httpx


def at(day: int, hour: int, month: int = 3) -> str:
    return f"2024-{month:02d}-{day:02d}T{hour:02d}:00:00+07:00"


def month_events() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []

    def ev(code: str, status: str, occurred: str, **fields: Any) -> None:
        events.append(
            {
                "event_id": f"{code}-{len(events)}",
                "dossier_code": code,
                "status": status,
                "occurred_at": occurred,
                "unit_code": "U1",
                **fields,
            }
        )

    ev(
        "A",
        "received",
        at(4, 8),
        channel="online",
        procedure_code="P3",
        fee_required=True,
        paid_online=True,
        components_total=2,
        components_digitized=2,
    )
    ev("A", "supplement_requested", at(5, 9))
    ev("A", "supplement_requested", at(6, 9))  # the same request, repeated
    ev("A", "processing", at(8, 10))
    ev("A", "resolved", at(14, 9), result_digitized=True)
    ev(
        "B",
        "received",
        at(4, 8),
        channel="online",
        due_at=at(8, 17),
        fee_required=True,
        paid_online=False,
        components_total=2,
        components_digitized=1,
    )
    ev("B", "supplement_requested", at(6, 9), due_at=at(15, 17))
    ev("B", "processing", at(7, 9))
    ev("B", "resolved", at(13, 10), result_digitized=False)
    ev(
        "C",
        "received",
        at(4, 8),
        channel="direct",
        due_at=at(20, 17),
        fee_required=True,
        paid_online=True,
    )
    ev("C", "supplement_requested", at(5, 9))
    ev("C", "processing", at(6, 9))
    ev("C", "supplement_requested", at(7, 9))
    ev("C", "processing", at(8, 9))
    ev("C", "resolved", at(11, 9), result_digitized=True)
    ev(
        "D",
        "received",
        at(4, 8),
        channel="postal",
        due_at=at(11, 17),
        components_total=1,
        components_digitized=1,
    )
    ev("D", "supplement_requested", at(8, 9))
    ev("E", "received", at(4, 8), channel="online", due_at=at(6, 17))
    ev("E", "payment_requested", at(7, 9))
    ev(
        "F",
        "received",
        at(4, 8),
        channel="direct",
        due_at=at(30, 17, month=4),
        components_total=1,
        components_digitized=0,
    )
    ev("G", "received", at(4, 8), channel="online")
    ev("G", "refused", at(20, 9))
    ev("H", "refused", at(5, 9), channel="online")
    ev("I", "received", at(4, 8))
    ev(
        "J",
        "received",
        at(28, 8),
        channel="online",
        due_at=at(10, 17, month=4),
        components_total=1,
        components_digitized=1,
    )
    ev("J", "resolved", at(3, 9, month=4), result_digitized=False)
    return events


async def put_p3(client: httpx.AsyncClient, admin: dict[str, str], days: int | None) -> None:
    body = {
        "name": "Thủ tục 3 ngày",
        "level": "commune",
        "online_service": "full",
        "duration_working_days": days,
    }
    response = await client.put("/api/v1/procedures/P3", json=body, headers=admin)
    assert response.status_code in (200, 201), response.text
    assert response.json()["duration_working_days"] == days
