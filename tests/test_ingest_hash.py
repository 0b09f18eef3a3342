"""The body hash is SHA-256 of the canonical event as compact JSON with sorted keys."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest

from app.ingest.schemas import EventIn, ValidationContext

CTX = ValidationContext.make(ZoneInfo("Asia/Ho_Chi_Minh"), 300)


def _canonical_hash(event: EventIn) -> str:
    return hashlib.sha256(orjson.dumps(event.canonical(), option=orjson.OPT_SORT_KEYS)).hexdigest()


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"occurred_at": "2024-01-05T08:30:00.000123+07:00"},
        {"occurred_at": "2024-01-05T08:30:00.4"},
        {
            "procedure_code": "1.001234",
            "sector_code": "Lĩnh vực hộ tịch",
            "channel": "online",
            "received_at": "2024-01-05T08:30:00Z",
            "due_at": "2024-01-12T17:00:00+07:00",
            "components_total": 3,
            "components_digitized": 2,
            "result_digitized": True,
            "result_signed": False,
            "fee_required": True,
            "paid_online": None,
        },
    ],
)
def test_body_hash_is_the_hash_of_the_canonical_json(extra: dict[str, object]) -> None:
    item = {
        "event_id": "evt-1",
        "dossier_code": "H40-0001",
        "status": "received",
        "occurred_at": (datetime.now(UTC) - timedelta(days=3)).isoformat(),
        "unit_code": "Xã Đông Hòa",
        **extra,
    }
    event = EventIn.model_validate(item, context=CTX)
    assert event.body_hash() == _canonical_hash(event)
