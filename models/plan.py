"""A plan (Kế hoạch) with its tasks, targets and report duties."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, false, or_, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from cascade.errors import ConflictError, NotFound
from models.base import Base
from models.unit import Unit, active_children


class PlanStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    CLOSED = "closed"


class Comparator(StrEnum):
    """How a figure is judged against a target value."""

    EQ = "eq"  # "đạt 100%"
    GT = "gt"  # "trên 80%"
    GE = "ge"  # "ít nhất", "đạt 715 căn"
    LT = "lt"  # "dưới 5%"
    LE = "le"  # "không quá"


class Aggregation(StrEnum):
    """How units' figures combine into one figure for a target."""

    SUM = "sum"  # quantities split among units: 715 căn
    MEAN = "mean"  # a score or index averaged over the units that reported
    WEIGHTED_RATE = "weighted_rate"  # Σ numerator / Σ denominator × 100
    SHARE_OF_UNITS = "share_of_units"  # % of expected units whose own figure meets unit_threshold


class DutyKind(StrEnum):
    IMPLEMENTING_PLAN = "implementing_plan"
    QUARTERLY = "quarterly"
    SIX_MONTH = "six_month"
    NINE_MONTH = "nine_month"
    ANNUAL = "annual"
    AD_HOC = "ad_hoc"


class ReportBlock(StrEnum):
    """A part of a consolidated report that the system writes, placed in a section the plan names."""

    FIGURES = "figures"  # the targets' results table
    REPORTING = "reporting"  # who reported, on time, late, not yet


class DayOffRule(StrEnum):
    """Where a deadline that falls on a weekend or public holiday goes."""

    BEFORE = "before"  # the last working day before it, as offices do
    AFTER = "after"  # the next working day (Civil Code 2015, Art. 148(5))
    KEEP = "keep"  # the day itself


