"""Turning one reply from the mailbox into a submission version, an answer to the unit, or a message set aside.

`decide` reads a message and writes its outcome in one transaction: the `InboundEmail` row, and
with it the new version and its receipt, or the answer listing the problems, or the alert to the
secretariat. Nothing is moved in the mailbox here: the caller files the message away once this
has committed, so a crash in between only makes the next run file it (the row says where) again.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from functools import cached_property
from io import BytesIO
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cascade import clock
from cascade.errors import FormError
from cascade.settings import get_settings
from models.assignment import Assignment
from models.db import session_scope
from models.inbound import InboundEmail, IntakeOutcome, IntakeReason
from models.outbox import EmailKind, OutboundEmail
from models.submission import Channel
from tasks.documents.forms import form_filename, form_spec, write_form
from tasks.documents.word import notice_document_path
from tasks.intake.access import Refusal, refusal
from tasks.intake.evidence import EvidenceError, StoredFile, safe_filename, store_evidence
from tasks.intake.form_reader import AMENDED, claimed_assignment, read_form
from tasks.intake.inbox import Fetched, parse_message
from tasks.intake.submissions import SubmissionInput, queue_receipt, queue_to_unit, store_version
from tasks.outbound.outbox import queue_email
from tasks.plans.contexts import assignment_context, recipients
from templates import message, render_email, words

log = logging.getLogger(__name__)

_MESSAGE_IDS = re.compile(r"<[^<>\s]+>")
_REFERENCE = re.compile(r"\bGV-(\d{6,})\b")
# Subjects of out-of-office and other automatic answers, in the languages a Vietnamese office meets.
_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort)|auto:|out of (the )?office|autoreply|"
    r"trả lời tự động|thư trả lời tự động|vắng mặt|đang nghỉ phép)",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(r"^\s*(undeliver(able|ed)|delivery status notification|mail delivery (failed|failure)|returned mail)", re.IGNORECASE)
_BOUNCE_SENDERS = ("mailer-daemon@", "postmaster@")
_XLSX = "xlsx"


@dataclass(frozen=True)
class Decision:
    """What became of one message: where it goes, and the row that says so."""

    outcome: IntakeOutcome
    reason: IntakeReason
    folder: str
    inbound_id: int
    detail: str = ""
    submission_id: int | None = None
    version: int | None = None
    unit: str | None = None
    seen_before: bool = False


@dataclass(frozen=True)
class _File:
    name: str
    data: bytes

    @property
    def is_workbook(self) -> bool:
        return self.name.lower().endswith("." + _XLSX)

    @cached_property
    def claimed(self) -> int | None:
        """The assignment this file says it is the form of (unverified), read once; None when it is not our form."""
        return claimed_assignment(self.data) if self.is_workbook else None


@dataclass(frozen=True)
class _Reply:
    """What one message says about itself."""

    message: EmailMessage
    key: str
    message_id: str | None
    sender: str  # the From address, lower case ('' when there is none)
    subject: str
    files: tuple[_File, ...]


def message_key(message: EmailMessage, raw: bytes) -> str:
    """The dedup key: sha256 of the Message-ID, or of the whole message when it has none."""
    found = _MESSAGE_IDS.search(str(message.get("Message-ID", "")))
    return hashlib.sha256(found[0].encode() if found else raw).hexdigest()


def attached_files(message: EmailMessage) -> list[_File]:
    """The files attached to a message, skipping the pictures embedded in its body (signatures, logos)."""
    files = []
    for part in message.iter_attachments():
        disposition = part.get_content_disposition()
        if disposition != "attachment" and (part.get("Content-ID") or not part.get_filename()):
            continue  # an inline picture the HTML body refers to, not something the unit attached
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            files.append(_File(part.get_filename() or "tep-dinh-kem", payload))
    return files


def automatic(message: EmailMessage) -> IntakeReason | None:
    """BOUNCE or AUTO_REPLY when the message was written by a machine (RFC 3834 and common practice), else None.

    Such messages are never answered: two autoresponders answering each other never stop.
    """
    sender = parseaddr(str(message.get("From", "")))[1].lower()
    subject = str(message.get("Subject", ""))
    if (
        message.get_content_type() == "multipart/report"
        or str(message.get("Return-Path", "")).strip() == "<>"
        or sender.startswith(_BOUNCE_SENDERS)
        or _BOUNCE_SUBJECT.match(subject)
    ):
        return IntakeReason.BOUNCE
    auto_submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    if (
        auto_submitted != "no"
        or any(message.get(h) is not None for h in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"))
        or str(message.get("Precedence", "")).strip().lower() in ("auto_reply", "bulk", "junk")
        or _AUTO_SUBJECT.match(subject)
    ):
        return IntakeReason.AUTO_REPLY
    return None


def reply_tokens(message: EmailMessage, reply_to: str | None) -> list[str]:
    """The tags of the reply mailbox's plus-addresses the message was sent to ('baocao+TAG@…' → 'TAG')."""
    if not reply_to:
        return []
    local, _, domain = reply_to.lower().partition("@")
    headers = [str(v) for h in ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc") for v in message.get_all(h, [])]
    tokens = []
    for _, address in getaddresses(headers):
        mailbox_part, _, their_domain = address.rpartition("@")
        base, plus, tag = mailbox_part.partition("+")
        if plus and tag and base.lower() == local and their_domain.lower() == domain and tag not in tokens:
            tokens.append(tag)
    return tokens


def referenced_ids(message: EmailMessage) -> list[str]:
    """Message-IDs the message answers: In-Reply-To first, then References from the newest."""
    ids = _MESSAGE_IDS.findall(str(message.get("In-Reply-To", ""))) + _MESSAGE_IDS.findall(str(message.get("References", "")))[::-1]
    return list(dict.fromkeys(ids))


def _read(raw: bytes) -> _Reply:
    message = parse_message(raw)
    found = _MESSAGE_IDS.search(str(message.get("Message-ID", "")))
    return _Reply(
        message=message,
        key=message_key(message, raw),
        message_id=found[0] if found else None,
        sender=parseaddr(str(message.get("From", "")))[1].lower(),
        subject=" ".join(str(message.get("Subject", "")).split()),
        files=tuple(attached_files(message)),
    )


def find_assignment(session: Session, reply: _Reply) -> Assignment | None:
    """The assignment a reply answers: by the token of the address it was sent to, the message it
    answers, the reference in its subject, or the form it carries, in that order of trust."""
    for token in reply_tokens(reply.message, get_settings().mail_reply_to):
        found = session.scalar(select(Assignment).where(Assignment.token == token))
        if found is None:  # a mail system that lowercased the address
            found = session.scalar(select(Assignment).where(func.lower(Assignment.token) == token.lower()))
        if found is not None:
            return found
    ids = referenced_ids(reply.message)
    if ids:
        rows = dict(session.execute(select(OutboundEmail.message_id, OutboundEmail.assignment_id).where(OutboundEmail.message_id.in_(ids))).tuples().all())
        for message_id in ids:
            if rows.get(message_id) is not None:
                return session.get(Assignment, rows[message_id])
    for number in _REFERENCE.findall(reply.subject):
        found = session.get(Assignment, int(number))
        if found is not None:
            return found
    for file in reply.files:
        found = session.get(Assignment, file.claimed) if file.claimed is not None else None
        if found is not None:
            return found
    return None


def arrival(arrived_at: datetime, as_of: date) -> datetime:
    """When a reply counts as received: its arrival at the mailbox, or `as_of` when replaying a day before it."""
    return arrived_at if clock.local_date(arrived_at) <= as_of else clock.moment(as_of)


@dataclass(frozen=True)
class _Verdict:
    """A decision before it is written."""

    outcome: IntakeOutcome
    reason: IntakeReason
    detail: str = ""
    problems: tuple[str, ...] = ()
    assignment_id: int | None = None
    new_form: bool = False  # the form was of the plan before an amendment: the answer carries the new one


def _folder(outcome: IntakeOutcome) -> str:
    s = get_settings()
    if outcome == IntakeOutcome.QUARANTINED:
        return s.imap_quarantine_folder
    if outcome == IntakeOutcome.SET_ASIDE:
        return s.imap_review_folder
    return s.imap_processed_folder


def _spool() -> Path:
    folder = get_settings().attachments_dir / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=folder))


