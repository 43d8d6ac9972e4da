"""A consolidation of the units' submissions for one duty, as of one day."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class Report(Base):
    __tablename__ = "report"

    id: Mapped[int] = mapped_column(primary_key=True)
    duty_id: Mapped[int] = mapped_column(ForeignKey("report_duty.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), comment="The consolidating unit.")
    as_of: Mapped[date]
    created_at: Mapped[datetime]
    completeness: Mapped[Decimal | None]
    timeliness: Mapped[Decimal | None]
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict, comment="Figures, verdicts and their sources.")
    files: Mapped[list[str]] = mapped_column(default=list)
