"""The national sync format (DVCQG), accepted as provincial systems already send it."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from app.auth.deps import Principal
from app.auth.scope import ingest_units
from app.db import Database, get_database
from app.dvcqg import auth, service
from app.dvcqg.mapping import show
from app.dvcqg.schemas import (
    DossierRecord,
    Envelope,
    LoginFailedOut,
    LoginIn,
    LoginOut,
    LookupOut,
    ProcessingStep,
    SyncErrorOut,
    SyncOut,
    SyncTooLargeOut,
)
from app.errors import AUTH_RESPONSES, ErrorBody, Unauthorized, not_json

router = APIRouter(prefix="/api/v1/dvcqg", tags=["national format (DVCQG)"])
# The path a provincial sync proxy serves (Hà Giang's client calls
# .../api/SynsTTHCC/DongBoHoSoMC?MaDinhDanhDV=...&isUpdating=...): docs/dvcqg.md.
portal_router = APIRouter(prefix="/api/SynsTTHCC", tags=["national format (DVCQG)"])

RECORDS = "DongBoHoSoMC"
STEPS = "CapNhatTienDoHoSoMC"
LOOKUPS = ("TraCuuHoSo", "LayThuTuc")

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


async def _records(request: Request, db: Database, kind: str) -> list[Any] | JSONResponse:
    """The body's records, or the national-format error answer saying why there are none.

    ``kind`` is the service the route serves (DongBoHoSoMC or CapNhatTienDoHoSoMC); an envelope
    whose ``service`` names the other one is refused rather than read as the wrong thing.
    """
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    if isinstance(body, dict):
        named = body.get("service")
        if isinstance(named, str) and named.strip() and named.strip() != kind:
            message = (
                f"service {show(named.strip())} is not served here: this route takes {kind} "
                f"(POST /api/v1/dvcqg picks the route by service)"
            )
            return _error(422, UNREADABLE, message, detail=[_field(["service"], message, "enum")])
        if isinstance(body.get("data"), list):
            body = body["data"]
    if not isinstance(body, list):
        message = 'expected a JSON array of records (or {"service": ..., "data": [...]})'
        return _error(422, UNREADABLE, message, detail=[_field(["body"], message, "list_type")])
    limit = db.settings.max_batch
    if len(body) > limit:
        message = f"at most {limit} records in one request; this one has {len(body)}"
        return _error(413, TOO_MANY, message, detail=message, code="payload_too_large")
    return body


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        message = not_json(exc.msg)
        return _error(422, UNREADABLE, message, detail=[_field(["body"], message, "json_invalid")])


def _field(loc: list[str | int], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": kind}


_DOSSIERS_DESCRIPTION = (
    """A JSON array of dossier records exactly as provincial systems sync them
to the National Public Service Portal (DongBoHoSoMC): Vietnamese field names, timestamps
`yyyyMMddHHmmss` in ONESTOP_TIMEZONE. Each record becomes the canonical events its dates imply
(`received` at NgayTiepNhan, `supplement_requested` at each NgayBoSung, `resolved` at
NgayKetThucXuLy, `returned` at NgayTra…) plus one event with its current TrangThaiHoSo and
attributes, stored through the same ingestion as `/api/v1/events`. Event ids derive from the
content: resending an unchanged record stores nothing new; a changed one adds events. A record
never seen before is simply accepted (no add-before-update: `isUpdating` is ignored). A status
whose time the record does not give (9 or 10 without an end date, 3 without a refusal date, 5
without a dated request) is not applied: the record is `partial`, with the reason. The
credential: a bearer key, or `session` in the portal's envelope (a key's secret or a session
from POST /api/v1/dvcqg/login), or (opt-in) a trusted network. The mapping table and the
clients it was checked against: docs/dvcqg.md.
"""
    + _ANSWERS
)

_PROGRESS_DESCRIPTION = (
    """A JSON array of processing steps (QuaTrinhXuLy, CapNhatTienDoHoSoMC):
