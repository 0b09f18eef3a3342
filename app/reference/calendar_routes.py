"""The working-day calendar: holidays, and admin overrides of any date."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import RequireAdmin, RequireRead
from app.db import ReadSessionDep, SessionDep
from app.errors import AUTH_RESPONSES, NotFound, Unprocessable, responses
from app.reference import calendar, workdays

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])


class OverrideIn(BaseModel):
    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"working": True, "note": "Làm bù cho ngày 29/4"}]},
    )

    working: bool = Field(description="True: a working day; false: a day off.")
    note: str | None = Field(default=None, max_length=255, pattern=r"^[^\x00-\x1f\x7f]*$")


class CalendarDayOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    date: dt.date = Field(description="The calendar date.")
    working: bool = Field(description="Whether the day is a working day, after any override.")
    default_working: bool = Field(
        description="Whether it would be a working day without an override (Monday to Friday "
        "and not a public holiday)."
    )
    holiday: str | None = Field(description="The public holiday's name, if it is one.")
    override: bool = Field(description="Whether an admin override applies to the day.")
    note: str | None = Field(description="The override's note.")


class CalendarYear(BaseModel):
    year: int
    days: list[CalendarDayOut] = Field(
        description="The year's public holidays and overridden days, by date; weekends and "
        "ordinary weekdays are not listed."
    )


def _out(day: calendar.CalendarDay) -> CalendarDayOut:
    return CalendarDayOut(
        date=day.day,
        working=day.working,
        default_working=day.default_working,
        holiday=day.holiday,
        override=day.override,
        note=day.note,
    )


DayPath = Annotated[dt.date, Path(description="A date, YYYY-MM-DD.")]


@router.get(
    "",
    response_model=CalendarYear,
    dependencies=[RequireRead],
    summary="A year's non-default days",
    description="Working days skip Saturdays, Sundays and Vietnamese public holidays; admins "
    "can mark any date as a working day or a day off. Lists the year's public holidays and "
    "overridden days.",
    responses={**AUTH_RESPONSES, **responses(Unprocessable)},
)
async def get_calendar(
    year: int = Query(
        ge=workdays.FIRST_DAY.year, le=workdays.LAST_DAY.year, description="The year."
    ),
    session: AsyncSession = ReadSessionDep,
) -> CalendarYear:
    days = await calendar.non_default_days(session=session, year=year)
    return CalendarYear(year=year, days=[_out(d) for d in days])


@router.put(
    "/{day}",
    response_model=CalendarDayOut,
    dependencies=[RequireAdmin],
    summary="Mark a date as a working day or a day off",
    description="Overrides the default (weekends and public holidays off) for one date; every "
    "working-day count uses it from now on. 201 when created, 200 when replaced.",
    responses={
        201: {"model": CalendarDayOut, "description": "Created."},
        **AUTH_RESPONSES,
        **responses(Unprocessable),
    },
)
async def put_calendar_day(
    day: DayPath, data: OverrideIn, response: Response, session: AsyncSession = SessionDep
) -> CalendarDayOut:
    override, created = await calendar.put_override(
        session=session, day=day, working=data.working, note=data.note
    )
    response.status_code = 201 if created else 200
    return _out(
        calendar.CalendarDay(
            day=day,
            working=override.working,
            default_working=workdays.default_working(day),
            holiday=workdays.public_holidays().get(day),
            override=True,
            note=override.note,
        )
    )


@router.delete(
    "/{day}",
    status_code=204,
    dependencies=[RequireAdmin],
    summary="Remove a date's override",
    description="The date is a working day or not by default again.",
    responses={**AUTH_RESPONSES, **responses(NotFound, Unprocessable)},
)
async def delete_calendar_day(day: DayPath, session: AsyncSession = SessionDep) -> Response:
    await calendar.delete_override(session=session, day=day)
    return Response(status_code=204)
