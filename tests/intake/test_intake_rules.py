"""The rules the reply collection applies to one message, on messages built in memory."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from email.message import EmailMessage

import pytest

from cascade.clock import VN_TZ
from models.inbound import IntakeReason
from sandbox.imap_server import ImapDelivery
from tasks.intake.inbox import keyword
from tasks.intake.replies import arrival, attached_files, automatic, message_key, referenced_ids, reply_tokens


def message(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Văn phòng <vp@sxd.example.gov.vn>")
    msg["To"] = headers.pop("To", "baocao+Tok3n_-x@sxd.example.gov.vn")
    msg["Subject"] = headers.pop("Subject", "Re: Giao nhiệm vụ báo cáo [GV-000012]")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Đơn vị gửi báo cáo.")
    return msg


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Auto_Submitted": "no"}, None),
        ({"Auto_Submitted": "auto-replied"}, IntakeReason.AUTO_REPLY),
        ({"X_Autoreply": "yes"}, IntakeReason.AUTO_REPLY),
        ({"Precedence": "bulk"}, IntakeReason.AUTO_REPLY),
        ({"Subject": "Automatic reply: Giao nhiệm vụ báo cáo"}, IntakeReason.AUTO_REPLY),
        ({"Subject": "Trả lời tự động: Giao nhiệm vụ"}, IntakeReason.AUTO_REPLY),
        ({"Subject": "Out of Office: Giao nhiệm vụ"}, IntakeReason.AUTO_REPLY),
        ({"From": "MAILER-DAEMON@mail.example.gov.vn"}, IntakeReason.BOUNCE),
        ({"Return_Path": "<>"}, IntakeReason.BOUNCE),
        ({"Subject": "Undeliverable: Giao nhiệm vụ"}, IntakeReason.BOUNCE),
        ({"Subject": "Re: Trả lời về báo cáo tự động hóa"}, None),  # the words elsewhere in a person's subject
    ],
)
def test_machines_are_told_from_people(headers: dict[str, str], expected: IntakeReason | None) -> None:
    assert automatic(message(**headers)) == expected


def test_a_delivery_report_is_a_bounce() -> None:
    report = message()
    report.make_mixed()
    report.replace_header("Content-Type", 'multipart/report; report-type="delivery-status"; boundary="b"')
    assert automatic(report) == IntakeReason.BOUNCE


def test_reply_tokens_keep_their_case_and_ignore_other_mailboxes() -> None:
    msg = message(
        To="Sở Xây dựng <baocao+Tok3n_-x@sxd.example.gov.vn>, khac+NotOurs@sxd.example.gov.vn",
        Cc="baocao+Second@other.example.com, BaoCao+Third@SXD.example.gov.vn", Delivered_To="baocao+First@sxd.example.gov.vn",
    )  # fmt: skip
    assert reply_tokens(msg, "baocao@sxd.example.gov.vn") == ["First", "Tok3n_-x", "Third"]
    assert reply_tokens(msg, None) == []
    assert reply_tokens(message(To="baocao@sxd.example.gov.vn"), "baocao@sxd.example.gov.vn") == []


def test_referenced_ids_put_the_direct_parent_first() -> None:
    msg = message(In_Reply_To="<c@x>", References="<a@x>  <b@x> <c@x>")
    assert referenced_ids(msg) == ["<c@x>", "<b@x>", "<a@x>"]
    assert referenced_ids(message()) == []


def test_embedded_pictures_are_not_attachments() -> None:
    msg = message()
    msg.add_alternative("<p>Báo cáo <img src='cid:logo'></p>", subtype="html")
    html = msg.get_payload()[1]
    html.add_related(b"\x89PNG\r\n\x1a\n....", maintype="image", subtype="png", cid="<logo>")
    msg.add_attachment(b"PK\x03\x04form", maintype="application", subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename="Biểu mẫu.xlsx")
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="Biên bản.pdf")
    assert [(f.name, f.data[:4]) for f in attached_files(msg)] == [("Biểu mẫu.xlsx", b"PK\x03\x04"), ("Biên bản.pdf", b"%PDF")]


def test_the_key_is_the_message_id_or_else_the_bytes() -> None:
    first, again = message(Message_ID="<m1@sxd>"), message(Message_ID="  <m1@sxd> ")
    assert message_key(first, b"one") == message_key(again, b"two")
    anonymous = message()
    assert message_key(anonymous, b"one") != message_key(anonymous, b"two")


def test_a_reply_counts_from_its_arrival_unless_the_day_replayed_is_earlier() -> None:
    arrived = datetime(2024, 10, 20, 9, 30, tzinfo=VN_TZ)
    assert arrival(arrived, date(2024, 10, 21)) == arrived
    assert arrival(arrived, date(2024, 10, 20)) == arrived
    replayed = arrival(arrived, date(2024, 10, 19))
    assert replayed.astimezone(VN_TZ).date() == date(2024, 10, 19) and replayed < arrived - timedelta(hours=9)


def test_local_delivery_takes_the_mailbox_and_its_plus_addresses_only() -> None:
    delivery = ImapDelivery("BaoCao@sxd.example.gov.vn", "127.0.0.1", 1, "baocao", "x")
    assert delivery.accepts("baocao@sxd.example.gov.vn") and delivery.accepts("baocao+AbC@SXD.example.gov.vn")
    assert not delivery.accepts("baocao2@sxd.example.gov.vn") and not delivery.accepts("baocao@other.example")


def test_keywords_are_imap_atoms() -> None:
    assert keyword(IntakeReason.SENDER_MISMATCH) == "cascade-sender-mismatch"


def test_the_deployment_runs_every_ten_minutes() -> None:
    from flows.collect_replies import deployment

    [schedule] = deployment().schedules
    assert schedule.schedule.interval == timedelta(minutes=10)
