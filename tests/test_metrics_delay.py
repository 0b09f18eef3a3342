"""Delay metrics: early, on time, late, overdue, processing days — each rule by its outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.metrics_helpers import dossier, one_row, push, status_event

MARCH = {"from_": "2024-03-01", "to": "2024-03-31"}


async def test_a_dossier_without_due_date_is_on_time(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await push(client, ingest_headers, dossier("D1", resolved="2024-03-05T10:00:00+07:00"))
    row = await one_row(client, read_headers, "delay", **MARCH)
    assert (row["resolved"], row["resolved_early"], row["resolved_on_time"]) == (1, 0, 1)
    assert row["resolved_late"] == 0
    assert (row["on_time_rate"], row["on_time_rate_numerator"]) == (1.0, 1)


async def test_resolved_after_the_due_hour_on_the_due_day_is_late(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await push(
        client,
        ingest_headers,
        dossier("D1", due="2024-03-08T17:00:00+07:00", resolved="2024-03-08T17:30:00+07:00"),
    )
    row = await one_row(client, read_headers, "delay", **MARCH)
    assert (row["resolved_late"], row["resolved_on_time"], row["resolved_early"]) == (1, 0, 0)
    assert row["lateness_days_mean"] == 0.0
    assert row["on_time_rate"] == 0.0


async def test_resolved_on_the_due_day_before_the_hour_is_on_time_and_a_day_before_is_early(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    due = "2024-03-08T17:00:00+07:00"
    await push(
        client,
        ingest_headers,
        dossier("D1", due=due, resolved="2024-03-08T16:59:00+07:00")
        + dossier("D2", due=due, resolved="2024-03-07T23:59:00+07:00"),
    )
    row = await one_row(client, read_headers, "delay", **MARCH)
    assert (row["resolved_early"], row["resolved_on_time"], row["resolved_late"]) == (1, 1, 0)


async def test_a_supplement_that_moves_the_due_date_makes_a_later_resolution_on_time(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    events = dossier("D1", due="2024-03-08T17:00:00+07:00", resolved="2024-03-12T09:00:00+07:00")
    events.append(
        status_event(
            "D1",
            "supplement_requested",
            "2024-03-06T09:00:00+07:00",
            due_at="2024-03-15T17:00:00+07:00",
        )
    )
    await push(client, ingest_headers, events)
    row = await one_row(client, read_headers, "delay", **MARCH)
    assert (row["resolved_late"], row["resolved_early"]) == (0, 1)


async def test_resolved_in_the_period_but_received_before_it_counts_as_resolved_only(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await push(
        client,
        ingest_headers,
        dossier("D1", received="2023-12-20T08:00:00+07:00", resolved="2024-01-10T08:00:00+07:00"),
    )
    row = await one_row(client, read_headers, "summary", from_="2024-01-01", to="2024-01-31")
    assert (row["received"], row["resolved"]) == (0, 1)
    # 21, 22, 25–29 Dec (7), 1 Jan is a holiday, 2–5 Jan (4), 8–10 Jan (3)
    assert row["processing_days_p50"] == 14


async def test_tet_inside_processing_time_is_not_counted(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await push(
        client,
        ingest_headers,
        dossier("D1", received="2024-02-07T08:00:00+07:00", resolved="2024-02-16T08:00:00+07:00"),
    )
    row = await one_row(client, read_headers, "delay", from_="2024-02-01", to="2024-02-29")
    assert (row["processing_days_mean"], row["processing_days_p90"]) == (2.0, 2)


async def test_withdrawn_dossier_is_in_no_delay_figure_but_was_received(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    events = dossier("D1", due="2024-03-06T17:00:00+07:00")
    events.append(status_event("D1", "withdrawn", "2024-03-05T09:00:00+07:00"))
    events += dossier("D2", due="2024-03-06T17:00:00+07:00")
    events.append(status_event("D2", "withdrawn", "2024-03-11T09:00:00+07:00"))
    events.append(status_event("D2", "resolved", "2024-03-12T09:00:00+07:00"))
    await push(client, ingest_headers, events)
    row = await one_row(client, read_headers, "summary", **MARCH)
    assert row["received"] == 2
    delay = {k: row[k] for k in ("resolved", "resolved_late", "in_progress", "in_progress_overdue")}
    assert delay == {"resolved": 0, "resolved_late": 0, "in_progress": 0, "in_progress_overdue": 0}
    assert row["overdue_rate"] is None


async def test_open_dossier_past_due_at_the_end_of_the_period_is_overdue(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await push(
        client,
        ingest_headers,
        dossier("D1", received="2024-03-01T08:00:00+07:00", due="2024-03-05T17:00:00+07:00")
        + dossier("D2", received="2024-03-01T08:00:00+07:00", due="2024-04-05T17:00:00+07:00")
        + dossier(
            "D3",
            received="2024-03-01T08:00:00+07:00",
            due="2024-03-05T17:00:00+07:00",
            resolved="2024-03-04T08:00:00+07:00",
        ),
    )
    row = await one_row(client, read_headers, "delay", from_="2024-03-01", to="2024-03-10")
    assert (row["in_progress"], row["in_progress_overdue"], row["resolved"]) == (2, 1, 1)
    assert (row["overdue_rate_numerator"], row["overdue_rate_denominator"]) == (1, 3)
    earlier = await one_row(client, read_headers, "delay", from_="2024-03-01", to="2024-03-04")
    assert (earlier["in_progress"], earlier["in_progress_overdue"]) == (2, 0)


async def test_a_dossier_resolved_after_the_period_is_still_in_progress_at_its_end(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await push(
        client,
        ingest_headers,
        dossier("D1", received="2024-03-28T08:00:00+07:00", resolved="2024-04-02T08:00:00+07:00"),
    )
    row = await one_row(client, read_headers, "delay", **MARCH)
    assert (row["in_progress"], row["resolved"]) == (1, 0)


async def test_processing_day_percentiles_use_the_nearest_rank(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    # received Mon 4 Mar; resolved after 0..9 working days (weekends skipped)
    resolutions = ["04", "05", "06", "07", "08", "11", "12", "13", "14", "15"]
    events = []
    for i, day in enumerate(resolutions):
        events += dossier(f"D{i}", resolved=f"2024-03-{day}T15:00:00+07:00")
    await push(client, ingest_headers, events)
    row = await one_row(client, read_headers, "delay", **MARCH)
    assert row["processing_days_count"] == 10
    assert (row["processing_days_p50"], row["processing_days_p90"]) == (4, 8)
    assert row["processing_days_mean"] == 4.5


async def test_lateness_counts_working_days_past_the_due_day(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    # due Fri 8 Mar; resolved Tue 12 Mar: 11 and 12 Mar are past due -> 2
    await push(
        client,
        ingest_headers,
        dossier("D1", due="2024-03-08T17:00:00+07:00", resolved="2024-03-12T08:00:00+07:00"),
    )
    row = await one_row(client, read_headers, "delay", **MARCH)
    assert (row["resolved_late"], row["lateness_days_mean"]) == (1, 2.0)


async def test_stopped_dossier_is_in_no_delay_figure(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    events = dossier("D1", due="2024-03-06T17:00:00+07:00")
    events.append(status_event("D1", "stopped", "2024-03-07T09:00:00+07:00"))
    await push(client, ingest_headers, events)
    row = await one_row(client, read_headers, "delay", **MARCH)
    assert (row["resolved"], row["in_progress"], row["in_progress_overdue"]) == (0, 0, 0)


async def test_a_dossier_resolved_then_withdrawn_still_counts_as_resolved(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    events = dossier("D1", due="2024-03-06T17:00:00+07:00", resolved="2024-03-07T09:00:00+07:00")
    events.append(status_event("D1", "withdrawn", "2024-03-08T09:00:00+07:00"))
    await push(client, ingest_headers, events)
    row = await one_row(client, read_headers, "delay", **MARCH)
    assert (row["resolved"], row["resolved_late"]) == (1, 1)


async def test_returned_without_resolved_event_counts_as_resolved_at_return(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    events = dossier("D1", due="2024-03-06T17:00:00+07:00")
    events.append(status_event("D1", "returned", "2024-03-05T09:00:00+07:00"))
    await push(client, ingest_headers, events)
    row = await one_row(client, read_headers, "delay", **MARCH)
    assert (row["resolved"], row["resolved_early"], row["processing_days_p50"]) == (1, 1, 1)


async def test_a_period_ending_in_the_future_counts_the_backlog_now(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    received = (now - timedelta(days=3)).isoformat()
    due = (now + timedelta(days=20)).isoformat()
    await push(client, ingest_headers, dossier("D1", received=received, due=due))
    today = now.date()
    row = await one_row(
        client,
        read_headers,
        "delay",
        from_=(today - timedelta(days=10)).isoformat(),
        to=(today + timedelta(days=40)).isoformat(),
    )
    # at the period's end the dossier would be overdue; now it is open and not yet due
    assert (row["in_progress"], row["in_progress_overdue"]) == (1, 0)
