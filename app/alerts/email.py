"""The daily digest as an email, in Vietnamese, sent through a real SMTP server.

The message is built from the digest's stored JSON body, so every retry sends the same text
with the same ``Message-ID`` (made from the alert's ``webhook-id``).
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import date
from email.message import EmailMessage
from typing import Any

import orjson

from app.config import Settings


def _day(text: str) -> str:
    return date.fromisoformat(text).strftime("%d/%m/%Y")


def _when(text: str | None) -> str:
    if not text:
        return "—"
    return f"{_day(text[:10])} {text[11:16]}"


def digest_message(
    body: str, *, webhook_id: str, settings: Settings, to: list[str]
) -> EmailMessage:
    """The email of a ``digest.daily`` body: subject and plain text in Vietnamese."""
    payload: dict[str, Any] = orjson.loads(body)
    data = payload["data"]
    scope = data.get("unit_name") or data.get("unit") or "tất cả đơn vị"
    totals = data["totals"]
    lines = [
        f"Tổng hợp hồ sơ ngày {_day(data['date'])} — {scope}",
        "",
        f"Hồ sơ đang giải quyết: {totals['open']}",
        f"Hồ sơ quá hạn: {totals['overdue']}",
        f"Hồ sơ sắp đến hạn: {totals['due_soon']}",
        "",
    ]
    for unit in data["units"]:
        name = unit.get("unit_name") or unit["unit_code"]
        lines.append(
            f"• {name} ({unit['unit_code']}): {unit['open']} đang giải quyết, "
            f"{unit['overdue']} quá hạn, {unit['due_soon']} sắp đến hạn"
        )
        for worst in unit["worst"]:
            lines.append(
                f"    - {worst['dossier_code']}: hạn {_when(worst['due_at'])}, "
                f"quá hạn {worst['working_days_overdue']} ngày làm việc"
            )
    if data.get("truncated"):
        lines += ["", "(Danh sách đã được rút gọn; xem đầy đủ trên bảng điều khiển.)"]
    lines += [
        "",
        "Thư này được gửi tự động bởi hệ thống theo dõi một cửa; vui lòng không trả lời.",
    ]
    message = EmailMessage()
    message["Subject"] = f"[Một cửa] Tổng hợp hồ sơ ngày {_day(data['date'])} — {scope}"
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(to)
    domain = settings.smtp_from.rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<{webhook_id}@{domain}>"
    message.set_content("\n".join(lines), charset="utf-8")
    return message


def send(settings: Settings, message: EmailMessage) -> None:
    """Send one message (blocking: run it in a thread). Raises on any SMTP failure."""
    if not settings.smtp_host:
        raise RuntimeError("ONESTOP_SMTP_HOST is not set")
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
    ) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        smtp.send_message(message)
