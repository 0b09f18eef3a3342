"""The metric plan: which source answers which field (no database: the plan is data)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.metrics import formulas as f
from app.metrics.queries import HISTOGRAM, LATENESS, GroupBy, Period, Source, make_buckets, plan

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2024, 5, 15, 10, tzinfo=ZONE)
SUMMARY = tuple(f.counts_needed(f.FAMILY_FIELDS[f.Family.summary]))


def _sources(group_by: GroupBy, last: date, **options: bool) -> dict[str, set[Source]]:
    buckets = make_buckets(date(2024, 1, 1), last, Period.month, ZONE, NOW)
    return plan(
        buckets=buckets,
        group_by=group_by,
        counts=SUMMARY,
        processing_days=True,
        lateness_days=True,
        **options,
    ).sources()


def test_by_unit_everything_but_the_open_backlog_of_now_comes_from_the_rollups() -> None:
    sources = _sources(GroupBy.unit, date(2024, 5, 31))
    assert sources.pop(HISTOGRAM) == {Source.rollup_histogram}
    # indicator 4.2 judged at each month's end: the dossiers resolved after it (below)
    assert sources.pop("digitized_resolved_later") == {Source.resolved_later}
    assert sources.pop(LATENESS) == {Source.rollups}
    for name in (
        "in_progress",
        "in_progress_overdue",
        "in_progress_paused",
        "progress_in_progress_on_time",
    ):
        # January … April ended: running totals; May ends now: the open dossiers
        assert sources.pop(name) == {Source.backlog_totals, Source.open_dossiers}
    assert sources.pop("in_progress_within_deadline", None) is None  # not asked for
    assert sources  # the intake and resolution counts
    assert all(v == {Source.rollups} for v in sources.values())


def test_a_period_that_ended_reads_no_dossier_but_those_resolved_after_it() -> None:
    sources = _sources(GroupBy.none, date(2024, 4, 30))
    assert sources.pop("digitized_resolved_later") == {Source.resolved_later}
    assert set().union(*sources.values()) == {
        Source.rollups,
        Source.rollup_histogram,
        Source.backlog_totals,
    }


def test_only_the_buckets_that_ended_read_the_dossiers_resolved_after_them() -> None:
    buckets = make_buckets(date(2024, 4, 1), date(2024, 5, 31), Period.month, ZONE, NOW)
    for use_rollups in (True, False):
        steps = plan(
            buckets=buckets,
            group_by=GroupBy.none,
            counts=("dossiers_digitized", "digitized_resolved_later", "received"),
            use_rollups=use_rollups,
        ).steps
        (later,) = [s for s in steps if s.source is Source.resolved_later]
        assert later.fields == ("digitized_resolved_later",)
        assert [b.key for b in later.buckets] == ["2024-04"]  # May ends now: none after it
    now_only = make_buckets(date(2024, 5, 1), date(2024, 5, 31), Period.none, ZONE, NOW)
    steps = plan(buckets=now_only, group_by=GroupBy.none, counts=("digitized_resolved_later",))
    assert steps.steps == ()


def test_by_procedure_or_without_rollups_everything_comes_from_dossiers() -> None:
    for sources in (
        _sources(GroupBy.procedure, date(2024, 4, 30)),
        _sources(GroupBy.unit, date(2024, 4, 30), use_rollups=False),
    ):
        assert sources.pop(HISTOGRAM) == sources.pop(LATENESS) == {Source.dossier_working_days}
        assert sources.pop("in_progress") == {Source.open_dossiers}
        assert sources.pop("digitized_resolved_later") == {Source.resolved_later}
        assert set().union(*sources.values()) == {Source.dossiers, Source.open_dossiers}


def test_intake_and_resolution_sums_are_one_statement() -> None:
    buckets = make_buckets(date(2024, 1, 1), date(2024, 3, 31), Period.none, ZONE, NOW)
    steps = plan(buckets=buckets, group_by=GroupBy.unit, counts=("received", "resolved")).steps
    assert [(s.source, s.fields) for s in steps] == [(Source.rollups, ("received", "resolved"))]
