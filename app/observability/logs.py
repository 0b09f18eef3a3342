"""JSON log lines carrying the request id; secrets are redacted before anything is written.

Every record gets ``request_id`` (the current request's, or null outside a request). Bearer
tokens, API keys (``osk_…``) and signing secrets (``whsec_…``) are replaced by ``[redacted]``
in the message and the traceback, whatever logger produced them: the handler is the last line
of defence, the first is never passing headers or keys to a logger at all.
"""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

request_id_var: ContextVar[str | None] = ContextVar("onestop_request_id", default=None)

_SECRET = re.compile(r"(?i)\bbearer\s+[^\s\"',;]+|\bosk_[A-Za-z0-9_\-]+|\bwhsec_[A-Za-z0-9_\-+/=]+")
REDACTED = "[redacted]"
_HANDLER_MARK = "_onestop_handler"
# attributes every LogRecord has: anything else was passed through ``extra=`` and is logged
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "color_message",  # uvicorn's copy of the message with terminal colour codes
}


def redact(text: str) -> str:
    """The text with bearer tokens, API keys and signing secrets replaced."""
    return _SECRET.sub(REDACTED, text)


class RequestIdFilter(logging.Filter):
    """Stamp each record with the id of the request being served (None outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id, any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """Plain lines for a terminal, with the request id and the same redaction."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return redact(super().format(record))


def make_formatter(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else TextFormatter()


def configure_logging(*, level: str, fmt: str) -> None:
    """Send the root logger's records to stderr in ``fmt``; safe to call more than once."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, _HANDLER_MARK, False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        setattr(handler, _HANDLER_MARK, True)
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    handler.setFormatter(make_formatter(fmt))
    logging.getLogger("onestop").setLevel(level)


def uvicorn_log_config(*, level: str, fmt: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for ``uvicorn.run``: its own lines in the same format."""
    formatter = (
        "app.observability.logs.JsonFormatter"
        if fmt == "json"
        else ("app.observability.logs.TextFormatter")
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "app.observability.logs.RequestIdFilter"}},
        "formatters": {"main": {"()": formatter}},
        "handlers": {
            "main": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["main"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["main"], "level": level, "propagate": False},
        },
    }