class Plan(Base):
    """A plan issued by a unit for a year: '74/KH-SXD ngày 02/4/2024'."""

    __tablename__ = "plan"
    __table_args__ = (UniqueConstraint("key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(96), comment="Stable identifier: '74-kh-sxd-2024'.")
    number: Mapped[str | None] = mapped_column(String(16), comment="Sequence, blank on a draft: '74'.")
    symbol: Mapped[str] = mapped_column(String(32), comment="Kind and issuer: 'KH-SXD'.")
    issuer_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    issued_on: Mapped[date]
    place: Mapped[str]
    title: Mapped[str]
    year: Mapped[int]
    basis: Mapped[list[str]] = mapped_column(default=list)
    parent_plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"), index=True)
    purposes: Mapped[str] = mapped_column(Text, default="")
    requirements: Mapped[str] = mapped_column(Text, default="")
    recipients: Mapped[list[str]] = mapped_column(default=list)
    report_recipients: Mapped[list[str]] = mapped_column(
        default=list, server_default=text("'[]'"), comment="Nơi nhận of the plan's own consolidated reports; empty: the body above."
    )
    co_issuers: Mapped[list[dict[str, Any]]] = mapped_column(
        default=list, server_default=text("'[]'"), comment="A joint plan's other issuers: [{code, name, signer_title, signer_name}] (liên tịch)."
    )
    signer_title: Mapped[str]
    signer_name: Mapped[str]
    status: Mapped[PlanStatus] = mapped_column(String(16), default=PlanStatus.ISSUED)
    closed_on: Mapped[date | None] = mapped_column(comment="The day the cycle closed: no submissions after it; portal links expire some days later.")
    level: Mapped[int] = mapped_column(default=0, comment="Depth of the issuer below the root plan's issuer: 0 for a root plan.")
    cascade_policy: Mapped[dict[str, Any]] = mapped_column(
        default=dict, comment="How the plan passes down: {levels: [{lead_days, issue}]} (see models.cascading); derived plans copy it."
    )
    drafted: Mapped[dict[str, Any] | None] = mapped_column(
        comment="A drafted plan as it was drafted for its unit (the plan file's mapping), kept when the unit first adjusts it."
    )
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"), comment="1 as issued; each amendment (PlanAmendment) adds one.")

    issuer: Mapped[Unit] = relationship()
    parent_plan: Mapped[Plan | None] = relationship(remote_side=[id])
    tasks: Mapped[list[PlanTask]] = relationship(back_populates="plan", order_by="PlanTask.position", cascade="all, delete-orphan")
    targets: Mapped[list[Target]] = relationship(back_populates="plan", order_by="Target.position", cascade="all, delete-orphan")
    duties: Mapped[list[ReportDuty]] = relationship(back_populates="plan", order_by="ReportDuty.due_on", cascade="all, delete-orphan")

    @property
    def code(self) -> str:
        """'74/KH-SXD', or '/KH-UBND' before a number is given (`document_code`)."""
        return document_code(self.number, self.symbol)

    @property
    def kind_word(self) -> str:
        """What the document is, as a sentence names it: 'Kế hoạch', 'Chương trình' (from its symbol's kind)."""
        return document_kind_word(self.symbol)

    @property
    def kind_title(self) -> str:
        """The title line over the document's subject: 'KẾ HOẠCH', 'CHƯƠNG TRÌNH'."""
        return self.kind_word.upper()

    @property
    def issuer_names(self) -> str:
        """Who issued it, as a citation names it: 'Sở Xây dựng'; a joint plan's issuers joined, the lead first
        ('Ban Dân vận Tỉnh ủy và Ban cán sự đảng UBND tỉnh')."""
        return joined_names([self.issuer.name, *(str(c["name"]) for c in self.co_issuers or ())])


class TaskRole(StrEnum):
    LEAD = "lead"  # chủ trì
    SUPPORT = "support"  # phối hợp


class PlanTask(Base):
    """A key task (nhiệm vụ) with its lead and supporting units."""

    __tablename__ = "plan_task"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    position: Mapped[int]
    title: Mapped[str]
    content: Mapped[str] = mapped_column(Text, default="")

    plan: Mapped[Plan] = relationship(back_populates="tasks")
    units: Mapped[list[TaskUnit]] = relationship(back_populates="task", cascade="all, delete-orphan")


class TaskUnit(Base):
    __tablename__ = "task_unit"

    task_id: Mapped[int] = mapped_column(ForeignKey("plan_task.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    role: Mapped[TaskRole] = mapped_column(String(16))

    task: Mapped[PlanTask] = relationship(back_populates="units")
    unit: Mapped[Unit] = relationship()


class Target(Base):
    """A quantified target (chỉ tiêu) and the indicator units report for it."""

    __tablename__ = "target"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32), comment="Indicator code units report against: 'nha_o_xa_hoi'.")
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text, comment="The target as the plan words it.")
    metric: Mapped[str] = mapped_column(comment="What is measured, short: 'Nhà ở xã hội hoàn thành'.")
    unit_of_measure: Mapped[str] = mapped_column(String(32))
    comparator: Mapped[Comparator | None] = mapped_column(String(8))  # None: a plain figure
    value: Mapped[Decimal | None]
    aggregation: Mapped[Aggregation] = mapped_column(String(24))
    numerator_code: Mapped[str | None] = mapped_column(
        String(32), comment="weighted_rate computed from two sum indicators of the plan: the code of the part (units do not type the rate)."
    )
    denominator_code: Mapped[str | None] = mapped_column(String(32), comment="weighted_rate computed from two sum indicators: the code of the whole.")
    unit_comparator: Mapped[Comparator | None] = mapped_column(String(8), comment="share_of_units: how one unit's figure is judged.")
    unit_threshold: Mapped[Decimal | None]
    reporter_codes: Mapped[list[str]] = mapped_column(default=list, comment="Units that report it; empty = every assignee.")
    allocations: Mapped[dict[str, Any]] = mapped_column(default=dict, comment="Unit code → its share of a sum target.")
    allocation_rule: Mapped[str | None] = mapped_column(String(16), comment="How units without explicit allocations share the value: 'equal'.")

    plan: Mapped[Plan] = relationship(back_populates="targets")

    @property
    def is_plain(self) -> bool:
        """A plain figure: listed in the report, judged by nothing."""
        return self.comparator is None

    @property
    def is_computed(self) -> bool:
        """A rate computed from two count indicators: units are not asked for it."""
        return self.numerator_code is not None


class ReportDuty(Base):
    """What must be reported, by whom and when: 'báo cáo năm trước ngày 30/10/2024'."""

    __tablename__ = "report_duty"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[DutyKind] = mapped_column(String(24))
    title: Mapped[str]
    period_start: Mapped[date | None]
    cutoff_on: Mapped[date | None] = mapped_column(comment="Data up to this day: 'từ đầu năm đến ngày 31/10'.")
    due_on: Mapped[date]
    reminder_days: Mapped[list[int]] = mapped_column(default=lambda: [7, 3, 1], comment="Days before the due date.")
    overdue_days: Mapped[list[int]] = mapped_column(default=lambda: [1, 7], comment="Days after the due date.")
    on_day_off: Mapped[DayOffRule] = mapped_column(
        String(8), default=DayOffRule.BEFORE, server_default=DayOffRule.BEFORE.value,
        comment="Where a due date on a day off goes: before, after, keep (models.calendar.settle_deadline).",
    )  # fmt: skip
    back_scheduled_on: Mapped[date | None] = mapped_column(
        comment="The back-scheduled deadline, when the plan reached this level too late for it: due_on is then the first feasible working day."
    )
    sections: Mapped[list[dict[str, Any]]] = mapped_column(
        default=list, comment="[{code, title[, shows][, asked]}] the report's sections, in order (shows: ReportBlock values; asked: units write it)."
    )
    indicator_codes: Mapped[list[str]] = mapped_column(default=list, comment="Targets reported; empty = all the plan's targets.")
    assignee_codes: Mapped[list[str]] = mapped_column(default=list, comment="Units; empty = the issuer's direct subordinates.")
    source_duty_id: Mapped[int | None] = mapped_column(
        ForeignKey("report_duty.id"), index=True, comment="The parent plan's duty this one answers: its consolidation is submitted there."
    )
    closed_on: Mapped[date | None] = mapped_column(
        comment="The day the duty ended before the cycle did (an amendment withdrew it, or its secretariat closed it): no reminders or escalations after it."
    )
    closed_note: Mapped[str | None] = mapped_column(Text, comment="Why it ended, as the units read it: 'Bãi bỏ theo Kế hoạch số 130/KH-UBND'.")
    withdrawn: Mapped[bool] = mapped_column(
        default=False, server_default=false(), comment="An amendment took it out of the plan (closed too): no longer in the plan's documents or exports."
    )

    plan: Mapped[Plan] = relationship(back_populates="duties")

    @property
    def is_closed(self) -> bool:
        return self.closed_on is not None


class PlanAmendment(Base):
    """A dated amendment of an issued plan (Kế hoạch sửa đổi, bổ sung), with its own number: it makes the plan's
    next version and keeps the version it replaced, readable and in force on the days before it."""

    __tablename__ = "plan_amendment"
    __table_args__ = (UniqueConstraint("plan_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(comment="The plan's version this amendment makes (2 for the first).")
    number: Mapped[str | None] = mapped_column(String(16))
    symbol: Mapped[str] = mapped_column(String(32))
    issued_on: Mapped[date] = mapped_column(comment="Its day of issue, from which the new version is in force.")
    place: Mapped[str]
    reason: Mapped[str] = mapped_column(Text, default="", comment="Why the plan changes (căn cứ), as the document says it.")
    signer_title: Mapped[str]
    signer_name: Mapped[str]
    before: Mapped[dict[str, Any]] = mapped_column(comment="The version it replaced, in the plan file format ({plan: …}): in force before issued_on.")
    changes: Mapped[list[dict[str, Any]]] = mapped_column(default=list, comment="What changed: [{kind, code, name, before, after}] (tasks.plans.changes).")
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_amendment.id"), comment="The parent plan's amendment this one passes down (an implementing plan's), None for the amended plan itself."
    )

    plan: Mapped[Plan] = relationship()

    @property
    def code(self) -> str:
        """'130/KH-UBND' or '216-KH/HU' (`document_code`)."""
        return document_code(self.number, self.symbol)

    @property
    def kind_word(self) -> str:
        """What the amending document is, by its symbol: 'Kế hoạch', 'Quyết định'."""
        return document_kind_word(self.symbol)


def joined_names(names: Sequence[str]) -> str:
    """'A', 'A và B', 'A, B và C': names as a sentence lists them."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} và {names[-1]}"


def asked_sections(duty: ReportDuty) -> list[dict[str, Any]]:
    """The duty's sections its units write ({code, title}), in order; the report's own sections (`asked`
    false: only blocks the system writes, see ReportBlock) are left out."""
    return [s for s in duty.sections if s.get("asked", True)]


# A document's kind by the first part of its symbol, in both systems (Decree 30/2020, Hướng dẫn 36-HD/VPTW)
DOCUMENT_KINDS = {
    "KH": "Kế hoạch", "KHLT": "Kế hoạch liên tịch", "CTR": "Chương trình", "BC": "Báo cáo", "CT": "Chỉ thị", "HD": "Hướng dẫn", "NQ": "Nghị quyết",
    "CV": "Công văn", "QĐ": "Quyết định", "TB": "Thông báo", "KL": "Kết luận", "QC": "Quy chế",
}  # fmt: skip


def document_code(number: str | None, symbol: str) -> str:
    """A document's number and symbol as cited: '74/KH-SXD', '01/KH-UBND' (Decree 30 writes numbers below 10 with a
    leading zero), '/KH-UBND' before a number is given; a Party document's 'number-kind/issuer': '215-KH/HU' (Hướng dẫn 36)."""
    if is_party_symbol(symbol):
        return f"{number or ''}-{symbol}"
    return f"{written_number(number)}/{symbol}"


