"""tasks.outbound.mail against a real local SMTP server: messages are parsed back from the Maildir."""

from __future__ import annotations

import re
import smtplib
import socket
import time
from dataclasses import replace
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import formataddr, parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cascade.settings import get_settings
from models.outbox import OutgoingEmail
from sandbox.smtp_sink import LocalMailbox
from tasks.outbound.mail import (
    DeliveryError,
    Mailer,
    MailServerError,
    MissingAttachmentError,
    build_message,
    envelope_recipients,
    message_text,
    new_message_id,
    wire_bytes,
)
from tests.fixtures.smtp import SmtpServer

VN = ZoneInfo("Asia/Ho_Chi_Minh")
DATE = datetime(2026, 11, 20, 8, 30, tzinfo=VN)
SUBJECT = "Nhắc hạn báo cáo: Kế hoạch 74/KH-SXD – còn 3 ngày"
TO_NAME = "Phòng Quản lý nhà và Thị trường bất động sản"
TO_ADDR = "qln@sxd.example.gov.vn"
CC_NAME = "Ủy ban nhân dân huyện Đông Hưng"
CC_ADDR = "ubnd.donghung@example.gov.vn"
REPLY_TO = formataddr(("Văn phòng Sở Xây dựng", "baocao@sxd.example.gov.vn"))
SENDER = "vanphong@sxd.example.gov.vn"
SENDER_NAME = "Văn phòng - Hệ thống giao việc"
HTML = """<html><head><style>
p { color: #123456; }
td { padding: 4px; }
</style></head><body>
<p>Kính gửi Phòng Quản lý nhà,</p>
<p>Hạn nộp báo cáo là ngày 23/11/2026.</p>
</body></html>"""
TEXT = "Kính gửi Phòng Quản lý nhà,\n\nHạn nộp báo cáo là ngày 23/11/2026.\n-- \nVăn phòng Sở Xây dựng\n"
ATTACHMENT_BYTES = bytes(range(256)) * 40


def make_email(**changes: object) -> OutgoingEmail:
    email = OutgoingEmail(
        email_to=(formataddr((TO_NAME, TO_ADDR)),),
        email_cc=(formataddr((CC_NAME, CC_ADDR)),),
        subject=SUBJECT,
        html=HTML,
        text=TEXT,
        message_id=new_message_id("plan-cascade.test"),
        reply_to=REPLY_TO,
        in_reply_to="<assign-42@plan-cascade.test>",
        references="<plan-74@plan-cascade.test> <assign-42@plan-cascade.test>",
    )
    return replace(email, **changes)  # type: ignore[arg-type]


@pytest.fixture()
def attachment(tmp_path: Path) -> Path:
    path = tmp_path / "Biểu mẫu báo cáo.xlsx"
    path.write_bytes(ATTACHMENT_BYTES)
    return path


def reparse(msg: Message) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(msg.as_bytes())  # type: ignore[return-value]


def body(msg: EmailMessage, content_type: str) -> str:
    part = msg.get_body(preferencelist=(content_type.split("/")[1],))
    assert part is not None and part.get_content_type() == content_type
    return part.get_content()


def attachments(msg: EmailMessage) -> list[EmailMessage]:
    return list(msg.iter_attachments())  # type: ignore[arg-type]


# --- build_message alone --------------------------------------------------------------------


