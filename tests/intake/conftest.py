"""Fixtures for the reply collection: Dovecot on 127.0.0.1, the SMTP hop into it, a cascaded plan.

Units answer their notices through `sandbox.unit_mail` (yagmail over SMTP, to the local SMTP
server); the server delivers the reply mailbox's mail into Dovecot, which the collection reads
over IMAP, and the system's own answers arrive back in the SMTP server's Maildir.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import pytest
from imap_tools import MailBoxUnencrypted
from sqlalchemy import select

from cascade.settings import get_settings
from flows.cascade_plan import cascade_plan
from models.db import session_scope
from models.submission import Submission
from models.unit import Unit
from sandbox.email_units import save_form
from sandbox.imap_server import LocalImapServer
from sandbox.unit_mail import send_reply
from tasks.plans.lookup import find_assignment, find_plan
from tests.fixtures.builders import Department
from tests.fixtures.forms import Form, fill_valid
from tests.fixtures.smtp import SmtpServer
from tests.flows.helpers import by_subject

REPLY_MAILBOX = "baocao@sxd.example.gov.vn"
SECRETARIAT = "vanphong@sxd.example.gov.vn"
CASCADE_DAY = date(2024, 4, 5)


@dataclass(frozen=True)
class Folder:
    """A message as the mailbox holds it."""

    subject: str
    sender: str
    flags: tuple[str, ...]


@dataclass(frozen=True)
class Version:
    """A recorded version, read back."""

    id: int
    version: int
    channel: str
    sender: str | None
    values: dict[str, object]
    files: list[str]


@dataclass
class Replies:
    """The department's cascaded plan, its reply mailbox in Dovecot and the SMTP hop into it."""

    department: Department
    smtp: SmtpServer
    imap: LocalImapServer
    folder: Path  # where the units keep the files they attach

    def address(self, unit: str) -> str:
        with session_scope() as session:
            return session.scalars(select(Unit).where(Unit.code == unit)).one().emails[0]

    def notice(self, unit: str) -> EmailMessage:
        """The assignment email the unit received."""
        address = self.address(unit)
        return next(m for m in by_subject(self.smtp.messages(), "Giao nhiệm vụ") if m["To"].addresses[0].addr_spec == address)

    def form(self, unit: str, *, fill: bool = True) -> Form:
        """The Excel form attached to the unit's notice, saved in the unit's folder (filled validly unless told not to)."""
        form = Form.open(save_form(self.notice(unit), self.folder / unit))
        return fill_valid(form) if fill else form

    def reply(
        self, unit: str, *files: Path, sender: str | None = None, body: str = "Kính gửi Văn phòng Sở, đơn vị gửi báo cáo kèm theo.", **options: object
    ) -> str:
        """The unit answers its notice with `files` attached (through SMTP); returns the reply's Message-ID."""
        return send_reply(
            self.notice(unit), sender=sender or self.address(unit), smtp_host=self.smtp.host, smtp_port=self.smtp.port,
            body=body, attachments=files, **options,  # type: ignore[arg-type]
        )  # fmt: skip

    def messages(self, folder: str = "INBOX") -> list[Folder]:
        with MailBoxUnencrypted(self.imap.host, self.imap.port).login(self.imap.user, self.imap.password, initial_folder=None) as box:
            if not box.folder.exists(folder):
                return []
            box.folder.set(folder)
            return [Folder(m.subject, m.from_, tuple(m.flags)) for m in box.fetch(mark_seen=False)]

    def append(self, raw: bytes) -> None:
        """Put a message straight into the inbox (a second copy of one already delivered, say)."""
        with MailBoxUnencrypted(self.imap.host, self.imap.port).login(self.imap.user, self.imap.password) as box:
            box.append(raw, "INBOX")

    def raw_inbox(self) -> list[bytes]:
        with MailBoxUnencrypted(self.imap.host, self.imap.port).login(self.imap.user, self.imap.password) as box:
            return [m.obj.as_bytes() for m in box.fetch(mark_seen=False)]

    def versions(self, unit: str) -> list[Version]:
        with session_scope() as session:
            assignment = find_assignment(session, find_plan(session, self.department.plan), "bao_cao_nam", unit)
            rows = session.scalars(select(Submission).where(Submission.assignment_id == assignment.id).order_by(Submission.version)).all()
            return [
                Version(s.id, s.version, s.channel, s.sender, {v.indicator_code: v.value for v in s.values}, sorted(a.filename for a in s.attachments))
                for s in rows
            ]

    def sent(self) -> list[EmailMessage]:
        """What the system sent (the sink also keeps the units' replies copied to the issuing office)."""
        return [m for m in self.smtp.messages() if m["From"].addresses[0].addr_spec == get_settings().smtp_user]

    def answers(self, unit: str, prefix: str) -> list[EmailMessage]:
        """The system's emails to the unit whose subject starts with `prefix`."""
        address = self.address(unit)
        return [m for m in by_subject(self.smtp.messages(), prefix) if address in {a.addr_spec for a in m["To"].addresses}]


@pytest.fixture(scope="module")
def dovecot() -> Iterator[LocalImapServer]:
    """Debian's Dovecot on a free port of 127.0.0.1 (installed by `make test`; fails loudly when missing), one per module."""
    with LocalImapServer(user="baocao", password="mat-khau-hop-thu") as server:
        yield server


@pytest.fixture()
def imap_server(dovecot: LocalImapServer) -> LocalImapServer:
    """The module's Dovecot with an empty mailbox: no message or folder an earlier test left."""
    dovecot.empty()
    return dovecot


@pytest.fixture()
def replies(
    department: Department, smtp_server: SmtpServer, imap_server: LocalImapServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Replies]:
    """The seeded department's plan cascaded on 05/04/2024 with replies going to baocao+TOKEN@…, collected from Dovecot."""
    for name, value in imap_server.settings_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CASCADE_MAIL_REPLY_TO", REPLY_MAILBOX)
    monkeypatch.setenv("CASCADE_SECRETARIAT_EMAIL", SECRETARIAT)
    get_settings.cache_clear()
    smtp_server.handler.deliveries = (imap_server.delivery(REPLY_MAILBOX),)
    cascade_plan(department.plan, CASCADE_DAY)
    yield Replies(department, smtp_server, imap_server, tmp_path / "units")
    shutil.rmtree(tmp_path / "units", ignore_errors=True)
