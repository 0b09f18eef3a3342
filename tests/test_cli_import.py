"""``onestop import``: JSON Lines through the shared ingestion, summary, rejects, resume."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from app.cli.importer import Checkpoint, Importer, Totals, detect_format
from app.db import Database
from tests.cli_helpers import run_cli
from tests.factories import event

STATUS = "/api/v1/status/sources"


def write_lines(path: Path, lines: list[Any]) -> Path:
    with open(path, "wb") as fh:
        for line in lines:
            fh.write(line if isinstance(line, bytes) else orjson.dumps(line))
            fh.write(b"\n")
    return path


def summary(output: str) -> dict[str, int]:
    """The numbers of the summary table, by row name."""
    out = {}
    for name in ("accepted", "duplicate", "invalid", "conflict", "events"):
        line = next(row for row in output.splitlines() if f" {name} " in row)
        out[name] = int(line.split("│")[2].strip().replace(",", ""))
    return out


async def stored_events(client: httpx.AsyncClient, headers: dict[str, str], source: str) -> int:
    body = (await client.get(STATUS, headers=headers)).json()
    return next((s["events"] for s in body["sources"] if s["source"] == source), 0)


@pytest.fixture
def mixed_file(tmp_path: Path) -> Path:
    first = event(event_id="m-1", dossier="HS-1")
    return write_lines(
        tmp_path / "events.jsonl",
        [
            first,
            event(
                event_id="m-2", dossier="HS-1", status="processing", at="2024-01-06T08:00:00+07:00"
            ),
            b"",  # blank lines are skipped
            first,  # the same event again: a duplicate
            b'{"event_id": "m-3", ',  # not JSON
            event(event_id="m-4", status="lost"),  # invalid status
            {**first, "unit_code": "OTHER"},  # same id, other body: a conflict
            event(event_id="m-5", dossier="Hồ sơ-5", unit="Xã Đông Sơn"),
        ],
    )


async def test_import_summarises_accepted_duplicate_invalid_and_conflict(
    database_url: str,
    mixed_file: Path,
    client: httpx.AsyncClient,
    read_headers: dict[str, str],
) -> None:
    result = await run_cli(database_url, ["import", str(mixed_file), "--source", "backfill"])
    assert result.exit_code == 0, result.output
    assert summary(result.stdout) == {
        "events": 6,
        "accepted": 3,
        "duplicate": 1,
        "invalid": 2,
        "conflict": 1,
    }
    assert await stored_events(client, read_headers, "backfill") == 3


async def test_rejects_name_their_line_and_reason(
    database_url: str, mixed_file: Path, client: httpx.AsyncClient
) -> None:
    await run_cli(database_url, ["import", str(mixed_file)])
    rejects = [
        orjson.loads(line)
        for line in (mixed_file.parent / "events.jsonl.rejects.jsonl").read_bytes().splitlines()
    ]
    assert [(r["line"], r["result"], r["errors"][0]["loc"]) for r in rejects] == [
        (5, "invalid", ["line"]),
        (6, "invalid", ["status"]),
        (7, "conflict", ["event_id"]),
    ]
    assert not (mixed_file.parent / "events.jsonl.checkpoint.json").exists()


async def test_vietnamese_text_round_trips(
    database_url: str, mixed_file: Path, client: httpx.AsyncClient, read_headers: dict[str, str]
) -> None:
    await run_cli(database_url, ["import", str(mixed_file)])
    r = await client.get("/api/v1/dossiers/Hồ sơ-5", headers=read_headers)
    assert r.status_code == 200
    assert r.json()["state"]["unit_code"] == "Xã Đông Sơn"


async def test_importing_the_same_file_again_stores_nothing_new(
    database_url: str, mixed_file: Path, client: httpx.AsyncClient
) -> None:
    await run_cli(database_url, ["import", str(mixed_file)])
    again = await run_cli(database_url, ["import", str(mixed_file)])
    assert summary(again.stdout)["accepted"] == 0
    assert summary(again.stdout)["duplicate"] == 4


class Crash(Exception):
    pass


def crash_after(batches: int) -> Any:
    seen = []

    def on_progress(offset: int, totals: Totals) -> None:
        seen.append(offset)
        if len(seen) == batches:
            raise Crash

    return on_progress


def twelve_events(tmp_path: Path) -> Path:
    return write_lines(
        tmp_path / "twelve.jsonl",
        [event(event_id=f"r-{i}", dossier=f"HS-{i // 3}") for i in range(11)] + [b"{oops"],
    )


async def test_a_crashed_import_resumes_after_its_last_committed_batch(
    database_url: str,
    tmp_path: Path,
    db: Database,
    client: httpx.AsyncClient,
    read_headers: dict[str, str],
) -> None:
    path = twelve_events(tmp_path)
    checkpoint = tmp_path / "twelve.jsonl.checkpoint.json"
    rejects = tmp_path / "twelve.jsonl.rejects.jsonl"
    importer = Importer(
        db,
        path=path,
        source="import",
        fmt="jsonl",
        batch_size=4,
        checkpoint_path=checkpoint,
        rejects_path=rejects,
        on_progress=crash_after(2),
    )
    with pytest.raises(Crash):
        await importer.run()
    saved = Checkpoint.load(checkpoint)
    assert saved is not None and (saved.records, saved.totals.accepted) == (8, 8)

    result = await run_cli(database_url, ["import", str(path), "--batch-size", "4"])
    assert result.exit_code == 0, result.output
    assert "resuming after record 8" in result.output
    assert summary(result.stdout) == {
        "events": 11,
        "accepted": 11,
        "duplicate": 0,
        "invalid": 1,
        "conflict": 0,
    }
    assert await stored_events(client, read_headers, "import") == 11


async def test_a_batch_committed_without_its_checkpoint_is_resent_as_duplicates(
    database_url: str,
    tmp_path: Path,
    db: Database,
    client: httpx.AsyncClient,
    read_headers: dict[str, str],
) -> None:
    """Crash between a batch's commit and its checkpoint: nothing is stored twice."""
    path = twelve_events(tmp_path)
    checkpoint = tmp_path / "twelve.jsonl.checkpoint.json"
    kept: list[bytes] = []

    def on_progress(offset: int, totals: Totals) -> None:
        kept.append(checkpoint.read_bytes())
        if len(kept) == 2:
            checkpoint.write_bytes(kept[0])  # as if the second checkpoint was never written
            raise Crash

    importer = Importer(
        db,
        path=path,
        source="import",
        fmt="jsonl",
        batch_size=4,
        checkpoint_path=checkpoint,
        rejects_path=tmp_path / "twelve.jsonl.rejects.jsonl",
        on_progress=on_progress,
    )
    with pytest.raises(Crash):
        await importer.run()
    result = await run_cli(database_url, ["import", str(path), "--batch-size", "4"])
    # the resent batch's 4 events count as duplicates: 4 + 3 accepted, 4 duplicates
    assert summary(result.stdout) == {
        "events": 11,
        "accepted": 7,
        "duplicate": 4,
        "invalid": 1,
        "conflict": 0,
    }
    assert await stored_events(client, read_headers, "import") == 11
    rejects = (tmp_path / "twelve.jsonl.rejects.jsonl").read_bytes().splitlines()
    assert [orjson.loads(r)["line"] for r in rejects] == [12]


