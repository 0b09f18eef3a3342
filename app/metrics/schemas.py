"""Response models of the metrics: built from ``formulas`` so each field's description is the
formula's own definition in words."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from app.metrics import formulas as f


class Format(StrEnum):
    json = "json"
    csv = "csv"


KEY_FIELDS: dict[str, tuple[Any, str]] = {
    "unit_code": (str | None, "group_by=unit: the unit whose own dossiers the row counts."),
    "unit_name": (str | None, "group_by=unit: the unit's name."),
    "procedure_code": (str | None, "group_by=procedure: the procedure (MaTTHC); null: none."),
    "procedure_name": (str | None, "group_by=procedure: the procedure's name."),
    "sector_code": (str | None, "group_by=sector: the sector (MaLinhVuc); null: none."),
    "period": (
        str | None,
        "period≠none: the bucket, `2024-01` (month), `2024-Q1` (quarter) or `2024` (year).",
    ),
    "period_from": (dt.date | None, "period≠none: the bucket's first day (clipped to `from`)."),
    "period_to": (dt.date | None, "period≠none: the bucket's last day (clipped to `to`)."),
}


def metric_fields(names: tuple[str, ...]) -> dict[str, Any]:
    """Pydantic field definitions for metric names; a rate adds its numerator and denominator."""
    out: dict[str, Any] = {}
    for name in names:
        words = f.description(name)
        if name in f.COUNTS:
            out[name] = (int, Field(description=words))
        elif name in f.RATES:
            rate = f.RATES[name]
            out[name] = (
                float | None,
                Field(description=f"{words} Null when the denominator is 0."),
            )
            out[f"{name}_numerator"] = (
                int,
                Field(description=f"The numerator of {name}: {' + '.join(rate.numerator)}."),
            )
            out[f"{name}_denominator"] = (
                int,
                Field(description=f"The denominator of {name}: {' + '.join(rate.denominator)}."),
            )
        elif name in ("processing_days_p50", "processing_days_p90", "processing_days_count"):
            out[name] = (int | None, Field(description=f"{words} {f.PROCESSING_DAYS}"))
        elif name in ("processing_days_net_p50", "processing_days_net_p90"):
            out[name] = (int | None, Field(description=f"{words} {f.PROCESSING_DAYS_NET}"))
        else:
            out[name] = (float | None, Field(description=words))
    return out


def _row_model(family: f.Family) -> type[BaseModel]:
    keys = {k: (t, Field(default=None, description=d)) for k, (t, d) in KEY_FIELDS.items()}
    return create_model(  # type: ignore[call-overload,no-any-return]
        f"{family.value.title()}Row",
        __doc__=f"One row of the {family.value} metrics: the grouping keys present, then fields.",
        **keys,
        **metric_fields(f.FAMILY_FIELDS[family]),
    )


ROW_MODELS: dict[f.Family, type[BaseModel]] = {fam: _row_model(fam) for fam in f.Family}


def _response_model(family: f.Family) -> type[BaseModel]:
    return create_model(
        f"{family.value.title()}Metrics",
        __config__=ConfigDict(populate_by_name=True),
        from_=(dt.date, Field(alias="from", description="The first day counted (inclusive).")),
        to=(dt.date, Field(description="The last day counted (inclusive).")),
        rows=(
            list[ROW_MODELS[family]],  # type: ignore[valid-type]
            Field(description="One row per group and period bucket; empty buckets as zeros."),
        ),
    )


RESPONSE_MODELS: dict[f.Family, type[BaseModel]] = {fam: _response_model(fam) for fam in f.Family}


class ProcedureLevelRow(BaseModel):
    level: str | None = Field(description="The procedures' level label.")
    total: int = Field(description="Registered procedures of the level.")
    full_online: int = Field(description="Offered as a full-process online service (toàn trình).")
    partial_online: int = Field(description="Offered as a partial online service (một phần).")
    offline: int = Field(description="Not offered online: total − full_online − partial_online.")


class ProcedureCounts(BaseModel):
    rows: list[ProcedureLevelRow]


class RankingRow(BaseModel):
    rank: int | None = Field(
        description="1 = best; equal values share a rank (1, 1, 3); null when the value is null."
    )
    unit_code: str
    unit_name: str | None
    value: float | None = Field(description="The indicator over the unit's whole subtree.")
    numerator: int
    denominator: int


class Ranking(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    indicator: str
    lower_is_better: bool = Field(description="True for overdue_rate: the lowest value ranks 1.")
    from_: dt.date = Field(alias="from")
    to: dt.date
    rows: list[RankingRow]
