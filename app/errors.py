"""One error hierarchy, turned into JSON by one set of handlers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("onestop.errors")


class ErrorBody(BaseModel):
    """Every non-422 error: a message for people and a stable code for programs."""

    detail: str
    code: str


class FieldError(BaseModel):
    loc: list[str | int] = Field(
        description="Path to the offending field, from `body`, `query` or `path`."
    )
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    """A 422: every problem found, each with its field path."""

    detail: list[FieldError]


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"detail": self.message, "code": self.code, **self.extra}


class BadRequest(AppError):
    status_code = 400
    code = "bad_request"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class Unprocessable(AppError):
    """A 422 raised by our own checks, shaped like FastAPI's validation errors."""

    status_code = 422
    code = "invalid"

    def __init__(self, message: str, loc: list[str | int]) -> None:
        super().__init__(message)
        self.loc = loc

        self.errors: list[dict[str, Any]] = [{"loc": loc, "msg": message, "type": "value_error"}]

    @classmethod
    def from_items(cls, errors: Any) -> Unprocessable:
        """From an item's validation errors, with paths rooted at ``body``."""
        first = errors[0]
        exc = cls(first.msg, ["body", *first.loc])
        exc.errors = [{"loc": ["body", *e.loc], "msg": e.msg, "type": e.type} for e in errors]
        return exc

    def body(self) -> dict[str, Any]:
        return {"detail": self.errors}


class ServiceUnavailable(AppError):
    status_code = 503
    code = "unavailable"


RETRY_AFTER_SECONDS = 5


def responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for a route that may raise these errors."""
    out: dict[int | str, dict[str, Any]] = {}
    for err in errors:
        model = ValidationErrorBody if issubclass(err, Unprocessable) else ErrorBody
        out[err.status_code] = {"model": model, "description": err.__doc__ or err.code}
    return out


AUTH_RESPONSES = responses(Unauthorized, Forbidden)
# Routes that read their body themselves (FastAPI documents 422 only for declared bodies).
UNPROCESSABLE_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"model": ValidationErrorBody, "description": "Invalid input, with field paths."}
}


class FieldRuleError(ValueError):
    """A rule over several fields, raised by a model validator, reported at ``field``: pydantic
    puts a model validator's error at the model itself (``["body"]``, or ``[]`` in a batch
    item), which names no field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def not_json(reason: str) -> str:
    """The message of every body that is not JSON, with the parser's reason."""
    return f"body is not valid UTF-8 JSON: {reason}"


def clean_validation_errors(errors: Any) -> list[dict[str, Any]]:
    """Field path, message and type; never the raw input (it may be huge or secret)."""
    return [_clean_error(e) for e in errors]


def _clean_error(error: Any) -> dict[str, Any]:
    loc = list(error.get("loc", ()))
    if error.get("type") == "json_invalid" and len(loc) == 2 and loc[0] == "body":
        # FastAPI's body that does not parse: loc ["body", <character offset>], which the array
        # routes' ["body", <item index>] paths would be mistaken for, and "JSON decode error"
        # with the reason only in ctx. Answer as the routes that parse their own bodies do.
        reason = (error.get("ctx") or {}).get("error", "unreadable")
        return {
            "loc": ["body"],
            "msg": not_json(f"{reason} at character {loc[1]}"),
            "type": "json_invalid",
        }
    rule = (error.get("ctx") or {}).get("error")
    if isinstance(rule, FieldRuleError):
        return {"loc": [*loc, rule.field], "msg": str(rule), "type": "value_error"}
    return {"loc": loc, "msg": error.get("msg", ""), "type": error.get("type", "")}


def _is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeoutError | InterfaceError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, OperationalError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # asyncpg's InternalClientError ("cannot switch to state …; another operation is in
    # progress") is what a connection cut mid-operation (pg_terminate_backend) can leave behind.
    name = type(exc).__name__
    return name in {
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "AdminShutdownError",
        "InternalClientError",
    }


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) means "database unreachable"."""
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return False
        if _is_unavailable(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _unavailable_response() -> JSONResponse:
    return JSONResponse(
        {"detail": "database unavailable, retry later", "code": "unavailable"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


# Exceptions a lost database raises. They get their own handler because Starlette re-raises
# whatever reaches the catch-all ``Exception`` handler after answering, which servers log as
# a crash (and test transports raise); specific handlers answer and stop there.
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    SQLAlchemyError,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


DeniedHook = Callable[[Request, int, str, str], Awaitable[None]]


def install_handlers(app: FastAPI, on_denied: DeniedHook | None = None) -> None:
    """The JSON error handlers; ``on_denied(request, status, reason, message)`` is awaited for
    every 401 and 403 (the audit log's ``auth.denied``; it never sees the token)."""

    async def app_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AppError)
        if on_denied is not None and isinstance(exc, Unauthorized | Forbidden):
            reason = str(exc.extra.get("reason", exc.code))
            await on_denied(request, exc.status_code, reason, exc.message)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if exc.status_code == 503 else None
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"detail": clean_validation_errors(exc.errors())}, status_code=422)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | RecursionError):
            # FastAPI answers 400 to a body it cannot decode (not UTF-8, nested too deep);
            # answer like any other bad JSON body.
            error = {"loc": ["body"], "msg": not_json(str(exc.__cause__)), "type": "json_invalid"}
            return JSONResponse({"detail": [error]}, status_code=422)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            {"detail": exc.detail, "code": code},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    async def database_error(_: Request, exc: Exception) -> JSONResponse:
        if database_unavailable(exc):
            log.warning("database unavailable: %s", type(exc).__name__)
            return _unavailable_response()
        log.error("unhandled error", exc_info=exc)
        return JSONResponse({"detail": "internal error", "code": "internal_error"}, status_code=500)

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        if database_unavailable(exc):
            log.warning("database unavailable: %s", type(exc).__name__)
            return _unavailable_response()
        log.exception("unhandled error")
        return JSONResponse({"detail": "internal error", "code": "internal_error"}, status_code=500)

    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    for error in DATABASE_ERRORS:
        app.add_exception_handler(error, database_error)
    app.add_exception_handler(Exception, unexpected)
