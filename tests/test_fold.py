"""The fold is pure: any permutation and duplication of a dossier's events folds the same."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from app.dossiers.derive import wait_day_pairs, wait_days
from app.dossiers.fold import ATTRIBUTES, FoldEvent, Status, fold
from app.reference.workdays import working_days_from_ordinals

T0 = datetime(2024, 1, 1, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def _event(i: int, status: Status, minutes: int, **kw: object) -> FoldEvent:
    return FoldEvent(
        source="s",
        event_id=f"e{i}",
        dossier_code="D",
        status=status,
        occurred_at=T0 + timedelta(minutes=minutes),
        unit_code=kw.pop("unit_code", "U"),
        **kw,  # type: ignore[arg-type]
    )


events_strategy = st.lists(
    st.tuples(
        st.sampled_from(list(Status)),
        st.integers(0, 50),  # few distinct minutes: ties on occurred_at are common
        st.none() | st.integers(0, 5),
        st.none() | st.booleans(),
        st.none() | st.sampled_from(["U1", "U2"]),
    ),
    min_size=1,
    max_size=12,
).map(
    lambda specs: [
        _event(
            i,
            status,
            minute,
            components_total=total,
            result_digitized=flag,
            **({"unit_code": u} if u else {}),
        )
        for i, (status, minute, total, flag, u) in enumerate(specs)
    ]
)


@settings(max_examples=300, deadline=None)
@given(events=events_strategy, data=st.data())
def test_any_permutation_and_duplication_folds_the_same(
    events: list[FoldEvent], data: st.DataObject
) -> None:
    extra = data.draw(st.lists(st.sampled_from(events), max_size=6))
    shuffled = data.draw(st.permutations(events + extra))
    assert fold(shuffled).to_row(ZONE) == fold(events).to_row(ZONE)


@settings(max_examples=200, deadline=None)
@given(events=events_strategy, cut=st.integers(0, 12))
def test_folding_on_from_a_stored_state_equals_a_full_fold(
    events: list[FoldEvent], cut: int
) -> None:
    ordered = sorted(events, key=lambda e: e.key)
    head, tail = ordered[:cut], ordered[cut:]
    if not head:
        return
    assert fold(tail, start=fold(head)).to_row(ZONE) == fold(ordered).to_row(ZONE)


def test_later_non_null_fields_overwrite_and_nulls_do_not() -> None:
    state = fold(
        [
            _event(1, Status.received, 0, components_total=3),
            _event(2, Status.processing, 1),
        ]
    )
    assert state.components_total == 3
    assert all(hasattr(state, name) for name in ATTRIBUTES)


def test_ties_on_time_are_ordered_by_event_id() -> None:
    state = fold([_event(2, Status.resolved, 5), _event(1, Status.processing, 5)])
    assert state.status is Status.resolved


def test_resolved_at_is_first_resolved_else_first_returned() -> None:
    only_returned = fold([_event(1, Status.received, 0), _event(2, Status.returned, 30)])
    both = fold(
        [
            _event(1, Status.resolved, 10),
            _event(2, Status.returned, 30),
            _event(3, Status.resolved, 40),
        ]
    )
    assert only_returned.resolved_at == T0 + timedelta(minutes=30)
    assert both.resolved_at == T0 + timedelta(minutes=10)


def test_refused_dossier_is_never_counted_as_received() -> None:
    state = fold([_event(1, Status.refused, 0, received_at=T0)])
    assert state.to_row(ZONE)["received_date"] is None


def test_received_at_defaults_to_first_received_event() -> None:
    state = fold(
        [
            _event(1, Status.submitted, 0),
            _event(2, Status.received, 60),
            _event(3, Status.received, 90),
        ]
    )
    assert state.received_at == T0 + timedelta(minutes=60)


def test_local_dates_use_the_zone() -> None:
    late_evening_utc = FoldEvent(
        source="s",
        event_id="e",
        dossier_code="D",
        status=Status.received,
        occurred_at=datetime(2024, 1, 1, 18, 0, tzinfo=UTC),
        unit_code="U",
    )
    assert fold([late_evening_utc]).to_row(ZONE)["received_date"].isoformat() == "2024-01-02"


# --- waiting on the citizen ------------------------------------------------------------------

spread_events = st.lists(
    st.tuples(
        st.sampled_from(
            [
                Status.received,
                Status.processing,
                Status.supplement_requested,
                Status.payment_requested,
                Status.resolved,
                Status.returned,
                Status.withdrawn,
                Status.refused,
            ]
        ),
        st.integers(0, 40),  # half days over about three weeks
    ),
    min_size=1,
    max_size=12,
).map(lambda specs: [_event(i, s, half * 720) for i, (s, half) in enumerate(specs)])


@settings(max_examples=300, deadline=None)
@given(events=spread_events, working=st.lists(st.booleans(), min_size=30, max_size=30))
def test_net_processing_days_never_exceed_the_gross(
    events: list[FoldEvent], working: list[bool]
) -> None:
    """Whatever the events and the calendar, the working days waited on the citizen lie within
    receipt … resolution: 0 <= net = gross - W <= gross."""
    ordinals: dict[date, int] = {}
    count = 0
    first = T0.astimezone(ZONE).date() - timedelta(days=2)
    for i, flag in enumerate(working):
        count += flag
        ordinals[first + timedelta(days=i)] = count
    state = fold(events)
    waited = wait_days(wait_day_pairs(state, ZONE), ordinals)
    assert waited >= 0
    if state.counts_as_received and state.resolved_at is not None and state.received_at:
        receipt = state.received_at.astimezone(ZONE).date()
        resolution = state.resolved_at.astimezone(ZONE).date()
        gross = max(0, working_days_from_ordinals(ordinals[receipt], ordinals[resolution]))
        assert 0 <= gross - waited <= gross


@settings(max_examples=200, deadline=None)
@given(events=spread_events, data=st.data())
def test_waits_and_requests_are_the_same_in_any_arrival_order(
    events: list[FoldEvent], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(events))
    one, other = fold(shuffled), fold(events)
    assert (one.waits, one.paused_at, one.supplement_count) == (
        other.waits,
        other.paused_at,
        other.supplement_count,
    )


def test_a_wait_runs_to_the_next_event_of_another_status() -> None:
    state = fold(
        [
            _event(1, Status.received, 0),
            _event(2, Status.supplement_requested, 60),
            _event(3, Status.supplement_requested, 120),  # a repeat: the same request
            _event(4, Status.payment_requested, 180),  # another status: a new wait
            _event(5, Status.processing, 240),
            _event(6, Status.supplement_requested, 300),
        ]
    )
    minutes = [
        (int((a - T0).total_seconds() // 60), int((b - T0).total_seconds() // 60))
        for a, b in state.waits
    ]
    assert minutes == [(60, 180), (180, 240)]
    assert state.paused_at == T0 + timedelta(minutes=300)
    assert state.supplement_count == 2


def test_received_then_refused_stays_received_and_is_closed() -> None:
    state = fold([_event(1, Status.received, 0), _event(2, Status.refused, 600)])
    row = state.to_row(ZONE)
    assert row["received_date"] == T0.astimezone(ZONE).date()
    assert row["ended_at"] == T0 + timedelta(minutes=600)
