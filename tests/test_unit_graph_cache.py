"""The unit graph a worker keeps (``app.reference.lineage.load_graph``): reused while the unit
table's version token stands, read again after any change of a unit, however it was made."""

from __future__ import annotations

import httpx
from sqlalchemy import text, update

from app.db import Database
from app.reference.lineage import load_graph
from app.reference.models import Unit
from tests.factories import event


async def put_unit(client: httpx.AsyncClient, admin: dict[str, str], code: str, name: str) -> None:
    body = {"name": name, "level": "district", "parent_code": None}
    response = await client.put(f"/api/v1/units/{code}", json=body, headers=admin)
    assert response.status_code in (200, 201), response.text


async def graph_names(db: Database) -> dict[str, str | None]:
    async with db.read_sessionmaker() as session:
        graph = await load_graph(session)
    return {code: unit.name for code, unit in graph.units.items()}


async def test_the_graph_is_reused_while_no_unit_changes(
    db: Database, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await put_unit(client, admin, "A", "Huyện A")
    async with db.read_sessionmaker() as first, db.read_sessionmaker() as second:
        kept = await load_graph(first)
        assert await load_graph(second) is kept
    assert set(kept.units) == {"A"}


async def test_a_unit_put_over_http_is_in_the_next_graph(
    db: Database, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await put_unit(client, admin, "A", "Huyện A")
    assert await graph_names(db) == {"A": "Huyện A"}
    await put_unit(client, admin, "A", "Huyện A mới")
    await put_unit(client, admin, "B", "Huyện B")
    assert await graph_names(db) == {"A": "Huyện A mới", "B": "Huyện B"}


async def test_a_code_first_seen_in_an_event_is_in_the_next_graph(
    db: Database,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ingest_headers: dict[str, str],
) -> None:
    await put_unit(client, admin, "A", "Huyện A")
    assert set(await graph_names(db)) == {"A"}
    response = await client.post(
        "/api/v1/events", json=event(dossier="D-1", unit="NEW.UNIT"), headers=ingest_headers
    )
    assert response.status_code in (200, 201), response.text
    assert await graph_names(db) == {"A": "Huyện A", "NEW.UNIT": None}


async def test_a_change_made_outside_the_app_is_in_the_next_graph(
    db: Database, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await put_unit(client, admin, "A", "Huyện A")
    assert await graph_names(db) == {"A": "Huyện A"}
    async with db.engine.begin() as conn:  # as an operator's SQL would
        await conn.execute(text("UPDATE units SET name = 'Đổi tên' WHERE code = 'A'"))
    assert await graph_names(db) == {"A": "Đổi tên"}
    async with db.engine.begin() as conn:
        await conn.execute(text("DELETE FROM units WHERE code = 'A'"))
    assert await graph_names(db) == {}


async def test_a_graph_read_in_a_transaction_that_rolled_back_is_not_reused(
    db: Database, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await put_unit(client, admin, "A", "Huyện A")
    assert await graph_names(db) == {"A": "Huyện A"}
    async with db.sessionmaker() as session:
        await session.execute(update(Unit).where(Unit.code == "A").values(name="Chưa lưu"))
        inside = await load_graph(session)
        assert inside.units["A"].name == "Chưa lưu"
        await session.rollback()
    assert await graph_names(db) == {"A": "Huyện A"}