def _store_files(files: Sequence[_File]) -> tuple[list[StoredFile], list[str]]:
    """Keep the evidence in the store (checked by content, as on the portal); the problems found otherwise."""
    settings = get_settings()
    stored, problems = [], []
    if len(files) > settings.portal_max_files:
        problems.append(message("intake.reply.too_many_files", count=len(files), limit=settings.portal_max_files))
    for file in files:
        try:
            stored.append(store_evidence(BytesIO(file.data), file.name))
        except EvidenceError as exc:
            problems.append(str(exc))
    return stored, problems


def _judge(reply: _Reply, assignment: Assignment) -> tuple[_Verdict, SubmissionInput | None, list[StoredFile]]:
    """Read the reply's files against its assignment: the verdict, and the submission and files to record when it is good."""
    unit = assignment.unit
    if reply.sender not in {address.lower() for address in unit.emails}:
        return _Verdict(
            IntakeOutcome.QUARANTINED, IntakeReason.SENDER_MISMATCH, assignment_id=assignment.id,
            detail=message("intake.reply.sender_mismatch", sender=reply.sender, unit=unit.name, emails=unit.emails),
        ), None, []  # fmt: skip
    reason = refusal(assignment)
    if reason == Refusal.PLAN_DUTY:
        return _Verdict(
            IntakeOutcome.SET_ASIDE, IntakeReason.NOT_A_REPORT, assignment_id=assignment.id,
            detail=message("intake.reply.plan_duty", unit=unit.name),
        ), None, []  # fmt: skip
    if reason is not None:
        return _Verdict(IntakeOutcome.REFUSED, IntakeReason.NOT_OPEN, detail=words("intake.not_open")[reason], assignment_id=assignment.id), None, []
    forms = [f for f in reply.files if f.claimed is not None]
    if not forms:
        others = [f for f in reply.files if f.is_workbook]
        if not others:
            return _Verdict(
                IntakeOutcome.SET_ASIDE, IntakeReason.NO_FORM, assignment_id=assignment.id,
                detail=message("intake.reply.no_form", files=[f.name for f in reply.files]),
            ), None, []  # fmt: skip
        forms = others[:1]  # a workbook that is not our form: the reader says precisely why
    if len(forms) > 1:
        return _Verdict(
            IntakeOutcome.REFUSED, IntakeReason.FILE_PROBLEMS, assignment_id=assignment.id,
            detail=message("intake.reply.file_problems"), problems=(message("intake.reply.too_many_forms", count=len(forms), forms=[f.name for f in forms]),),
        ), None, []  # fmt: skip
    form = forms[0]
    spool = _spool()
    try:
        path = spool / safe_filename(form.name)
        path.write_bytes(form.data)
        try:
            data = read_form(path, expected_assignment_id=assignment.id, channel=Channel.EMAIL, sender=reply.sender)
        except FormError as exc:
            return _Verdict(
                IntakeOutcome.REFUSED, IntakeReason.FORM_PROBLEMS, assignment_id=assignment.id,
                problems=tuple(str(p) for p in exc.problems), detail=message("intake.reply.form_problems", count=len(exc.problems), form=form.name),
                new_form=any(p.code == AMENDED for p in exc.problems),
            ), None, []  # fmt: skip
    finally:
        for leftover in spool.iterdir():
            leftover.unlink()
        spool.rmdir()
    stored, problems = _store_files(list(reply.files))  # the form itself is kept too, as received
    if problems:
        return _Verdict(
            IntakeOutcome.REFUSED, IntakeReason.FILE_PROBLEMS, detail=message("intake.reply.file_problems"), problems=tuple(problems), assignment_id=assignment.id,
        ), None, []  # fmt: skip
    return _Verdict(IntakeOutcome.RECORDED, IntakeReason.RECORDED, assignment_id=assignment.id), replace(data, source_key=f"email:{reply.key}"), stored


