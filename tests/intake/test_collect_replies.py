"""collect_replies end to end: units reply through SMTP, Dovecot holds the mailbox, the flow reads it over IMAP."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from flows.collect_replies import collect_replies
from models.db import session_scope
from models.inbound import InboundEmail, IntakeOutcome, IntakeReason
from models.submission import Channel
from tests.fixtures.forms import NHA_O, VALUE
from tests.flows.helpers import text_part
from tests.intake.conftest import SECRETARIAT, Replies

pytestmark = pytest.mark.usefixtures("prefect_harness")

DAY = date(2024, 10, 20)
PROCESSED, QUARANTINE, REVIEW = "Đã xử lý", "Cách ly", "Cần xem xét"


def inbound() -> list[InboundEmail]:
    with session_scope() as session:
        rows = session.scalars(select(InboundEmail).order_by(InboundEmail.id)).all()
        session.expunge_all()
        return list(rows)


def test_a_correct_reply_becomes_a_version_and_gets_a_receipt(replies: Replies) -> None:
    form = replies.form("U1")
    form.at(NHA_O, VALUE).value = "1.234"
    evidence = replies.folder / "U1" / "Bien ban hop.pdf"
    evidence.write_bytes(b"%PDF-1.4\n% minutes of the meeting\n%%EOF\n")
    message_id = replies.reply("U1", form.save(), evidence)

    tally, delivery = collect_replies(DAY)

    assert (tally.fetched, tally.recorded, tally.refused, tally.quarantined, tally.set_aside) == (1, 1, 0, 0, 0)
    [version] = replies.versions("U1")
    assert (version.version, version.channel, version.sender) == (1, Channel.EMAIL, replies.address("U1"))
    assert version.values["nha_o_xa_hoi"] == Decimal(1234)
    assert version.files == ["Bien ban hop.pdf", form.path.name]
    # The reply left the inbox for the processed folder, tagged, once its version was committed.
    assert replies.messages("INBOX") == []
    [filed] = replies.messages(PROCESSED)
    assert "cascade-recorded" in filed.flags
    [row] = inbound()
    assert (row.outcome, row.reason, row.submission_id, row.message_id) == (IntakeOutcome.RECORDED, IntakeReason.RECORDED, version.id, message_id)
    assert row.moved_at is not None
    # The receipt answers the unit's own message, lists what was read and says it was on time.
    [receipt] = replies.answers("U1", "Đã nhận báo cáo")
    assert receipt["In-Reply-To"] == message_id
    assert "1.234 căn" in text_part(receipt) and "đúng hạn" in text_part(receipt)
    assert "Bien ban hop.pdf" in text_part(receipt)
    assert delivery.sent >= 1