`MaHoSo`, `TrangThai` (the TrangThaiHoSo codes), `ThoiDiemXuLy` (`yyyyMMddHHmmss`, required),
`PhongBanXuLy`, `NoiDungXuLy`… Each step becomes one status event at ThoiDiemXuLy; a step and a
dossier record telling the same thing count once. A step of a stored dossier keeps its unit; a
step of a dossier never seen takes the unit from the MaHoSo prefix (or as configured by
ONESTOP_DVCQG_UNIT_SOURCE / ONESTOP_DVCQG_UNIT_MAP). A step 9 dated exactly at the receipt of a
dossier its records do not say is resolved is not applied (`partial`: clients invent it). The
Vietnamese texts are kept in the stored payload. Credentials as for the dossier records.
"""
    + _ANSWERS
)

_QUERY_IGNORED = (
    "Accepted as the portal's clients send it and ignored: the unit comes from each record "
    "(docs/dvcqg.md)."
)


@router.post(
    "/dossiers",
    response_model=SyncOut,
    summary="Sync dossiers in the national format",
    description=_DOSSIERS_DESCRIPTION,
    openapi_extra={"requestBody": _body_schema(DossierRecord)},
    responses=_RESPONSES,
)
@router.post(
    f"/{RECORDS}",
    response_model=SyncOut,
    summary=f"Sync dossiers in the national format ({RECORDS}: alias of /dossiers)",
    description=_DOSSIERS_DESCRIPTION,
    openapi_extra={"requestBody": _body_schema(DossierRecord)},
    responses=_RESPONSES,
)
@portal_router.post(
    f"/{RECORDS}",
    response_model=SyncOut,
    summary="Sync dossiers at the provincial sync path (alias of /api/v1/dvcqg/dossiers)",
    description=_DOSSIERS_DESCRIPTION,
    openapi_extra={"requestBody": _body_schema(DossierRecord)},
    responses=_RESPONSES,
)
async def sync_dossiers(
    request: Request,
    MaDinhDanhDV: str | None = Query(default=None, description=_QUERY_IGNORED),
    isUpdating: str | None = Query(default=None, description=_QUERY_IGNORED),
    principal: Principal = Depends(auth.national_ingest),
    db: Database = Depends(get_database),
) -> Any:
    records = await _records(request, db, RECORDS)
    if isinstance(records, JSONResponse):
        return records
    return await service.sync_dossiers(
        db,
        source=principal.source,
        records=records,
        claim=principal.signed_request,
        units=await ingest_units(db, principal),
    )


@router.post(
    "/progress",
    response_model=SyncOut,
    summary="Sync processing steps in the national format",
    description=_PROGRESS_DESCRIPTION,
    openapi_extra={"requestBody": _body_schema(ProcessingStep)},
    responses=_RESPONSES,
)
@router.post(
    f"/{STEPS}",
    response_model=SyncOut,
    summary=f"Sync processing steps in the national format ({STEPS}: alias of /progress)",
    description=_PROGRESS_DESCRIPTION,
    openapi_extra={"requestBody": _body_schema(ProcessingStep)},
    responses=_RESPONSES,
)
@portal_router.post(
    f"/{STEPS}",
    response_model=SyncOut,
    summary="Sync processing steps at the provincial sync path (alias of /api/v1/dvcqg/progress)",
    description=_PROGRESS_DESCRIPTION,
    openapi_extra={"requestBody": _body_schema(ProcessingStep)},
    responses=_RESPONSES,
)
async def sync_progress(
    request: Request,
    MaDinhDanhDV: str | None = Query(default=None, description=_QUERY_IGNORED),
    principal: Principal = Depends(auth.national_ingest),
    db: Database = Depends(get_database),
) -> Any:
    steps = await _records(request, db, STEPS)
    if isinstance(steps, JSONResponse):
        return steps
    return await service.sync_progress(
        db,
        source=principal.source,
        steps=steps,
        claim=principal.signed_request,
        units=await ingest_units(db, principal),
    )


@router.post(
    "",
    response_model=SyncOut | LookupOut,
    summary="The portal's single integration endpoint: the envelope's service picks the route",
    description=f"""The portal's envelope `{{"session", "madonvi", "isUpdating", "service",
"data"}}` posted to one address, as OpenCPS does (its `integration_endpoint`): `service`
`{RECORDS}` is read as `POST /api/v1/dvcqg/dossiers`, `{STEPS}` as `/progress`. The portal's
lookups OpenCPS makes on the same address before a sync (`TraCuuHoSo`, `LayThuTuc`) answer
`{{"error_code": "0", "result": []}}`: nothing is looked up, so OpenCPS sends every record with
`isUpdating` False, which changes nothing here. Another service: 422 with `error_code` "1".
""",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}},
        }
    },
    responses=_RESPONSES,
)
async def integration(
    request: Request,
    principal: Principal = Depends(auth.national_ingest),
    db: Database = Depends(get_database),
) -> Any:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    named = body.get("service") if isinstance(body, dict) else None
    named = named.strip() if isinstance(named, str) else named
    if named == RECORDS:
        return await sync_dossiers(
            request, MaDinhDanhDV=None, isUpdating=None, principal=principal, db=db
        )
    if named == STEPS:
        return await sync_progress(request, MaDinhDanhDV=None, principal=principal, db=db)
    if named in LOOKUPS:
        return LookupOut(
            error_code="0",
            message="Tra cứu thành công: this service keeps no portal catalogue (empty result)",
            result=[],
        )
    message = f"service must be one of {RECORDS}, {STEPS}, {', '.join(LOOKUPS)}; got {show(named)}"
    return _error(422, UNREADABLE, message, detail=[_field(["service"], message, "enum")])


@router.post(
    "/login",
    response_model=LoginOut,
    summary="The portal's login: trade an API key's id and secret for a session",
    description="""`{"username": "<the key's id>", "password": "<the key's secret>"}` →
`{"session": "...", "error_code": 0}`, as national clients (OpenCPS) log in to the portal. The
session then goes in the envelope's `session`; it acts as the key (same scopes and source), ends
after ONESTOP_DVCQG_SESSION_TTL_SECONDS or when the key is revoked or expires, and is stored only
as a hash. A wrong id or secret: 401 with `error_code` 1; a body without both: 422, `error_code`
"1". No other credential is needed for this call.
""",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LoginIn"}}},
        }
    },
    responses={
        401: {"model": LoginFailedOut, "description": "Unknown key id or wrong secret."},
        422: {"model": SyncErrorOut, "description": "Not {username, password}."},
    },
)
async def login(request: Request, db: Database = Depends(get_database)) -> Any:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    fields = ("username", "password")
    missing = [
        name
        for name in fields
        if not isinstance(body, dict) or not isinstance(body.get(name), str) or not body[name]
    ]
    if missing:
        message = 'expected {"username": <key id>, "password": <key secret>}'
        return _error(
            422,
            UNREADABLE,
            message,
            detail=[_field([name], message, "missing") for name in missing],
        )
    try:
        session = await auth.login(request, db, body["username"], body["password"])
    except Unauthorized as exc:
        message = f"Đăng nhập thất bại (login failed): {exc.message}"
        return JSONResponse(
            {
                "error_code": 1,
                "message": message,
                "detail": [_field(["password"], message, "unauthorized")],
            },
            status_code=401,
        )
    return LoginOut(error_code=0, message="Đăng nhập thành công (logged in)", **session)


# Models the request bodies refer to, added to the OpenAPI components by app.main.
DOC_MODELS = (DossierRecord, ProcessingStep, Envelope, LoginIn)
