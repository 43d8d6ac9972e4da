"""collect_replies end to end: units reply through SMTP, Dovecot holds the mailbox, the flow reads it over IMAP."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cascade.settings import get_settings
from flows.collect_replies import collect_replies
from models.db import session_scope
from models.inbound import InboundEmail, IntakeOutcome, IntakeReason
from models.outbox import EmailKind, OutboundEmail
from models.submission import Channel, ReviewAction
from models.unit import Unit
from tasks.intake.inbox import MailboxError, fetch, inbox_uids, mailbox
from tasks.intake.replies import decide
from tasks.intake.review import review_submission
from tests.fixtures.forms import NHA_O, VALUE
from tests.flows.helpers import text_part
from tests.intake.conftest import REPLY_MAILBOX, SECRETARIAT, Replies

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
    [notice] = replies.answers("U1", "Giao nhiệm vụ")
    assert receipt["References"].split() == [notice["Message-ID"], message_id]  # the whole thread: the notice, then the unit's reply
    assert "1.234 căn" in text_part(receipt) and "đúng hạn" in text_part(receipt)
    assert "Bien ban hop.pdf" in text_part(receipt)
    assert delivery.sent >= 1
    # The unit pressed Reply: its message went to both Reply-To addresses, the token one (matched above)
    # and the department's office, which got its own copy.
    [copy] = [m for m in replies.smtp.messages() if m["Message-ID"] == message_id]
    assert copy["X-RcptTo"] == OFFICE and REPLY_MAILBOX.split("@")[0] + "+" in str(copy["To"])
    # The receipt speaks for the department, and a reply to it reaches both again.
    assert_from_issuer(receipt, replies.notice("U1"))


OFFICE = "vanphong@sxd.example.gov.vn"  # the department's first address (tests.fixtures.builders)


def assert_from_issuer(answer: EmailMessage, notice: EmailMessage) -> None:
    """`answer` is From the department's name at the system's address, with the notice's token address then the office as Reply-To."""
    assert (answer["From"].addresses[0].display_name, answer["From"].addresses[0].addr_spec) == ("Sở Xây dựng tỉnh Đồng Nai", get_settings().smtp_user)
    token = notice["Reply-To"].addresses[0].addr_spec
    assert token.startswith("baocao+") and token.endswith("@sxd.example.gov.vn")
    assert [(a.display_name, a.addr_spec) for a in answer["Reply-To"].addresses] == [("", token), ("Sở Xây dựng tỉnh Đồng Nai", OFFICE)]


def test_a_wrong_form_gets_a_precise_error_reply(replies: Replies) -> None:
    form = replies.form("U2")
    form.at(NHA_O, VALUE).value = "khoảng 30"
    cell = f"Chỉ tiêu!{form.at(NHA_O, VALUE).coordinate}"
    message_id = replies.reply("U2", form.save())

    tally, _ = collect_replies(DAY)

    assert (tally.recorded, tally.refused) == (0, 1)
    assert replies.versions("U2") == []
    [answer] = replies.answers("U2", "Chưa ghi nhận báo cáo")
    assert answer["In-Reply-To"] == message_id
    text = text_part(answer)
    assert cell in text and "“khoảng 30”" in text and "cần nhập một số" in text
    assert_from_issuer(answer, replies.notice("U2"))
    [filed] = replies.messages(PROCESSED)
    assert "cascade-form-problems" in filed.flags
    [row] = inbound()
    assert (row.outcome, row.reason) == (IntakeOutcome.REFUSED, IntakeReason.FORM_PROBLEMS)
    assert cell in row.detail


