"""Tabular output: CSV (UTF-8 with a byte-order mark, so Excel reads Vietnamese correctly)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from typing import Any

from fastapi import Response

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return value


def csv_text(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    """A header row, then one line per row; nulls are empty cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


def csv_response(columns: Sequence[str], rows: Sequence[dict[str, Any]], filename: str) -> Response:
    body = "\ufeff" + csv_text(columns, rows)
    return Response(
        body.encode("utf-8"),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
