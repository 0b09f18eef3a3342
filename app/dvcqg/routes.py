"""The national sync format (DVCQG), accepted as provincial systems already send it."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from app.auth.deps import Principal, require_scope
from app.auth.keys import Scope
from app.db import Database, get_database
from app.dvcqg import service
from app.dvcqg.schemas import (
    DossierRecord,
    Envelope,
    ProcessingStep,
    SyncErrorOut,
    SyncOut,
    SyncTooLargeOut,
)
from app.errors import AUTH_RESPONSES, ErrorBody

router = APIRouter(prefix="/api/v1/dvcqg", tags=["national format (DVCQG)"])

UNREADABLE = "1"
TOO_MANY = "4"


def _body_schema(model: type[Any]) -> dict[str, Any]:
    item = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"type": "array", "items": item},
                        {"$ref": "#/components/schemas/Envelope"},
                    ]
                }
            }
        },
    }


_RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTH_RESPONSES,
    413: {
        "model": SyncTooLargeOut | ErrorBody,
        "description": "More records than ONESTOP_MAX_BATCH, or a body over the size limit.",
    },
    422: {"model": SyncErrorOut, "description": "Not a JSON array of records: nothing stored."},
}

_ANSWERS = """
The answer is the one national clients check: `error_code` `"0"` when every record was stored
(set ONESTOP_DVCQG_SUCCESS_CODE=00 for clients that expect `"00"`), `"2"` when some records
could not be stored, `"3"` when none could; HTTP 200 in all three cases, with per-record
`results` (`accepted`, `duplicate`, `partial`, `invalid`), the events each record became and
its errors by national field path. A body that is not a JSON array (nor the portal's envelope
`{"service": ..., "data": [...]}`) gets 422 with `error_code` `"1"`; more records than
ONESTOP_MAX_BATCH get 413 with `"4"`. Either way nothing is stored. The whole body is one
transaction: after a 5xx nothing was stored and it is safe to resend.
"""


def _error(status: int, error_code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error_code": error_code, "message": message, **extra}, status_code=status)


async def _records(request: Request, db: Database) -> list[Any] | JSONResponse:
    """The body's records, or the national-format error answer saying why there are none."""
    raw = await request.body()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        message = f"body is not valid UTF-8 JSON: {exc.msg}"
        return _error(422, UNREADABLE, message, detail=[_field(["body"], message, "json_invalid")])
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        body = body["data"]
    if not isinstance(body, list):
        message = 'expected a JSON array of records (or {"service": ..., "data": [...]})'
        return _error(422, UNREADABLE, message, detail=[_field(["body"], message, "list_type")])
    limit = db.settings.max_batch
    if len(body) > limit:
        message = f"at most {limit} records in one request; this one has {len(body)}"
        return _error(413, TOO_MANY, message, detail=message, code="payload_too_large")
    return body


def _field(loc: list[str | int], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": kind}


@router.post(
    "/dossiers",
    response_model=SyncOut,
    summary="Sync dossiers in the national format",
    description="""A JSON array of dossier records exactly as provincial systems sync them to
the National Public Service Portal (DongBoHoSoMC): Vietnamese field names, timestamps
`yyyyMMddHHmmss` in ONESTOP_TIMEZONE. Each record becomes the canonical events its dates imply
(`received` at NgayTiepNhan, `supplement_requested` at each NgayBoSung, `resolved` at
NgayKetThucXuLy, `returned` at NgayTra…) plus one event with its current TrangThaiHoSo and
attributes, stored through the same ingestion as `/api/v1/events`. Event ids derive from the
content: resending an unchanged record stores nothing new; a changed one adds events. A record
never seen before is simply accepted (no add-before-update). The mapping table:
docs/dvcqg.md.
"""
    + _ANSWERS,
    openapi_extra={"requestBody": _body_schema(DossierRecord)},
    responses=_RESPONSES,
)
async def sync_dossiers(
    request: Request,
    principal: Principal = Depends(require_scope(Scope.ingest)),
    db: Database = Depends(get_database),
) -> Any:
    records = await _records(request, db)
    if isinstance(records, JSONResponse):
        return records
    return await service.sync_dossiers(
        db, source=principal.source, records=records, claim=principal.signed_request
    )


@router.post(
    "/progress",
    response_model=SyncOut,
    summary="Sync processing steps in the national format",
    description="""A JSON array of processing steps (QuaTrinhXuLy, CapNhatTienDoHoSoMC):
`MaHoSo`, `TrangThai` (the TrangThaiHoSo codes), `ThoiDiemXuLy` (`yyyyMMddHHmmss`, required),
`PhongBanXuLy`, `NoiDungXuLy`… Each step becomes one status event at ThoiDiemXuLy; a step and a
dossier record telling the same thing count once. A step of a stored dossier keeps its unit; a
step of a dossier never seen takes the unit from the MaHoSo prefix (or as configured by
ONESTOP_DVCQG_UNIT_SOURCE / ONESTOP_DVCQG_UNIT_MAP). The Vietnamese texts are kept in the stored
payload.
"""
    + _ANSWERS,
    openapi_extra={"requestBody": _body_schema(ProcessingStep)},
    responses=_RESPONSES,
)
async def sync_progress(
    request: Request,
    principal: Principal = Depends(require_scope(Scope.ingest)),
    db: Database = Depends(get_database),
) -> Any:
    steps = await _records(request, db)
    if isinstance(steps, JSONResponse):
        return steps
    return await service.sync_progress(
        db, source=principal.source, steps=steps, claim=principal.signed_request
    )


# Models the request bodies refer to, added to the OpenAPI components by app.main.
DOC_MODELS = (DossierRecord, ProcessingStep, Envelope)