def _answer_unit(session: Session, assignment: Assignment, reply: _Reply, verdict: _Verdict, arrived_at: datetime, as_of: date) -> None:
    """Tell the unit (at its registered addresses, never at an unchecked sender) why nothing was recorded."""
    context = assignment_context(session, assignment, as_of=as_of)
    rendered = render_email(
        "intake", **context, reason=str(verdict.reason), problems=list(verdict.problems), detail=verdict.detail,
        message={"subject": reply.subject, "arrived_at": arrived_at, "files": [f.name for f in reply.files]},
    )  # fmt: skip
    attachments = None
    if verdict.new_form:
        spec = form_spec(session, assignment, as_of=as_of)
        attachments = [str(write_form(spec, notice_document_path(assignment).parent / f"r{spec.revision}" / form_filename(spec)))]
    queue_to_unit(
        session, assignment, key=f"intake:{reply.key}", kind=EmailKind.INTAKE, rendered=rendered, created_at=clock.moment(as_of),
        in_reply_to=reply.message_id, attachments=attachments,
    )  # fmt: skip


def _alert_secretariat(session: Session, assignment: Assignment, reply: _Reply, verdict: _Verdict, arrived_at: datetime, as_of: date) -> None:
    """Tell the secretariat (or the issuing unit's office) that a reply was quarantined; the sender is not answered."""
    plan = assignment.duty.plan
    secretariat = get_settings().secretariat_email
    to = [secretariat] if secretariat else recipients(plan.issuer)
    if not to:
        log.warning("quarantined %s: no secretariat address to tell", reply.message_id)
        return
    context = assignment_context(session, assignment, as_of=as_of)
    rendered = render_email(
        "alert", **context, detail=verdict.detail, folder=get_settings().imap_quarantine_folder,
        message={"subject": reply.subject, "sender": reply.sender, "arrived_at": arrived_at, "files": [f.name for f in reply.files]},
    )  # fmt: skip
    queue_email(
        session, key=f"alert:{reply.key}", kind=EmailKind.ALERT, email_to=to, rendered=rendered, created_at=clock.moment(as_of), assignment_id=assignment.id
    )


