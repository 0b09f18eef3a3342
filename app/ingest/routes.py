"""Events come in here: one at a time or in batches (scope ``ingest``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from app.auth.deps import Principal, require_scope
from app.auth.keys import Scope
from app.auth.scope import ingest_units
from app.db import Database, get_database
from app.errors import (
    AUTH_RESPONSES,
    UNPROCESSABLE_RESPONSES,
    Conflict,
    PayloadTooLarge,
    Unprocessable,
    not_json,
    responses,
)
from app.ingest import service
from app.ingest.schemas import (
    BatchIn,
    BatchOut,
    EventAck,
    EventIn,
    ItemWarning,
    ValidationContext,
    batch_json,
)
from app.ingest.warnings import intake_warnings

router = APIRouter(prefix="/api/v1/events", tags=["events"])

_EVENT_SCHEMA = {"$ref": "#/components/schemas/EventIn"}
SIGNING_NOTE = (
    "A key created with `signing: true` must sign the request with the `webhook-id`, "
    "`webhook-timestamp` and `webhook-signature` headers; otherwise 401 `bad_signature`."
)


async def read_json(request: Request) -> Any:
    """The request body as JSON, or a 422 that says why it is not."""
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Unprocessable(not_json(exc.msg), ["body"]) from None


async def validation_context(db: Database, principal: Principal) -> ValidationContext:
    """The context of an ingest caller's events (a scoped key: the units it may push for)."""
    units = await ingest_units(db, principal)
    return ValidationContext.make(
        db.settings.zone,
        db.settings.max_future_skew_seconds,
        units,
        strict_fields=db.settings.strict_fields,
    )


@router.post(
    "",
    status_code=201,
    response_model=EventAck,
    summary="Push one event",
    description="Stores one status change and refolds its dossier. 201 `accepted` when new; "
    "200 `duplicate` when this source already sent the same event; 409 when it sent a "
    "different event under the same `event_id` (the first one is kept). " + SIGNING_NOTE,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _EVENT_SCHEMA}},
        }
    },
    responses={
        200: {"model": EventAck, "description": "Already stored: nothing changed."},
        **AUTH_RESPONSES,
        **responses(Conflict, PayloadTooLarge),
        **UNPROCESSABLE_RESPONSES,
    },
)
async def push_event(
    request: Request,
    principal: Principal = Depends(require_scope(Scope.ingest)),
    db: Database = Depends(get_database),
) -> Any:
    body = await read_event(request)
    outcome = await service.ingest(
        db,
        source=principal.source,
        items=[body],
        ctx=await validation_context(db, principal),
        claim=principal.signed_request,
    )
    return acknowledge(outcome, await intake_warnings(db, [body], outcome))


async def read_event(request: Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise Unprocessable("an event must be a JSON object", ["body"])
    return body


def acknowledge(
    outcome: service.IngestOutcome, warnings: Mapping[int, list[ItemWarning]]
) -> JSONResponse:
    """The answer to one event: 201/200 with ``EventAck`` (and its warnings), or the 422 /
    409 it earned."""
    result = outcome.results[0]
    if result.result == "invalid":
        raise Unprocessable.from_items(result.errors)
    if result.result == "conflict":
        raise Conflict(
            "this source already sent a different event with this event_id; the first is kept",
            event_id=result.event_id,
        )
    ack = EventAck(
        event_id=result.event_id or "", result=result.result, warnings=warnings.get(0, [])
    )
    return JSONResponse(ack.model_dump(), status_code=201 if result.result == "accepted" else 200)


@router.post(
    "/batch",
    response_model=BatchOut,
    summary="Push a batch of events",
    description="Up to ONESTOP_MAX_BATCH events, judged one by one: every valid event is "
    "stored even when neighbours are invalid. `results` gives each item's outcome by index "
    "(`accepted`, `duplicate`, `conflict`, `invalid` with its errors); `rejected` counts "
    "conflicts and invalid items. The batch is one transaction: after a 5xx nothing was "
    "stored and it is safe to resend. " + SIGNING_NOTE,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchIn"}}},
        }
    },
    responses={**AUTH_RESPONSES, **responses(PayloadTooLarge), **UNPROCESSABLE_RESPONSES},
)
async def push_batch(
    request: Request,
    principal: Principal = Depends(require_scope(Scope.ingest)),
    db: Database = Depends(get_database),
) -> Response:
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise Unprocessable("expected an object with an 'events' array", ["body", "events"])
    events = body["events"]
    if len(events) > db.settings.max_batch:
        raise PayloadTooLarge(
            f"a batch holds at most {db.settings.max_batch} events; this one has {len(events)}"
        )
    outcome = await service.ingest(
        db,
        source=principal.source,
        items=events,
        ctx=await validation_context(db, principal),
        claim=principal.signed_request,
    )
    # Written straight to JSON (``BatchOut``'s shape, documented by ``response_model``): a
    # model per item cost ~5 µs per event to build, validate and dump.
    return Response(
        batch_json(
            accepted=outcome.accepted,
            duplicates=outcome.duplicates,
            rejected=outcome.rejected,
            results=outcome.results,
            warnings=await intake_warnings(db, events, outcome),
        ),
        media_type="application/json",
    )


# Make the documentation models part of the OpenAPI components.
DOC_MODELS = (EventIn, BatchIn)