def document_kind_word(symbol: str) -> str:
    """What a document is by its symbol's kind, as a sentence names it: 'Kế hoạch', 'Chương trình', 'Quyết định'."""
    return DOCUMENT_KINDS.get(symbol_kind(symbol), DOCUMENT_KINDS["KH"])


def is_party_symbol(symbol: str) -> bool:
    """A Party document's symbol is kind/issuer ('KH/HU', 'KH/BDVTU-BCS.UBND'); a state one's kind-issuer ('KH-SXD')."""
    return "/" in symbol


def symbol_kind(symbol: str) -> str:
    """'KH' of 'KH-SXD' and of 'KH/HU'; 'CTR' of 'CTr-UBND' (compared in capitals)."""
    return (symbol.split("/", 1)[0] if is_party_symbol(symbol) else symbol.split("-", 1)[0]).upper()


def written_number(number: str | None) -> str:
    """A document's number as Decree 30/2020 writes it: '1' → '01', '74' → '74'; other forms ('12a') as given."""
    if not number:
        return ""
    return f"{int(number):02d}" if number.isdigit() else number


def plan_by_ref(session: Session, ref: str) -> Plan | None:
    """A plan by key ('74-kh-sxd-2024') or number/symbol ('74/KH-SXD', the latest year if several).

    Raises ConflictError when a number/symbol names plans of several issuers in that year
    (every ward may have its own 1/KH-UBND): the key tells them apart.
    """
    found = session.scalar(select(Plan).where(Plan.key == ref))
    party = re.fullmatch(r"\s*(\d+[A-Za-z]?)-(\S+/\S+)\s*", ref)  # '215-KH/HU'
    if found is None and party is not None:
        return session.scalars(select(Plan).where(Plan.symbol == party[2], Plan.number == party[1]).order_by(Plan.year.desc())).first()
    if found is None and "/" in ref:
        number, _, symbol = (part.strip() for part in ref.partition("/"))
        # '1/KH-UBND' and '01/KH-UBND' name the same plan, whichever way its number was stored
        spellings = {number, number.lstrip("0") or "0", written_number(number.lstrip("0") or "0")} if number.isdigit() else {number}
        same_number = Plan.number.in_(spellings) if number else or_(Plan.number.is_(None), Plan.number == "")
        matches = session.scalars(select(Plan).where(Plan.symbol == symbol, same_number).order_by(Plan.year.desc(), Plan.key)).all()
        latest = [plan for plan in matches if plan.year == matches[0].year] if matches else []
        if len(latest) > 1:
            keys = ", ".join(plan.key for plan in latest)
            raise ConflictError(f"{ref!r} names {len(latest)} plans of {latest[0].year} by different issuers ({keys}): give the plan's key")
        found = latest[0] if latest else None
    return found