def _existing(session: Session, key: str) -> Decision | None:
    row = session.scalar(select(InboundEmail).where(InboundEmail.message_key == key))
    if row is None:
        return None
    return Decision(row.outcome, row.reason, row.folder, row.id, row.detail, row.submission_id, seen_before=True)


def decide(fetched: Fetched, as_of: date) -> Decision:
    """Record what one message is (see the module docstring); a message decided before keeps its decision."""
    reply = _read(fetched.raw)
    arrived_at = arrival(fetched.arrived_at, as_of)
    with session_scope() as session:
        earlier = _existing(session, reply.key)
        if earlier is not None:
            return earlier
        assignment = None if fetched.truncated else find_assignment(session, reply)
        assignment_id = assignment.id if assignment is not None else None
    machine = automatic(reply.message)
    data: SubmissionInput | None = None
    stored: list[StoredFile] = []
    if machine is not None:
        verdict = _Verdict(IntakeOutcome.SET_ASIDE, machine, detail=message("intake.reply.automatic"), assignment_id=assignment_id)
    elif fetched.truncated:
        verdict = _Verdict(
            IntakeOutcome.SET_ASIDE, IntakeReason.TOO_LARGE,
            detail=message("intake.reply.too_large", size_mb=fetched.size / 1024 / 1024, limit_mb=get_settings().imap_max_message_mb),
        )  # fmt: skip
    elif assignment_id is None:
        verdict = _Verdict(
            IntakeOutcome.SET_ASIDE,
            IntakeReason.NO_MATCH,
            detail=message("intake.reply.no_match"),
        )
    else:
        with session_scope() as session:
            verdict, data, stored = _judge(reply, session.get_one(Assignment, assignment_id))
    return _write(reply, verdict, data, stored, arrived_at, as_of)