def test_a_spoofed_sender_is_quarantined_and_the_secretariat_told(replies: Replies) -> None:
    form = replies.form("U1")
    replies.reply("U1", form.save(), sender="ke.gia.mao@example.com")

    tally, _ = collect_replies(DAY)

    assert (tally.recorded, tally.quarantined) == (0, 1)
    assert replies.versions("U1") == []
    [held] = replies.messages(QUARANTINE)
    assert held.sender == "ke.gia.mao@example.com" and "cascade-sender-mismatch" in held.flags
    assert replies.messages("INBOX") == [] and replies.messages(PROCESSED) == []
    [alert] = [m for m in replies.smtp.messages() if m["Subject"].startswith("Thư báo cáo bị cách ly")]
    assert [a.addr_spec for a in alert["To"].addresses] == [SECRETARIAT]
    assert "ke.gia.mao@example.com" in text_part(alert) and replies.address("U1") in text_part(alert)
    # Nobody answers the forger, and the unit gets no receipt.
    recipients = {a.addr_spec for m in replies.smtp.messages() for a in m["To"].addresses}
    assert "ke.gia.mao@example.com" not in recipients
    assert replies.answers("U1", "Đã nhận") == []


def test_an_auto_reply_is_set_aside_unanswered(replies: Replies) -> None:
    before = len(replies.sent())
    replies.reply(
        "U3", subject="Trả lời tự động: đang nghỉ phép", body="Tôi đang nghỉ phép đến ngày 25/10.",
        headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
    )  # fmt: skip

    tally, _ = collect_replies(DAY)

    assert (tally.set_aside, tally.recorded) == (1, 0)
    [aside] = replies.messages(REVIEW)
    assert "cascade-auto-reply" in aside.flags
    assert len(replies.sent()) == before  # no answer to an autoresponder, ever
    [row] = inbound()
    assert (row.outcome, row.reason) == (IntakeOutcome.SET_ASIDE, IntakeReason.AUTO_REPLY)


def test_the_same_reply_twice_is_one_version(replies: Replies) -> None:
    replies.reply("U1", replies.form("U1").save())
    [raw] = replies.raw_inbox()
    collect_replies(DAY)
    replies.append(raw)  # delivered again: a retrying mail server, a copy moved back by hand

    tally, _ = collect_replies(DAY)

    assert (tally.fetched, tally.seen_before, tally.recorded) == (1, 1, 0)
    assert [v.version for v in replies.versions("U1")] == [1]
    assert len(replies.answers("U1", "Đã nhận báo cáo")) == 1
    assert len(replies.messages(PROCESSED)) == 2 and replies.messages("INBOX") == []
    assert len(inbound()) == 1


def test_a_crash_before_the_move_loses_and_repeats_nothing(replies: Replies, monkeypatch: pytest.MonkeyPatch) -> None:
    import tasks.intake.collect

    replies.reply("U1", replies.form("U1").save())
    real = tasks.intake.collect.file_away

    def crash(*args: object, **kwargs: object) -> None:
        raise ConnectionResetError("the connection dropped after the commit")

    monkeypatch.setattr(tasks.intake.collect, "file_away", crash)
    with pytest.raises(ConnectionResetError):
        collect_replies(DAY)
    assert [v.version for v in replies.versions("U1")] == [1]  # committed before the crash
    assert len(replies.messages("INBOX")) == 1  # and still in the inbox

    monkeypatch.setattr(tasks.intake.collect, "file_away", real)
    tally, _ = collect_replies(DAY)

    assert (tally.fetched, tally.seen_before, tally.recorded) == (1, 1, 0)
    assert [v.version for v in replies.versions("U1")] == [1]
    assert len(replies.answers("U1", "Đã nhận báo cáo")) == 1
    assert replies.messages("INBOX") == [] and len(replies.messages(PROCESSED)) == 1


@pytest.mark.parametrize(
    ("how", "options"),
    [
        ("thread", {"to": REPLY_MAILBOX, "subject": "Re: báo cáo năm"}),  # the bare mailbox, answered in the thread
        ("subject", {"to": REPLY_MAILBOX, "threaded": False}),  # a new message keeping the subject's reference
        ("form", {"to": REPLY_MAILBOX, "subject": "Báo cáo năm 2024", "threaded": False}),  # only the form says whose it is
    ],
)
def test_a_reply_is_matched_without_its_reply_address(replies: Replies, how: str, options: dict[str, object]) -> None:
    if how == "subject":
        options = {**options, "subject": "Gửi lại: " + replies.notice("U4")["Subject"]}
    replies.reply("U4", replies.form("U4").save(), **options)

    tally, _ = collect_replies(DAY)

    assert tally.recorded == 1, inbound()[0].detail
    assert [v.version for v in replies.versions("U4")] == [1]


