from __future__ import annotations

import httpx


async def test_units_form_a_tree(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    await client.put(
        "/api/v1/units/P", json={"name": "Tỉnh Nghệ An", "level": "province"}, headers=admin
    )
    await client.put(
        "/api/v1/units/D",
        json={"name": "Huyện Đô Lương", "level": "district", "parent_code": "P"},
        headers=admin,
    )
    await client.put(
        "/api/v1/units/C",
        json={"name": "Xã Tràng Sơn", "level": "commune", "parent_code": "D"},
        headers=admin,
    )
    tree = (await client.get("/api/v1/units", headers=admin)).json()["units"]
    assert tree[0]["code"] == "P"
    assert tree[0]["children"][0]["children"][0]["name"] == "Xã Tràng Sơn"


async def test_put_unit_answers_201_then_200(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"name": "A", "level": "district"}
    first = await client.put("/api/v1/units/A", json=body, headers=admin)
    second = await client.put("/api/v1/units/A", json=body, headers=admin)
    assert (first.status_code, second.status_code) == (201, 200)


async def test_a_cycle_in_the_tree_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await client.put("/api/v1/units/A", json={"name": "A", "level": "x"}, headers=admin)
    await client.put(
        "/api/v1/units/B", json={"name": "B", "level": "x", "parent_code": "A"}, headers=admin
    )
    r = await client.put(
        "/api/v1/units/A", json={"name": "A", "level": "x", "parent_code": "B"}, headers=admin
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "parent_code"]


async def test_an_unknown_parent_is_registered_as_unregistered(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await client.put(
        "/api/v1/units/C", json={"name": "C", "level": "commune", "parent_code": "D"}, headers=admin
    )
    r = await client.get("/api/v1/units?unregistered=true", headers=admin)
    assert [u["code"] for u in r.json()["units"]] == ["D"]


async def test_describing_an_event_unit_registers_it(
    client: httpx.AsyncClient, admin: dict[str, str], ingest_headers: dict[str, str]
) -> None:
    from tests.factories import event

    await client.post("/api/v1/events", json=event(unit="U9"), headers=ingest_headers)
    await client.put(
        "/api/v1/units/U9", json={"name": "Phòng Tư pháp", "level": "department"}, headers=admin
    )
    r = await client.get("/api/v1/units?unregistered=true", headers=admin)
    assert r.json()["units"] == []


async def test_procedures_are_listed_by_level(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await client.put(
        "/api/v1/procedures/1",
        json={"name": "Khai sinh", "level": "commune", "online_service": "full"},
        headers=admin,
    )
    await client.put(
        "/api/v1/procedures/2",
        json={"name": "Đất đai", "level": "district", "online_service": "partial"},
        headers=admin,
    )
    r = await client.get("/api/v1/procedures?level=commune", headers=admin)
    assert [p["name"] for p in r.json()["procedures"]] == ["Khai sinh"]


async def test_bad_online_service_is_422(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    r = await client.put(
        "/api/v1/procedures/1",
        json={"name": "x", "level": "commune", "online_service": "yes"},
        headers=admin,
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "online_service"]


async def test_unknown_dossier_is_404(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    assert (await client.get("/api/v1/dossiers/none", headers=admin)).status_code == 404