def _write(reply: _Reply, verdict: _Verdict, data: SubmissionInput | None, stored: list[StoredFile], arrived_at: datetime, as_of: date) -> Decision:
    """The decision, its row and what it sends, in one transaction; a second worker that got there first wins."""
    folder = _folder(verdict.outcome)
    try:
        with session_scope() as session:
            row = InboundEmail(
                message_key=reply.key, message_id=reply.message_id, sender=reply.sender or None, subject=reply.subject,
                arrived_at=arrived_at, collected_at=clock.moment(as_of), outcome=verdict.outcome, reason=verdict.reason,
                detail="\n".join([verdict.detail, *verdict.problems]).strip(), folder=folder, assignment_id=verdict.assignment_id,
            )  # fmt: skip
            session.add(row)
            session.flush()
            assignment = session.get(Assignment, verdict.assignment_id) if verdict.assignment_id else None
            version = None
            if verdict.outcome == IntakeOutcome.RECORDED and assignment is not None and data is not None:
                submission, is_new = store_version(session, assignment, data, received_at=arrived_at, stored=[(f.filename, f.sha256, f.size) for f in stored])
                if is_new:
                    queue_receipt(session, submission, as_of=as_of, in_reply_to=reply.message_id)
                row.submission_id, version = submission.id, submission.version
                if is_new:
                    row.detail = message("intake.reply.recorded", version=version, unit=assignment.unit.name)
                else:
                    row.detail = message("intake.reply.recorded_before", version=version)
            elif verdict.outcome == IntakeOutcome.QUARANTINED and assignment is not None:
                _alert_secretariat(session, assignment, reply, verdict, arrived_at, as_of)
            elif assignment is not None and verdict.reason in (
                IntakeReason.FORM_PROBLEMS,
                IntakeReason.FILE_PROBLEMS,
                IntakeReason.NOT_OPEN,
                IntakeReason.NO_FORM,
            ):
                _answer_unit(session, assignment, reply, verdict, arrived_at, as_of)
            return Decision(
                verdict.outcome, verdict.reason, folder, row.id, row.detail, row.submission_id, version,
                assignment.unit.code if assignment is not None else None,
            )  # fmt: skip
    except IntegrityError:  # another worker recorded this message first: its decision stands
        with session_scope() as session:
            earlier = _existing(session, reply.key)
        if earlier is None:
            raise
        return earlier


def unreadable(fetched: Fetched, as_of: date, error: Exception) -> Decision:
    """Set aside a message that could not be read, with the error as its reason."""
    try:
        reply = _read(fetched.raw)
    except Exception:  # not even its header parses
        reply = _Reply(EmailMessage(), hashlib.sha256(fetched.raw).hexdigest(), None, "", "", ())
    verdict = _Verdict(
        IntakeOutcome.SET_ASIDE, IntakeReason.UNREADABLE, detail=message("intake.reply.unreadable", error_type=type(error).__name__, error=error)
    )
    return _write(reply, verdict, None, [], arrival(fetched.arrived_at, as_of), as_of)


def mark_moved(inbound_ids: Sequence[int], as_of: date) -> None:
    if not inbound_ids:
        return
    with session_scope() as session:
        for row in session.scalars(select(InboundEmail).where(InboundEmail.id.in_(inbound_ids), InboundEmail.moved_at.is_(None))):
            row.moved_at = clock.moment(as_of)


__all__ = [
    "Decision",
    "arrival",
    "attached_files",
    "automatic",
    "decide",
    "find_assignment",
    "mark_moved",
    "message_key",
    "referenced_ids",
    "reply_tokens",
    "unreadable",
]
