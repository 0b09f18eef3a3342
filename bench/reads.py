"""(e)–(g): metric queries over a large history, next to DuckDB and to raw SQL; memory; export.

History is built by COPY (``pg.bulk_load``: events, and dossier rows folded by the app's own
fold), then each size in turn is measured: every metrics family for a quarter and a year,
grouped by none and by unit, through the HTTP API (p50/p95), the same figures computed by
DuckDB from the dossier table exported to Parquet, and by hand-written SQL over the raw event
table (the fold done in the query). The server's peak memory is watched throughout, and a
streamed CSV export of up to ``export_rows`` dossiers is read to the end.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from bench import data, pg, servers
from bench.ingest import CpuMeter, app_env, create_key

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
FAMILIES = ("delay", "digitization", "online", "summary")
GROUPS = ("none", "unit")

# --- the figures by hand: one SQL per basis, over a relation ``{d}`` of folded dossiers ------

INTAKE = """
SELECT {keys} count(*) AS received,
  count(*) FILTER (WHERE channel = 'online') AS received_online,
  count(*) FILTER (WHERE channel = 'direct') AS received_direct,
  count(*) FILTER (WHERE channel = 'postal') AS received_postal,
  count(*) FILTER (WHERE fee_required) AS fee_required,
  count(*) FILTER (WHERE fee_required AND paid_online) AS paid_online,
  count(*) FILTER (WHERE components_digitized >= 1) AS with_digitized_component,
  count(*) FILTER (WHERE components_total > 0 AND components_digitized = components_total)
    AS fully_digitized
FROM {d} WHERE received_date BETWEEN {a} AND {b} {group}
"""

RESOLUTION = """
SELECT {keys} count(*) AS resolved,
  count(*) FILTER (WHERE resolved_date < due_date) AS resolved_early,
  count(*) FILTER (WHERE resolved_at > due_at) AS resolved_late,
  count(*) FILTER (WHERE result_digitized) AS result_digitized,
  count(*) FILTER (WHERE result_signed) AS result_signed,
  avg(w2.ordinal - w1.ordinal) AS processing_days_mean,
  percentile_disc(0.5) WITHIN GROUP (ORDER BY w2.ordinal - w1.ordinal) AS processing_days_p50,
  percentile_disc(0.9) WITHIN GROUP (ORDER BY w2.ordinal - w1.ordinal) AS processing_days_p90