def test_a_message_matching_nothing_is_set_aside(replies: Replies) -> None:
    replies.reply("U1", to=REPLY_MAILBOX, subject="Hỏi về kế hoạch", body="Xin hỏi thời hạn báo cáo?", threaded=False, sender="dan@example.com")

    tally, _ = collect_replies(DAY)

    assert tally.set_aside == 1
    [aside] = replies.messages(REVIEW)
    assert "cascade-no-match" in aside.flags
    [row] = inbound()
    assert (row.reason, row.assignment_id) == (IntakeReason.NO_MATCH, None)


def test_a_reply_without_the_form_is_set_aside_and_the_unit_told(replies: Replies) -> None:
    scan = replies.folder / "bao-cao-ky.pdf"
    scan.parent.mkdir(parents=True, exist_ok=True)
    scan.write_bytes(b"%PDF-1.4\n%%EOF\n")
    replies.reply("U2", scan)

    tally, _ = collect_replies(DAY)

    assert tally.set_aside == 1 and replies.versions("U2") == []
    assert "cascade-no-form" in replies.messages(REVIEW)[0].flags
    [answer] = replies.answers("U2", "Chưa nhận được biểu mẫu")
    assert "bao-cao-ky.pdf" in text_part(answer) and "biểu mẫu Excel" in text_part(answer)


def test_another_units_form_is_refused_by_name(replies: Replies) -> None:
    replies.reply("U1", replies.form("U2").save())

    collect_replies(DAY)

    assert replies.versions("U1") == [] and replies.versions("U2") == []
    [answer] = replies.answers("U1", "Chưa ghi nhận")
    with session_scope() as session:
        u2 = session.scalars(select(Unit).where(Unit.code == "U2")).one().name
    assert f"giao cho {u2}, không phải của nhiệm vụ GV-" in " ".join(text_part(answer).split())
    assert replies.answers("U2", "Chưa ghi nhận") == []


def test_evidence_of_a_refused_type_refuses_the_whole_reply(replies: Replies) -> None:
    program = replies.folder / "U1" / "cai-dat.exe"
    form = replies.form("U1").save()
    program.write_bytes(b"MZ\x90\x00" + b"\x00" * 64)
    replies.reply("U1", form, program)

    collect_replies(DAY)

    assert replies.versions("U1") == []
    [answer] = replies.answers("U1", "Chưa ghi nhận")
    assert "cai-dat.exe" in text_part(answer) and "loại tệp không được nhận" in text_part(answer)
    assert inbound()[0].reason == IntakeReason.FILE_PROBLEMS


