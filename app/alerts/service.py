"""The alert scan: decide what is overdue, due soon or due for a digest, and record it.

One scan, one transaction: the dossiers found and the alerts recorded for them commit together
(the transactional outbox), and an alert's unique key (subscription, type, dossier, due date,
channel) makes a second scan, a second scheduler or a restart record nothing twice. On
PostgreSQL a transaction-scoped advisory lock lets one scheduler scan at a time (the others
skip the round); on SQLite the database has one writer and the service runs in one process.

What is announced (CONTRACT "Urging units: alerts"): an open dossier of the subscription's
subtree with a due date is

- ``dossier.overdue`` when now > ``due_at``;
- ``dossier.due_soon`` when not overdue and its due day (local) is today or within the next
  ``due_within_working_days`` working days: the working-day count from today to the due day
  (``app.reference.calendar.working_days_from_ordinals``, the one count) is at most N.

Both read the partial index ``ix_dossiers_open_due`` (open dossiers by due date), never the
closed ones. ``digest.daily`` is one message per subscription and working day, once the local
``digest_time`` has passed: per unit of the subtree its open, overdue and due-soon counts and
its most overdue dossiers.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import (
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from app.alerts.models import Alert, AlertScope, DeliveryAttempt, Subscription
from app.config import Settings
from app.db import Database, UTCDateTime
from app.dossiers.models import Dossier as D
from app.observability import prometheus
from app.reference.models import Unit
from app.reference.service import subtree
from app.reference.workdays import WorkDay, working_days_from_ordinals
from app.storage.alerts import insert_alerts
from app.storage.sql import sql_of

log = logging.getLogger("onestop.alerts")
ALERTS = cast(Table, Alert.__table__)
SCOPES = cast(Table, AlertScope.__table__)

DUE_SOON = "dossier.due_soon"
OVERDUE = "dossier.overdue"
DIGEST = "digest.daily"
EVENT_TYPES = (DUE_SOON, OVERDUE, DIGEST)
WEBHOOK, EMAIL = "webhook", "email"
# the scheduler's lock key (pg_try_advisory_xact_lock on PostgreSQL): "onestop alerts" as a bigint
SCHEDULER_LOCK = 0x6F6E_6573_746F_7061
ANALYZE_AFTER_ROWS = 1000  # rows written by one scan after which its tables are analysed
MAX_BODY_BYTES = 64 * 1024  # a digest is trimmed to fit; a dossier alert is far smaller
DIGEST_UNITS = 100  # units listed in a digest, most overdue first
DIGEST_WORST = 5  # dossiers listed per unit, most overdue first


@dataclass
class ScanResult:
    """What one scan did: ``ran`` is false when another scheduler held the lock."""

    ran: bool = True
    created: dict[str, int] = field(default_factory=dict)
    deferred: list[str] = field(default_factory=list)  # subscriptions over their pending cap

    def add(self, kind: str, count: int) -> None:
        if count:
            self.created[kind] = self.created.get(kind, 0) + count


def new_webhook_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def local_iso(at: datetime | None, zone: ZoneInfo) -> str | None:
    return None if at is None else at.astimezone(zone).isoformat()


def body_of(kind: str, at: datetime, data: Mapping[str, Any], zone: ZoneInfo) -> str:
    """The Standard Webhooks payload ``{"type", "timestamp", "data"}`` as sent, once."""
    payload = {"type": kind, "timestamp": local_iso(at, zone), "data": data}
    return orjson.dumps(payload).decode()


async def horizon_end(
    session: AsyncSession, *, today: date, within: int, zone: ZoneInfo
) -> datetime:
    """The first instant after the due-soon window of ``within`` working days from today.

    The window is the days d >= today whose working-day count from today (the working days e
    with today < e <= d) is at most ``within``; it ends at local midnight after the last one.
    """
    today_ordinal = select(WorkDay.ordinal).where(WorkDay.day == today).scalar_subquery()
    count = working_days_from_ordinals(today_ordinal, WorkDay.ordinal)
    last = (
        await session.execute(
            select(func.max(WorkDay.day)).where(
                WorkDay.day >= today,
                WorkDay.day <= today + timedelta(days=2 * within + 45),
                count <= within,
            )
        )
    ).scalar_one()
    last_day: date = last if last is not None else today + timedelta(days=within)
    return datetime.combine(last_day + timedelta(days=1), time(0), zone)


async def is_working_day(session: AsyncSession, day: date) -> bool:
    working = (
        await session.execute(select(WorkDay.working).where(WorkDay.day == day))
    ).scalar_one_or_none()
    return bool(working) if working is not None else day.weekday() < 5


@dataclass
class _Tree:
    names: dict[str, str | None]
    children: dict[str, list[str]]

    def codes(self, root: str | None) -> list[str] | None:
        return None if root is None else subtree(root, self.children)


async def _tree(session: AsyncSession) -> _Tree:
    rows = (await session.execute(select(Unit.code, Unit.parent_code, Unit.name))).all()
    children: dict[str, list[str]] = {}
    for code, parent, _name in rows:
        if parent is not None:
            children.setdefault(parent, []).append(code)
    return _Tree({code: name for code, _p, name in rows}, children)


def _in_units(codes: Sequence[str] | None) -> list[ColumnElement[bool]]:
    return [] if codes is None else [D.unit_code.in_(list(codes))]


def _open_due() -> list[ColumnElement[bool]]:
    """Open (not ended) received dossiers with a due date: the rows of ix_dossiers_open_due."""
    return [D.ended_at.is_(None), D.due_at.is_not(None), D.received_at.is_not(None)]


async def pending_counts(session: AsyncSession) -> dict[str, int]:
    """Undelivered alerts per subscription (the partial index of the queue)."""
    stmt = (
        select(Alert.subscription_id, func.count())
        .where(Alert.status == "pending")
        .group_by(Alert.subscription_id)
    )
    return {sub_id: int(n) for sub_id, n in (await session.execute(stmt)).all()}


async def sync_scopes(session: AsyncSession, subs: Sequence[Subscription], tree: _Tree) -> int:
    """Bring ``alert_scopes`` up to date with the subscriptions and the unit tree: one row
    per webhook subscription wanting dossier alerts and unit of its subtree (every unit when
    it has none). Only the differences are written."""
    wanted: dict[tuple[str, str], tuple[bool, bool, int]] = {}
    for sub in subs:
        overdue, soon = OVERDUE in sub.events, DUE_SOON in sub.events
        if not sub.url or not (overdue or soon):
            continue
        codes = tree.codes(sub.unit_code)
        for code in tree.names if codes is None else codes:
            wanted[(sub.id, code)] = (overdue, soon, sub.due_within_working_days)
    stored = {
        (sub_id, code): (overdue, soon, within)
        for sub_id, code, overdue, soon, within in (
            await session.execute(
                select(
                    AlertScope.subscription_id,
                    AlertScope.unit_code,
                    AlertScope.want_overdue,
                    AlertScope.want_due_soon,
                    AlertScope.within,
                )
            )
        ).all()
    }
    gone = [key for key in stored if key not in wanted]
    for start in range(0, len(gone), 500):
        part = gone[start : start + 500]
        await session.execute(
            delete(AlertScope).where(
                tuple_(AlertScope.subscription_id, AlertScope.unit_code).in_(part)
            )
        )
    changed = [
        {
            "subscription_id": key[0],
            "unit_code": key[1],
            "want_overdue": value[0],
            "want_due_soon": value[1],
            "within": value[2],
        }
        for key, value in wanted.items()
        if stored.get(key) != value
    ]
    if changed:
        stmt = sql_of(session).insert(SCOPES)
        stmt = stmt.on_conflict_do_update(
            index_elements=["subscription_id", "unit_code"],
            set_={c: stmt.excluded[c] for c in ("want_overdue", "want_due_soon", "within")},
        )
        await session.execute(stmt, changed)
    return len(gone) + len(changed)


async def _dossier_alerts(
    session: AsyncSession,
    *,
    now: datetime,
    horizons: Mapping[int, datetime],
    budgets: dict[str, int],
    tree: _Tree,
    zone: ZoneInfo,
    result: ScanResult,
) -> None:
    """Record every overdue and due-soon dossier not yet announced, for every subscription at
    once: ``alert_scopes`` joined to the open dossiers of each unit (ix_dossiers_open_due),
    less those already in ``alerts`` with the same type and due date. A subscription gets at
    most its budget (the earliest due first); the rest waits for a later scan."""
    S = AlertScope

    def instant(at: datetime) -> Any:  # typed, so SQLite compares it as stored (naive UTC)
        return literal(at, type_=UTCDateTime())

    soon_end = case(
        *((S.within == n, instant(end)) for n, end in horizons.items()), else_=instant(now)
    )
    until = case((S.want_due_soon, soon_end), else_=instant(now))
    kind = case((D.due_at < now, OVERDUE), else_=DUE_SOON)
    announced = exists().where(
        Alert.subscription_id == S.subscription_id,
        Alert.type == kind,
        Alert.dossier_code == D.code,
        Alert.due_at == D.due_at,
        Alert.channel == WEBHOOK,
    )
    stmt = (
        select(
            S.subscription_id, kind, D.code, D.unit_code, D.due_at, D.received_at, D.procedure_code
        )
        .select_from(S)
        .join(
            D,
            and_(
                D.unit_code == S.unit_code,
                *_open_due(),
                D.due_at < until,
                or_(S.want_overdue, D.due_at >= now),
            ),
        )
        .where(~announced)
        .order_by(S.subscription_id, D.due_at, D.code)
    )
    values: list[dict[str, Any]] = []
    rows = (await session.execute(stmt)).all()
    for sub_id, type_, code, unit_code, due_at, received_at, procedure_code in rows:
        if budgets.get(sub_id, 0) <= 0:
            if sub_id not in result.deferred:
                result.deferred.append(sub_id)
            continue
        budgets[sub_id] -= 1
        data = {
            "dossier_code": code,
            "unit_code": unit_code,
            "unit_name": tree.names.get(unit_code),
            "procedure_code": procedure_code,
            "due_at": local_iso(due_at, zone),
            "received_at": local_iso(received_at, zone),
            "subscription_id": sub_id,
        }
        values.append(
            {
                "subscription_id": sub_id,
                "channel": WEBHOOK,
                "type": type_,
                "dossier_code": code,
                "unit_code": unit_code,
                "due_at": due_at,
                "webhook_id": new_webhook_id(),
                "body": body_of(type_, now, data, zone),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    for type_ in await insert_alerts(session, values):
        result.add(type_, 1)


async def digest_data(
    session: AsyncSession,
    *,
    codes: Sequence[str] | None,
    root: str | None,
    day: date,
    now: datetime,
    soon_end: datetime,
    tree: _Tree,
    zone: ZoneInfo,
) -> dict[str, Any]:
    """Per unit of the subtree: open, overdue and due-soon counts and the most overdue."""
    overdue = and_(D.due_at.is_not(None), D.due_at < now)
    soon = and_(D.due_at.is_not(None), D.due_at >= now, D.due_at < soon_end)
    open_ = [D.ended_at.is_(None), D.received_at.is_not(None), *_in_units(codes)]
    counts = (
        await session.execute(
            select(
                D.unit_code,
                func.count(),
                func.sum(case((overdue, 1), else_=0)),
                func.sum(case((soon, 1), else_=0)),
            )
            .where(*open_)
            .group_by(D.unit_code)
        )
    ).all()
    today_ordinal = select(WorkDay.ordinal).where(WorkDay.day == day).scalar_subquery()
    due_day = aliased(WorkDay)
    rank = (
        func.row_number().over(partition_by=D.unit_code, order_by=(D.due_at, D.code)).label("rank")
    )
    ranked = (
        select(
            D.code,
            D.unit_code,
            D.due_at,
            working_days_from_ordinals(due_day.ordinal, today_ordinal).label("days"),
            rank,
        )
        .select_from(D)
        .outerjoin(due_day, due_day.day == D.due_date)
        .where(*open_, overdue)
        .subquery()
    )
    worst_rows = (await session.execute(select(ranked).where(ranked.c.rank <= DIGEST_WORST))).all()
    worst: dict[str, list[dict[str, Any]]] = {}
    for code, unit_code, due_at, days, _rank in worst_rows:
        worst.setdefault(unit_code, []).append(
            {
                "dossier_code": code,
                "due_at": local_iso(due_at, zone),
                "working_days_overdue": int(days or 0),
            }
        )
    units = [
        {
            "unit_code": unit_code,
            "unit_name": tree.names.get(unit_code),
            "open": int(total),
            "overdue": int(late or 0),
            "due_soon": int(due or 0),
            "worst": sorted(worst.get(unit_code, []), key=lambda w: w["due_at"] or ""),
        }
        for unit_code, total, late, due in counts
    ]
    units.sort(key=lambda u: (-u["overdue"], -u["due_soon"], u["unit_code"]))
    totals = {k: sum(u[k] for u in units) for k in ("open", "overdue", "due_soon")}
    return {
        "date": day.isoformat(),
        "unit": root,
        "unit_name": tree.names.get(root) if root else None,
        "totals": totals,
        "units": units[:DIGEST_UNITS],
        "truncated": len(units) > DIGEST_UNITS,
    }


def fit_body(kind: str, now: datetime, data: dict[str, Any], zone: ZoneInfo) -> str:
    """The digest body, dropping the least urgent units until it is at most MAX_BODY_BYTES."""
    body = body_of(kind, now, data, zone)
    while len(body.encode()) > MAX_BODY_BYTES and data["units"]:
        data["units"] = data["units"][: max(len(data["units"]) * 3 // 4, 0)]
        data["truncated"] = True
        body = body_of(kind, now, data, zone)
    return body


def digest_instant(day: date, digest_time: str, zone: ZoneInfo) -> datetime:
    hours, minutes = (int(part) for part in digest_time.split(":"))
    return datetime.combine(day, time(hours, minutes), zone)


async def _digest(
    session: AsyncSession,
    sub: Subscription,
    codes: Sequence[str] | None,
    *,
    now: datetime,
    today: date,
    soon_end: datetime,
    tree: _Tree,
    zone: ZoneInfo,
) -> int:
    """Today's digest of the subscription, once its time has passed on a working day."""
    due = digest_instant(today, sub.digest_time, zone)
    channels = ([WEBHOOK] if sub.url else []) + ([EMAIL] if sub.emails else [])
    have = set(
        (
            await session.execute(
                select(Alert.channel).where(
                    Alert.subscription_id == sub.id,
                    Alert.type == DIGEST,
                    Alert.dossier_code == "",
                    Alert.due_at == due,
                )
            )
        ).scalars()
    )
    missing = [c for c in channels if c not in have]
    if not missing:
        return 0
    data = await digest_data(
        session,
        codes=codes,
        root=sub.unit_code,
        day=today,
        now=now,
        soon_end=soon_end,
        tree=tree,
        zone=zone,
    )
    data["subscription_id"] = sub.id
    body = fit_body(DIGEST, now, data, zone)
    insert = sql_of(session).insert
    rows = [
        {
            "subscription_id": sub.id,
            "channel": channel,
            "type": DIGEST,
            "dossier_code": "",
            "unit_code": sub.unit_code,
            "due_at": due,
            "webhook_id": new_webhook_id(),
            "body": body,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for channel in missing
    ]
    result = await session.execute(insert(ALERTS).values(rows).on_conflict_do_nothing())
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


async def scan_session(session: AsyncSession, settings: Settings, *, now: datetime) -> ScanResult:
    """One scan in the caller's transaction (the lock, if any, is the caller's)."""
    zone = settings.zone
    today = now.astimezone(zone).date()
    result = ScanResult()
    subs = list((await session.execute(select(Subscription).order_by(Subscription.id))).scalars())
    if not subs:
        return result
    tree = await _tree(session)
    horizons: dict[int, datetime] = {}
    for within in sorted({sub.due_within_working_days for sub in subs}):
        horizons[within] = await horizon_end(session, today=today, within=within, zone=zone)
    pending = await pending_counts(session)
    budgets = {sub.id: settings.alert_max_pending - pending.get(sub.id, 0) for sub in subs}
    result.deferred = [sub_id for sub_id, budget in budgets.items() if budget <= 0]
    rescoped = await sync_scopes(session, subs, tree)
    if rescoped > ANALYZE_AFTER_ROWS:
        await sql_of(session).refresh_statistics(session, SCOPES)
    await _dossier_alerts(
        session,
        now=now,
        horizons=horizons,
        budgets=budgets,
        tree=tree,
        zone=zone,
        result=result,
    )
    if sum(result.created.values()) > ANALYZE_AFTER_ROWS:
        # a new subscription's first scan can add tens of thousands of rows at once; without
        # fresh statistics the next scan's anti-join against them was planned as if the table
        # were empty (a nested loop over both: minutes at 1M dossiers, docs/performance.md)
        await sql_of(session).refresh_statistics(session, ALERTS)
    digests = [
        sub
        for sub in subs
        if DIGEST in sub.events
        and budgets[sub.id] > 0
        and sub.created_at <= digest_instant(today, sub.digest_time, zone) <= now
    ]
    if digests and await is_working_day(session, today):
        for sub in digests:
            made = await _digest(
                session,
                sub,
                tree.codes(sub.unit_code),
                now=now,
                today=today,
                soon_end=horizons[sub.due_within_working_days],
                tree=tree,
                zone=zone,
            )
            result.add(DIGEST, made)
    for kind, count in result.created.items():
        prometheus.ALERTS_CREATED.labels(kind).inc(count)
    return result


async def scan(db: Database, settings: Settings, *, now: datetime) -> ScanResult:
    """One scan in a transaction of its own, if no other scheduler is scanning."""
    async with db.write_guard(), db.sessionmaker() as session, session.begin():
        if not await sql_of(session).try_xact_lock(session, SCHEDULER_LOCK):
            return ScanResult(ran=False)
        return await scan_session(session, settings, now=now)


async def prune(db: Database, settings: Settings, *, now: datetime) -> int:
    """Bound the stored alerts: attempts older than the retention, and finished alerts older
    than it, except those whose dossier is still open with the same due date (their row is
    what keeps the dossier from being announced again)."""
    cutoff = now - timedelta(days=settings.alert_retention_days)
    still_due = exists().where(
        D.code == Alert.dossier_code, D.due_at == Alert.due_at, D.ended_at.is_(None)
    )
    async with db.write_guard(), db.sessionmaker() as session, session.begin():
        attempts = await session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.at < cutoff))
        alerts = await session.execute(
            delete(Alert).where(
                Alert.status.in_(["delivered", "dead"]),
                Alert.finished_at < cutoff,
                or_(Alert.type == DIGEST, ~still_due),
            )
        )
    return int(getattr(attempts, "rowcount", 0) or 0) + int(getattr(alerts, "rowcount", 0) or 0)
