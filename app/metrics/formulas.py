"""Every metric, once: what it counts, in words (the docstring) and in SQL (the body).

Three bases decide which dossiers a count looks at (CONTRACT.md, "Which dossiers count"):

- ``intake``: dossiers received in the period (local ``received_date`` in it); a dossier
  refused without ever being received is not received (one received, then refused, is);
- ``resolution``: dossiers resolved in the period (local ``resolved_date`` in it: the first
  ``resolved`` event, else the first ``returned``), whatever happened to them later, unless
  they were withdrawn, stopped or refused before they were resolved;
- ``backlog``: dossiers received before the end of the period (or now, if sooner) and still
  open then: not resolved, and not withdrawn, stopped or refused, before it;
- ``resolved_later``: dossiers received in a period that has ended (intake) and resolved only
  after its end; a period that ends now has none. What an intake figure judged at the end of
  the period rather than now (indicator 4.2) needs beside the day rollups, which judge now.

A count is a condition on a dossier of its basis; a rate divides sums of counts; a rate over
zero is ``None``. A condition is built over the columns of a ``source`` it is given (the
``dossiers`` table by default; the rollups pass the rows before and after a write), so no
expression is rewritten after it is built. The docstrings are the OpenAPI descriptions of
the fields (``describe``), so the words a client reads are the words the code is written
against.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import and_, literal_column, or_, true
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.elements import ColumnElement, KeyedColumnElement
from sqlalchemy.sql.selectable import FromClause

from app.dossiers.models import Dossier as D


class Basis(StrEnum):
    intake = "intake"
    resolution = "resolution"
    backlog = "backlog"
    resolved_later = "resolved_later"


class Condition(Protocol):
    """A count's condition at the period's end ``end``, over the ``dossiers`` columns of
    ``source`` (:func:`columns`)."""

    def __call__(self, end: Any, source: Any = None) -> ColumnElement[bool]: ...


def columns(
    source: FromClause | None = None,
) -> ReadOnlyColumnCollection[str, KeyedColumnElement[Any]]:
    """The columns a condition is built over: those of ``source``, a selectable with the
    ``dossiers`` columns (the rows before or after a write, ``rollups.py``), by default the
    table's own."""
    return (D.__table__ if source is None else source).c


def _words(fn: Callable[..., Any]) -> str:
    return " ".join((inspect.getdoc(fn) or "").split())


@dataclass(frozen=True)
class Span:
    """The instants t at which a dossier is in a backlog state, from its own instants: t is
    after every instant named in ``after`` (an unset one: never in the state) and no later
    than every instant named in ``through`` (an unset one ends nothing).

    This is the one definition of "open at t" and "overdue at t"; the ways of counting the
    backlog derive from it: :meth:`at` (a condition at one instant), :meth:`bucket_range` (the
    bucket ends a dossier counts at, from the bucket indexes of its instants) and the day
    rollups (``rollups.py``: a dossier enters the state after the local day of its latest
    ``after`` instant and leaves it after the day of its ``through`` instant).
    """

    after: tuple[str, ...]
    through: tuple[str, ...]

    @property
    def instants(self) -> tuple[str, ...]:
        return (*self.after, *self.through)

    def at(self, t: Any, source: Any = None) -> list[ColumnElement[bool]]:
        """In the state at instant ``t`` (``source``: a selectable with the ``dossiers``
        columns; default the table), with the backlog basis (the dossier counts as received)."""
        c = columns(source)
        return [
            *backlog_basis(source),
            *(c[name] < t for name in self.after),
            *(or_(c[name].is_(None), c[name] >= t) for name in self.through),
        ]

    def bucket_range(self, index: Mapping[str, int], buckets: int) -> range:
        """The buckets k at whose end the dossier is in the state, given ``index[name]``: the
        number of bucket ends at or before that instant (``buckets`` when it is unset): it is
        after the instant at end k when index <= k, no later than it when index > k."""
        first = max(index[name] for name in self.after)
        stop = min([buckets, *(index[name] for name in self.through)])
        return range(first, stop)


