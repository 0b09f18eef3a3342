"""The national index, computed by hand (CONTRACT.md v1.1, "Intake clarifications" and "The
national index"; DOMAIN.md, "Decision 766 as the portal computes it").

One month of dossiers (March 2024; no public holiday in it), every figure below worked out
from the rules by hand (the events: ``tests/worked_example.py``; the same month is the worked
example of docs/metrics.md). Receipt is Monday 4 March for all but J. Working days d with
after < d <= through; March 2024: 4-8, 11-15, 18-22, 25-29 are working days.

- A: no due_at, procedure P3 (3 working days); supplement requested Tue 5 09:00, the same
  status again Wed 6 (the same request), processing Fri 8 10:00 (wait: 6, 7, 8 = 3 days),
  resolved Thu 14. Due: the (3 + 3)-th working day after 4 March = Tue 12 17:00: late (both
  definitions). Gross 8 working days (5-8, 11-14), net 5. Online, fee paid online, e-result,
  2/2 components digitized.
- B: due Fri 8 17:00, moved to Fri 15 by its supplement request (Wed 6), processing Thu 7,
  resolved Wed 13: early; portal on time. Gross 7, net 6. Online, fee not paid online, no
  e-result, 1/2 digitized.
- C: due Wed 20; two supplement requests (Tue 5, Thu 7), each answered the next day;
  resolved Mon 11: early by the contract, NOT on time by the portal (two requests). Gross 5,
  net 3. Direct, fee paid online, e-result.
- D: due Mon 11 17:00; supplement requested Fri 8, still waiting: open, overdue and paused
  by the contract; on time by the portal (requested before due). Postal, 1/1 digitized.
- E: due Wed 6 17:00; payment requested Thu 7, still waiting: overdue, paused; portal: not
  on time (requested after due). Online.
- F: due 30 April, open: within deadline both ways. Direct, 0/1 digitized.
- G: received, refused Wed 20 ("quá hạn bổ sung"): received (online), closed by the refusal.
- H: refused without ever being received: outside intake.
- I: no channel, no due date, open: received_channel_unknown; on time both ways.
- J: received Thu 28, due 10 April, online, 1/1 digitized, resolved 3 April without an
  e-result: in March open (within deadline) and digitized as the portal judges it at the end
  of March (not resolved by then).
"""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from app.db import Database
from app.dossiers.models import Dossier
from app.migrate import refold_unwaited
from tests.metrics_helpers import metrics, one_row, push, put_unit
from tests.worked_example import month_events, put_p3

MARCH = {"from_": "2024-03-01", "to": "2024-03-31"}


async def _push(client: httpx.AsyncClient, headers: dict[str, str], order: str) -> None:
    events = month_events()
    if order == "shuffled":
        random.Random(7).shuffle(events)
        for start in range(0, len(events), 3):  # small batches: older events arrive later
            await push(client, headers, events[start : start + 3])
    else:
        await push(client, headers, events)


