"""A deterministic demo province whose figures reproduce the Đô Lương district report.

``build_demo(seed)`` returns the unit tree, the procedure catalogue, the canonical events (as
``POST /api/v1/events`` accepts them) and ``expected``: the report's figures with the metric
queries that must reproduce them (DOMAIN.md):

- procedures at district level 261 = 111 full + 150 partial; at commune level 156 = 36 + 114;
- 1 Jan – 3 May 2024: the district desk received 645 dossiers, all online (100 %); the communes
  received 3,999, of which 3,555 online (88.9 %);
- Q1 2024, whole district: 3,350 of 3,351 received dossiers with a digitized component;
  3,343 of 3,351 fully digitized (99.76 %); 3,294 of 3,294 resolved with a digitized result.

Around those figures the generator puts what real data holds: dossiers carried over from
December, refused and withdrawn ones, supplements that move the due date, late resolutions in
the land and construction sectors, a low digital-signature rate at the communes, a low online
payment rate, a neighbouring district and a provincial department as other units. The seed
changes the dossiers, never the report's figures.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.reference.workdays import add_default_working_days, default_working

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
PROVINCE = "000.00.00.H40"
DISTRICT = "000.00.31.H40"
OTHER_DISTRICT = "000.00.32.H40"
DEPARTMENT = "000.00.01.H40"

# fmt: off
COMMUNE_NAMES = (
    "Thị trấn Đô Lương", "Bài Sơn", "Bắc Sơn", "Bồi Sơn", "Đà Sơn", "Đại Sơn", "Đặng Sơn",
    "Đông Sơn", "Giang Sơn Đông", "Giang Sơn Tây", "Hiến Sơn", "Hòa Sơn", "Hồng Sơn", "Lạc Sơn",
    "Lam Sơn", "Lưu Sơn", "Minh Sơn", "Mỹ Sơn", "Nam Sơn", "Ngọc Sơn", "Nhân Sơn", "Quang Sơn",
    "Tân Sơn", "Thái Sơn", "Thịnh Sơn", "Thuận Sơn", "Thượng Sơn", "Trù Sơn", "Trung Sơn",
    "Văn Sơn", "Xuân Sơn", "Yên Sơn",
)
# fmt: on
OTHER_COMMUNES = ("Thị trấn Thanh Chương", "Thanh Đồng", "Thanh Ngọc")

# The 2025 reorganisation (DOMAIN.md): from 1 July 2025 the districts are gone and their
# communes merged; each new commune is named with the old communes (by index in
# COMMUNE_NAMES, from 1) it took over. Thanh Chương's three communes became one.
REORGANISED = date(2025, 7, 1)
NEW_COMMUNES: tuple[tuple[str, range], ...] = (
    ("Đô Lương", range(1, 7)),
    ("Bạch Ngọc", range(7, 12)),
    ("Văn Hiến", range(12, 17)),
    ("Bạch Hà", range(17, 22)),
    ("Thuần Trung", range(22, 28)),
    ("Lương Sơn", range(28, 33)),
)
NEW_OTHER_COMMUNE = ("Thanh Chương", "007.00.50.H40")

# sector code -> (name, share of late resolutions: "processing that misses its deadline in
# some fields")
SECTORS: dict[str, tuple[str, float]] = {
    "HT": ("Hộ tịch", 0.01),
    "CT": ("Chứng thực", 0.0),
    "DD": ("Đất đai", 0.14),
    "XD": ("Xây dựng", 0.08),
    "DKKD": ("Đăng ký kinh doanh", 0.02),
    "LDTBXH": ("Lao động - Thương binh và Xã hội", 0.03),
    "GD": ("Giáo dục và Đào tạo", 0.0),
}
PROCEDURE_NAMES: dict[str, tuple[str, ...]] = {
    "HT": ("Đăng ký khai sinh", "Đăng ký kết hôn", "Đăng ký khai tử", "Trích lục hộ tịch"),
    "CT": ("Chứng thực bản sao từ bản chính", "Chứng thực chữ ký", "Chứng thực hợp đồng"),
    "DD": ("Đăng ký biến động đất đai", "Cấp đổi giấy chứng nhận quyền sử dụng đất"),
    "XD": ("Cấp giấy phép xây dựng nhà ở riêng lẻ", "Điều chỉnh giấy phép xây dựng"),
    "DKKD": ("Đăng ký hộ kinh doanh", "Thay đổi nội dung đăng ký hộ kinh doanh"),
    "LDTBXH": ("Trợ cấp xã hội hằng tháng", "Hỗ trợ chi phí mai táng"),
    "GD": ("Chuyển trường cho học sinh trung học cơ sở", "Công nhận xã đạt chuẩn phổ cập"),
}

Q1_FIRST, Q1_LAST = date(2024, 1, 1), date(2024, 3, 31)
WINDOW_LAST = date(2024, 5, 3)


@dataclass
class DemoData:
    """The demo province: reference data, events, and the report figures they reproduce."""

    units: list[dict[str, Any]]
    procedures: list[dict[str, Any]]
    events: list[dict[str, Any]]
    expected: dict[str, Any] = field(default_factory=dict)


WINDOW = {"from": "2024-01-01", "to": "2024-05-03"}


def expected_figures() -> dict[str, Any]:
    """The district report's figures, each with the metric query that reproduces it."""
    return {
        "district_desk_online": {
            "family": "online",
            "query": {**WINDOW, "unit": DISTRICT, "level": "district"},
            "figures": {"received": 645, "received_online": 645},
            "rate": {"online_rate": 1.0},
        },
        "commune_online": {
            "family": "online",
            "query": {**WINDOW, "unit": DISTRICT, "level": "commune"},
            "figures": {"received": 3999, "received_online": 3555},
            "rate": {"online_rate": 0.889},
        },
        "q1_digitization": {
            "family": "digitization",
            "query": {"from": "2024-01-01", "to": "2024-03-31", "unit": DISTRICT},
            "figures": {
                "received": 3351,
                "with_digitized_component": 3350,
                "fully_digitized": 3343,
                "resolved": 3294,
                "result_digitized": 3294,
            },
            "rate": {"fully_digitized_rate": 0.9976, "result_digitized_rate": 1.0},
        },
        "procedures": {
            "district": {"total": 261, "full_online": 111, "partial_online": 150},
            "commune": {"total": 156, "full_online": 36, "partial_online": 114},
        },
    }


