"""The fold is pure: any permutation and duplication of a dossier's events folds the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from app.dossiers.fold import ATTRIBUTES, FoldEvent, Status, fold

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