def test_build_message_headers_and_parts(attachment: Path) -> None:
    email = make_email(attachments=(str(attachment),))
    msg = build_message(email, sender=SENDER, sender_name=SENDER_NAME, date=DATE)

    raw = msg.as_string()
    assert raw.isascii(), "headers must be RFC 2047 encoded, bodies base64"
    assert msg.get_all("Message-ID") == [email.message_id]
    assert msg.get_all("Date") == ["Fri, 20 Nov 2026 08:30:00 +0700"]

    # multipart/mixed [ alternative [ text/plain, related [ text/html ] ], attachment ]
    assert msg.get_content_type() == "multipart/mixed"
    alternative, *files = msg.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    plain, related = alternative.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    assert [p.get_content_type() for p in related.get_payload()] == ["text/html"]
    assert [f.get_content_disposition() for f in files] == ["attachment"]

    parsed = reparse(msg)
    assert parsed["Subject"] == SUBJECT
    assert parsed["From"].addresses[0].display_name == SENDER_NAME
    assert parsed["From"].addresses[0].addr_spec == SENDER
    assert [(a.display_name, a.addr_spec) for a in parsed["To"].addresses] == [(TO_NAME, TO_ADDR)]
    assert [(a.display_name, a.addr_spec) for a in parsed["Cc"].addresses] == [(CC_NAME, CC_ADDR)]
    assert parsed["Reply-To"].addresses[0].display_name == "Văn phòng Sở Xây dựng"
    assert parsed["Reply-To"].addresses[0].addr_spec == "baocao@sxd.example.gov.vn"
    assert parsed["In-Reply-To"] == "<assign-42@plan-cascade.test>"
    assert parsed["References"].split() == ["<plan-74@plan-cascade.test>", "<assign-42@plan-cascade.test>"]
    assert parsedate_to_datetime(parsed["Date"]) == DATE

    assert body(parsed, "text/plain") == TEXT
    html = body(parsed, "text/html")
    assert "<br>" not in html, "newlines must be collapsed before yagmail sees the HTML"
    assert "p { color: #123456; }" in html
    assert "<p>Hạn nộp báo cáo là ngày 23/11/2026.</p>" in html
    assert html == HTML, "the HTML part is our document as it is (yagmail would wrap it in a <div>, DOCTYPE inside)"


def test_build_message_without_optional_headers() -> None:
    email = make_email(email_cc=(), reply_to=None, in_reply_to=None, references=None)
    parsed = reparse(build_message(email, sender=SENDER, sender_name=SENDER_NAME, date=DATE))
    for name in ("Cc", "Reply-To", "In-Reply-To", "References"):
        assert parsed[name] is None
    assert list(parsed.iter_attachments()) == []


def test_build_message_plain_addresses_and_several_recipients() -> None:
    email = make_email(email_to=("a@example.gov.vn", "Bé Tư <b@example.gov.vn>"), email_cc=())
    parsed = reparse(build_message(email, sender=SENDER, sender_name=SENDER_NAME, date=DATE))
    assert [(a.display_name, a.addr_spec) for a in parsed["To"].addresses] == [
        ("", "a@example.gov.vn"),
        ("Bé Tư", "b@example.gov.vn"),
    ]
    assert envelope_recipients(email) == ["a@example.gov.vn", "b@example.gov.vn"]


def test_envelope_recipients_are_bare_and_unique() -> None:
    email = make_email(email_cc=(formataddr((CC_NAME, CC_ADDR)), formataddr(("Trùng", TO_ADDR.upper()))))
    assert envelope_recipients(email) == [TO_ADDR, CC_ADDR]


def test_build_message_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_message(make_email(), sender=SENDER, sender_name=SENDER_NAME, date=datetime(2026, 11, 20, 8, 30))
    with pytest.raises(ValueError, match="Message-ID"):
        build_message(make_email(message_id="abc@x"), sender=SENDER, sender_name=SENDER_NAME, date=DATE)
    with pytest.raises(ValueError, match="not an email address"):
        build_message(make_email(email_to=("Phòng A",)), sender=SENDER, sender_name=SENDER_NAME, date=DATE)


def test_build_message_missing_attachment(tmp_path: Path) -> None:
    missing = tmp_path / "Biểu mẫu báo cáo.xlsx"
    email = make_email(attachments=(str(missing),))
    with pytest.raises(MissingAttachmentError, match="attachment file not found") as info:
        build_message(email, sender=SENDER, sender_name=SENDER_NAME, date=DATE)
    assert str(missing) in str(info.value)
    assert info.value.message_id == email.message_id


def test_every_file_is_an_attachment(tmp_path: Path) -> None:
    """yagmail leaves text/* files inline and types unknown extensions 'None/None'."""
    csv = tmp_path / "Bảng số liệu.csv"
    csv.write_text("đơn vị;tỷ lệ\nA;86,5\n", encoding="utf-8")
    odd = tmp_path / "dữ liệu.zzq"
    odd.write_bytes(b"\x00\x01\xff")
    email = make_email(attachments=(str(csv), str(odd)))
    parsed = reparse(build_message(email, sender=SENDER, sender_name=SENDER_NAME, date=DATE))
    files = attachments(parsed)
    assert [(f.get_filename(), f.get_content_type()) for f in files] == [
        ("Bảng số liệu.csv", "text/csv"),
        ("dữ liệu.zzq", "application/octet-stream"),
    ]
    assert files[0].get_payload(decode=True) == csv.read_bytes()
    assert files[1].get_content() == b"\x00\x01\xff"
    assert body(parsed, "text/plain") == TEXT


