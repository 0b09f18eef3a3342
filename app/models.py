"""Imports every table so ``Base.metadata`` is complete (Alembic, tests)."""

from app.auth.models import ApiKey
from app.db import Base
from app.dossiers.models import Dossier, DossierEvent
from app.reference.models import CalendarOverride, Procedure, Unit
from app.reference.workdays import WorkDay

__all__ = [
    "ApiKey",
    "Base",
    "CalendarOverride",
    "Dossier",
    "DossierEvent",
    "Procedure",
    "Unit",
    "WorkDay",
]