async def _state(client: httpx.AsyncClient, headers: dict[str, str], code: str) -> Any:
    response = await client.get(f"/api/v1/dossiers/{code}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["state"]


@pytest.mark.parametrize("order", ["in_order", "shuffled"])
async def test_the_month_by_hand(
    order: str,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    await put_p3(client, admin, 3)
    await _push(client, ingest_headers, order)

    a = await _state(client, read_headers, "A")
    assert (a["due_at"], a["due_derived"], a["wait_days"]) == ("2024-03-12T10:00:00Z", True, 3)
    assert a["supplement_count"] == 1  # a repeat of the same status is not a second request
    b = await _state(client, read_headers, "B")
    assert (b["due_at"], b["due_derived"], b["wait_days"]) == ("2024-03-15T10:00:00Z", False, 1)
    assert (await _state(client, read_headers, "C"))["supplement_count"] == 2
    d = await _state(client, read_headers, "D")
    assert (d["status"], d["paused_at"]) == ("supplement_requested", "2024-03-08T02:00:00Z")

    online = await one_row(client, read_headers, "online", **MARCH)
    assert {
        k: online[k]
        for k in (
            "received",
            "received_online",
            "received_direct",
            "received_postal",
            "received_channel_unknown",
        )
    } == {
        "received": 9,  # A-G, I, J; not H
        "received_online": 5,  # A, B, E, G, J
        "received_direct": 2,  # C, F
        "received_postal": 1,  # D
        "received_channel_unknown": 1,  # I
    }

    delay = await one_row(client, read_headers, "delay", **MARCH)
    assert {
        k: delay[k]
        for k in (
            "resolved",
            "resolved_early",
            "resolved_on_time",
            "resolved_late",
            "in_progress",
            "in_progress_overdue",
            "in_progress_paused",
        )
    } == {
        "resolved": 3,  # A, B, C
        "resolved_early": 2,  # B, C
        "resolved_on_time": 0,
        "resolved_late": 1,  # A, against its derived due date
        "in_progress": 5,  # D, E, F, I, J (G closed by its refusal)
        "in_progress_overdue": 2,  # D, E: the contract's overdue counts paused dossiers
        "in_progress_paused": 2,  # D, E
    }
    assert (delay["overdue_rate_numerator"], delay["overdue_rate_denominator"]) == (3, 8)
    assert delay["processing_days_mean"] == pytest.approx((8 + 7 + 5) / 3)
    assert (delay["processing_days_p50"], delay["processing_days_p90"]) == (7, 8)
    assert delay["processing_days_net_mean"] == pytest.approx((5 + 6 + 3) / 3)
    assert (delay["processing_days_net_p50"], delay["processing_days_net_p90"]) == (5, 6)

    digitization = await one_row(client, read_headers, "digitization", **MARCH)
    assert (digitization["dossiers_digitized"], digitization["digitized_resolved_later"]) == (2, 1)
    assert (
        digitization["dossiers_digitized_rate_numerator"],
        digitization["dossiers_digitized_rate_denominator"],
    ) == (3, 9)  # A, D (judged now) + J (resolved after 31 March, without an e-result)

    (card,) = (
        await client.get(
            "/api/v1/metrics/scorecard",
            params={"from": "2024-03-01", "to": "2024-03-31"},
            headers=read_headers,
        )
    ).json()["rows"]
    expected = {
        # B resolved on time; D (requested before due), F, I, J open on time: 5 / (3 + 5)
        "progress": (5, 8, 5 / 8 * 20),
        "online_submission": (5, 9, 12.0),  # 55.6 % >= 50 %: full marks
        "online_payment": (2, 3, 2 / 3 * 10),  # A, C of the fee-charging A, B, C
        "electronic_result": (2, 3, 2 / 3 * 6),  # A, C of A, B, C
        "dossiers_digitized": (3, 9, 3 / 9 * 4 / 0.8),  # A, D, J (not resolved by 31 March)
    }
    for key, (numerator, denominator, points) in expected.items():
        assert (card[f"{key}_numerator"], card[f"{key}_denominator"]) == (numerator, denominator), (
            key
        )
        assert card[f"{key}_rate"] == pytest.approx(numerator / denominator), key
        assert card[f"{key}_points"] == pytest.approx(points), key
    assert card["points"] == pytest.approx(sum(p for _, _, p in expected.values()))
    # docs/metrics.md, "Worked example": 12.5 + 12 + 6.667 + 4 + 1.667 = 36.833 of 52
    assert round(card["points"], 3) == 36.833
    assert card["max_points"] == 52
    assert card["points"] == pytest.approx(sum(card[f"{k}_points"] for k in expected))
    # the contract's figures beside the portal's: on time 2 / 3 (B, C), not the portal's
    assert (card["on_time_rate_numerator"], card["on_time_rate_denominator"]) == (2, 3)


async def test_a_duration_set_later_gives_due_dates_and_moves_the_figures(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    await put_p3(client, admin, None)
    await _push(client, ingest_headers, "in_order")
    a = await _state(client, read_headers, "A")
    assert (a["due_at"], a["due_derived"]) == (None, False)
    delay = await one_row(client, read_headers, "delay", **MARCH)
    assert (delay["resolved_late"], delay["resolved_on_time"]) == (0, 1)  # A: no due date
    await put_p3(client, admin, 3)
    assert (await _state(client, read_headers, "A"))["due_at"] == "2024-03-12T10:00:00Z"
    delay = await one_row(client, read_headers, "delay", **MARCH)
    assert (delay["resolved_late"], delay["resolved_on_time"]) == (1, 0)
    await put_p3(client, admin, 8)  # 8 + 3 working days: Tue 19 March, after the resolution
    assert (await _state(client, read_headers, "A"))["due_at"] == "2024-03-19T10:00:00Z"
    delay = await one_row(client, read_headers, "delay", **MARCH)
    assert (delay["resolved_late"], delay["resolved_on_time"]) == (0, 0)  # A now early
    assert delay["resolved_early"] == 3


async def test_a_calendar_change_moves_derived_due_dates_and_net_days(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    await put_p3(client, admin, 3)
    await _push(client, ingest_headers, "in_order")
    try:
        # Thu 7 March a day off: A waited 2 working days (6 and 8)
        response = await client.put(
            "/api/v1/calendar/2024-03-07", json={"working": False}, headers=admin
        )
        assert response.status_code in (200, 201), response.text
        a = await _state(client, read_headers, "A")
        # W = (6, 8] minus 7 = 2; the 5th working day after 4 March skipping 7 is Tue 12
        assert (a["wait_days"], a["due_at"]) == (2, "2024-03-12T10:00:00Z")
        delay = await one_row(client, read_headers, "delay", **MARCH)
        # gross A 7, B 6, C 4; net A 7 - 2, B 6 - 0 (its wait was the 7th only), C 4 - 2
        assert delay["processing_days_mean"] == pytest.approx((7 + 6 + 4) / 3)
        assert delay["processing_days_net_mean"] == pytest.approx((5 + 6 + 2) / 3)
    finally:
        await client.delete("/api/v1/calendar/2024-03-07", headers=admin)
    a = await _state(client, read_headers, "A")
    assert (a["wait_days"], a["due_at"]) == (3, "2024-03-12T10:00:00Z")


async def test_the_scorecard_per_unit_and_period_sums_its_indicators(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    await put_p3(client, admin, 3)
    events = month_events()
    for event in events:  # two units: J and the refused ones elsewhere
        if event["dossier_code"] in ("G", "H", "J"):
            event["unit_code"] = "U2"
    await push(client, ingest_headers, events)
    response = await client.get(
        "/api/v1/metrics/scorecard",
        params={"from": "2024-03-01", "to": "2024-04-30", "group_by": "unit", "period": "month"},
        headers=read_headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    rows = {(r["unit_code"], r["period"]): r for r in body["rows"]}
    assert set(rows) >= {("U1", "2024-03"), ("U1", "2024-04"), ("U2", "2024-03")}
    keys = (
        "progress",
        "online_submission",
        "online_payment",
        "electronic_result",
        "dossiers_digitized",
    )
    for row in body["rows"]:
        scored = [k for k in keys if row[f"{k}_points"] is not None]
        assert row["points"] == pytest.approx(sum(row[f"{k}_points"] for k in scored))
        assert row["max_points"] == sum(row[f"{k}_max_points"] for k in scored)
    u2 = rows[("U2", "2024-03")]
    # G (received, then refused) and J; J open at the end of March and digitized
    assert (u2["online_submission_numerator"], u2["online_submission_denominator"]) == (2, 2)
    assert (u2["dossiers_digitized_numerator"], u2["dossiers_digitized_denominator"]) == (1, 2)
    assert (u2["progress_numerator"], u2["progress_denominator"]) == (1, 1)
    assert (u2["electronic_result_rate"], u2["electronic_result_points"]) == (None, None)
    u2_april = rows[("U2", "2024-04")]  # J resolved 3 April without e-result, before its due
    assert (u2_april["electronic_result_numerator"], u2_april["progress_numerator"]) == (0, 1)
    assert u2_april["online_submission_rate"] is None  # nothing received in April
    assert {u["key"] for u in body["unsupported"]} >= {"transparency", "satisfaction"}
    assert all(u["reason"] for u in body["unsupported"])
    month_rows = await metrics(
        client,
        read_headers,
        "delay",
        from_="2024-03-01",
        to="2024-04-30",
        group_by="unit",
        period="month",
    )
    assert len(month_rows) == len(body["rows"])


async def test_rankings_count_indicator_4_2_as_the_scorecard_does(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    """J (1/1 digitized, received 28 March, resolved 3 April without an electronic result) is
    digitized for March, judged at the end of March; for March-April it is not. The rankings,
    the scorecard and the digitization family say the same for each unit, and judged now J
    would be out of March (0 / 2) and U1 would rank first."""
    await put_unit(client, admin, "P", "province")
    for code in ("U1", "U2"):
        await put_unit(client, admin, code, "commune", parent="P")
    await put_p3(client, admin, 3)
    events = month_events()
    for event in events:  # G (received, refused: no component) and J in U2
        if event["dossier_code"] in ("G", "H", "J"):
            event["unit_code"] = "U2"
    await push(client, ingest_headers, events)

    async def ranked(first: str, last: str) -> dict[str, tuple[int | None, int, int]]:
        params = {"indicator": "dossiers_digitized_rate", "from": first, "to": last, "unit": "P"}
        response = await client.get("/api/v1/rankings", params=params, headers=read_headers)
        assert response.status_code == 200, response.text
        return {
            r["unit_code"]: (r["rank"], r["numerator"], r["denominator"])
            for r in response.json()["rows"]
        }

    async def scored(unit: str, first: str, last: str) -> tuple[int, int]:
        params = {"from": first, "to": last, "unit": unit}
        response = await client.get(
            "/api/v1/metrics/scorecard", params=params, headers=read_headers
        )
        assert response.status_code == 200, response.text
        (row,) = response.json()["rows"]
        return row["dossiers_digitized_numerator"], row["dossiers_digitized_denominator"]

    march = await ranked("2024-03-01", "2024-03-31")
    # U2: J of G, J = 1/2 first; U1: A, D of A-F, I = 2/7 (B resolved in March, no e-result)
    assert march == {"U2": (1, 1, 2), "U1": (2, 2, 7)}
    spring = await ranked("2024-03-01", "2024-04-30")
    assert spring == {"U1": (1, 2, 7), "U2": (2, 0, 2)}  # J resolved by 30 April, no e-result
    for first, last, ranking in (
        ("2024-03-01", "2024-03-31", march),
        ("2024-03-01", "2024-04-30", spring),
    ):
        for unit, (_, numerator, denominator) in ranking.items():
            assert await scored(unit, first, last) == (numerator, denominator), (unit, last)
            family = await one_row(
                client, read_headers, "digitization", from_=first, to=last, unit=unit
            )
            assert (
                family["dossiers_digitized_rate_numerator"],
                family["dossiers_digitized_rate_denominator"],
            ) == (numerator, denominator), (unit, last)
    u2_march = await one_row(
        client, read_headers, "digitization", from_="2024-03-01", to="2024-03-31", unit="U2"
    )
    # judged now J is resolved without an electronic result; at the end of March it was open
    assert (u2_march["dossiers_digitized"], u2_march["digitized_resolved_later"]) == (0, 1)


async def test_form_ii06a_columns_9_and_12_as_the_form_counts_them(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    await put_p3(client, admin, 3)
    await _push(client, ingest_headers, "shuffled")
    response = await client.get(
        "/api/v1/reports/processing",
        params={"from": "2024-03-01", "to": "2024-03-31"},
        headers=read_headers,
    )
    assert response.status_code == 200, response.text
    total = response.json()["total"]
    assert {
        k: total[k]
        for k in (
            "received_in_period",
            "received_online",
            "received_direct_or_postal",
            "resolved_total",
            "resolved_early",
            "resolved_on_time",
            "resolved_late",
        )
    } == {
        "received_in_period": 9,
        "received_online": 5,
        "received_direct_or_postal": 3,  # the unknown channel (I) is in neither
        "resolved_total": 3,
        "resolved_early": 2,
        "resolved_on_time": 0,  # column 9: A is late against its derived due date
        "resolved_late": 1,
    }
    # column 12: D waits on a supplement requested before its due date: within deadline
    # (the contract's in_progress_overdue counts it overdue); E was asked after it
    assert (
        total["in_progress_total"],
        total["in_progress_within_deadline"],
        total["in_progress_overdue"],
    ) == (5, 4, 1)


async def test_upgrade_refolds_dossiers_folded_before_waits_were_recorded(
    db: Database,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    """Migration 0014 leaves ``waits`` NULL on existing rows (and no derived due dates):
    ``onestop migrate`` refolds them, and the figures are the hand-computed ones again."""
    await put_p3(client, admin, 3)
    await _push(client, ingest_headers, "in_order")
    before = await one_row(client, read_headers, "delay", **MARCH)
    async with db.sessionmaker() as session, session.begin():
        await session.execute(
            update(Dossier).values(
                waits=None, paused_at=None, paused_date=None, wait_days=0, due_derived=False
            )
        )
        await session.execute(update(Dossier).where(Dossier.code == "A").values(due_at=None))
    assert await refold_unwaited(db.settings.database_url) == 10
    assert await refold_unwaited(db.settings.database_url) == 0  # once only
    assert await one_row(client, read_headers, "delay", **MARCH) == before
    assert (await _state(client, read_headers, "A"))["due_at"] == "2024-03-12T10:00:00Z"
