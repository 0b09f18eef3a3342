from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SourceStatus(BaseModel):
    source: str = Field(description="The pushing system (an API key's `source`).")
    events: int = Field(description="Events stored from this source.")
    last_ingested_at: datetime | None = Field(
        description="When the service last stored an event from this source (null: never)."
    )
    last_occurred_at: datetime | None = Field(
        description="The latest `occurred_at` among this source's events."
    )
    silent_seconds: int | None = Field(
        description="Seconds since `last_ingested_at` (null: never sent anything)."
    )
    stale: bool = Field(
        description="Silent for longer than ONESTOP_SOURCE_STALE_SECONDS, or never sent."
    )
    active_keys: int = Field(description="Unrevoked keys with the ingest scope for this source.")


class SourcesStatus(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "checked_at": "2026-11-29T08:00:00Z",
                    "stale_after_seconds": 3600,
                    "sources": [
                        {
                            "source": "igate",
                            "events": 120345,
                            "last_ingested_at": "2026-11-29T07:59:41Z",
                            "last_occurred_at": "2026-11-29T07:59:12Z",
                            "silent_seconds": 19,
                            "stale": False,
                            "active_keys": 1,
                        }
                    ],
                }
            ]
        }
    }

    checked_at: datetime
    stale_after_seconds: int
    sources: list[SourceStatus]
