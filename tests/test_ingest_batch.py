from __future__ import annotations

import json
import random

import httpx
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.db import Database
from app.ingest.schemas import BatchOut
from tests.factories import event


async def _batch(
    client: httpx.AsyncClient, headers: dict[str, str], events: list[object]
) -> httpx.Response:
    return await client.post("/api/v1/events/batch", json={"events": events}, headers=headers)


async def test_valid_items_are_stored_next_to_invalid_ones(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    r = await _batch(
        client,
        ingest_headers,
        [event(event_id="ok1"), {"event_id": "bad"}, event(event_id="ok2", dossier="D2"), 42],
    )
    body = r.json()
    assert r.status_code == 200
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 0, 2)
    assert [x["result"] for x in body["results"]] == ["accepted", "invalid", "accepted", "invalid"]


async def test_invalid_item_reports_index_event_id_and_field(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    r = await _batch(
        client, ingest_headers, [event(event_id="ok"), event(event_id="neg", components_total=-3)]
    )
    item = r.json()["results"][1]
    assert (item["index"], item["event_id"]) == (1, "neg")
    assert item["errors"][0]["loc"] == ["components_total"]


async def test_resent_batch_reports_duplicates_and_conflicts(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    await _batch(client, ingest_headers, [event(event_id="a"), event(event_id="b")])
    r = await _batch(
        client, ingest_headers, [event(event_id="a"), event(event_id="b", status="resolved")]
    )
    assert [x["result"] for x in r.json()["results"]] == ["duplicate", "conflict"]
    assert r.json()["rejected"] == 1


async def test_same_id_twice_in_one_batch_counts_once(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], db: Database
) -> None:
    r = await _batch(client, ingest_headers, [event(event_id="a"), event(event_id="a")])
    assert [x["result"] for x in r.json()["results"]] == ["accepted", "duplicate"]


async def test_batch_over_max_is_413_and_stores_nothing(
    client: httpx.AsyncClient,
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
    db: Database,
) -> None:
    events = [event(event_id=f"x{i}", dossier=f"D{i}") for i in range(db.settings.max_batch + 1)]
    r = await _batch(client, ingest_headers, events)
    assert r.status_code == 413
    assert (await client.get("/api/v1/dossiers/D0", headers=read_headers)).status_code == 404


async def test_body_without_events_array_is_422(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    r = await client.post("/api/v1/events/batch", json=[event()], headers=ingest_headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "events"]


async def test_shuffled_delivery_gives_the_same_state(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    story = [
        event(
            event_id="1",
            status="received",
            at="2024-03-01T08:00:00+07:00",
            channel="online",
            due_at="2024-03-08T17:00:00+07:00",
        ),
        event(event_id="2", status="processing", at="2024-03-02T08:00:00+07:00"),
        event(
            event_id="3",
            status="supplement_requested",
            at="2024-03-03T08:00:00+07:00",
            due_at="2024-03-15T17:00:00+07:00",
        ),
        event(
            event_id="4", status="resolved", at="2024-03-10T08:00:00+07:00", result_digitized=True
        ),
        event(event_id="5", status="returned", at="2024-03-11T08:00:00+07:00"),
    ]
    shuffled = story[:]
    random.Random(7).shuffle(shuffled)
    for e in shuffled:  # one by one, so older events arrive after newer ones
        await _batch(client, ingest_headers, [e])
    state = (
        await client.get("/api/v1/dossiers/000.00.31.H40-240105-0001", headers=read_headers)
    ).json()
    s = state["state"]
    assert s["status"] == "returned"
    assert s["due_at"].startswith("2024-03-15T10:00:00")
    assert s["resolved_at"].startswith("2024-03-10T01:00:00")
    assert s["supplement_count"] == 1
    assert [e["event_id"] for e in state["events"]] == ["1", "2", "3", "4", "5"]


async def test_text_and_payload_round_trip_through_the_batch_insert(
    client: httpx.AsyncClient, db: Database, ingest_headers: dict[str, str]
) -> None:
    # PostgreSQL receives a batch's text columns joined by control characters: values
    # holding Vietnamese, quotes, or (in the payload) control characters must come back as sent.
    note = 'Hồ sơ "khẩn" \x1f\x1e\x00 ; ,{}'
    e = event(
        event_id="Sự kiện 1",
        dossier="Hồ sơ, {1}",
        unit="Xã Đông Hòa",
        sector_code='Lĩnh vực "hộ tịch"',
        procedure_code=None,
        note=note,
    )
    r = await _batch(client, ingest_headers, [e])
    assert r.json()["accepted"] == 1
    async with db.engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT event_id, sector_code, procedure_code, payload FROM dossier_events")
            )
        ).one()
        dossier = (await conn.execute(text("SELECT code, unit_code FROM dossiers"))).one()
    payload = stored.payload if isinstance(stored.payload, dict) else json.loads(stored.payload)
    assert (stored.event_id, stored.sector_code, stored.procedure_code) == (
        "Sự kiện 1",
        'Lĩnh vực "hộ tịch"',
        None,
    )
    assert payload["note"] == note
    assert tuple(dossier) == ("Hồ sơ, {1}", "Xã Đông Hòa")


async def test_batch_answer_is_the_batchout_model_rendered_as_before(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    # The route writes its JSON without building BatchOut: the bytes must be the ones the
    # model gave through FastAPI's JSONResponse (key order, separators, escapes, UTF-8).
    await _batch(client, ingest_headers, [event(event_id="seen")])
    r = await _batch(
        client,
        ingest_headers,
        [
            event(event_id="ok-\u00e9\U0001f600\u2028", dossier="D-\u00e9"),
            {"event_id": 'x\x01\x7f"\\\u2028', "dossier_code": 1},
            event(event_id="seen"),
            event(event_id="seen", status="resolved"),
            42,
        ],
    )
    model = BatchOut.model_validate_json(r.content)
    assert (r.status_code, r.headers["content-type"]) == (200, "application/json")
    assert r.content == JSONResponse(model.model_dump()).body
    assert [x.result for x in model.results] == [
        "accepted",
        "invalid",
        "duplicate",
        "conflict",
        "invalid",
    ]
