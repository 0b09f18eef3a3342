"""Sessions of the portal's login call, backed by API keys (only a hash is stored)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class DvcqgSession(Base):
    """A session from ``POST /api/v1/dvcqg/login``: the HMAC-SHA256 of its token under the
    server secret (as for API keys), the key it stands for, and when it ends. Every use goes
    through the key, so a session ends with its key (revoked, expired) as well as by itself."""

    __tablename__ = "dvcqg_sessions"

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
