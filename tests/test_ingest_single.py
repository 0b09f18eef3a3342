from __future__ import annotations

from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest

from app.db import Database
from tests.factories import event


async def test_new_event_is_accepted_with_201(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    r = await client.post("/api/v1/events", json=event(event_id="a1"), headers=ingest_headers)
    assert r.status_code == 201
    assert {k: v for k, v in r.json().items() if k != "warnings"} == {
        "event_id": "a1",
        "result": "accepted",
    }


async def test_same_event_again_is_a_duplicate_with_200(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    body = event(event_id="a1")
    await client.post("/api/v1/events", json=body, headers=ingest_headers)
    r = await client.post("/api/v1/events", json=body, headers=ingest_headers)
    assert (r.status_code, r.json()["result"]) == (200, "duplicate")


async def test_same_instant_in_another_offset_is_a_duplicate(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    await client.post(
        "/api/v1/events",
        json=event(event_id="a1", at="2024-01-05T08:00:00+07:00"),
        headers=ingest_headers,
    )
    r = await client.post(
        "/api/v1/events",
        json=event(event_id="a1", at="2024-01-05T01:00:00Z"),
        headers=ingest_headers,
    )
    assert r.status_code == 200


async def test_same_id_with_other_body_is_409_and_first_kept(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await client.post(
        "/api/v1/events", json=event(event_id="a1", status="received"), headers=ingest_headers
    )
    r = await client.post(
        "/api/v1/events", json=event(event_id="a1", status="resolved"), headers=ingest_headers
    )
    assert r.status_code == 409
    assert r.json()["event_id"] == "a1"
    dossier = await client.get("/api/v1/dossiers/000.00.31.H40-240105-0001", headers=read_headers)
    assert dossier.json()["state"]["status"] == "received"


async def test_event_ids_are_unique_per_source_not_globally(
    client: httpx.AsyncClient, make_key: object
) -> None:
    a = {"Authorization": f"Bearer {await make_key('ingest', source='a')}"}  # type: ignore[operator]
    b = {"Authorization": f"Bearer {await make_key('ingest', source='b')}"}  # type: ignore[operator]
    await client.post("/api/v1/events", json=event(event_id="x"), headers=a)
    r = await client.post("/api/v1/events", json=event(event_id="x", status="resolved"), headers=b)
    assert r.status_code == 201


async def test_a_rotated_key_of_the_same_source_sees_its_history(
    client: httpx.AsyncClient, make_key: object
) -> None:
    old = {"Authorization": f"Bearer {await make_key('ingest', source='igate', name='old')}"}  # type: ignore[operator]
    new = {"Authorization": f"Bearer {await make_key('ingest', source='igate', name='new')}"}  # type: ignore[operator]
    body = event(event_id="x")
    await client.post("/api/v1/events", json=body, headers=old)
    r = await client.post("/api/v1/events", json=body, headers=new)
    assert r.json()["result"] == "duplicate"


async def test_invalid_event_is_422_with_field_path(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    r = await client.post("/api/v1/events", json=event(components_total=-1), headers=ingest_headers)
    assert r.status_code == 422
    assert ["body", "components_total"] in [e["loc"] for e in r.json()["detail"]]


async def test_digitized_over_total_is_422(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    r = await client.post(
        "/api/v1/events",
        json=event(components_total=2, components_digitized=3),
        headers=ingest_headers,
    )
    assert r.status_code == 422
    assert "components_digitized" in r.json()["detail"][0]["msg"]


async def test_unknown_status_is_422(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    r = await client.post("/api/v1/events", json=event(status="lost"), headers=ingest_headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "status"]


async def test_malformed_json_is_422_not_500(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    r = await client.post(
        "/api/v1/events",
        content=b'{"event_id": ',
        headers={**ingest_headers, "content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body"]


async def test_invalid_utf8_is_422(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    r = await client.post(
        "/api/v1/events", content=b'{"event_id": "\xff\xfe"}', headers=ingest_headers
    )
    assert r.status_code == 422


async def test_timestamp_without_offset_is_read_in_configured_zone(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await client.post(
        "/api/v1/events", json=event(at="2024-01-05T08:00:00"), headers=ingest_headers
    )
    r = await client.get("/api/v1/dossiers/000.00.31.H40-240105-0001", headers=read_headers)
    assert r.json()["state"]["received_at"].startswith("2024-01-05T01:00:00")


async def test_far_future_occurred_at_is_refused(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    r = await client.post(
        "/api/v1/events", json=event(at="2099-01-01T00:00:00+07:00"), headers=ingest_headers
    )
    assert r.status_code == 422
    assert "future" in r.json()["detail"][0]["msg"]


async def test_nul_byte_in_code_is_422_not_500(
    client: httpx.AsyncClient, ingest_headers: dict[str, str]
) -> None:
    r = await client.post(
        "/api/v1/events", json=event(dossier="abc\u0000def"), headers=ingest_headers
    )
    assert r.status_code == 422


async def test_unknown_unit_and_procedure_are_registered_as_unregistered(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await client.post(
        "/api/v1/events",
        json=event(unit="NEW-UNIT", procedure_code="P-NEW"),
        headers=ingest_headers,
    )
    units = await client.get("/api/v1/units?unregistered=true", headers=read_headers)
    procs = await client.get("/api/v1/procedures?unregistered=true", headers=read_headers)
    assert [u["code"] for u in units.json()["units"]] == ["NEW-UNIT"]
    assert [p["code"] for p in procs.json()["procedures"]] == ["P-NEW"]


async def test_vietnamese_text_round_trips(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await client.post(
        "/api/v1/events", json=event(dossier="HS-Đô-Lương-ưở"), headers=ingest_headers
    )
    r = await client.get("/api/v1/dossiers/HS-Đô-Lương-ưở", headers=read_headers)
    assert r.json()["dossier_code"] == "HS-Đô-Lương-ưở"


async def test_every_statement_of_an_ingest_fits_the_driver_statement_cache(
    client: httpx.AsyncClient,
    ingest_headers: dict[str, str],
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # asyncpg prepares a statement once per connection only below a size limit; above it,
    # every execution is parsed and planned again (the dossier upsert with its rollups was).
    if db.dialect != "postgresql":
        pytest.skip("asyncpg's statement cache: PostgreSQL only")
    prepared: list[tuple[int, int]] = []
    get_statement = asyncpg.Connection._get_statement

    async def spy(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        prepared.append((len(query), self._config.max_cacheable_statement_size))
        return await get_statement(self, query, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "_get_statement", spy)
    await client.post("/api/v1/events", json=event(event_id="s1"), headers=ingest_headers)
    batch = {"events": [event(event_id="b1", dossier="D2"), event(event_id="b2", dossier="D3")]}
    await client.post("/api/v1/events/batch", json=batch, headers=ingest_headers)
    assert len(prepared) >= 8
    assert [size for size, limit in prepared if size > limit] == []
