"""The leaders' CSV (``format=csv&lang=vi``): the same rows as the machine CSV, with headers
in Vietnamese (or English, ``lang=en``) and figures as the dashboard shows them.

- rates as percentages with at most two decimals, ``99,76%`` (``99.76%`` in English); a rate
  over zero dossiers is an empty cell;
- day figures with one decimal (``2,5``); counts as whole numbers (Excel sums them);
- periods as the dashboard labels them (``T1/2024``, ``Quý I/2024``), their days as
  dd/mm/yyyy.

The machine CSV (no ``lang``) keeps its snake_case headers and raw fractions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from app.metrics import formulas as f


class Lang(StrEnum):
    vi = "vi"
    en = "en"


LABELS: dict[str, tuple[str, str]] = {
    # key: (Vietnamese, English)
    "unit_code": ("Mã đơn vị", "Unit code"),
    "unit_name": ("Đơn vị", "Unit"),
    "procedure_code": ("Mã thủ tục", "Procedure code"),
    "procedure_name": ("Thủ tục hành chính", "Procedure"),
    "sector_code": ("Mã lĩnh vực", "Sector code"),
    "sector_name": ("Lĩnh vực", "Sector"),
    "period": ("Kỳ", "Period"),
    "period_from": ("Từ ngày", "From"),
    "period_to": ("Đến ngày", "To"),
    "received": ("Hồ sơ tiếp nhận", "Dossiers received"),
    "received_online": ("Tiếp nhận trực tuyến", "Received online"),
    "received_direct": ("Tiếp nhận trực tiếp", "Received at the desk"),
    "received_postal": ("Tiếp nhận qua bưu chính", "Received by post"),
    "received_channel_unknown": ("Tiếp nhận không rõ kênh", "Received, channel unknown"),
    "online_rate": ("Tỷ lệ tiếp nhận trực tuyến", "Online intake rate"),
    "fee_required": ("Hồ sơ phải nộp phí", "Dossiers with a fee"),
    "paid_online": ("Thanh toán trực tuyến", "Paid online"),
    "online_payment_rate": ("Tỷ lệ thanh toán trực tuyến", "Online payment rate"),
    "with_digitized_component": (
        "Hồ sơ có thành phần được số hóa",
        "Dossiers with a digitized component",
    ),
    "digitized_component_rate": (
        "Tỷ lệ hồ sơ có thành phần số hóa",
        "Rate of dossiers with a digitized component",
    ),
    "fully_digitized": ("Hồ sơ số hóa toàn bộ", "Fully digitized dossiers"),
    "fully_digitized_rate": ("Tỷ lệ số hóa toàn bộ hồ sơ", "Fully digitized rate"),
    "dossiers_digitized": ("Hồ sơ số hóa", "Dossiers digitized"),
    "digitized_resolved_later": (
        "Hồ sơ số hóa, giải quyết sau kỳ",
        "Dossiers digitized, resolved after the period",
    ),
    "dossiers_digitized_rate": ("Tỷ lệ hồ sơ số hóa", "Dossiers digitized rate"),
    "resolved": ("Hồ sơ đã giải quyết", "Dossiers resolved"),
    "result_digitized": ("Kết quả được số hóa", "Digitized results"),
    "result_digitized_rate": ("Tỷ lệ số hóa kết quả", "Digitized result rate"),
    "result_signed": ("Kết quả được ký số", "Digitally signed results"),
    "result_signed_rate": ("Tỷ lệ kết quả ký số", "Signed result rate"),
    "resolved_early": ("Giải quyết trước hạn", "Resolved early"),
    "resolved_on_time": ("Giải quyết đúng hạn", "Resolved on time"),
    "resolved_late": ("Giải quyết quá hạn", "Resolved late"),
    "on_time_rate": ("Tỷ lệ giải quyết đúng hạn", "On-time rate"),
    "in_progress": ("Đang giải quyết", "In progress"),
    "in_progress_overdue": ("Đang giải quyết quá hạn", "In progress, overdue"),
    "in_progress_paused": ("Đang chờ công dân bổ sung, thanh toán", "Waiting on the citizen"),
    "overdue_rate": ("Tỷ lệ trễ hạn", "Overdue rate"),
    "progress_resolved_on_time": (
        "Giải quyết đúng hạn (tiến độ giải quyết)",
        "Resolved on time (processing progress)",
    ),
    "progress_in_progress_on_time": (
        "Đang giải quyết trong hạn (tiến độ giải quyết)",
        "In progress, on time (processing progress)",
    ),
    "progress_rate": ("Tỷ lệ tiến độ giải quyết", "Processing progress rate"),
    "processing_days_count": ("Số hồ sơ tính thời gian giải quyết", "Dossiers timed"),
    "processing_days_mean": (
        "Thời gian giải quyết trung bình (ngày làm việc)",
        "Mean processing time (working days)",
    ),
    "processing_days_p50": (
        "Một nửa số hồ sơ giải quyết trong (ngày làm việc)",
        "Median processing time (working days)",
    ),
    "processing_days_p90": (
        "90% số hồ sơ giải quyết trong (ngày làm việc)",
        "90th percentile processing time (working days)",
    ),
    "processing_days_net_mean": (
        "Thời gian giải quyết trung bình trừ thời gian chờ (ngày làm việc)",
        "Mean net processing time (working days)",
    ),
    "processing_days_net_p50": (
        "Một nửa số hồ sơ giải quyết trong, trừ thời gian chờ (ngày làm việc)",
        "Median net processing time (working days)",
    ),
    "processing_days_net_p90": (
        "90% số hồ sơ giải quyết trong, trừ thời gian chờ (ngày làm việc)",
        "90th percentile net processing time (working days)",
    ),
    "lateness_days_mean": (
        "Số ngày quá hạn trung bình (ngày làm việc)",
        "Mean lateness (working days)",
    ),
}
PART = {"numerator": ("tử số", "numerator"), "denominator": ("mẫu số", "denominator")}
QUARTERS = ("I", "II", "III", "IV")


def header(column: str, lang: Lang) -> str:
    """A column's leader label; a field without one keeps its machine name."""
    which = 0 if lang is Lang.vi else 1
    for suffix, names in PART.items():
        rate = column.removesuffix(f"_{suffix}")
        if rate != column and rate in f.RATES:
            return f"{header(rate, lang)} ({names[which]})"
    labels = LABELS.get(column)
    return labels[which] if labels else column