def derived_key(parent_key: str, unit_code: str) -> str:
    """A drafted implementing plan's stable key: the parent's key and the unit's code ('104-kh-ubnd-2024--tb.giabinh')."""
    return f"{parent_key}--{unit_code}"


def next_number(session: Session, issuer_id: int, year: int) -> str:
    """The issuer's next document number for the year: one more than the highest its plans and their amendments
    have used ('1' for the first)."""
    numbers = list(session.scalars(select(Plan.number).where(Plan.issuer_id == issuer_id, Plan.year == year, Plan.number.is_not(None))))
    numbers += session.scalars(select(PlanAmendment.number).join(Plan, Plan.id == PlanAmendment.plan_id).where(Plan.issuer_id == issuer_id, Plan.year == year))
    used = [int(m[0]) for n in numbers if n and (m := re.match(r"\d+", n))]
    return str(max(used, default=0) + 1)


def plan_tree(session: Session, root_id: int) -> dict[int, int]:
    """Plan id → depth below the root plan (0 for the root) for the root and every implementing plan under it."""
    depths = {root_id: 0}
    frontier = [root_id]
    while frontier:
        children = session.execute(select(Plan.id, Plan.parent_plan_id).where(Plan.parent_plan_id.in_(frontier))).all()
        frontier = [child for child, _ in children if child not in depths]
        depths.update({child: depths[parent] + 1 for child, parent in children if child in frontier})
    return depths


def duty_assignees(session: Session, duty: ReportDuty, *, on: date, only: list[str] | None = None) -> list[Unit]:
    """The units a duty goes to: an explicit list, the duty's own list, or the issuer's direct
    subordinates active on `on`; raises NotFound for an unknown code."""
    codes = only or duty.assignee_codes
    if codes:
        units = session.scalars(select(Unit).where(Unit.code.in_(codes))).all()
        missing = sorted(set(codes) - {u.code for u in units})
        if missing:
            raise NotFound(f"unknown unit code(s): {', '.join(missing)}")
        return sorted(units, key=lambda u: u.code)
    return active_children(session, parent_id=duty.plan.issuer_id, on=on)
