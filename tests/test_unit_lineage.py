"""Units that change: lives, successors, the tree as of a date, lineage in every figure."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.metrics_helpers import dossier, metrics, one_row, push

MARCH_2024 = {"from_": "2024-03-01", "to": "2024-03-31"}
Q3_2025 = {"from_": "2025-07-01", "to": "2025-09-30"}
BOTH = {"from_": "2024-01-01", "to": "2025-12-31"}
OLD = {"valid_to": "2025-06-30"}
NEW = {"valid_from": "2025-07-01"}

# Province P; district D (ended 2025-06-30) with communes C1, C2 (merged into N1) and C3
# (into N2); the new communes N1, N2 under P since 2025-07-01.
UNITS: list[dict[str, Any]] = [
    # successors and parents named before they are described: the bulk PUT takes any order
    {"code": "C1", "name": "Xã Bồi Sơn", "level": "commune", "parent_code": "D"}
    | OLD
    | {"successor_code": "N1"},
    {"code": "C2", "name": "Xã Tràng Sơn", "level": "commune", "parent_code": "D"}
    | OLD
    | {"successor_code": "N1"},
    {"code": "C3", "name": "Xã Đà Sơn", "level": "commune", "parent_code": "D"}
    | OLD
    | {"successor_code": "N2"},
    {"code": "D", "name": "Huyện Đô Lương", "level": "district", "parent_code": "P"} | OLD,
    {"code": "N1", "name": "Xã Đô Lương", "level": "commune", "parent_code": "P"} | NEW,
    {"code": "N2", "name": "Xã Văn Hiến", "level": "commune", "parent_code": "P"} | NEW,
    {"code": "P", "name": "Tỉnh Nghệ An", "level": "province"},
]


@pytest.fixture
async def province(
    client: httpx.AsyncClient, admin: dict[str, str], ingest_headers: dict[str, str]
) -> None:
    r = await client.put("/api/v1/units", json=UNITS, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"upserted": 7}
    march = "2024-03-04T08:00:00+07:00"
    august = "2025-08-04T08:00:00+07:00"
    events = [
        *dossier("c1-a", unit="C1", received=march),
        *dossier("c1-b", unit="C1", received=march, channel="direct"),
        *dossier("c2-a", unit="C2", received=march),
        *dossier("c3-a", unit="C3", received=march, channel="direct"),
        *dossier("d-a", unit="D", received=march),
        *dossier("n1-a", unit="N1", received=august),
        *dossier("n2-a", unit="N2", received=august, channel="direct"),
    ]
    await push(client, ingest_headers, events)


def codes(rows: list[dict[str, Any]]) -> list[str]:
    return [r["unit_code"] for r in rows]


async def units_at(client: httpx.AsyncClient, headers: dict[str, str], at: str | None) -> Any:
    params = {"flat": "true", **({"at": at} if at else {})}
    r = await client.get("/api/v1/units", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return [u["code"] for u in r.json()["units"]]


async def test_the_tree_as_of_a_date(
    province: None, client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    assert await units_at(client, read_headers, None) == ["N1", "N2", "P"]  # today
    assert await units_at(client, read_headers, "2024-03-01") == ["C1", "C2", "C3", "D", "P"]
    assert await units_at(client, read_headers, "2025-06-30") == ["C1", "C2", "C3", "D", "P"]
    assert await units_at(client, read_headers, "2025-07-01") == ["N1", "N2", "P"]
    assert len(await units_at(client, read_headers, "all")) == 7
    tree = (await client.get("/api/v1/units?at=2024-03-01", headers=read_headers)).json()
    assert [c["code"] for c in tree["units"][0]["children"][0]["children"]] == ["C1", "C2", "C3"]


async def test_a_unit_shows_its_life_and_successor(
    province: None, client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    r = await client.get("/api/v1/units?at=all&flat=true", headers=read_headers)
    c1 = next(u for u in r.json()["units"] if u["code"] == "C1")
    assert (c1["valid_from"], c1["valid_to"], c1["successor_code"]) == (None, "2025-06-30", "N1")


async def test_a_bad_at_is_a_422_on_the_parameter(
    client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    r = await client.get("/api/v1/units?at=yesterday", headers=read_headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "at"]


async def test_an_unknown_successor_is_a_422(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"name": "A", "level": "commune", "successor_code": "NOPE"}
    r = await client.put("/api/v1/units/A", json=body, headers=admin)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "successor_code"]
    assert (await client.get("/api/v1/units?at=all", headers=admin)).json()["units"] == []


async def test_a_successor_chain_back_to_the_unit_is_a_422(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await client.put("/api/v1/units/A", json={"name": "A", "level": "x"}, headers=admin)
    body = {"name": "B", "level": "x", "successor_code": "A"}
    assert (await client.put("/api/v1/units/B", json=body, headers=admin)).status_code == 201
    body = {"name": "A", "level": "x", "successor_code": "B"}
    r = await client.put("/api/v1/units/A", json=body, headers=admin)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "successor_code"]


async def test_a_life_ending_before_it_starts_is_a_422(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"name": "A", "level": "x", "valid_from": "2025-07-01", "valid_to": "2025-06-30"}
    r = await client.put("/api/v1/units/A", json=body, headers=admin)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "valid_to"]


async def test_a_bad_bulk_item_changes_nothing_and_names_its_index(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    items = [
        {"code": "A", "name": "A", "level": "x"},
        {"code": "B", "name": "B", "level": "x", "successor_code": "NOPE"},
        {"code": "C", "level": "x"},
        {"code": "A", "name": "A again", "level": "x"},
    ]
    r = await client.put("/api/v1/units", json=items, headers=admin)
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["body", 2, "name"]]
    items[2]["name"] = "C"
    r = await client.put("/api/v1/units", json=items, headers=admin)
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["body", 3, "code"]]
    r = await client.put("/api/v1/units", json=items[:3], headers=admin)
    assert [e["loc"] for e in r.json()["detail"]] == [["body", 1, "successor_code"]]
    assert (await client.get("/api/v1/units?at=all", headers=admin)).json()["units"] == []


async def test_a_bulk_upsert_updates_what_exists(
    province: None, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    items = [{"code": "C1", "name": "Xã Bồi Sơn (cũ)", "level": "commune", "parent_code": "D"}]
    r = await client.put("/api/v1/units", json=items, headers=admin)
    assert r.json() == {"upserted": 1}
    units = (await client.get("/api/v1/units?at=all&flat=true", headers=admin)).json()["units"]
    c1 = next(u for u in units if u["code"] == "C1")
    assert (c1["name"], c1["valid_to"], c1["successor_code"]) == ("Xã Bồi Sơn (cũ)", None, None)


async def test_bulk_procedures_are_all_or_nothing(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    good = {"code": "1", "name": "Khai sinh", "level": "commune", "online_service": "full"}
    bad = {"code": "2", "name": "Kết hôn", "level": "commune", "online_service": "sometimes"}
    r = await client.put("/api/v1/procedures", json=[good, bad], headers=admin)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", 1, "online_service"]
    assert (await client.get("/api/v1/procedures", headers=admin)).json()["procedures"] == []
    bad["online_service"] = "partial"
    r = await client.put("/api/v1/procedures", json=[good, bad], headers=admin)
    assert r.json() == {"upserted": 2}
    listed = (await client.get("/api/v1/procedures", headers=admin)).json()["procedures"]
    assert [p["code"] for p in listed] == ["1", "2"]


async def test_a_new_unit_before_it_existed_answers_zeros_or_its_predecessors(
    province: None, client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    plain = await one_row(client, read_headers, "online", unit="N1", **MARCH_2024)
    assert plain["received"] == 0
    row = await one_row(client, read_headers, "online", unit="N1", lineage="true", **MARCH_2024)
    assert (row["received"], row["received_online"]) == (3, 2)


async def test_a_new_communes_trend_runs_through_its_predecessors(
    province: None, client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    rows = await metrics(
        client, read_headers, "online", unit="N1", lineage="true", period="year", **BOTH
    )
    assert [(r["period"], r["received"]) for r in rows] == [("2024", 3), ("2025", 1)]


async def test_lineage_with_level_counts_under_units_of_that_level(
    province: None, client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    row = await one_row(
        client, read_headers, "online", unit="P", level="commune", lineage="true", **BOTH
    )
    assert row["received"] == 6  # every commune dossier, not the district's own


async def test_rows_per_unit_list_only_units_valid_in_the_period(
    province: None, client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    rows = await metrics(client, read_headers, "online", group_by="unit", **Q3_2025)
    assert codes(rows) == ["N1", "N2", "P"]
    rows = await metrics(client, read_headers, "online", group_by="unit", **MARCH_2024)
    assert codes(rows) == ["C1", "C2", "C3", "D", "P"]
    assert [r["received"] for r in rows] == [2, 1, 1, 1, 0]


async def test_rows_per_unit_with_lineage_add_predecessors_own_dossiers(
    province: None, client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    rows = await metrics(
        client, read_headers, "online", group_by="unit", level="commune", lineage="true", **BOTH
    )
    received = {r["unit_code"]: r["received"] for r in rows}
    assert received == {"C1": 2, "C2": 1, "C3": 1, "N1": 4, "N2": 2}


async def test_rankings_of_a_period_after_the_change_list_only_todays_units(
    province: None, client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    params = {"indicator": "online_rate", "level": "commune", "from": "2025-07-01"}
    r = await client.get(
        "/api/v1/rankings", params={**params, "to": "2025-09-30"}, headers=read_headers
    )
    assert codes(r.json()["rows"]) == ["N1", "N2"]
    assert [row["value"] for row in r.json()["rows"]] == [1.0, 0.0]


async def test_rankings_with_lineage_rank_predecessors_valid_in_the_period_too(
    province: None, client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    params = {"indicator": "online_rate", "level": "commune", "lineage": "true"}
    r = await client.get(
        "/api/v1/rankings",
        params={**params, "from": "2024-01-01", "to": "2025-12-31"},
        headers=read_headers,
    )
    by_code = {row["unit_code"]: (row["numerator"], row["denominator"]) for row in r.json()["rows"]}
    assert by_code == {"C1": (1, 2), "C2": (1, 1), "C3": (0, 1), "N1": (3, 4), "N2": (0, 2)}


async def test_rankings_of_a_unit_count_its_subtree_with_lineage(
    province: None, client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    params = {"indicator": "online_rate", "unit": "P", "from": "2024-01-01", "to": "2024-12-31"}
    r = await client.get("/api/v1/rankings", params=params, headers=read_headers)
    # P's children valid in 2024: D (with its communes) only
    assert [(x["unit_code"], x["denominator"]) for x in r.json()["rows"]] == [("D", 5)]


async def test_the_scorecard_takes_lineage(
    province: None, client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    params = {"unit": "N1", "from": "2024-01-01", "to": "2024-12-31"}
    plain = await client.get("/api/v1/metrics/scorecard", params=params, headers=read_headers)
    lineage = await client.get(
        "/api/v1/metrics/scorecard", params={**params, "lineage": "true"}, headers=read_headers
    )
    assert plain.status_code == lineage.status_code == 200, lineage.text

    def online(body: dict[str, Any]) -> Any:
        row = body["rows"][0]
        if "online_submission_numerator" in row:  # the v1.1 flat keys
            return row["online_submission_numerator"], row["online_submission_denominator"]
        item = next(i for i in row["indicators"] if i["indicator"] == "online_rate")
        return item["numerator"], item["denominator"]

    assert online(plain.json()) == (0, 0)
    assert online(lineage.json()) == (2, 3)