def _number(value: Decimal, places: int, lang: Lang) -> str:
    quantum = Decimal(1).scaleb(-places)
    text = format(value.quantize(quantum, rounding=ROUND_HALF_UP), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",") if lang is Lang.vi else text


def percent(value: float | None, lang: Lang) -> str:
    """0.99756 -> "99,76%" (at most two decimals, as the dashboard); None -> ""."""
    if value is None:
        return ""
    return _number(Decimal(repr(value)) * 100, 2, lang) + "%"


def _period(value: Any, period_from: Any, lang: Lang) -> Any:
    """ "2024-01" (a month) -> "T1/2024"; a quarter -> "Quý I/2024"; otherwise as sent."""
    text = str(value or "")
    first = period_from if isinstance(period_from, date) else None
    if first is None and isinstance(period_from, str) and len(period_from) == 10:
        first = date.fromisoformat(period_from)
    if len(text) == 7 and text[4] == "-" and first is not None:
        return f"T{first.month}/{first.year}" if lang is Lang.vi else f"{first:%b %Y}"
    if "Q" in text and first is not None:
        quarter = QUARTERS[(first.month - 1) // 3]
        return f"Quý {quarter}/{first.year}" if lang is Lang.vi else f"Q{quarter} {first.year}"
    return value


def _cell(column: str, value: Any, row: dict[str, Any], lang: Lang) -> Any:
    if column in f.RATES:
        return percent(value, lang)
    if column == "period":
        return _period(value, row.get("period_from"), lang)
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    if isinstance(value, str) and column in ("period_from", "period_to") and len(value) == 10:
        return f"{date.fromisoformat(value):%d/%m/%Y}"
    if isinstance(value, float):
        return _number(Decimal(repr(value)), 1, lang)
    return value


def leader_table(
    columns: Sequence[str], rows: Sequence[dict[str, Any]], lang: Lang
) -> tuple[list[str], list[dict[str, Any]]]:
    """Headers and rows for ``csv_text``: each row keyed by its leader header."""
    headers = [header(c, lang) for c in columns]
    out = [
        {h: _cell(c, row.get(c), row, lang) for c, h in zip(columns, headers, strict=True)}
        for row in rows
    ]
    return headers, out