def _unit(code: str, name: str, level: str, parent_code: str | None) -> dict[str, Any]:
    return {"code": code, "name": name, "level": level, "parent_code": parent_code}


def _units() -> list[dict[str, Any]]:
    units = [
        _unit(PROVINCE, "UBND tỉnh Nghệ An", "province", None),
        _unit(DEPARTMENT, "Sở Tư pháp", "department", PROVINCE),
        _unit(DISTRICT, "UBND huyện Đô Lương", "district", PROVINCE),
        _unit(OTHER_DISTRICT, "UBND huyện Thanh Chương", "district", PROVINCE),
    ]
    for i, name in enumerate(COMMUNE_NAMES, start=1):
        prefix = "UBND " if name.startswith("Thị trấn") else "UBND xã "
        units.append(_unit(commune_code(i), prefix + name, "commune", DISTRICT))
    for i, name in enumerate(OTHER_COMMUNES, start=1):
        prefix = "UBND " if name.startswith("Thị trấn") else "UBND xã "
        units.append(_unit(f"{i:03d}.00.32.H40", prefix + name, "commune", OTHER_DISTRICT))
    return units


def commune_code(i: int) -> str:
    return f"{i:03d}.00.31.H40"


def new_commune_code(i: int) -> str:
    """The code of the ``i``-th new commune of NEW_COMMUNES (from 1)."""
    return f"{i:03d}.00.50.H40"