def test_a_message_over_the_size_limit_is_set_aside_unread(replies: Replies, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASCADE_IMAP_MAX_MESSAGE_MB", "0.01")
    get_settings.cache_clear()
    replies.reply("U1", replies.form("U1").save())

    tally, _ = collect_replies(DAY)

    assert tally.set_aside == 1 and replies.versions("U1") == []
    assert inbound()[0].reason == IntakeReason.TOO_LARGE
    assert "cascade-too-large" in replies.messages(REVIEW)[0].flags


def test_a_reply_to_an_accepted_report_is_refused(replies: Replies) -> None:
    replies.reply("U1", replies.form("U1").save())
    collect_replies(DAY)
    [version] = replies.versions("U1")
    review_submission(version.id, ReviewAction.ACCEPT, reviewer="vanphong", as_of=DAY)
    form = replies.form("U1")
    form.at(NHA_O, VALUE).value = 121
    replies.reply("U1", form.save())

    tally, _ = collect_replies(DAY)

    assert tally.refused == 1 and len(replies.versions("U1")) == 1
    [answer] = replies.answers("U1", "Chưa ghi nhận")
    assert "đã được chấp nhận" in text_part(answer)


def test_two_workers_on_one_message_record_it_once(replies: Replies, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both read the message before either commits (a barrier holds them): one version, one receipt, one row."""
    import tasks.intake.replies

    replies.reply("U1", replies.form("U1").save())
    with mailbox() as box:
        [message] = fetch(box, inbox_uids(box), 10 * 1024 * 1024)
    barrier = threading.Barrier(2, timeout=30)
    judge = tasks.intake.replies._judge

    def judge_together(*args, **kwargs):  # type: ignore[no-untyped-def]
        barrier.wait()
        return judge(*args, **kwargs)

    monkeypatch.setattr(tasks.intake.replies, "_judge", judge_together)
    with ThreadPoolExecutor(2) as pool:
        decisions = list(pool.map(lambda _: decide(message, DAY), range(2)))

    assert sorted(d.seen_before for d in decisions) == [False, True]
    assert {d.inbound_id for d in decisions} == {inbound()[0].id}
    assert [v.version for v in replies.versions("U1")] == [1]
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(OutboundEmail).where(OutboundEmail.kind == EmailKind.RECEIPT)) == 1


def test_a_wrong_password_stops_the_run_with_the_reason(replies: Replies, monkeypatch: pytest.MonkeyPatch) -> None:
    replies.reply("U1", replies.form("U1").save())
    monkeypatch.setenv("CASCADE_IMAP_PASSWORD", "sai-mat-khau")
    get_settings.cache_clear()

    with pytest.raises(MailboxError, match="refused the login of 'baocao'"):
        collect_replies(DAY)
    assert len(replies.messages("INBOX")) == 1 and inbound() == []


def test_cascade_collect_and_replies_from_the_command_line(replies: Replies, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from cascade.cli import common
    from cascade.cli.main import app

    monkeypatch.setattr(common.console, "width", 240)
    replies.reply("U1", replies.form("U1").save())
    replies.reply("U2", replies.form("U1").save(), sender="ke.gia.mao@example.com")
    runner = CliRunner()

    result = runner.invoke(app, ["collect", "--as-of", "20/10/2024"])

    assert result.exit_code == 0, result.output
    assert "Replies read 2: recorded 1, answered with problems 0, quarantined 1, set aside 0, already handled 0." in result.output
    assert "Đã ghi nhận" in result.output and "Cách ly" in result.output
    listed = runner.invoke(app, ["replies", "--outcome", "quarantined"])
    assert listed.exit_code == 0, listed.output
    assert "ke.gia.mao@example.com" in listed.output and "Đã ghi nhận" not in listed.output
    again = runner.invoke(app, ["collect", "--as-of", "20/10/2024"])
    assert "Replies read 0" in again.output


def test_cascade_collect_without_a_mailbox_says_what_to_set(workspace, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from cascade.cli.main import app

    monkeypatch.delenv("CASCADE_IMAP_HOST", raising=False)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["collect"])
    assert result.exit_code == 1
    assert "no reply mailbox is configured: set CASCADE_IMAP_HOST" in result.output


def test_the_dashboard_lists_the_replies_people_must_look_at(replies: Replies, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from portal.app import create_app
    from portal.jobs import Jobs
    from tests.portal.conftest import CSRF, PASSWORD

    replies.reply("U1", replies.form("U1").save(), sender="ke.gia.mao@example.com")
    replies.reply("U2", replies.form("U2").save())
    collect_replies(DAY)
    monkeypatch.setenv("CASCADE_DASHBOARD_PASSWORD", PASSWORD)
    get_settings.cache_clear()
    jobs = Jobs()
    with TestClient(create_app(lambda: DAY, jobs=jobs), base_url="http://127.0.0.1:8765") as client:
        assert client.get("/admin/replies", follow_redirects=False).status_code == 303  # behind the login
        login = client.get("/admin/login")
        client.post("/admin/login", data={"csrf": CSRF.search(login.text)[1], "user": "vanphong", "password": PASSWORD}, follow_redirects=False)

        home = client.get("/admin")
        assert "Cách ly: 1" in home.text and "Đã ghi nhận: 1" in home.text
        held = client.get("/admin/replies", params={"outcome": "quarantined"})
        assert held.status_code == 200
        assert "ke.gia.mao@example.com" in held.text and "không phải địa chỉ thư đã đăng ký" in held.text
        assert replies.address("U2") not in held.text  # the recorded reply is not in this list
        assert client.get("/admin/replies", params={"outcome": "nonsense"}).status_code == 404
    jobs.shutdown()


def test_a_message_no_rule_foresaw_is_set_aside_and_the_run_goes_on(replies: Replies, monkeypatch: pytest.MonkeyPatch) -> None:
    import tasks.intake.replies

    real = tasks.intake.replies.automatic

    def breaks_on_one(message):  # type: ignore[no-untyped-def]
        if "Thư lạ" in str(message["Subject"]):
            raise UnicodeError("a header nobody could decode")
        return real(message)

    monkeypatch.setattr(tasks.intake.replies, "automatic", breaks_on_one)
    replies.reply("U3", to=REPLY_MAILBOX, subject="Thư lạ", body="...", threaded=False)
    replies.reply("U1", replies.form("U1").save())

    tally, _ = collect_replies(DAY)

    assert (tally.fetched, tally.set_aside, tally.recorded) == (2, 1, 1)
    [aside] = replies.messages(REVIEW)
    assert aside.subject == "Thư lạ" and "cascade-unreadable" in aside.flags
    assert [row.detail for row in inbound() if row.reason == IntakeReason.UNREADABLE] == ["Không đọc được thư: UnicodeError: a header nobody could decode"]
    assert [v.version for v in replies.versions("U1")] == [1]


def test_the_bad_input_corpus_by_email_reply(replies: Replies) -> None:
    """Forms a unit could send back by reply: a percentage above 100, a figure beyond any count, a workbook bomb
    and a macro workbook named as the form (words for numbers: test_a_wrong_form_gets_a_precise_error_reply). Each gets an answer naming what is wrong; nothing is recorded."""
    import zipfile

    from tests.fixtures.forms import HAI_LONG
    from tests.inputs.test_corpus import snapshot

    def filled(metric: str, value: object) -> Callable[[], Path]:
        def make() -> Path:
            form = replies.form("U2")
            form.at(metric, VALUE).value = value
            return form.save()

        return make

    def packaged(name: str, part: str, data: bytes) -> Callable[[], Path]:
        def make() -> Path:
            path = replies.folder / "U2" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as package:
                package.writestr("[Content_Types].xml", "<Types/>")
                package.writestr(part, data)
            return path

        return make

    bomb = b"<worksheet><sheetData>" + b" " * (60 * 1024 * 1024) + b"</sheetData></worksheet>"
    cases = [
        ("percent-120", filled(HAI_LONG, 120), "lớn hơn 100%"),
        ("huge-number", filled(NHA_O, 1e27), "lớn quá mức một số liệu báo cáo"),
        ("workbook-bomb", packaged("bieu-mau.xlsx", "xl/worksheets/sheet1.xml", bomb), "bieu-mau.xlsx"),
        ("macro-workbook", packaged("bieu-mau-macro.xlsx", "xl/vbaProject.bin", b"\xd0\xcf\x11\xe0" + bytes(64)), "bieu-mau-macro.xlsx"),
    ]
    failures = []
    recorded = ("submission", "submission_value", "submission_section", "attachment")
    for case_id, make, words in cases:
        before, answered = snapshot(recorded), len(replies.answers("U2", "Chưa ghi nhận"))
        replies.reply("U2", make())
        collect_replies(DAY)
        answers = replies.answers("U2", "Chưa ghi nhận")
        if len(answers) != answered + 1 or words not in text_part(answers[-1]):
            failures.append(f"{case_id}: {len(answers) - answered} answers; {words!r} not in {text_part(answers[-1])[:600] if answers else ''}")
        if snapshot(recorded) != before:
            failures.append(f"{case_id}: a version was recorded")
    assert not failures, "\n".join(failures)
    assert replies.versions("U2") == []