@dataclass(frozen=True)
class Count:
    """A number of dossiers of a basis that meet a condition (``end``: the period's end).

    A backlog count has a ``span`` too: its condition is "in the span at ``end``"."""

    name: str
    basis: Basis
    condition: Condition
    span: Span | None = None

    @property
    def description(self) -> str:
        return _words(self.condition)


@dataclass(frozen=True)
class Rate:
    """``sum(numerator) / sum(denominator)`` over counts; ``None`` when the denominator is 0.

    That division is the rate, here and nowhere else: the answers carry it with its
    numerator and denominator, and the dashboard shows what they carry."""

    name: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    meaning: str
    lower_is_better: bool = False

    @property
    def description(self) -> str:
        """The formula in words, e.g. ``(a + b) / c: <meaning>``."""

        def side(names: tuple[str, ...]) -> str:
            return " + ".join(names) if len(names) == 1 else f"({' + '.join(names)})"

        return f"{side(self.numerator)} / {side(self.denominator)}: {self.meaning}"

    def value(self, counts: Mapping[str, int]) -> tuple[float | None, int, int]:
        """The rate (None over a zero denominator), its numerator and its denominator."""
        get = counts.get
        numerator = 0
        for name in self.numerator:
            numerator += get(name, 0)
        denominator = 0
        for name in self.denominator:
            denominator += get(name, 0)
        return (numerator / denominator if denominator else None), numerator, denominator


# --- the bases --------------------------------------------------------------------------------


def intake_basis(source: Any = None) -> list[ColumnElement[bool]]:
    """Dossiers that count in the intake basis of the local day they were received (a refused
    dossier has no ``received_date``)."""
    return [columns(source).received_date.is_not(None)]


def resolution_basis(source: Any = None) -> list[ColumnElement[bool]]:
    """Dossiers that count in the resolution basis of the local day they were resolved: not
    closed (withdrawn, stopped, refused) before they were resolved."""
    c = columns(source)
    return [c.resolved_date.is_not(None), or_(c.closed_at.is_(None), c.closed_at >= c.resolved_at)]


def resolved_later_basis(source: Any = None) -> list[ColumnElement[bool]]:
    """Dossiers that count in the ``resolved_later`` basis of a period that has ended: received
    in it (the intake basis) and resolved after its last day (``resolved_date`` after it, so
    ``resolved_at`` at or after its end); the caller adds those dates."""
    return [*intake_basis(source), columns(source).resolved_date.is_not(None)]


def backlog_basis(source: Any = None) -> list[ColumnElement[bool]]:
    """Dossiers that can be in the backlog at all: received (``received_date`` set)."""
    return [columns(source).received_date.is_not(None)]


# --- conditions (the docstring is the field's definition) -----------------------------------