def _reorganise(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The units with their lives: the districts and their communes end on 30 June 2025, each
    old commune naming the new commune that took it over; the new communes (under the
    province) begin on 1 July 2025."""
    ended = {"valid_to": (REORGANISED - timedelta(days=1)).isoformat()}
    successor = {
        commune_code(i): new_commune_code(n)
        for n, (_, olds) in enumerate(NEW_COMMUNES, start=1)
        for i in olds
    }
    successor |= {f"{i:03d}.00.32.H40": NEW_OTHER_COMMUNE[1] for i in range(1, 4)}
    out = []
    for unit in units:
        if unit["level"] == "district":
            unit = {**unit, **ended, "successor_code": None}
        elif unit["code"] in successor:
            unit = {**unit, **ended, "successor_code": successor[unit["code"]]}
        out.append(unit)
    begun = {"valid_from": REORGANISED.isoformat()}
    for n, (name, _) in enumerate(NEW_COMMUNES, start=1):
        out.append({**_unit(new_commune_code(n), f"UBND xã {name}", "commune", PROVINCE), **begun})
    name, code = NEW_OTHER_COMMUNE
    out.append({**_unit(code, f"UBND xã {name}", "commune", PROVINCE), **begun})
    return out


def _procedures(rng: random.Random) -> list[dict[str, Any]]:
    """261 district procedures (111 full, 150 partial), 156 commune (36 full, 114 partial), and
    province procedures (some not online) for the department."""
    out: list[dict[str, Any]] = []
    plan = (
        ("district", "2", 111, 150, 0),
        ("commune", "1", 36, 114, 6),
        ("province", "3", 20, 25, 15),
    )
    sectors = list(SECTORS)
    for level, prefix, full, partial, offline in plan:
        services = ["full"] * full + ["partial"] * partial + ["none"] * offline
        rng.shuffle(services)
        for n, service in enumerate(services, start=1):
            sector = sectors[n % len(sectors)]
            names = PROCEDURE_NAMES[sector]
            base = names[n % len(names)]
            out.append(
                {
                    "code": f"{prefix}.{n:06d}",
                    "name": f"{base} ({level}, {n})",
                    "level": level,
                    "online_service": service,
                    "sector_code": sector,
                }
            )
    return out


def _working_days(first: date, last: date) -> list[date]:
    days, day = [], first
    while day <= last:
        if default_working(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE)


@dataclass
class _Dossier:
    unit: str
    level: str
    received: date
    channel: str
    fate: str  # resolve | withdraw | open | refuse | refuse_after_receipt
    resolve_between: tuple[date, date] | None = None
    digitized: str = "full"  # full | partial | none
    result_digitized: bool = True


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.procedures = _procedures(self.rng)
        self.by_level: dict[str, list[dict[str, Any]]] = {}
        for p in self.procedures:
            self.by_level.setdefault(p["level"], []).append(p)
        # a few popular procedures take most dossiers
        self.popular = {
            level: self.rng.sample(items, min(25, len(items)))
            for level, items in self.by_level.items()
        }
        self.statutory = {
            p["code"]: self.rng.choice((1, 2, 3, 3, 5, 5, 7, 10, 15)) for p in self.procedures
        }
        self.fee = {p["code"]: self.rng.random() < 0.35 for p in self.procedures}
        self.sequence: dict[tuple[str, date], int] = {}
        self.events: list[dict[str, Any]] = []
        self.q1_days = _working_days(date(2024, 1, 2), date(2024, 3, 29))
        self.april_days = _working_days(date(2024, 4, 1), date(2024, 4, 26))
        self.window_q2_days = _working_days(date(2024, 4, 1), WINDOW_LAST)
        self.december_days = _working_days(date(2023, 12, 1), date(2023, 12, 29))
        self.may_days = _working_days(date(2024, 5, 6), date(2024, 5, 31))
        self.january_days = _working_days(date(2024, 1, 2), date(2024, 1, 31))

    def communes(self) -> list[str]:
        return [commune_code(i) for i in range(1, len(COMMUNE_NAMES) + 1)]

    def pick_procedure(self, level: str) -> dict[str, Any]:
        if self.rng.random() < 0.8:
            return self.rng.choice(self.popular[level])
        return self.rng.choice(self.by_level[level])

    def code(self, unit: str, day: date) -> str:
        n = self.sequence.get((unit, day), 0) + 1
        self.sequence[(unit, day)] = n
        return f"{unit}-{day:%y%m%d}-{n:04d}"

    def emit(self, plan: _Dossier) -> None:
        rng = self.rng
        procedure = self.pick_procedure("province" if plan.unit == DEPARTMENT else plan.level)
        code = self.code(plan.unit, plan.received)
        sector = procedure["sector_code"]
        statutory = self.statutory[procedure["code"]]
        received_at = _at(
            plan.received, rng.choice((7, 8, 9, 10, 13, 14, 15)), rng.choice((0, 15, 30, 45))
        )
        due_day = add_default_working_days(plan.received, statutory)
        due_at = _at(due_day, 17)
        total = rng.choice((1, 2, 2, 3, 3, 4, 5))
        digitized = {
            "full": total,
            "partial": rng.randint(1, total - 1) if total > 1 else 0,
            "none": 0,
        }
        if plan.digitized == "partial" and total == 1:
            total = 2
            digitized["partial"] = 1
        fee_required = self.fee[procedure["code"]]
        n = 0

        def event(status: str, at: datetime, **fields: Any) -> None:
            nonlocal n
            n += 1
            self.events.append(
                {
                    "event_id": f"{code}-{n}",
                    "dossier_code": code,
                    "status": status,
                    "occurred_at": at.isoformat(),
                    "unit_code": plan.unit,
                    **fields,
                }
            )

        attributes = {
            "procedure_code": procedure["code"],
            "sector_code": sector,
            "channel": plan.channel,
        }
        if plan.channel == "online" and (plan.fate == "refuse" or rng.random() < 0.25):
            event("submitted", received_at - timedelta(hours=rng.choice((2, 5, 16))), **attributes)
        if plan.fate == "refuse":
            event("refused", received_at, **attributes)
            return
        event(
            "received",
            received_at,
            **attributes,
            due_at=due_at.isoformat(),
            components_total=total,
            components_digitized=digitized[plan.digitized],
            fee_required=fee_required,
        )
        if plan.fate == "refuse_after_receipt":
            event("refused", received_at + timedelta(minutes=40))
            return
        if rng.random() < 0.3:
            event("processing", received_at + timedelta(minutes=20))
        if plan.fate == "withdraw":
            event("withdrawn", _at(add_default_working_days(plan.received, 2), 10))
            return
        if plan.fate == "open":
            return
        assert plan.resolve_between is not None
        resolved_day, resolved_at = self.resolution(plan, received_at, due_day, sector)
        if resolved_day > add_default_working_days(plan.received, 1) and rng.random() < 0.05:
            # a supplement request moves the due date
            moved = add_default_working_days(due_day, 5)
            event(
                "supplement_requested",
                _at(add_default_working_days(plan.received, 1), 9),
                due_at=_at(moved, 17).isoformat(),
            )
            event("processing", _at(add_default_working_days(plan.received, 1), 15))
        payment: dict[str, Any] = {}
        if fee_required:  # a low online-payment rate: 15 % of the online dossiers that pay
            payment["paid_online"] = plan.channel == "online" and rng.random() < 0.15
            pay_at = resolved_at - timedelta(minutes=30)
            if pay_at > received_at + timedelta(minutes=20) and rng.random() < 0.3:
                event("payment_requested", pay_at, **payment)
                payment = {}
        signed_share = 0.92 if plan.level != "commune" else 0.35
        event(
            "resolved",
            resolved_at,
            result_digitized=plan.result_digitized,
            result_signed=plan.result_digitized and rng.random() < signed_share,
            **payment,
        )
        if rng.random() < 0.4:
            event("returned", _at(add_default_working_days(resolved_day, 1), 10))

    def resolution(
        self, plan: _Dossier, received_at: datetime, due_day: date, sector: str
    ) -> tuple[date, datetime]:
        """A resolution instant inside ``plan.resolve_between``, late with the sector's share."""
        rng = self.rng
        assert plan.resolve_between is not None
        first, last = plan.resolve_between
        first = max(first, plan.received)
        late = rng.random() < SECTORS[sector][1]
        if late:
            target = add_default_working_days(due_day, rng.choice((0, 1, 2, 4)))
        else:
            span = max(0, (due_day - plan.received).days)
            target = plan.received + timedelta(days=rng.randint(0, span))
            while not default_working(target) and target > plan.received:
                target -= timedelta(days=1)
        day = min(max(target, first), last)
        while not default_working(day) and day < last:
            day += timedelta(days=1)
        if day == plan.received:
            at = received_at + timedelta(minutes=90)
        elif day == due_day and late:
            at = _at(day, 17, 30)  # after the due hour on the due day: late
        else:
            at = _at(day, rng.choice((8, 9, 10, 14, 15, 16)), rng.choice((0, 20, 40)))
        return day, at


def _channels(online: int, direct: int, postal: int, rng: random.Random) -> list[str]:
    channels = ["online"] * online + ["direct"] * direct + ["postal"] * postal
    rng.shuffle(channels)
    return channels


def build_demo(seed: int = 0, today: date | None = None) -> DemoData:
    """The demo province for ``seed``; every seed reproduces the same report figures.

    Its units go through the 2025 reorganisation (``_reorganise``); after the report's
    months the dossiers run until ``today`` (default: today in Asia/Ho_Chi_Minh), the new
    communes' from July 2025."""
    g = _Generator(seed)
    rng = g.rng
    communes = g.communes()
    q1_end, q2 = (date(2024, 3, 29), date(2024, 3, 29)), (date(2024, 4, 1), date(2024, 4, 26))

    # --- Q1 2024 intake in the district: 470 at the district desk (online), 2,881 at communes
    q1: list[_Dossier] = []
    for _ in range(470):
        q1.append(_Dossier(DISTRICT, "district", rng.choice(g.q1_days), "online", "resolve"))
    for channel in _channels(2560, 290, 31, rng):
        q1.append(
            _Dossier(rng.choice(communes), "commune", rng.choice(g.q1_days), channel, "resolve")
        )
    rng.shuffle(q1)
    # fates: 3,144 resolved in Q1, 180 in April, 15 still open, 12 withdrawn
    for i, plan in enumerate(q1):
        if i < 3144:
            plan.resolve_between = (plan.received, q1_end[1])
        elif i < 3144 + 180:
            plan.resolve_between = q2
        elif i < 3144 + 180 + 15:
            plan.fate = "open"
        else:
            plan.fate = "withdraw"
    # digitization: one dossier with no digitized component, seven partly digitized
    for i, plan in enumerate(rng.sample(q1, 8)):
        plan.digitized = "none" if i == 0 else "partial"
    # results digitized: every Q1 resolution; some later ones not
    for plan in q1[3144:]:
        plan.result_digitized = rng.random() < 0.9

    # --- 1 Apr – 3 May 2024: 175 at the district desk (online), 1,118 at communes
    spring: list[_Dossier] = []
    for _ in range(175):
        spring.append(
            _Dossier(DISTRICT, "district", rng.choice(g.window_q2_days), "online", "resolve")
        )
    for channel in _channels(995, 110, 13, rng):
        spring.append(
            _Dossier(
                rng.choice(communes), "commune", rng.choice(g.window_q2_days), channel, "resolve"
            )
        )
    for plan in spring:
        plan.resolve_between = (plan.received, date(2024, 6, 28))
        plan.result_digitized = rng.random() < 0.95
        if rng.random() < 0.01:
            plan.fate = "withdraw"

    # --- carried over from December 2023: 150 resolved in January, 10 in April, 30 in December
    carried: list[_Dossier] = []
    for i in range(190):
        unit, level = (DISTRICT, "district") if i % 5 == 0 else (rng.choice(communes), "commune")
        plan = _Dossier(
            unit, level, rng.choice(g.december_days), rng.choice(("online", "direct")), "resolve"
        )
        if i < 150:
            plan.resolve_between = (date(2024, 1, 2), date(2024, 1, 31))
        elif i < 160:
            plan.resolve_between = q2
        else:
            plan.resolve_between = (plan.received, date(2023, 12, 29))
            plan.result_digitized = rng.random() < 0.8
        carried.append(plan)

    # --- noise: refused in the district, later intake, other units
    noise: list[_Dossier] = []
    for i in range(40):
        unit, level = (DISTRICT, "district") if i % 4 == 0 else (rng.choice(communes), "commune")
        fate = "refuse" if i < 30 else "refuse_after_receipt"
        day = rng.choice(g.q1_days + g.window_q2_days)
        if fate == "refuse_after_receipt":  # received, so in intake (CONTRACT.md v1.1): later
            day = g.may_days[i % len(g.may_days)]
        noise.append(_Dossier(unit, level, day, "online", fate))
    for i in range(120):
        unit, level = (DISTRICT, "district") if i % 6 == 0 else (rng.choice(communes), "commune")
        plan = _Dossier(
            unit, level, rng.choice(g.may_days), rng.choice(("online", "direct")), "resolve"
        )
        plan.resolve_between = (plan.received, date(2024, 6, 28))
        noise.append(plan)
    others = [f"{i:03d}.00.32.H40" for i in range(1, len(OTHER_COMMUNES) + 1)]
    for i in range(160):
        unit, level = (
            (OTHER_DISTRICT, "district") if i % 4 == 0 else (rng.choice(others), "commune")
        )
        channel = "online" if rng.random() < 0.7 else "direct"
        plan = _Dossier(unit, level, rng.choice(g.q1_days + g.window_q2_days), channel, "resolve")
        plan.resolve_between = (plan.received, date(2024, 6, 28))
        plan.result_digitized = rng.random() < 0.85
        plan.digitized = "full" if rng.random() < 0.9 else "partial"
        noise.append(plan)
    for _ in range(60):
        plan = _Dossier(
            DEPARTMENT,
            "department",
            rng.choice(g.q1_days),
            rng.choice(("online", "direct", "postal")),
            "resolve",
        )
        plan.resolve_between = (plan.received, date(2024, 5, 31))
        noise.append(plan)

    for plan in q1 + spring + carried + noise:
        g.emit(plan)
    # after the report, with a generator of its own so the report's dossiers stay the same
    g.rng = random.Random(f"after-{seed}")
    for plan in _after_the_report(g, today or datetime.now(ZONE).date()):
        g.emit(plan)
    return DemoData(
        units=_reorganise(_units()),
        procedures=g.procedures,
        events=g.events,
        expected=expected_figures(),
    )


AFTER_FIRST = date(2024, 6, 3)
MONTHLY = 100  # dossiers a month in the Đô Lương area after the report (and 12 in Thanh Chương)


def _after_the_report(g: _Generator, today: date) -> list[_Dossier]:
    """Dossiers from June 2024 until a week before ``today``: by the old units until 30 June
    2025, by the new communes after; online take-up and on-time handling improve slowly.
    Those received in the last week are still open (nothing after ``today``)."""
    rng = g.rng
    settled = today - timedelta(days=7)
    old_communes = g.communes()
    old_others = [f"{i:03d}.00.32.H40" for i in range(1, len(OTHER_COMMUNES) + 1)]
    new_communes = [new_commune_code(n) for n in range(1, len(NEW_COMMUNES) + 1)]
    plans: list[_Dossier] = []
    month = AFTER_FIRST.replace(day=1)
    months = 0
    while month <= today:
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        first = max(month, AFTER_FIRST)
        last = min(following - timedelta(days=1), today - timedelta(days=1))
        days = _working_days(first, last)
        online_share = min(0.97, 0.86 + 0.004 * months)
        for n in range(MONTHLY + 12 if days else 0):
            area = "other" if n >= MONTHLY else "doluong"
            if month < REORGANISED:
                if area == "other":
                    unit, level = rng.choice(old_others), "commune"
                elif rng.random() < 0.15:
                    unit, level = DISTRICT, "district"
                else:
                    unit, level = rng.choice(old_communes), "commune"
            else:
                unit = NEW_OTHER_COMMUNE[1] if area == "other" else rng.choice(new_communes)
                # district procedures moved to the communes
                level = "district" if rng.random() < 0.15 else "commune"
            day = rng.choice(days)
            channel = "online" if rng.random() < online_share else rng.choice(("direct", "postal"))
            plan = _Dossier(unit, level, day, channel, "resolve")
            if day > settled:
                plan.fate = "open"
            else:
                plan.resolve_between = (day, min(day + timedelta(days=45), settled))
                plan.result_digitized = rng.random() < 0.93
                plan.digitized = "full" if rng.random() < 0.95 else "partial"
                if rng.random() < 0.01:
                    plan.fate = "withdraw"
            plans.append(plan)
        month = following
        months += 1
    return plans
