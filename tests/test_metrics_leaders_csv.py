"""`format=csv&lang=vi`: the leaders' CSV, Vietnamese headers and percentages as the dashboard
shows them, beside the unchanged machine CSV."""

from __future__ import annotations

import csv

import httpx

from app.metrics.formulas import Family
from app.metrics.leaders_csv import Lang, header, percent
from app.metrics.queries import GroupBy
from tests.factories import event

QUERY = "from=2024-01-01&to=2024-02-29&period=month&format=csv"


async def _rows(client: httpx.AsyncClient, headers: dict[str, str], extra: str) -> list[list[str]]:
    answer = await client.get(f"/api/v1/metrics/online?{QUERY}{extra}", headers=headers)
    assert answer.status_code == 200, answer.text
    return list(csv.reader(answer.content.decode("utf-8-sig").splitlines()))


async def _header(client: httpx.AsyncClient, headers: dict[str, str], url: str) -> list[str]:
    answer = await client.get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    return next(csv.reader(answer.content.decode("utf-8-sig").splitlines()))


async def test_leaders_csv_has_vietnamese_headers_and_percentages(
    client: httpx.AsyncClient, ingest_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    events = [
        event(f"D{i}", at="2024-01-05T08:00:00+07:00", channel="online" if i < 2 else "direct")
        for i in range(3)
    ]
    sent = await client.post(
        "/api/v1/events/batch", json={"events": events}, headers=ingest_headers
    )
    assert sent.json()["accepted"] == 3
    machine = await _rows(client, read_headers, "")
    leaders = await _rows(client, read_headers, "&lang=vi")
    rate = leaders[0].index("Tỷ lệ tiếp nhận trực tuyến")
    assert machine[0][:2] == ["period", "period_from"]
    assert machine[1][machine[0].index("online_rate")] == "0.6666666666666666"
    assert leaders[0][:3] == ["Kỳ", "Từ ngày", "Đến ngày"]
    assert leaders[1][:2] == ["T1/2024", "01/01/2024"]
    assert (leaders[1][rate], leaders[2][rate]) == ("66,67%", "")  # February: no dossier
    assert "Tỷ lệ tiếp nhận trực tuyến (tử số)" in leaders[0]


def test_percentages_read_as_on_the_dashboard() -> None:
    assert [percent(v, Lang.vi) for v in (0.9976, 1.0, 0.0, 0.12345, None)] == [
        "99,76%",
        "100%",
        "0%",
        "12,35%",
        "",
    ]
    assert percent(0.9976, Lang.en) == "99.76%"
    assert header("overdue_rate_denominator", Lang.en) == "Overdue rate (denominator)"


async def test_every_column_of_every_family_has_a_label_in_each_language(
    client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    for family in Family:
        for group_by in GroupBy:
            query = f"from=2024-01-01&to=2024-01-31&period=month&group_by={group_by}&format=csv"
            url = f"/api/v1/metrics/{family}?{query}"
            machine = await _header(client, read_headers, url)
            for lang in Lang:
                leaders = await _header(client, read_headers, f"{url}&lang={lang}")
                unlabelled = [m for m, h in zip(machine, leaders, strict=True) if m == h]
                assert unlabelled == [], (family, group_by, lang)