def received(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers received in the period: their receipt (NgayTiepNhan, local date) falls in it.
    A dossier refused without ever being received is not; one received and refused later is
    (the refusal closes it)."""
    return true()


def received_online(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers received in the period through the online channel (KenhThucHien 2)."""
    return columns(source).channel == "online"


def received_direct(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers received in the period at the one-stop desk (KenhThucHien 1)."""
    return columns(source).channel == "direct"


def received_postal(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers received in the period by post (KenhThucHien 3)."""
    return columns(source).channel == "postal"


def received_channel_unknown(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers received in the period with no channel given, so that received_online +
    received_direct + received_postal + received_channel_unknown = received."""
    return columns(source).channel.is_(None)


def fee_required(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers received in the period for which the procedure charges a fee."""
    return columns(source).fee_required.is_(True)


def paid_online(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers received in the period that charge a fee and whose fee was paid online."""
    c = columns(source)
    return and_(c.fee_required.is_(True), c.paid_online.is_(True))


def with_digitized_component(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers received in the period with at least one digitized component."""
    return columns(source).components_digitized >= 1


def fully_digitized(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers received in the period with at least one component, all of them digitized."""
    c = columns(source)
    return and_(c.components_total > 0, c.components_digitized == c.components_total)


def resolved(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers resolved in the period: the first `resolved` event (else the first `returned`)
    falls in it, whatever happened later; a dossier withdrawn, stopped or refused before it
    was resolved is not resolved."""
    return true()


def result_digitized(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers resolved in the period whose result has an electronic file."""
    return columns(source).result_digitized.is_(True)


def result_signed(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers resolved in the period whose result was digitally signed."""
    return columns(source).result_signed.is_(True)


def late(source: Any = None) -> ColumnElement[bool]:
    """Resolved after its due_at (a dossier without one is never late)."""
    c = columns(source)
    return and_(c.due_at.is_not(None), c.resolved_at > c.due_at)


def early(source: Any = None) -> ColumnElement[bool]:
    """Resolved on a calendar day before the day of its due_at."""
    c = columns(source)
    return and_(c.due_date.is_not(None), c.resolved_date < c.due_date)


def resolved_early(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers resolved in the period on a calendar day before the day of their due_at."""
    return early(source)


def resolved_on_time(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers resolved in the period neither early nor late: on the due day no later than
    due_at, or without a due_at."""
    return and_(~early(source), ~late(source))


def resolved_late(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers resolved in the period after their due_at (on the due day after its hour is
    late)."""
    return late(source)


# The backlog spans: open from receipt (exclusive) through the end (resolved, withdrawn,
# stopped or refused; inclusive): a dossier that ends exactly at t is still open at t, one
# received exactly at t is not yet. Overdue from the later of receipt and due_at.
OPEN = Span(after=("received_at",), through=("ended_at",))
OVERDUE = Span(after=("received_at", "due_at"), through=("ended_at",))
WITHIN_DEADLINE = Span(after=("received_at",), through=("ended_at", "due_at"))


def in_progress(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers received before the end of the period (or now, if sooner) and still open then:
    not resolved, and not withdrawn, stopped or refused, before it."""
    return and_(*OPEN.at(end, source))


def in_progress_overdue(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers still open at the end of the period whose due_at is before it."""
    return and_(*OVERDUE.at(end, source))


def in_progress_within_deadline(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers still open at the end of the period whose due_at is not before it (or who
    have none)."""
    return and_(*WITHIN_DEADLINE.at(end, source))


# Waiting on the citizen at t: open, and the outstanding request (``paused_at``: the start of
# the wait the dossier is in now, from the fold) made before t.
PAUSED = Span(after=("received_at", "paused_at"), through=("ended_at",))


def in_progress_paused(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers still open at the end of the period and waiting on the citizen then: their
    last status is supplement_requested or payment_requested, entered before the end."""
    return and_(*PAUSED.at(end, source))


# --- the national portal's processing progress (Decision 766, indicator 2.1) ------------------
# The portal's words "on time" and "overdue" differ from the contract's (``resolved_on_time``,
# ``in_progress_overdue``): a dossier with more than one supplement request is never on time,
# and an open dossier waiting on the citizen is judged at the time of the request. Both are
# exposed; these counts are the portal's. ``portal_due_at`` (a column, ``derive.py``) is the
# instant after which an open dossier is overdue by those rules: its receipt with more than
# one supplement request; none while a request made no later than due_at is outstanding;
# else due_at.
PORTAL_OVERDUE = Span(after=("received_at", "portal_due_at"), through=("ended_at",))
PORTAL_ON_TIME = Span(after=("received_at",), through=("ended_at", "portal_due_at"))


def progress_resolved_on_time(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers resolved in the period on time by the national portal's rules (indicator
    2.1): at most one supplement request, and resolved no later than due_at (the last one the
    events set, else the one derived from the procedure's duration_working_days plus the
    working days waited on the citizen), or without either."""
    c = columns(source)
    return and_(c.supplement_count <= 1, or_(c.due_at.is_(None), c.resolved_at <= c.due_at))


def progress_in_progress_on_time(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers still open at the end of the period and on time by the national portal's
    rules (indicator 2.1): at most one supplement request, and the end of the period (or,
    while a request to the citizen is outstanding, the time of that request) no later than
    due_at, or no due date."""
    return and_(*PORTAL_ON_TIME.at(end, source))


def progress_in_progress_overdue(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers still open at the end of the period and overdue by the national portal's
    rules (indicator 2.1): more than one supplement request, or past due_at at the end of the
    period unless waiting on the citizen on a request made no later than due_at."""
    return and_(*PORTAL_OVERDUE.at(end, source))


def dossiers_digitized(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers received in the period with at least one digitized component and, if resolved
    (by now), an electronic result. Indicator 4.2 judges the result at the end of the period
    instead: its numerator (dossiers_digitized_rate's) adds digitized_resolved_later."""
    c = columns(source)
    return and_(
        c.components_digitized >= 1,
        or_(c.resolved_at.is_(None), c.result_digitized.is_(True)),
    )


def digitized_resolved_later(end: Any, source: Any = None) -> ColumnElement[bool]:
    """Dossiers received in the period with at least one digitized component that were
    resolved without an electronic result only after the end of the period (a period that ends
    now has none): not resolved by its end, so digitized for indicator 4.2, while
    dossiers_digitized, judged now, leaves them out."""
    c = columns(source)
    # the 1 written into the statement, not bound: the planner then proves the predicate of
    # the partial index that holds these dossiers (ix_dossiers_resolved_later)
    return and_(c.components_digitized >= literal_column("1"), c.result_digitized.is_not(True))


COUNTS: dict[str, Count] = {
    c.name: c
    for c in (
        Count("received", Basis.intake, received),
        Count("received_online", Basis.intake, received_online),
        Count("received_direct", Basis.intake, received_direct),
        Count("received_postal", Basis.intake, received_postal),
        Count("received_channel_unknown", Basis.intake, received_channel_unknown),
        Count("fee_required", Basis.intake, fee_required),
        Count("paid_online", Basis.intake, paid_online),
        Count("with_digitized_component", Basis.intake, with_digitized_component),
        Count("fully_digitized", Basis.intake, fully_digitized),
        Count("dossiers_digitized", Basis.intake, dossiers_digitized),
        Count("digitized_resolved_later", Basis.resolved_later, digitized_resolved_later),
        Count("resolved", Basis.resolution, resolved),
        Count("result_digitized", Basis.resolution, result_digitized),
        Count("result_signed", Basis.resolution, result_signed),
        Count("resolved_early", Basis.resolution, resolved_early),
        Count("resolved_on_time", Basis.resolution, resolved_on_time),
        Count("resolved_late", Basis.resolution, resolved_late),
        Count("progress_resolved_on_time", Basis.resolution, progress_resolved_on_time),
        Count("in_progress", Basis.backlog, in_progress, OPEN),
        Count("in_progress_overdue", Basis.backlog, in_progress_overdue, OVERDUE),
        Count(
            "in_progress_within_deadline",
            Basis.backlog,
            in_progress_within_deadline,
            WITHIN_DEADLINE,
        ),
        Count("in_progress_paused", Basis.backlog, in_progress_paused, PAUSED),
        Count(
            "progress_in_progress_on_time",
            Basis.backlog,
            progress_in_progress_on_time,
            PORTAL_ON_TIME,
        ),
        Count(
            "progress_in_progress_overdue",
            Basis.backlog,
            progress_in_progress_overdue,
            PORTAL_OVERDUE,
        ),
    )
}


# --- rates: sum(numerator) / sum(denominator), and what that means ---------------------------


RATES: dict[str, Rate] = {
    r.name: r
    for r in (
        Rate(
            "online_rate",
            ("received_online",),
            ("received",),
            "the share of dossiers received in the period that came in online.",
        ),
        Rate(
            "online_payment_rate",
            ("paid_online",),
            ("fee_required",),
            "among dossiers received in the period that charge a fee, the share paid online.",
        ),
        Rate(
            "digitized_component_rate",
            ("with_digitized_component",),
            ("received",),
            "the share of dossiers received in the period with at least one digitized component.",
        ),
        Rate(
            "fully_digitized_rate",
            ("fully_digitized",),
            ("received",),
            "the share of dossiers received in the period with every component digitized.",
        ),
        Rate(
            "result_digitized_rate",
            ("result_digitized",),
            ("resolved",),
            "the share of dossiers resolved in the period with an electronic result.",
        ),
        Rate(
            "result_signed_rate",
            ("result_signed",),
            ("resolved",),
            "the share of dossiers resolved in the period with a digitally signed result.",
        ),
        Rate(
            "on_time_rate",
            ("resolved_early", "resolved_on_time"),
            ("resolved",),
            "the share of dossiers resolved in the period that were resolved no later than "
            "their due_at.",
        ),
        Rate(
            "overdue_rate",
            ("resolved_late", "in_progress_overdue"),
            ("resolved", "in_progress"),
            "late resolved and overdue open dossiers over resolved and open ones; lower is better.",
            lower_is_better=True,
        ),
        Rate(
            "progress_rate",
            ("progress_resolved_on_time", "progress_in_progress_on_time"),
            ("resolved", "in_progress"),
            "the national portal's processing progress (Decision 766, indicator 2.1): the "
            "dossiers on time by its rules over those resolved in the period or open at its "
            "end (the population of overdue_rate). Not 1 − overdue_rate: the portal's "
            '"on time" differs from the contract\'s.',
        ),
        Rate(
            "dossiers_digitized_rate",
            ("dossiers_digitized", "digitized_resolved_later"),
            ("received",),
            "the share of dossiers received in the period with at least one digitized "
            "component and, if resolved by the end of the period, an electronic result "
            "(Decision 766, indicator 4.2, as the scorecard and the rankings count it).",
        ),
    )
}


# --- processing time (from a per-value histogram of working days) ---------------------------

PROCESSING_DAYS = (
    "Working days from receipt to resolution of dossiers resolved in the period: the working "
    "days d with receipt day < d <= resolution day (a dossier resolved on the day it was "
    "received took 0). Weekends, public holidays and admin days off are skipped."
)


def processing_days_mean(histogram: Mapping[int, int]) -> float | None:
    """The mean processing time in working days of dossiers resolved in the period (those with a
    known receipt date)."""
    n = sum(histogram.values())
    return sum(map(operator.mul, histogram.keys(), histogram.values())) / n if n else None


def percentile(histogram: Mapping[int, int], p: int) -> int | None:
    """Nearest-rank percentile: the smallest value with at least p% of dossiers at or below it."""
    n = sum(histogram.values())
    if n == 0:
        return None
    at_or_below = 0
    for value in sorted(histogram):
        at_or_below += histogram[value]
        if at_or_below * 100 >= p * n:
            return value
    raise AssertionError("unreachable: the cumulative count reaches n")


def processing_days_p50(histogram: Mapping[int, int]) -> int | None:
    """The median processing time in working days of dossiers resolved in the period, by the
    nearest-rank method: the smallest value with at least 50% of dossiers at or below it."""
    return percentile(histogram, 50)


def processing_days_p90(histogram: Mapping[int, int]) -> int | None:
    """The 90th percentile of processing time in working days of dossiers resolved in the
    period, by the nearest-rank method: the smallest value with at least 90% of dossiers at or
    below it."""
    return percentile(histogram, 90)


def lateness_days_mean(lateness_days_total: int, resolved_late: int) -> float | None:
    """The mean number of working days past due of dossiers resolved late in the period: the
    working days d with due day < d <= resolution day, over resolved_late."""
    return lateness_days_total / resolved_late if resolved_late else None


def processing_days_count(histogram: Mapping[int, int]) -> int:
    """The number of dossiers resolved in the period with a known receipt date: the dossiers
    the processing-time figures are computed over."""
    return sum(histogram.values())


PROCESSING_DAYS_NET = (
    "Working days from receipt to resolution less the working days spent waiting on the "
    "citizen, of dossiers resolved in the period: a wait runs from a supplement_requested or "
    "payment_requested event to the next event of another status, its working days counted "
    "like processing days (d with start day < d <= end day) within receipt … resolution."
)


def processing_days_net_mean(net_histogram: Mapping[int, int]) -> float | None:
    """The mean net processing time in working days of dossiers resolved in the period (with a
    known receipt date): receipt to resolution less the working days waited on the citizen."""
    return processing_days_mean(net_histogram)


def processing_days_net_p50(net_histogram: Mapping[int, int]) -> int | None:
    """The median net processing time in working days (receipt to resolution less the working
    days waited on the citizen) of dossiers resolved in the period, by the nearest-rank
    method."""
    return percentile(net_histogram, 50)


def processing_days_net_p90(net_histogram: Mapping[int, int]) -> int | None:
    """The 90th percentile of net processing time in working days (receipt to resolution less
    the working days waited on the citizen) of dossiers resolved in the period, by the
    nearest-rank method."""
    return percentile(net_histogram, 90)


# statistics over the net histogram (the others read the gross one)
NET_STATISTICS: dict[str, Callable[..., Any]] = {
    "processing_days_net_mean": processing_days_net_mean,
    "processing_days_net_p50": processing_days_net_p50,
    "processing_days_net_p90": processing_days_net_p90,
}

STATISTICS: dict[str, Callable[..., Any]] = {
    "processing_days_count": processing_days_count,
    "processing_days_mean": processing_days_mean,
    "processing_days_p50": processing_days_p50,
    "processing_days_p90": processing_days_p90,
    "lateness_days_mean": lateness_days_mean,
    **NET_STATISTICS,
}


# --- families ---------------------------------------------------------------------------------


class Family(StrEnum):
    delay = "delay"
    digitization = "digitization"
    online = "online"
    summary = "summary"


FAMILY_FIELDS: dict[Family, tuple[str, ...]] = {
    Family.online: (
        "received",
        "received_online",
        "received_direct",
        "received_postal",
        "received_channel_unknown",
        "online_rate",
        "fee_required",
        "paid_online",
        "online_payment_rate",
    ),
    Family.digitization: (
        "received",
        "with_digitized_component",
        "digitized_component_rate",
        "fully_digitized",
        "fully_digitized_rate",
        "dossiers_digitized",
        "digitized_resolved_later",
        "dossiers_digitized_rate",
        "resolved",
        "result_digitized",
        "result_digitized_rate",
        "result_signed",
        "result_signed_rate",
    ),
    Family.delay: (
        "resolved",
        "resolved_early",
        "resolved_on_time",
        "resolved_late",
        "on_time_rate",
        "in_progress",
        "in_progress_overdue",
        "overdue_rate",
        "in_progress_paused",
        "progress_resolved_on_time",
        "progress_in_progress_on_time",
        "progress_rate",
        "processing_days_count",
        "processing_days_mean",
        "processing_days_p50",
        "processing_days_p90",
        "processing_days_net_mean",
        "processing_days_net_p50",
        "processing_days_net_p90",
        "lateness_days_mean",
    ),
}
FAMILY_FIELDS[Family.summary] = tuple(
    dict.fromkeys(
        FAMILY_FIELDS[Family.online]
        + FAMILY_FIELDS[Family.digitization]
        + FAMILY_FIELDS[Family.delay]
    )
)


def counts_needed(fields: Sequence[str]) -> set[str]:
    """The counts the fields are computed from."""
    needed: set[str] = set()
    for name in fields:
        if name in COUNTS:
            needed.add(name)
        elif name in RATES:
            needed.update(RATES[name].numerator + RATES[name].denominator)
        elif name == "lateness_days_mean":
            needed.add("resolved_late")
    return needed


def description(name: str) -> str:
    """The definition in words of a field (count, rate or statistic)."""
    if name in COUNTS:
        return COUNTS[name].description
    if name in RATES:
        return RATES[name].description
    return _words(STATISTICS[name])
