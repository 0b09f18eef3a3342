"""Small builders for events, so tests state only what they are about."""

from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count(1)


def event(
    dossier: str = "000.00.31.H40-240105-0001",
    status: str = "received",
    at: str = "2024-01-05T08:00:00+07:00",
    unit: str = "H40.31",
    **fields: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": fields.pop("event_id", f"e-{next(_ids)}"),
        "dossier_code": dossier,
        "status": status,
        "occurred_at": at,
        "unit_code": unit,
    }
    body.update(fields)
    return body
