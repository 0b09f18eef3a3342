"""The formulas: each rate is computed by its own ``formula``, and agrees with the numerator
and denominator the answer shows beside it."""

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


def test_a_rate_is_what_its_formula_returns() -> None:
    rate = RATES["on_time_rate"]
    counts = {"resolved_early": 1, "resolved_on_time": 2, "resolved": 4}
    assert rate.arguments == ("resolved_early", "resolved_on_time", "resolved")
    assert rate.value(counts) == (rate.formula(1, 2, 4), 3, 4) == (0.75, 3, 4)


def test_a_formula_takes_counts_only() -> None:
    for rate in RATES.values():
        assert set(rate.arguments) <= set(COUNTS), rate.name
        assert set(rate.arguments) == set(rate.numerator + rate.denominator), rate.name
