"""The Decision 766/QĐ-TTg scorecard, as the national portal computes it (DOMAIN.md, "Decision
766 as the portal computes it"; CONTRACT.md v1.1, "The national index").

Each indicator scores a rate of ``formulas.RATES`` (the words and SQL are there): threshold T
means ``Pmax`` at rate >= T, else ``rate × Pmax / T``; linear means ``rate × Pmax``. A null rate
has null points; a row's ``points`` sums the non-null points and ``max_points`` their maxima.
Points are not rounded.

The portal's "on time" (indicator 2.1, ``progress_rate``) is not the contract's
``on_time_rate``: it counts open dossiers too, judges a dossier waiting on the citizen at the
time of the request, and never counts a dossier with more than one supplement request as on
time. Both are in each row, named apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.metrics import formulas as f


@dataclass(frozen=True)
class Indicator:
    """One scored indicator: the rate it scores, its maximum and its threshold."""

    key: str
    number: str  # the indicator's number in Decision 766
    group: str
    name: str
    rate: str  # a formulas.RATES name
    max_points: float
    threshold: float | None  # None: linear (rate × max_points)

    def points(self, rate: float | None) -> float | None:
        """Full marks at or above the threshold, else rate × max / threshold (linear: rate ×
        max); a null rate scores null."""
        if rate is None:
            return None
        if self.threshold is None:
            return rate * self.max_points
        if rate >= self.threshold:
            return self.max_points
        return rate * self.max_points / self.threshold


# THE table of maxima and thresholds (Decision 766/QĐ-TTg as the national portal applies it).
SCORECARD: tuple[Indicator, ...] = (
    Indicator(
        "progress",
        "2.1",
        "Tiến độ giải quyết (processing progress, 20)",
        "Tỷ lệ hồ sơ giải quyết đúng hạn và đang giải quyết trong hạn (on time, portal rules)",
        "progress_rate",
        20,
        None,
    ),
    Indicator(
        "online_submission",
        "3.3",
        "Dịch vụ công trực tuyến (online public services, 12)",
        "Tỷ lệ hồ sơ nộp trực tuyến (online intake rate)",
        "online_rate",
        12,
        0.5,
    ),
    Indicator(
        "online_payment",
        "3.6",
        "Thanh toán trực tuyến (online payment, 10)",
        "Tỷ lệ hồ sơ thanh toán trực tuyến (online payment rate)",
        "online_payment_rate",
        10,
        None,
    ),
    Indicator(
        "electronic_result",
        "4.1",
        "Số hóa hồ sơ (digitization, 22)",
        "Tỷ lệ hồ sơ cấp kết quả điện tử (dossiers with an electronic result)",
        "result_digitized_rate",
        6,
        None,
    ),
    Indicator(
        "dossiers_digitized",
        "4.2",
        "Số hóa hồ sơ (digitization, 22)",
        "Tỷ lệ hồ sơ được số hóa (a digitized component and, if resolved, an electronic result)",
        "dossiers_digitized_rate",
        4,
        0.8,
    ),
)

# The indicators of Decision 766 that events cannot support, and why.
UNSUPPORTED: tuple[dict[str, Any], ...] = (
    {
        "key": "transparency",
        "number": "1",
        "max_points": 18,
        "reason": "publication of procedures and of dossier progress on the portal: not in the "
        "events",
    },
    {
        "key": "satisfaction",
        "number": "5",
        "max_points": 18,
        "reason": "citizens' satisfaction ratings: collected by the portal, not in the events",
    },
    {
        "key": "data_reuse",
        "number": "4.3",
        "max_points": 2,
        "reason": "reuse of digitized data and results: the events do not say which "
        "components were reused",
    },
    {
        "key": "sync_coverage",
        "number": "2.x",
        "max_points": None,
        "reason": "share of dossiers synchronised to the portal: needs the portal's own count",
    },
)

# The contract's figures shown beside the portal's, for the same words (on time, overdue).
CONTRACT_RATES: tuple[str, ...] = ("on_time_rate", "overdue_rate")

SCORECARD_FIELDS: tuple[str, ...] = (
    *(i.rate for i in SCORECARD),
    *CONTRACT_RATES,
)


def score(row: Mapping[str, Any]) -> dict[str, Any]:
    """A scorecard row from a metrics row holding the scorecard's rates (and counts):
    ``<key>_rate``, ``_numerator``, ``_denominator``, ``_points``, ``_max_points`` per
    indicator, the row's ``points`` and ``max_points``, the indicators as a list too, and the
    contract's rates beside them."""
    labels = {
        k: v
        for k, v in row.items()
        if k in ("unit_code", "unit_name", "procedure_code", "procedure_name", "sector_code")
        or k.startswith("period")
    }
    out: dict[str, Any] = dict(labels)
    indicators = []
    total = maximum = 0.0
    for indicator in SCORECARD:
        # the rate as formulas.RATES computes it for every answer (4.2 judges the result at
        # the end of the period there, so the scorecard, the family and the rankings agree)
        rate = row[indicator.rate]
        numerator = row[f"{indicator.rate}_numerator"]
        denominator = row[f"{indicator.rate}_denominator"]
        points = indicator.points(rate)
        max_points = indicator.max_points
        if points is not None:
            total += points
            maximum += indicator.max_points
        key = indicator.key
        out.update(
            {
                f"{key}_rate": rate,
                f"{key}_numerator": numerator,
                f"{key}_denominator": denominator,
                f"{key}_points": points,
                f"{key}_max_points": max_points,
            }
        )
        indicators.append(
            {
                "key": key,
                "number": indicator.number,
                "group": indicator.group,
                "name": indicator.name,
                "indicator": indicator.rate,
                "rate": rate,
                "numerator": numerator,
                "denominator": denominator,
                "threshold": indicator.threshold,
                "max_points": indicator.max_points,
                "points": points,
            }
        )
    for name in CONTRACT_RATES:
        out[name] = row[name]
        out[f"{name}_numerator"] = row[f"{name}_numerator"]
        out[f"{name}_denominator"] = row[f"{name}_denominator"]
    out.update({"points": total, "max_points": maximum, "indicators": indicators})
    return out


assert all(i.rate in f.RATES for i in SCORECARD)
assert all(name in f.RATES for name in CONTRACT_RATES)