def test_the_text_sent_is_what_the_stdlib_writes(tmp_path: Path, attachment: Path) -> None:
    """message_text writes attachments in one piece and reuses headers it folded before: the text must
    still be exactly `as_string(maxheaderlen=78)`, for a first message and for the next ones sharing headers."""
    named = tmp_path / "Biểu mẫu báo cáo GV-000123 của Phòng Quản lý nhà và Thị trường bất động sản.xlsx"
    named.write_bytes(ATTACHMENT_BYTES[::-1])
    for n in range(3):
        email = make_email(subject=f"{SUBJECT} ({n})", attachments=(str(attachment), str(named)))
        msg = build_message(email, sender=SENDER, sender_name=SENDER_NAME, date=DATE)
        assert message_text(msg) == msg.as_string(maxheaderlen=78)
        assert wire_bytes(message_text(msg)) == smtplib._fix_eols(msg.as_string(maxheaderlen=78)).encode("ascii")  # type: ignore[attr-defined]
    assert wire_bytes("a\r\nb\rc\nd") == b"a\r\nb\r\nc\r\nd"  # any other line end as smtplib turns it


def test_short_ascii_headers_are_written_as_compat32_folds_them() -> None:
    """Headers that fit on a line skip email.header: spaces, tabs, quotes and lengths at the limit must
    come out as the stdlib folds them, and one past the limit is folded as before."""
    msg = Message()
    values = ["", " lead", "trail ", "two  spaces", "tab\there", 'multipart/mixed; boundary="===x=="', "a;b,c=d<e@f>(g)"]
    for value in values:
        msg["X-Test"] = value
    for width in (77, 78, 79, 80):  # "Subject: " and the value: at, one past and two past the 78 limit
        msg["Subject"] = " ".join(["word"] * 40)[: width - len("Subject: ")]
    msg["X-Control"] = "bell\x07here"
    assert message_text(msg) == msg.as_string(maxheaderlen=78)


def test_a_boundary_found_in_the_text_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    """The generator picks a multipart boundary that no part contains (the stdlib's rule, by substring): with
    the random token fixed, each enclosing multipart finds the nested ones' boundaries and takes the next."""
    token = 1234567890123456789
    monkeypatch.setattr("tasks.outbound.mail.random.randrange", lambda _: token)
    msg = build_message(make_email(), sender=SENDER, sender_name=SENDER_NAME, date=DATE)
    text = message_text(msg)
    alternative = msg.get_payload()[0]
    related = alternative.get_payload()[1]
    boundary = f"==============={token}=="
    assert [related.get_boundary(), alternative.get_boundary(), msg.get_boundary()] == [boundary, f"{boundary}.0", f"{boundary}.1"]
    parsed = BytesParser(policy=policy.default).parsebytes(text.encode())
    assert [part.get_content_type() for part in parsed.walk()] == [part.get_content_type() for part in msg.walk()]
    assert body(parsed, "text/plain") == TEXT


def test_new_message_id_is_unique() -> None:
    ids = {new_message_id("plan-cascade.test") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("<") and i.endswith("@plan-cascade.test>") for i in ids)


# --- against the local SMTP server ----------------------------------------------------------


