from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Text = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")]
Label = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[^\x00-\x1f\x7f]+$")]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]


class UnitIn(BaseModel):
    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [{"name": "UBND huyện Đô Lương", "level": "district", "parent_code": "H40"}]
        },
    )

    name: Text
    level: Label = Field(description="A free label: province, department, district, commune, …")
    parent_code: Code | None = Field(default=None, description="The parent unit; null for a root.")
    valid_from: date | None = Field(
        default=None, description="First day of the unit's life (inclusive); null: unbounded."
    )
    valid_to: date | None = Field(
        default=None, description="Last day of the unit's life (inclusive); null: unbounded."
    )
    successor_code: Code | None = Field(
        default=None,
        description="The unit that took over its dossiers after `valid_to` (must exist, or be "
        "in the same bulk upsert); with `lineage=true` its figures include this unit's.",
    )


class UnitItem(UnitIn):
    """One unit of a bulk upsert: the single PUT's body plus its code."""

    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "code": "X40.101",
                    "name": "UBND xã Đô Lương",
                    "level": "commune",
                    "parent_code": "H40",
                    "valid_from": "2025-07-01",
                }
            ]
        },
    )

    code: Code


class UnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str | None
    level: str | None
    parent_code: str | None
    registered: bool = Field(description="False for codes seen only in events.")
    valid_from: date | None = Field(description="First day of its life; null: unbounded.")
    valid_to: date | None = Field(description="Last day of its life; null: unbounded.")
    successor_code: str | None = Field(description="The unit that took it over.")


class UnitNode(UnitOut):
    children: list[UnitNode] = Field(default_factory=list)


class UnitTree(BaseModel):
    units: list[UnitNode] = Field(description="Root units, each with its children, recursively.")


class UnitList(BaseModel):
    units: list[UnitOut]


OnlineService = Literal["full", "partial", "none"]


class ProcedureIn(BaseModel):
    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "name": "Đăng ký khai sinh",
                    "level": "commune",
                    "online_service": "full",
                    "sector_code": "HT",
                }
            ]
        },
    )

    name: Annotated[str, Field(min_length=1, max_length=512, pattern=r"^[^\x00-\x1f\x7f]+$")]
    level: Label
    online_service: OnlineService = Field(
        description="full: toàn trình (filed, handled, returned online); partial: một phần; none."
    )
    sector_code: Code | None = None
    duration_working_days: int | None = Field(
        None,
        ge=0,
        le=3650,
        description="Statutory processing time N in working days. A dossier of this procedure "
        "without due_at is due at 17:00 local time on the (N + W)-th working day after the day "
        "of receipt, W being the working days it waited on the citizen (supplement or payment "
        "requests); null: no statutory duration (such dossiers have no due date).",
    )


class ProcedureItem(ProcedureIn):
    """One procedure of a bulk upsert: the single PUT's body plus its code."""

    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "code": "1.001234",
                    "name": "Đăng ký khai sinh",
                    "level": "commune",
                    "online_service": "full",
                    "sector_code": "HT",
                }
            ]
        },
    )

    code: Code


class Upserted(BaseModel):
    upserted: int = Field(description="Items created or updated (all of them: all-or-nothing).")


class ProcedureOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str | None
    level: str | None
    online_service: str | None
    sector_code: str | None
    duration_working_days: int | None = Field(
        None, description="Statutory processing time in working days (null: none)."
    )
    registered: bool


class ProcedureList(BaseModel):
    procedures: list[ProcedureOut]
