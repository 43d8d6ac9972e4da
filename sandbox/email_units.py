"""The demo's units that answer by email: one saves the Excel form from its notice, fills it and replies
(first with a slip the system answers cell by cell, then corrected); another unit's autoresponder
answers a reminder. Their mail goes over SMTP to the demo's mail server, which delivers the reply
mailbox's mail into Dovecot, where `collect_replies` reads it."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from openpyxl import load_workbook

from sandbox.unit_mail import send_reply
from templates import message as text


def latest_to(messages: list[EmailMessage], address: str, subject_prefix: str) -> EmailMessage:
    """The latest message to `address` whose subject starts with `subject_prefix`."""
    for message in reversed(messages):
        if str(message["Subject"]).startswith(subject_prefix) and address in str(message["To"]):
            return message
    raise LookupError(f"no email to {address} starting {subject_prefix!r}")


def save_form(notice: EmailMessage, folder: Path) -> Path:
    """Save the Excel form attached to `notice` into the unit's folder, as a person saves an attachment."""
    part = next(p for p in notice.iter_attachments() if str(p.get_filename()).endswith(".xlsx"))
    path = folder / str(part.get_filename())
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    path.write_bytes(payload)
    return path


def mistype_score(path: Path, typed: str) -> str:
    """Type `typed` as the self-assessment score (a slip such as 'khoảng 90'); returns the cell, 'Sheet!B12'."""
    wb = load_workbook(path)
    sheet = wb[text("demo.form.narrative_sheet")]
    row = next(c.row for c in sheet["A"] if isinstance(c.value, str) and c.value.startswith(text("demo.form.score")))
    sheet.cell(row, 2).value = typed
    wb.save(path)
    return f"{sheet.title}!B{row}"


class EmailingUnit:
    """A unit's office that answers the system's emails from its registered address."""

    def __init__(self, address: str, smtp_port: int) -> None:
        self.address = address
        self.smtp_port = smtp_port

    def reply(self, message: EmailMessage, files: list[Path], body: str) -> str:
        """Reply to `message` with `files` attached; returns the reply's Message-ID."""
        return send_reply(message, sender=self.address, smtp_host="127.0.0.1", smtp_port=self.smtp_port, body=body, attachments=files)

    def out_of_office(self, message: EmailMessage, until: str) -> str:
        """What an autoresponder sends back (RFC 3834's Auto-Submitted, the usual subject)."""
        return send_reply(
            message, sender=self.address, smtp_host="127.0.0.1", smtp_port=self.smtp_port,
            subject=text("demo.typed.out_of_office_subject", subject=message["Subject"]),
            body=text("demo.typed.out_of_office_body", until=until),
            headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
        )  # fmt: skip


__all__ = ["EmailingUnit", "latest_to", "mistype_score", "save_form"]
