"""The Decision 766/QĐ-TTg scorecard, for the indicator groups this data supports.

Decision 766 scores each unit out of 100: transparency 18, processing progress 20, online public
services 12, online payment 10, digitization 22, satisfaction 18. Transparency and satisfaction
come from other systems; the reuse of digitized data (2 points) is not in the events. An
indicator with a threshold T scores full marks at a rate >= T, else rate × max / T; where
DOMAIN.md states no threshold, T = 100 % (points = rate × max, as for processing progress:
on_time_rate × 20).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.metrics import formulas as f


@dataclass(frozen=True)
class Indicator:
    """One scored indicator: the rate it scores, its maximum and its threshold."""

    key: str
    group: str
    name: str
    rate: str
    max_points: float
    threshold: float

    def points(self, rate: float | None) -> float | None:
        """Full marks at or above the threshold, else rate × max / threshold; null rate: null."""
        if rate is None:
            return None
        if rate >= self.threshold:
            return self.max_points
        return rate * self.max_points / self.threshold


# THE table of maxima and thresholds (Decision 766/QĐ-TTg, as summarised in DOMAIN.md).
SCORECARD: tuple[Indicator, ...] = (
    Indicator(
        "processing_progress",
        "Tiến độ giải quyết (processing progress, 20)",
        "Tỷ lệ hồ sơ giải quyết đúng hạn (on-time rate)",
        "on_time_rate",
        20,
        1.0,
    ),
    Indicator(
        "online_submission",
        "Dịch vụ công trực tuyến (online public services, 12)",
        "Tỷ lệ hồ sơ nộp trực tuyến (online intake rate)",
        "online_rate",
        12,
        1.0,
    ),
    Indicator(
        "online_payment",
        "Thanh toán trực tuyến (online payment, 10)",
        "Tỷ lệ hồ sơ thanh toán trực tuyến (online payment rate)",
        "online_payment_rate",
        10,
        1.0,
    ),
    Indicator(
        "electronic_result",
        "Số hóa hồ sơ (digitization, 22)",
        "Tỷ lệ hồ sơ cấp kết quả điện tử (dossiers with an electronic result)",
        "result_digitized_rate",
        6,
        1.0,
    ),
    Indicator(
        "dossiers_digitized",
        "Số hóa hồ sơ (digitization, 22)",
        "Tỷ lệ hồ sơ được số hóa (dossiers with every component digitized)",
        "fully_digitized_rate",
        4,
        0.8,
    ),
)

SCORECARD_FIELDS: tuple[str, ...] = tuple(i.rate for i in SCORECARD)
MAX_POINTS: float = sum(i.max_points for i in SCORECARD)


def score(row: dict[str, Any]) -> dict[str, Any]:
    """A unit's indicators and points from a metrics row holding the scorecard's rates."""
    indicators = []
    total = 0.0
    for indicator in SCORECARD:
        rate = row[indicator.rate]
        points = indicator.points(rate)
        total += points or 0.0
        indicators.append(
            {
                "key": indicator.key,
                "group": indicator.group,
                "name": indicator.name,
                "indicator": indicator.rate,
                "rate": rate,
                "numerator": row[f"{indicator.rate}_numerator"],
                "denominator": row[f"{indicator.rate}_denominator"],
                "threshold": indicator.threshold,
                "max_points": indicator.max_points,
                "points": points,
            }
        )
    keys: dict[str, Any] = {k: row[k] for k in ("unit_code", "unit_name") if k in row}
    return {**keys, "indicators": indicators, "points": total, "max_points": MAX_POINTS}


assert all(i.rate in f.RATES for i in SCORECARD)
