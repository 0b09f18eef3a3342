"""Which dossiers a metric counts: unit subtrees, levels, groups, period buckets; CSV; errors."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from tests.metrics_helpers import dossier, metrics, one_row, push, put_unit, status_event

MARCH = {"from_": "2024-03-01", "to": "2024-03-31"}


@pytest.fixture
async def tree(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    """Province P > district D1 (> communes C1, C2), district D2 (> commune C3)."""
    await put_unit(client, admin, "P", "province", name="Tỉnh Nghệ An")
    await put_unit(client, admin, "D1", "district", "P", name="Huyện Đô Lương")
    await put_unit(client, admin, "C1", "commune", "D1", name="Xã Bồi Sơn")
    await put_unit(client, admin, "C2", "commune", "D1")
    await put_unit(client, admin, "D2", "district", "P")
    await put_unit(client, admin, "C3", "commune", "D2")


async def _seed(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """P: 1 direct; D1: 2 online; C1: 1 online 1 direct; C2: 1 postal; D2: 1 online; C3: 2."""
    plan = {"P": ["direct"], "D1": ["online", "online"], "C1": ["online", "direct"]}
    plan |= {"C2": ["postal"], "D2": ["online"], "C3": ["online", "direct"]}
    events = []
    for unit, channels in plan.items():
        for i, channel in enumerate(channels):
            events += dossier(f"{unit}-{i}", unit=unit, channel=channel)
    await push(client, headers, events)


async def test_unit_counts_its_whole_subtree_three_levels_deep(
    tree: None,
    client: httpx.AsyncClient,
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    await _seed(client, ingest_headers)
    assert (await one_row(client, read_headers, "online", unit="P", **MARCH))["received"] == 9
    district = await one_row(client, read_headers, "online", unit="D1", **MARCH)
    assert (district["received"], district["received_online"]) == (5, 3)
    commune = await one_row(client, read_headers, "online", unit="C1", **MARCH)
    assert commune["received"] == 2


async def test_level_counts_only_dossiers_of_units_of_that_level(
    tree: None,
    client: httpx.AsyncClient,
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    await _seed(client, ingest_headers)
    row = await one_row(client, read_headers, "online", unit="D1", level="commune", **MARCH)
    assert (row["received"], row["received_online"], row["received_postal"]) == (3, 1, 1)
    assert row["online_rate"] == pytest.approx(1 / 3)
    everywhere = await one_row(client, read_headers, "online", level="commune", **MARCH)
    assert everywhere["received"] == 5


async def test_group_by_unit_gives_each_unit_its_own_dossiers_and_zero_rows(
    tree: None,
    client: httpx.AsyncClient,
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    await _seed(client, ingest_headers)
    rows = await metrics(client, read_headers, "online", unit="D1", group_by="unit", **MARCH)
    by_unit = {r["unit_code"]: r["received"] for r in rows}
    assert by_unit == {"C1": 2, "C2": 1, "D1": 2}
    assert rows[0]["unit_name"] == "Xã Bồi Sơn"


async def test_group_by_sector_and_procedure(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await push(
        client,
        ingest_headers,
        dossier("A", sector_code="S1", procedure_code="P1")
        + dossier("B", sector_code="S1", procedure_code="P2")
        + dossier("C"),
    )
    rows = await metrics(client, read_headers, "online", group_by="sector", **MARCH)
    assert [(r["sector_code"], r["received"]) for r in rows] == [("S1", 2), (None, 1)]
    rows = await metrics(client, read_headers, "online", group_by="procedure", **MARCH)
    assert [(r["procedure_code"], r["received"]) for r in rows] == [
        ("P1", 1),
        ("P2", 1),
        (None, 1),
    ]


async def test_only_a_dossier_refused_without_being_received_is_outside_intake(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    """B, received then refused, stays received and is closed (CONTRACT.md v1.1)."""
    events = dossier("A") + dossier("B")
    events.append(status_event("B", "refused", "2024-03-04T09:00:00+07:00"))
    events.append(status_event("C", "refused", "2024-03-04T09:00:00+07:00", channel="online"))
    await push(client, ingest_headers, events)
    row = await one_row(client, read_headers, "summary", **MARCH)
    assert (row["received"], row["received_online"], row["in_progress"]) == (2, 2, 1)


async def test_empty_buckets_are_rows_of_zeros(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await push(
        client,
        ingest_headers,
        dossier("A", received="2024-01-10T08:00:00+07:00", resolved="2024-01-11T08:00:00+07:00")
        + dossier("B", received="2024-03-10T08:00:00+07:00", resolved="2024-03-11T08:00:00+07:00"),
    )
    rows = await metrics(
        client, read_headers, "summary", from_="2024-01-15", to="2024-04-30", period="month"
    )
    assert [(r["period"], r["period_from"], r["period_to"]) for r in rows] == [
        ("2024-01", "2024-01-15", "2024-01-31"),
        ("2024-02", "2024-02-01", "2024-02-29"),
        ("2024-03", "2024-03-01", "2024-03-31"),
        ("2024-04", "2024-04-01", "2024-04-30"),
    ]
    assert [(r["received"], r["resolved"]) for r in rows] == [(0, 0), (0, 0), (1, 1), (0, 0)]
    february = rows[1]
    assert february["online_rate"] is None and february["online_rate_denominator"] == 0
    assert february["processing_days_p50"] is None


async def test_quarter_and_year_buckets(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await push(
        client,
        ingest_headers,
        dossier("A", received="2023-12-10T08:00:00+07:00")
        + dossier("B", received="2024-05-10T08:00:00+07:00"),
    )
    quarters = await metrics(
        client, read_headers, "online", from_="2023-11-01", to="2024-06-30", period="quarter"
    )
    assert [(r["period"], r["received"]) for r in quarters] == [
        ("2023-Q4", 1),
        ("2024-Q1", 0),
        ("2024-Q2", 1),
    ]
    years = await metrics(
        client, read_headers, "online", from_="2023-11-01", to="2024-06-30", period="year"
    )
    assert [(r["period"], r["received"]) for r in years] == [("2023", 1), ("2024", 1)]


async def test_a_quarter_adds_up_its_three_months(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await push(
        client,
        ingest_headers,
        dossier("A", received="2024-01-10T08:00:00+07:00")
        + dossier("B", received="2024-02-10T08:00:00+07:00")
        + dossier("C", received="2024-03-10T08:00:00+07:00"),
    )
    for group_by in ("none", "procedure"):  # from the rollups, and from the dossiers
        quarters = await metrics(
            client,
            read_headers,
            "online",
            from_="2024-01-15",
            to="2024-03-31",
            period="quarter",
            group_by=group_by,
        )
        assert [(r["period"], r["received"]) for r in quarters] == [("2024-Q1", 2)]


async def test_backlog_is_counted_at_the_end_of_each_bucket(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await push(
        client,
        ingest_headers,
        dossier("A", received="2024-01-10T08:00:00+07:00", resolved="2024-03-11T08:00:00+07:00"),
    )
    rows = await metrics(
        client, read_headers, "delay", from_="2024-01-01", to="2024-03-31", period="month"
    )
    assert [r["in_progress"] for r in rows] == [1, 1, 0]


async def test_csv_has_a_header_and_the_rows(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await push(client, ingest_headers, dossier("A") + dossier("B", channel="direct"))
    response = await client.get(
        "/api/v1/metrics/online",
        params={"from": "2024-03-01", "to": "2024-03-31", "period": "month", "format": "csv"},
        headers=read_headers,
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    assert rows[0]["period"] == "2024-03"
    assert (rows[0]["received"], rows[0]["online_rate"]) == ("2", "0.5")
    assert (rows[0]["online_rate_numerator"], rows[0]["online_rate_denominator"]) == ("1", "2")
    assert rows[0]["online_payment_rate"] == ""


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"from": "2024-03-02", "to": "2024-03-01"}, ["query", "from"]),
        ({"from": "2010-01-01", "to": "2024-03-01"}, ["query", "to"]),
        ({"from": "2024-03-01"}, ["query", "to"]),
        ({"from": "2024-03-01", "to": "2024-03-31", "group_by": "district"}, ["query", "group_by"]),
        ({"from": "2024-03-01", "to": "2024-03-31", "period": "week"}, ["query", "period"]),
        ({"from": "2024-03-01", "to": "2024-03-31", "format": "xml"}, ["query", "format"]),
        ({"from": "2024-13-01", "to": "2024-03-31"}, ["query", "from"]),
        ({"from": "2024-03-01", "to": "2024-03-31", "unit": "U\x001"}, ["query", "unit"]),
        ({"from": "2024-03-01", "to": "2024-03-31", "level": ""}, ["query", "level"]),
    ],
)
async def test_bad_parameters_are_422_with_the_field(
    client: httpx.AsyncClient,
    read_headers: dict[str, str],
    params: dict[str, str],
    loc: list[str],
) -> None:
    response = await client.get("/api/v1/metrics/delay", params=params, headers=read_headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


async def test_unknown_family_is_422_and_unknown_unit_404(
    client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    params = {"from": "2024-03-01", "to": "2024-03-31"}
    family = await client.get("/api/v1/metrics/speed", params=params, headers=read_headers)
    assert family.status_code == 422
    unit = await client.get(
        "/api/v1/metrics/delay", params=params | {"unit": "NOPE"}, headers=read_headers
    )
    assert unit.status_code == 404


async def test_rankings_rank_units_on_their_subtrees_with_shared_ranks(
    tree: None,
    client: httpx.AsyncClient,
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    await _seed(client, ingest_headers)
    await push(client, ingest_headers, dossier("D2-x", unit="D2", channel="direct"))
    params = {"indicator": "online_rate", "level": "commune", "unit": "P"} | {
        "from": "2024-03-01",
        "to": "2024-03-31",
    }
    response = await client.get("/api/v1/rankings", params=params, headers=read_headers)
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert [(r["unit_code"], r["rank"], r["numerator"], r["denominator"]) for r in rows] == [
        ("C1", 1, 1, 2),
        ("C3", 1, 1, 2),
        ("C2", 3, 0, 1),
    ]
    districts = await client.get(
        "/api/v1/rankings", params=params | {"level": "district"}, headers=read_headers
    )
    # D1 with its communes: 3 online of 5; D2 with C3: 2 of 4
    assert [
        (r["unit_code"], r["numerator"], r["denominator"]) for r in districts.json()["rows"]
    ] == [
        ("D1", 3, 5),
        ("D2", 2, 4),
    ]


async def test_overdue_rate_ranks_lowest_first_and_null_last(
    tree: None,
    client: httpx.AsyncClient,
    ingest_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    due = "2024-03-05T17:00:00+07:00"
    await push(
        client,
        ingest_headers,
        dossier("a", unit="C1", due=due)
        + dossier("b", unit="C2", due=due, resolved="2024-03-05T08:00:00+07:00"),
    )
    response = await client.get(
        "/api/v1/rankings",
        params={
            "indicator": "overdue_rate",
            "level": "commune",
            "from": "2024-03-01",
            "to": "2024-03-31",
        },
        headers=read_headers,
    )
    rows = response.json()["rows"]
    assert [(r["unit_code"], r["rank"], r["value"]) for r in rows] == [
        ("C2", 1, 0.0),
        ("C1", 2, 1.0),
        ("C3", None, None),
    ]


async def test_ranking_with_an_unknown_indicator_is_422(
    client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    response = await client.get(
        "/api/v1/rankings",
        params={"indicator": "speed", "from": "2024-03-01", "to": "2024-03-31"},
        headers=read_headers,
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "indicator"]


async def test_procedure_counts_per_level(
    client: httpx.AsyncClient, admin: dict[str, str], read_headers: dict[str, str]
) -> None:
    for code, level, service in [
        ("p1", "district", "full"),
        ("p2", "district", "partial"),
        ("p3", "district", "none"),
        ("p4", "commune", "partial"),
    ]:
        body = {"name": f"Thủ tục {code}", "level": level, "online_service": service}
        assert (await client.put(f"/api/v1/procedures/{code}", json=body, headers=admin)).is_success
    response = await client.get("/api/v1/metrics/procedures", headers=read_headers)
    assert response.json()["rows"] == [
        {"level": "commune", "total": 1, "full_online": 0, "partial_online": 1, "offline": 0},
        {"level": "district", "total": 3, "full_online": 1, "partial_online": 1, "offline": 1},
    ]
    one = await client.get(
        "/api/v1/metrics/procedures", params={"level": "district"}, headers=read_headers
    )
    assert [r["level"] for r in one.json()["rows"]] == ["district"]


async def test_ten_years_by_month_answer_a_row_per_month(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    await push(client, ingest_headers, dossier("A", received="2016-05-10T08:00:00+07:00"))
    rows = await metrics(
        client, read_headers, "summary", from_="2015-01-01", to="2024-12-31", period="month"
    )
    assert len(rows) == 120
    backlog = [r["in_progress"] for r in rows]
    assert backlog == [0] * 16 + [1] * 104  # open from May 2016 on
