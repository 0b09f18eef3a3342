"""Imports every table so ``Base.metadata`` is complete (Alembic, tests)."""

from app.alerts.models import Alert, AlertScope, DeliveryAttempt, Subscription
from app.auth.models import ApiKey, SignedRequest
from app.db import Base
from app.dossiers.models import Dossier, DossierEvent
from app.dvcqg.models import DvcqgSession
from app.metrics.rollups import rollup_days, rollups
from app.reference.models import CalendarOverride, Procedure, Unit
from app.reference.sectors import Sector
from app.reference.workdays import WorkDay

__all__ = [
    "Alert",
    "AlertScope",
    "ApiKey",
    "Base",
    "CalendarOverride",
    "DeliveryAttempt",
    "Dossier",
    "DossierEvent",
    "DvcqgSession",
    "Procedure",
    "Sector",
    "SignedRequest",
    "Subscription",
    "Unit",
    "WorkDay",
    "rollup_days",
    "rollups",
]
