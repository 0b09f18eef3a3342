from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.tables import Base, UTCDateTime, utcnow


class Unit(Base):
    """A node of the generic unit tree (province, department, district, commune, …).

    ``registered`` is false for codes seen only in events, until an admin describes them.
    A unit lives from ``valid_from`` to ``valid_to``; its ``successor_code`` took it over.
    """

    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    level: Mapped[str | None] = mapped_column(String(32), index=True)
    parent_code: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("units.code"), index=True
    )
    registered: Mapped[bool] = mapped_column(Boolean, default=False)
    # the unit's life, both days inclusive (null: unbounded), and the unit that took over its
    # dossiers after ``valid_to`` (app/reference/lineage.py)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    successor_code: Mapped[str | None] = mapped_column(String(64), ForeignKey("units.code"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Procedure(Base):
    """An administrative procedure (TTHC) and how far it is offered online."""

    __tablename__ = "procedures"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(512))
    level: Mapped[str | None] = mapped_column(String(32), index=True)
    online_service: Mapped[str | None] = mapped_column(String(16))
    sector_code: Mapped[str | None] = mapped_column(String(64))
    # statutory time N: a dossier without due_at is due on the (N + W)-th working day after
    # its receipt day (app/dossiers/derive.py)
    duration_working_days: Mapped[int | None] = mapped_column(Integer)
    registered: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CalendarOverride(Base):
    """An admin's decision that a date is a working day (``True``) or a day off (``False``)."""

    __tablename__ = "calendar_overrides"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ReferenceVersion(Base):
    """A token that changes with every change of a reference table (``units``): database
    triggers (migration 0020) set it to a new random number on each insert, update or delete
    of one of its rows, in the same transaction, so a reader that finds the token it saw
    before holds the same table (``app.reference.lineage.load_graph`` keeps the unit graph per
    worker by it). Random rather than counted: a token seen inside a transaction that rolled
    back is never given to another state."""

    __tablename__ = "reference_versions"
    __table_args__ = ({"info": {"filled_by_migrations": True}},)  # the tests keep it

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    token: Mapped[int] = mapped_column(BigInteger)