def test_send_round_trip(smtp_server: SmtpServer, attachment: Path) -> None:
    email = make_email(attachments=(str(attachment),))
    with Mailer() as mailer:
        mailer.send(email, date=DATE)
        assert mailer.sent == 1

    [received] = smtp_server.messages()
    assert received["Subject"] == SUBJECT
    assert received["Message-ID"] == email.message_id
    assert len(received.get_all("Message-ID")) == 1
    [sender] = received["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (get_settings().mail_from_name, get_settings().smtp_user)
    assert [(a.display_name, a.addr_spec) for a in received["To"].addresses] == [(TO_NAME, TO_ADDR)]
    assert [(a.display_name, a.addr_spec) for a in received["Cc"].addresses] == [(CC_NAME, CC_ADDR)]
    assert received["Reply-To"].addresses[0].addr_spec == "baocao@sxd.example.gov.vn"
    assert received["In-Reply-To"] == "<assign-42@plan-cascade.test>"
    assert received["References"].split() == ["<plan-74@plan-cascade.test>", "<assign-42@plan-cascade.test>"]
    assert received["Date"] == "Fri, 20 Nov 2026 08:30:00 +0700"

    assert body(received, "text/plain") == TEXT
    assert "<p>Kính gửi Phòng Quản lý nhà,</p>" in body(received, "text/html")

    [file] = attachments(received)
    assert file.get_filename() == "Biểu mẫu báo cáo.xlsx"
    assert file.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert file.get_content() == ATTACHMENT_BYTES

    [envelope] = smtp_server.envelopes()
    assert envelope.mail_from == get_settings().smtp_user
    assert envelope.rcpt_tos == (TO_ADDR, CC_ADDR)


def test_a_message_sent_for_a_unit_carries_its_name_and_both_reply_addresses(smtp_server: SmtpServer) -> None:
    ward = "Ủy ban nhân dân phường Gia Bình, thị xã Trảng Bàng"  # a comma: the name must be quoted
    office = formataddr((ward, "vanthu@giabinh.example.gov.vn"))
    email = make_email(sender_name=ward, reply_to=f"baocao+Tk3_x@sxd.example.gov.vn, {office}")
    with Mailer() as mailer:
        mailer.send(email, date=DATE)
        mailer.send(make_email(), date=DATE)  # no sender name: the settings' one

    received = {m["Message-ID"]: m for m in smtp_server.messages()}
    sent = received[email.message_id]
    [sender] = sent["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (ward, get_settings().smtp_user)  # still our own account
    assert [(a.display_name, a.addr_spec) for a in sent["Reply-To"].addresses] == [
        ("", "baocao+Tk3_x@sxd.example.gov.vn"), (ward, "vanthu@giabinh.example.gov.vn"),
    ]  # fmt: skip
    [other] = [m for key, m in received.items() if key != email.message_id]
    assert other["From"].addresses[0].display_name == get_settings().mail_from_name
    # On the wire the Vietnamese names are RFC 2047 words: the header lines are plain ASCII.
    raw = next(path.read_bytes() for path in (smtp_server.maildir / "new").iterdir() if email.message_id.encode() in path.read_bytes())
    headers = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    assert headers.isascii()
    assert re.search(rb"\nFrom:\s+=\?utf-8\?b\?[A-Za-z0-9+/=]+\?=\s+<cascade@", headers)
    assert re.search(rb"\nReply-To: baocao\+Tk3_x@sxd\.example\.gov\.vn,\s+=\?utf-8\?b\?[A-Za-z0-9+/=]+\?=\s+<vanthu@giabinh", headers)


def test_date_defaults_to_the_emails_date(smtp_server: SmtpServer) -> None:
    with Mailer() as mailer:
        mailer.send(make_email(date=DATE))
        with pytest.raises(ValueError, match="no date"):
            mailer.send(make_email())
    [received] = smtp_server.messages()
    assert parsedate_to_datetime(received["Date"]) == DATE


def test_same_subject_gets_different_message_ids(smtp_server: SmtpServer) -> None:
    first, second = make_email(), make_email()
    assert first.subject == second.subject and first.message_id != second.message_id
    with Mailer() as mailer:
        mailer.send(first, date=DATE)
        mailer.send(second, date=DATE)
    assert [m["Message-ID"] for m in smtp_server.messages()] == [first.message_id, second.message_id]


def test_batch_goes_over_one_connection(smtp_server: SmtpServer) -> None:
    emails = [
        make_email(
            email_to=(formataddr((f"Xã Thái Phúc {i}", f"xa{i}@example.gov.vn")),),
            email_cc=(),
            subject=f"{SUBJECT} ({i})",
        )
        for i in range(50)
    ]
    with Mailer() as mailer:
        for email in emails:
            mailer.send(email, date=DATE)
    assert mailer.sent == 50

    assert smtp_server.connections == 1
    envelopes = smtp_server.envelopes()
    assert len(envelopes) == 50
    assert {e.connection for e in envelopes} == {1}
    assert len({e.peer for e in envelopes}) == 1
    assert [e.rcpt_tos for e in envelopes] == [(f"xa{i}@example.gov.vn",) for i in range(50)]
    received = smtp_server.messages()
    assert [m["Message-ID"] for m in received] == [e.message_id for e in emails]
    assert [m["Subject"] for m in received] == [e.subject for e in emails]


def test_dropped_connection_is_reopened(smtp_server: SmtpServer) -> None:
    """A dropped connection is logged in again once, at once, and a long batch goes on."""
    first, second = make_email(), make_email()
    with Mailer() as mailer:
        mailer.send(first, date=DATE)
        smtp_server.mailbox.stop()  # the server goes away and comes back on the same port
        with LocalMailbox(smtp_server.maildir, port=smtp_server.port, handler=smtp_server.handler):
            started = time.monotonic()
            mailer.send(second, date=DATE)
            assert time.monotonic() - started < 2  # no pause (yagmail's own loop sleeps 3 s first)
    assert [m["Message-ID"] for m in smtp_server.messages()] == [first.message_id, second.message_id]
    assert smtp_server.connections == 2


def test_a_server_that_dies_mid_batch_ends_the_batch_at_once(smtp_server: SmtpServer) -> None:
    """The server goes away for good: one attempt to log in again, then MailServerError, within seconds,
    not yagmail's 18 s a message of sleeping and logging in."""
    with Mailer() as mailer:
        mailer.send(make_email(), date=DATE)
        smtp_server.mailbox.stop()
        started = time.monotonic()
        with pytest.raises(MailServerError, match="cannot reconnect"):
            mailer.send(make_email(), date=DATE)
        assert time.monotonic() - started < 3


def test_refused_recipient_raises(failing_smtp_server: SmtpServer) -> None:
    refused = make_email(email_to=(formataddr(("Xã Không Tồn Tại", "refused@example.gov.vn")),), email_cc=())
    good = make_email()
    with Mailer() as mailer:
        with pytest.raises(DeliveryError) as info:
            mailer.send(refused, date=DATE)
        # The connection stays usable after a refusal.
        mailer.send(good, date=DATE)
    error = info.value
    assert error.message_id == refused.message_id
    assert error.permanent
    assert error.refused["refused@example.gov.vn"][0] == 550
    assert "550" in str(error) and refused.message_id in str(error)
    assert [m["Message-ID"] for m in failing_smtp_server.messages()] == [good.message_id]
    assert failing_smtp_server.connections == 1


def test_partly_refused_recipients_raise(failing_smtp_server: SmtpServer) -> None:
    email = make_email(email_cc=(formataddr(("Xã Không Tồn Tại", "refused@example.gov.vn")),))
    with Mailer() as mailer, pytest.raises(DeliveryError, match="delivered to the other recipients") as info:
        mailer.send(email, date=DATE)
    assert list(info.value.refused) == ["refused@example.gov.vn"]
    assert info.value.permanent
    [envelope] = failing_smtp_server.envelopes()
    assert envelope.rcpt_tos == (TO_ADDR,)


def test_missing_attachment_is_a_permanent_delivery_error(smtp_server: SmtpServer, tmp_path: Path) -> None:
    email = make_email(attachments=(str(tmp_path / "không có.pdf"),))
    with Mailer() as mailer, pytest.raises(DeliveryError, match="attachment file not found") as info:
        mailer.send(email, date=DATE)
    assert info.value.permanent
    assert isinstance(info.value.__cause__, MissingAttachmentError)
    assert smtp_server.messages() == []


def test_unreachable_server(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("CASCADE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CASCADE_SMTP_PORT", str(port))
    monkeypatch.setenv("CASCADE_SMTP_STARTTLS", "false")
    monkeypatch.setenv("CASCADE_SMTP_SSL", "false")
    monkeypatch.setenv("CASCADE_SMTP_TIMEOUT_SECONDS", "5")
    monkeypatch.delenv("CASCADE_SMTP_PASSWORD", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(MailServerError, match=f"127.0.0.1:{port}"), Mailer():
            pass
    finally:
        get_settings.cache_clear()


def test_send_needs_an_open_mailer(smtp_server: SmtpServer) -> None:
    mailer = Mailer()
    with pytest.raises(RuntimeError, match="not open"):
        mailer.send(make_email(), date=DATE)
    with mailer:
        mailer.send(make_email(), date=DATE)
    mailer.close()  # closing twice is harmless
    assert len(smtp_server.messages()) == 1


def test_message_ids_carry_the_senders_domain_unless_one_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASCADE_SMTP_USER", "vanthu@trangbang.example.gov.vn")
    monkeypatch.delenv("CASCADE_MAIL_DOMAIN", raising=False)
    get_settings.cache_clear()
    assert get_settings().message_id_domain == "trangbang.example.gov.vn"
    assert new_message_id(get_settings().message_id_domain).endswith("@trangbang.example.gov.vn>")
    monkeypatch.setenv("CASCADE_MAIL_DOMAIN", "mail.example.vn")
    get_settings.cache_clear()
    assert get_settings().message_id_domain == "mail.example.vn"
    get_settings.cache_clear()