FROM {d}
LEFT JOIN {w} AS w1 ON w1.day = received_date
LEFT JOIN {w} AS w2 ON w2.day = resolved_date
WHERE resolved_date BETWEEN {a} AND {b} AND (closed_at IS NULL OR closed_at >= resolved_at)
{group}
"""

BACKLOG = """
SELECT {keys} count(*) AS in_progress, count(*) FILTER (WHERE due_at < {end}) AS overdue
FROM {d}
WHERE received_date IS NOT NULL AND received_at < {end} AND (ended_at IS NULL OR ended_at >= {end})
{group}
"""

PARTS = {
    "online": (INTAKE,),
    "digitization": (INTAKE, RESOLUTION),
    "delay": (RESOLUTION, BACKLOG),
    "summary": (INTAKE, RESOLUTION, BACKLOG),
}

# The fold written by hand over the raw events (what one would write without a dossier table).
RAW_FOLD = """(
  SELECT *, (received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS received_date,
    (resolved_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS resolved_date,
    (due_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS due_date,
    CASE WHEN resolved_at IS NULL THEN closed_at WHEN closed_at IS NULL THEN resolved_at
         ELSE least(resolved_at, closed_at) END AS ended_at
  FROM (
    SELECT dossier_code,
      (array_agg(unit_code ORDER BY occurred_at DESC, event_id DESC))[1] AS unit_code,
      (array_agg(channel ORDER BY occurred_at DESC, event_id DESC)
        FILTER (WHERE channel IS NOT NULL))[1] AS channel,
      min(occurred_at) FILTER (WHERE status = 'received') AS received_at,
      coalesce(min(occurred_at) FILTER (WHERE status = 'resolved'),
               min(occurred_at) FILTER (WHERE status = 'returned')) AS resolved_at,
      min(occurred_at) FILTER (WHERE status IN ('withdrawn', 'stopped', 'refused'))
        AS closed_at,
      bool_or(status = 'refused') AS refused,
      (array_agg(due_at ORDER BY occurred_at DESC, event_id DESC)
        FILTER (WHERE due_at IS NOT NULL))[1] AS due_at,
      (array_agg(components_total ORDER BY occurred_at DESC, event_id DESC)
        FILTER (WHERE components_total IS NOT NULL))[1] AS components_total,
      (array_agg(components_digitized ORDER BY occurred_at DESC, event_id DESC)
        FILTER (WHERE components_digitized IS NOT NULL))[1] AS components_digitized,
      bool_or(result_digitized) AS result_digitized,
      bool_or(result_signed) AS result_signed,
      bool_or(fee_required) AS fee_required,
      bool_or(paid_online) AS paid_online
    FROM dossier_events GROUP BY dossier_code
  ) AS f WHERE NOT refused
) AS d"""

EXPORT_COLUMNS = (
    "code, unit_code, procedure_code, sector_code, channel, received_at, received_date, "
    "resolved_at, resolved_date, closed_at, ended_at, due_at, due_date, components_total, "
    "components_digitized, result_digitized, result_signed, fee_required, paid_online"
)


def sql_for_part(
    part: str, group: str, first: date, last: date, *, relation: str, work_days: str
) -> str:
    end = datetime.combine(last + timedelta(days=1), dtime(0), tzinfo=ZONE)
    return part.format(
        keys="unit_code," if group == "unit" else "",
        d=relation,
        w=work_days,
        a=f"DATE '{first}'",
        b=f"DATE '{last}'",
        end=f"TIMESTAMPTZ '{end.isoformat()}'",
        group="GROUP BY unit_code" if group == "unit" else "",
    )


def sql_for(
    family: str, group: str, first: date, last: date, *, relation: str, work_days: str
) -> list[str]:
    return [
        sql_for_part(part, group, first, last, relation=relation, work_days=work_days)
        for part in PARTS[family]
    ]


def _pcts(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return statistics.median(ordered), p95


async def _export_parquet(dsn: str, workdir: Path) -> tuple[Path, Path]:
    import duckdb

    conn = await asyncpg.connect(dsn)
    csv_path, wd_path = workdir / "dossiers.csv", workdir / "work_days.csv"
    try:
        await conn.copy_from_query(
            f"SELECT {EXPORT_COLUMNS} FROM dossiers", output=str(csv_path), format="csv",
            header=True,
        )  # fmt: skip
        await conn.copy_from_query(
            "SELECT day, ordinal FROM work_days", output=str(wd_path), format="csv", header=True
        )
    finally:
        await conn.close()
    parquet, wd_parquet = workdir / "dossiers.parquet", workdir / "work_days.parquet"
    with duckdb.connect() as duck:
        duck.execute("SET TimeZone = 'UTC'")
        duck.execute(
            f"COPY (SELECT * FROM read_csv('{csv_path}', header = true, types = {{"
            "'received_at': 'TIMESTAMPTZ', 'resolved_at': 'TIMESTAMPTZ', "
            "'closed_at': 'TIMESTAMPTZ', 'ended_at': 'TIMESTAMPTZ', 'due_at': 'TIMESTAMPTZ', "
            "'received_date': 'DATE', 'resolved_date': 'DATE', 'due_date': 'DATE'})) "
            f"TO '{parquet}' (FORMAT parquet)"
        )
        duck.execute(
            f"COPY (SELECT * FROM read_csv('{wd_path}', header = true)) "
            f"TO '{wd_parquet}' (FORMAT parquet)"
        )
    csv_path.unlink()
    return parquet, wd_parquet


async def measure_size(
    size: int,
    db_name: str,
    workdir: Path,
    *,
    repeats: int,
    raw_repeats: int,
    export_rows: int,
    full: bool,
    log: Any,
) -> dict[str, Any]:
    import duckdb

    out: dict[str, Any] = {
        "size": size,
        "api": {},
        "duckdb": {},
        "raw": {},
        "checks": [],
        "concurrent": {},
    }
    # every size: the last full month (inside even the shortest history), for (g);
    # the largest size: the last full quarter and year too, for (e)
    periods = {"month": data.last_month()}
    if full:
        periods.update(data.quarter_and_year())
    with servers.uvicorn("app.main:app", app_env(db_name), workers=2) as srv:
        token = create_key(srv.base, ["read"])
        headers = {"Authorization": f"Bearer {token}"}
        srv.reset_peak()
        async with httpx.AsyncClient(base_url=srv.base, headers=headers, timeout=120) as client:
            for family in FAMILIES:
                for pname, (first, last) in periods.items():
                    for group in GROUPS:
                        params = {"from": str(first), "to": str(last), "group_by": group}
                        samples = []
                        rows = 0
                        for _ in range(WARM_UP):
                            r = await client.get(f"/api/v1/metrics/{family}", params=params)
                            r.raise_for_status()
                        async with CpuMeter(srv, db_name) as cpu:
                            for _ in range(repeats):
                                t0 = time.perf_counter()
                                r = await client.get(f"/api/v1/metrics/{family}", params=params)
                                samples.append((time.perf_counter() - t0) * 1000)
                                r.raise_for_status()
                                rows = len(r.json()["rows"])
                        if (family, group) == ("online", "none") and pname == (
                            "quarter" if full else "month"
                        ):
                            out["api_received"] = r.json()["rows"][0]["received"]
                        cpu_ms = (cpu.server + cpu.db) / repeats * 1000
                        out["api"][(family, pname, group)] = (*_pcts(samples), rows, cpu_ms)
            log(f"  API metrics measured at {size:,}")
            if full:  # (e2) several answers at once: what the sequential figures cannot show
                quarter = periods["quarter"]
                for family in CONCURRENT_FAMILIES:
                    out["concurrent"][family] = await _at_once(
                        client, srv, db_name, family, quarter, max(repeats // 2, 1)
                    )
                log(f"  concurrent answers measured at {size:,}")
            out["metrics_rss_mb"] = srv.peak_rss / 2**20
            # (f) the streamed export
            if export_rows:
                srv.reset_peak()
                out["export"] = await _export(client, export_rows, srv)
                out["export_rss_mb"] = srv.peak_rss / 2**20
            out["idle_rss_mb"] = srv.rss() / 2**20
    # DuckDB on Parquet
    parquet, wd_parquet = await _export_parquet(pg.dsn_of(db_name), workdir)
    with duckdb.connect() as duck:
        duck.execute("SET TimeZone = 'UTC'")
        duck.execute(f"CREATE VIEW d AS SELECT * FROM read_parquet('{parquet}')")
        duck.execute(f"CREATE VIEW w AS SELECT * FROM read_parquet('{wd_parquet}')")
        for family in FAMILIES:
            for pname, (first, last) in periods.items():
                for group in GROUPS:
                    sqls = sql_for(family, group, first, last, relation="d", work_days="w")
                    samples = []
                    for run in range(WARM_UP + repeats):
                        t0 = time.perf_counter()
                        for sql in sqls:
                            duck.execute(sql).fetchall()
                        if run >= WARM_UP:
                            samples.append((time.perf_counter() - t0) * 1000)
                    out["duckdb"][(family, pname, group)] = _pcts(samples)
        check_period = periods.get("quarter", periods["month"])
        received = duck.execute(
            sql_for("online", "none", *check_period, relation="d", work_days="w")[0]
        ).fetchone()
    log(f"  DuckDB measured at {size:,}")
    out["checks"].append(
        f"dossiers received in the quarter: DuckDB {received[0] if received else None}, "
        f"API {out.get('api_received')}"
    )
    parquet.unlink()
    wd_parquet.unlink()
    # raw SQL over the events: each basis once per (period, group); a family costs its bases
    if raw_repeats:
        conn = await asyncpg.connect(pg.dsn_of(db_name))
        try:
            await conn.execute("SET statement_timeout = '300s'")
            for pname, (first, last) in periods.items():
                if pname == "month":
                    continue
                for group in GROUPS:
                    part_ms: dict[str, float] = {}
                    for part in (INTAKE, RESOLUTION, BACKLOG):
                        sql = sql_for_part(
                            part, group, first, last, relation=RAW_FOLD, work_days="work_days"
                        )
                        samples = []
                        for _ in range(raw_repeats):
                            t0 = time.perf_counter()
                            await conn.fetch(sql)
                            samples.append((time.perf_counter() - t0) * 1000)
                        part_ms[part] = statistics.median(samples)
                    for family in FAMILIES:
                        total = sum(part_ms[part] for part in PARTS[family])
                        out["raw"][(family, pname, group)] = (total, total)
        finally:
            await conn.close()
        log(f"  raw SQL measured at {size:,}")
    return out


CONCURRENCY = 8  # answers in flight at once, as several dashboards opening together
CONCURRENT_FAMILIES = ("summary", "online")  # the largest answer by unit, and a small one


async def _at_once(
    client: httpx.AsyncClient,
    srv: servers.Server,
    db_name: str,
    family: str,
    period: tuple[Any, Any],
    rounds: int,
) -> tuple[float, float, float, float]:
    """``CONCURRENCY`` requests of ``family`` by unit for ``period`` always in flight,
    ``rounds`` × ``CONCURRENCY`` answers in all: (answers/s, p50 ms, p95 ms, CPU ms per
    answer, server and database)."""
    params = {"from": str(period[0]), "to": str(period[1]), "group_by": "unit"}
    total = rounds * CONCURRENCY
    left = [total]
    samples: list[float] = []

    async def one_lane() -> None:
        while left[0] > 0:
            left[0] -= 1
            t0 = time.perf_counter()
            r = await client.get(f"/api/v1/metrics/{family}", params=params)
            samples.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()

    async with CpuMeter(srv, db_name) as cpu:
        started = time.perf_counter()
        await asyncio.gather(*(one_lane() for _ in range(CONCURRENCY)))
        seconds = time.perf_counter() - started
    p50, p95 = _pcts(samples)
    return total / seconds, p50, p95, (cpu.server + cpu.db) / total * 1000


async def _export(client: httpx.AsyncClient, rows: int, srv: servers.Server) -> dict[str, Any]:
    """Stream the dossier CSV export to the end, counting lines, never holding it."""
    params = {"from": "2024-01-01", "to": "2026-12-31", "limit": str(rows)}
    t0 = time.perf_counter()
    lines = 0
    size = 0
    first_byte = None
    async with client.stream("GET", "/api/v1/exports/dossiers.csv", params=params) as r:
        if r.status_code == 404:
            return {"status": 404}
        r.raise_for_status()
        async for chunk in r.aiter_bytes():
            if first_byte is None:
                first_byte = (time.perf_counter() - t0) * 1000
            size += len(chunk)
            lines += chunk.count(b"\n")
    seconds = time.perf_counter() - t0
    return {
        "status": 200,
        "rows": lines - 1,
        "mb": size / 2**20,
        "seconds": seconds,
        "first_byte_ms": first_byte,
    }


# Runs of each query before the measured ones, not counted: a worker's first answer to a
# query shape prepares its statements (and DuckDB's first reads the Parquet footers).
WARM_UP = 2


async def run(
    workdir: Path,
    *,
    sizes: list[int],
    repeats: int,
    raw_repeats: int,
    export_rows: int,
    log: Any,
) -> list[str]:
    results = []
    async with pg.database("metrics") as name:
        dsn = pg.dsn_of(name)
        await pg.load_reference(dsn)
        loaded = 0
        for size in sorted(sizes):
            seconds = await pg.bulk_load(dsn, loaded, size - loaded, ZONE)
            log(f"history: {size:,} dossiers loaded (+{size - loaded:,} in {seconds:.0f} s)")
            loaded = size
            last = size == max(sizes)
            results.append(
                await measure_size(
                    size,
                    name,
                    workdir,
                    repeats=repeats,
                    raw_repeats=raw_repeats if last else 0,
                    export_rows=export_rows if last else 0,
                    full=last,
                    log=log,
                )
            )
    return render(results)


def _ratio(big: float, small: float) -> str:
    """×big/small, or – when the small figure is 0 (CPU below the clock's tick)."""
    return f"×{big / small:.2f}" if small else "–"


def render(results: list[dict[str, Any]]) -> list[str]:
    big = results[-1]
    small = results[0]
    sections = []
    lines = [
        f"### (e) metrics at {big['size']:,} dossiers: p50 / p95 ms",
        "",
        "| family | period | group_by | rows | API p50 | API p95 | API CPU ms (app+db) "
        "| DuckDB p50 | DuckDB p95 | raw SQL over events p50 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, (p50, p95, rows, cpu_ms) in big["api"].items():
        if key[1] == "month":
            continue
        d50, d95 = big["duckdb"].get(key, (None, None))
        raw = big["raw"].get(key)
        lines.append(
            f"| {key[0]} | {key[1]} | {key[2]} | {rows} | {p50:.1f} | {p95:.1f} | "
            f"{cpu_ms:.1f} | {d50:.1f} | {d95:.1f} | {f'{raw[0]:,.0f}' if raw else '–'} |"
        )
    lines += ["", *[f"- check: {c}" for c in big["checks"]]]
    sections.append("\n".join(lines))
    if big["concurrent"]:
        lines = [
            f"### (e2) {CONCURRENCY} answers by unit at once, last full quarter, "
            f"{big['size']:,} dossiers",
            "",
            "| family | answers/s | p50 ms | p95 ms | CPU ms per answer (app+db) |",
            "|---|---|---|---|---|",
        ]
        for family, (rate, p50, p95, cpu_ms) in big["concurrent"].items():
            lines.append(f"| {family} | {rate:.1f} | {p50:.0f} | {p95:.0f} | {cpu_ms:.1f} |")
        sections.append("\n".join(lines))
    if len(results) > 1:
        lines = [
            f"### (g) growth: API p50 ms and CPU ms per query (app+db) for the last full "
            f"month, {small['size']:,} → {big['size']:,} dossiers of history "
            f"(×{big['size'] / small['size']:.0f}; same rate per day, so a longer history)",
            "",
            "| family | period | group_by | "
            + " | ".join(f"{r['size']:,} p50 | {r['size']:,} CPU" for r in results)
            + " | ratio p50 | ratio CPU |",
            "|---|---|---|" + "---|" * (2 * len(results)) + "---|---|",
        ]
        for key in big["api"]:
            if key[1] != "month":
                continue
            values = [r["api"][key] for r in results]
            lines.append(
                f"| {key[0]} | {key[1]} | {key[2]} | "
                + " | ".join(f"{v[0]:.1f} | {v[3]:.1f}" for v in values)
                + f" | {_ratio(values[-1][0], values[0][0])}"
                + f" | {_ratio(values[-1][3], values[0][3])} |"
            )
        sections.append("\n".join(lines))
    export = big.get("export", {})
    lines = [
        "### (f) server memory (uvicorn master + 2 workers, RSS)",
        "",
        f"- peak while answering the metric queries at {big['size']:,}: "
        f"{big['metrics_rss_mb']:.0f} MB",
    ]
    if export.get("status") == 200:
        lines.append(
            f"- CSV export streamed: {export['rows']:,} rows, {export['mb']:.0f} MB in "
            f"{export['seconds']:.1f} s (first byte after {export['first_byte_ms']:.0f} ms); "
            f"server peak RSS during it {big['export_rss_mb']:.0f} MB"
        )
    else:
        lines.append("- CSV export: endpoint not available in this build")
    sections.append("\n".join(lines))
    return sections