async def test_a_checkpoint_of_another_file_is_refused(
    database_url: str, tmp_path: Path, mixed_file: Path, client: httpx.AsyncClient
) -> None:
    other = write_lines(tmp_path / "other.jsonl", [event(event_id="o-1")])
    stale = Checkpoint(file=str(other), head="0" * 64, source="import", format="jsonl", records=1)
    stale.save(tmp_path / "events.jsonl.checkpoint.json")
    refused = await run_cli(database_url, ["import", str(mixed_file)])
    assert refused.exit_code == 1
    assert "--restart" in refused.output
    restarted = await run_cli(database_url, ["import", str(mixed_file), "--restart"])
    assert restarted.exit_code == 0, restarted.output
    assert summary(restarted.stdout)["accepted"] == 3


def test_format_detection(tmp_path: Path) -> None:
    jsonl = write_lines(tmp_path / "a.txt", [event(), event()])
    array = tmp_path / "b.json"
    array.write_bytes(b'[\n  {"MaHoSo": "X"}\n]\n')
    envelope = tmp_path / "c.json"
    envelope.write_bytes(b'{\n  "service": "DongBoHoSoMC",\n  "data": []\n}\n')
    one_line_envelope = tmp_path / "d.json"
    one_line_envelope.write_bytes(b'{"service": "DongBoHoSoMC", "data": []}')
    assert [detect_format(p) for p in (jsonl, array, envelope, one_line_envelope)] == [
        "jsonl",
        "national",
        "national",
        "national",
    ]


