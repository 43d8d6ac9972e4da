"""Imports every model module so that the metadata knows all tables."""

from models.account import Account, AccountRole, AccountSession, SignInLink
from models.assignment import Assignment, AssignmentStatus
from models.audit import AuditAction, AuditEvent
from models.calendar import CalendarOverride  # noqa: F401  (registers the table)
from models.inbound import InboundEmail, IntakeOutcome, IntakeReason
from models.milestones import Milestone, MilestoneKind, MilestoneStatus
from models.outbox import EmailKind, EmailStatus, OutboundEmail
from models.plan import Aggregation, Comparator, DutyKind, Plan, PlanAmendment, PlanStatus, PlanTask, ReportDuty, Target, TaskRole, TaskUnit
from models.report import Report
from models.submission import Attachment, Channel, Draft, Review, ReviewAction, ReviewStatus, Submission, SubmissionSection, SubmissionValue
from models.unit import Unit, UnitKind

__all__ = [
    "Account",
    "AccountRole",
    "AccountSession",
    "Aggregation",
    "Assignment",
    "AssignmentStatus",
    "Attachment",
    "AuditAction",
    "AuditEvent",
    "Channel",
    "Comparator",
    "Draft",
    "DutyKind",
    "EmailKind",
    "EmailStatus",
    "InboundEmail",
    "IntakeOutcome",
    "IntakeReason",
    "Milestone",
    "MilestoneKind",
    "MilestoneStatus",
    "OutboundEmail",
    "Plan",
    "PlanAmendment",
    "PlanStatus",
    "PlanTask",
    "Report",
    "ReportDuty",
    "Review",
    "ReviewAction",
    "ReviewStatus",
    "SignInLink",
    "Submission",
    "SubmissionSection",
    "SubmissionValue",
    "Target",
    "TaskRole",
    "TaskUnit",
    "Unit",
    "UnitKind",
]
