"""A unit map whose entries may change on a date (``ONESTOP_DVCQG_UNIT_MAP``).

Each value is either a unit code (the plain map of before) or a list of steps
``[{"unit": "<code>", "from": "YYYY-MM-DD"}, …]``: a dossier received on day d maps to the
step with the latest ``from`` on or before d (a step without ``from`` applies from the
beginning); received before every ``from``, it keeps the value as sent. A dossier whose
receipt day is unknown maps to the latest step. Dossiers keep the unit they were mapped to:
one received by the old unit before the change stays the old unit's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class UnitMapStep(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    unit: str = Field(min_length=1, max_length=64, description="The unit code mapped to.")
    from_: date | None = Field(
        default=None, alias="from", description="First receipt day it applies to; null: always."
    )


UnitMapValue = str | list[UnitMapStep]


def mapped_unit(
    unit_map: Mapping[str, str | Sequence[UnitMapStep]], raw: str, day: date | None
) -> str:
    """The unit ``raw`` maps to for a dossier received on ``day`` (None: unknown)."""
    value = unit_map.get(raw)
    if value is None:
        return raw
    if isinstance(value, str):
        return value
    steps = sorted(value, key=lambda s: s.from_ or date.min)
    if not steps:
        return raw
    if day is None:
        return steps[-1].unit
    chosen = raw
    for step in steps:
        if step.from_ is None or step.from_ <= day:
            chosen = step.unit
    return chosen