async def test_a_missing_file_is_a_usage_error(database_url: str, tmp_path: Path) -> None:
    result = await run_cli(database_url, ["import", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


async def test_batches_in_flight_together_give_the_same_summary(
    database_url: str,
    mixed_file: Path,
    client: httpx.AsyncClient,
    read_headers: dict[str, str],
) -> None:
    result = await run_cli(
        database_url, ["import", str(mixed_file), "--batch-size", "1", "--jobs", "3"]
    )
    assert result.exit_code == 0, result.output
    assert summary(result.stdout) == {
        "events": 6,
        "accepted": 3,
        "duplicate": 1,
        "invalid": 2,
        "conflict": 1,
    }
    rejects = (mixed_file.parent / "events.jsonl.rejects.jsonl").read_bytes().splitlines()
    assert [orjson.loads(r)["line"] for r in rejects] == [5, 6, 7]
    assert await stored_events(client, read_headers, "import") == 3


NATIONAL = Path(__file__).parent / "fixtures" / "dvcqg" / "records.json"


def national_expectation() -> tuple[int, int, list[int]]:
    """Records, events and the numbers of records with problems, by the mapping itself."""
    from app.config import Settings
    from app.dvcqg.mapping import map_dossier
    from app.dvcqg.service import mapping_options

    options = mapping_options(Settings(timezone="Asia/Ho_Chi_Minh"))
    mapped = [map_dossier(r, options) for r in orjson.loads(NATIONAL.read_bytes())]
    events = sum(len(m.events) for m in mapped)
    return len(mapped), events, [i for i, m in enumerate(mapped, start=1) if m.problems]


async def test_a_national_export_is_mapped_and_stored(
    database_url: str,
    tmp_path: Path,
    client: httpx.AsyncClient,
    read_headers: dict[str, str],
) -> None:
    path = tmp_path / "export.json"
    path.write_bytes(NATIONAL.read_bytes())
    records, events, with_problems = national_expectation()
    result = await run_cli(database_url, ["import", str(path), "--source", "dvcqg"])
    assert result.exit_code == 0, result.output
    assert "(national)" in result.stdout
    read = next(row for row in result.stdout.splitlines() if "records read" in row)
    assert int(read.split("│")[2].strip().replace(",", "")) == records
    assert summary(result.stdout)["events"] == events
    assert summary(result.stdout)["accepted"] == await stored_events(client, read_headers, "dvcqg")
    rejects_file = tmp_path / "export.json.rejects.jsonl"
    rejected = (
        [orjson.loads(r) for r in rejects_file.read_bytes().splitlines()] if with_problems else []
    )
    assert sorted({r["record"] for r in rejected if r["result"] == "invalid"}) == with_problems
    r = await client.get("/api/v1/dossiers/000.00.31.H40-240105-0001", headers=read_headers)
    assert r.status_code == 200


async def test_the_portal_envelope_is_read_like_an_array(
    database_url: str, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    records = orjson.loads(NATIONAL.read_bytes())
    path = tmp_path / "envelope.json"
    path.write_bytes(orjson.dumps({"service": "DongBoHoSoMC", "data": records}))
    _, events, _ = national_expectation()
    result = await run_cli(database_url, ["import", str(path)])
    assert result.exit_code == 0, result.output
    assert summary(result.stdout)["events"] == events


async def test_a_truncated_national_export_stops_with_a_message(
    database_url: str, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    path = tmp_path / "cut.json"
    path.write_bytes(NATIONAL.read_bytes()[:-200])
    result = await run_cli(database_url, ["import", str(path), "--format", "national"])
    assert result.exit_code == 1
    assert "not valid JSON" in result.output


def gzipped(path: Path) -> Path:
    target = path.with_name(path.name + ".gz")
    target.write_bytes(gzip.compress(path.read_bytes()))
    return target


async def test_a_gzip_file_is_read_as_it_is(
    database_url: str, mixed_file: Path, client: httpx.AsyncClient
) -> None:
    result = await run_cli(database_url, ["import", str(gzipped(mixed_file))])
    assert result.exit_code == 0, result.output
    assert "(jsonl)" in result.stdout
    assert summary(result.stdout)["accepted"] == 3
    rejects = (mixed_file.parent / "events.jsonl.gz.rejects.jsonl").read_bytes().splitlines()
    assert [orjson.loads(r)["line"] for r in rejects] == [5, 6, 7]


async def test_a_crashed_gzip_import_resumes_too(
    database_url: str,
    tmp_path: Path,
    db: Database,
    client: httpx.AsyncClient,
    read_headers: dict[str, str],
) -> None:
    path = gzipped(twelve_events(tmp_path))
    importer = Importer(
        db,
        path=path,
        source="import",
        fmt="jsonl",
        batch_size=4,
        checkpoint_path=tmp_path / "twelve.jsonl.gz.checkpoint.json",
        rejects_path=tmp_path / "twelve.jsonl.gz.rejects.jsonl",
        on_progress=crash_after(1),
    )
    with pytest.raises(Crash):
        await importer.run()
    result = await run_cli(database_url, ["import", str(path), "--batch-size", "4"])
    assert "resuming after record 4" in result.output
    assert summary(result.stdout)["accepted"] == 11
    assert await stored_events(client, read_headers, "import") == 11


async def test_a_gzip_national_export_is_detected(
    database_url: str, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    path = tmp_path / "export.json"
    path.write_bytes(NATIONAL.read_bytes())
    _, events, _ = national_expectation()
    result = await run_cli(database_url, ["import", str(gzipped(path))])
    assert result.exit_code == 0, result.output
    assert "(national)" in result.stdout
    assert summary(result.stdout)["events"] == events


async def test_an_unreachable_database_stops_with_a_resume_hint(
    mixed_file: Path, unused_tcp_port: int
) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{unused_tcp_port}/nowhere"
    result = await run_cli(url, ["import", str(mixed_file)])
    assert result.exit_code == 1
    assert "ConnectionRefusedError" in result.output
    assert "run the same command again" in result.output
