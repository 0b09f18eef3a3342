"""The formulas: a rate is its numerator over its denominator, the same counts the answer shows
beside it, and its words state that division."""

from __future__ import annotations

import random

from app.metrics.formulas import COUNTS, RATES


def test_every_rate_is_its_numerator_over_its_denominator() -> None:
    rng = random.Random(15)
    for _ in range(200):
        counts = {name: rng.randrange(0, 50) for name in COUNTS}
        for rate in RATES.values():
            value, numerator, denominator = rate.value(counts)
            assert numerator == sum(counts[n] for n in rate.numerator)
            assert denominator == sum(counts[n] for n in rate.denominator)
            if denominator == 0:
                assert value is None
            else:
                assert value == numerator / denominator, rate.name


def test_a_rate_over_zero_is_none_with_its_counts() -> None:
    assert RATES["overdue_rate"].value({"resolved_late": 3}) == (None, 3, 0)


def test_the_words_of_a_rate_state_its_division() -> None:
    assert RATES["on_time_rate"].description.startswith(
        "(resolved_early + resolved_on_time) / resolved: the share of dossiers resolved"
    )
    assert RATES["online_rate"].description.startswith("received_online / received: ")
    for rate in RATES.values():
        assert set(rate.numerator + rate.denominator) <= set(COUNTS), rate.name
