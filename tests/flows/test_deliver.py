import os
import subprocess
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL
from sqlalchemy import func, select, update

from cascade.settings import get_settings
from flows.cascade_plan import cascade_plan
from flows.deliver_outbox import deliver_outbox
from models.db import session_scope
from models.outbox import EmailStatus, OutboundEmail
from tests.fixtures.builders import make_plan, make_unit_tree

pytestmark = pytest.mark.usefixtures("prefect_harness")
ROOT = Path(__file__).resolve().parents[2]


def statuses() -> dict[str, int]:
    with session_scope() as session:
        return dict(session.execute(select(OutboundEmail.status, func.count()).group_by(OutboundEmail.status)).all())


def queue_without_sending(plan: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """Cascade with delivery made impossible (no server on the port), so everything stays queued."""
    monkeypatch.setenv("CASCADE_SMTP_PORT", "1")
    monkeypatch.setenv("CASCADE_OUTBOX_RETRY_BASE_SECONDS", "0")
    get_settings.cache_clear()
    result = cascade_plan(plan, date(2024, 4, 5))
    with session_scope() as session:
        session.execute(update(OutboundEmail).values(status=EmailStatus.QUEUED, attempts=0, not_before=None, last_error=None))
    return result.assigned


def test_server_down_loses_nothing_and_a_later_run_sends_everything(department, smtp_server, monkeypatch) -> None:
    port = smtp_server.port
    monkeypatch.setenv("CASCADE_SMTP_PORT", "1")  # nothing listens there
    get_settings.cache_clear()
    result = cascade_plan(department.plan, date(2024, 4, 5))
    assert result.delivery.sent == 0 and result.delivery.retrying == 4
    with session_scope() as session:
        rows = session.scalars(select(OutboundEmail)).all()
        assert {r.status for r in rows} == {EmailStatus.QUEUED}
        # never handed to a server: no attempt counted, the wait and the reason recorded, the retry period started
        assert all(r.attempts == 0 and r.not_before is not None and r.last_error and r.first_attempt_at is not None for r in rows)

    monkeypatch.setenv("CASCADE_SMTP_PORT", str(port))
    get_settings.cache_clear()
    assert deliver_outbox(date(2024, 4, 5)).sent == 0  # still inside the backoff
    with session_scope() as session:
        session.execute(update(OutboundEmail).values(not_before=None))  # let the backoff pass
    tally = deliver_outbox(date(2024, 4, 6))
    assert tally.sent == 4
    assert len(smtp_server.messages()) == 4
    assert statuses() == {EmailStatus.SENT: 4}


def test_a_refused_mailbox_fails_at_once_without_blocking_others(department, smtp_server) -> None:
    smtp_server.refuse("u2@sxd.example.gov.vn")

    first = cascade_plan(department.plan, date(2024, 4, 5))
    assert (first.delivery.sent, first.delivery.retrying, first.delivery.failed) == (3, 0, 1)
    with session_scope() as session:
        failed = session.scalar(select(OutboundEmail).where(OutboundEmail.status == EmailStatus.FAILED))
        assert failed is not None and failed.attempts == 1 and "550" in failed.last_error
    assert deliver_outbox(date(2024, 4, 6)).sent == 0  # a permanent refusal is not retried
    assert len(smtp_server.messages()) == 3


def test_an_outage_of_many_runs_keeps_every_message_until_the_retry_period_ends(department, smtp_server, monkeypatch) -> None:
    """Five delivery runs with the server down: nothing is failed, no attempt is spent; once the retry
    period (outbox_retry_hours) has passed, the messages are failed with the reason and how long they were tried."""
    monkeypatch.setenv("CASCADE_SMTP_PORT", "1")
    monkeypatch.setenv("CASCADE_OUTBOX_RETRY_BASE_SECONDS", "0")
    get_settings.cache_clear()
    cascade_plan(department.plan, date(2024, 4, 5))
    for day in range(6, 11):
        delivery = deliver_outbox(date(2024, 4, day))
        assert (delivery.sent, delivery.retrying, delivery.failed) == (0, 4, 0)
    assert statuses() == {EmailStatus.QUEUED: 4}
    with session_scope() as session:
        assert {r.attempts for r in session.scalars(select(OutboundEmail))} == {0}
        for row in session.scalars(select(OutboundEmail)):  # three days and an hour later
            row.first_attempt_at -= timedelta(hours=73)
    delivery = deliver_outbox(date(2024, 4, 11))
    assert (delivery.sent, delivery.retrying, delivery.failed) == (0, 0, 4)
    with session_scope() as session:
        assert all("giving up" in (r.last_error or "") and "server:" in (r.last_error or "") for r in session.scalars(select(OutboundEmail)))


def test_priority_order_and_one_connection_per_batch(department, smtp_server, monkeypatch) -> None:
    queue_without_sending(department.plan, monkeypatch)
    monkeypatch.setenv("CASCADE_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("CASCADE_OUTBOX_BATCH_SIZE", "3")
    get_settings.cache_clear()
    before = smtp_server.connections
    assert deliver_outbox(date(2024, 4, 5)).sent == 4
    assert smtp_server.connections - before == 2  # two batches of 2, one a connection, sent at once (outbox_connections)
    ids = [m["Message-ID"] for m in smtp_server.messages()]
    assert len(ids) == len(set(ids))  # none sent twice


def test_one_connection_at_a_time_when_the_provider_allows_one(department, smtp_server, monkeypatch) -> None:
    queue_without_sending(department.plan, monkeypatch)
    monkeypatch.setenv("CASCADE_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("CASCADE_OUTBOX_BATCH_SIZE", "3")
    monkeypatch.setenv("CASCADE_OUTBOX_CONNECTIONS", "1")
    get_settings.cache_clear()
    before = smtp_server.connections
    assert deliver_outbox(date(2024, 4, 5)).sent == 4
    assert smtp_server.connections - before == 2  # two batches, one after the other: 3 + 1
    assert {e.connection for e in smtp_server.envelopes()[-4:-1]} == {before + 1}  # the first three over one connection


CRASHING_DELIVERY = textwrap.dedent(
    """
    import os, signal, threading
    from datetime import date
    import tasks.outbound.mail
    from flows.deliver_outbox import deliver_outbox

    original = tasks.outbound.mail.Mailer.transmit
    count, counting = 0, threading.Lock()

    def transmit_then_die(self, message):
        global count
        original(self, message)
        with counting:  # the connections send at once: the 5th accepted message, whichever carried it
            count += 1
            if count == int(os.environ["CRASH_AFTER"]):
                os.kill(os.getpid(), signal.SIGKILL)  # accepted by the server, not yet recorded as sent

    tasks.outbound.mail.Mailer.transmit = transmit_then_die
    deliver_outbox(date(2024, 4, 5))
    """
)


@pytest.mark.parametrize("connections", [1, 2])
def test_a_killed_delivery_loses_nothing_and_sends_again_only_what_was_not_yet_recorded(
    workspace, smtp_server, monkeypatch, tmp_path, connections: int
) -> None:
    """SIGKILL right after the server accepted the 5th message, recorded 3 a commit on each connection: the
    recorded ones are never sent again; those accepted since their connection's last commit (at most
    outbox_commit_every a connection) are, by the next run; none is lost. One connection: exactly 3 and 2."""
    commit_every, accepted = 3, 5
    make_unit_tree(depth=2, width=12)
    plan = make_plan()
    assert queue_without_sending(plan, monkeypatch) == 12
    monkeypatch.setenv("CASCADE_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("CASCADE_OUTBOX_COMMIT_EVERY", str(commit_every))
    monkeypatch.setenv("CASCADE_OUTBOX_CONNECTIONS", str(connections))
    get_settings.cache_clear()

    # The child reports to the test session's Prefect server, like a second worker would.
    env = {**os.environ, "CRASH_AFTER": str(accepted), "PREFECT_API_URL": PREFECT_API_URL.value()}
    log = tmp_path / "child.log"
    with log.open("w") as output:
        child = subprocess.run([sys.executable, "-c", CRASHING_DELIVERY], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, timeout=240, check=False)
    assert child.returncode == -9, log.read_text()[-3000:]
    recorded = statuses().get(EmailStatus.SENT, 0)
    assert statuses() == {status: n for status, n in ((EmailStatus.SENT, recorded), (EmailStatus.SENDING, 12 - recorded)) if n}
    assert len(smtp_server.messages()) >= accepted  # another connection may have had one more accepted before the kill
    if connections == 1:
        assert recorded == 3 and len(smtp_server.messages()) == accepted

    monkeypatch.setenv("CASCADE_OUTBOX_LEASE_SECONDS", "0")  # the crashed worker's lease is over
    get_settings.cache_clear()
    assert deliver_outbox(date(2024, 4, 5)).sent == 12 - recorded
    assert statuses() == {EmailStatus.SENT: 12}

    received = [m["Message-ID"] for m in smtp_server.messages()]
    with session_scope() as session:
        expected = set(session.scalars(select(OutboundEmail.message_id)))
    assert set(received) == expected  # nothing lost
    again = len(received) - 12
    assert again <= connections * commit_every  # only what the server accepted after a connection's last commit went twice
    if connections == 1:
        assert again == accepted - recorded


def test_an_address_refused_for_now_gets_the_message_later_and_alone(workspace, smtp_server) -> None:
    """A unit with two mailboxes: one answers 450 (busy). The other has the message at once; the busy one is
    owed it and gets it on a later run, alone (the first is not sent it twice); headers stay whole."""
    from cascade import clock
    from models.outbox import EmailKind
    from tasks.outbound.outbox import queue_email
    from templates import RenderedEmail

    smtp_server.handler.refuse_for_now("ketoan@donvi.example.vn")
    with session_scope() as session:
        queue_email(
            session, key="two-mailboxes", kind=EmailKind.ASSIGNMENT, email_to=["Văn thư <vanthu@donvi.example.vn>", "Kế toán <ketoan@donvi.example.vn>"],
            rendered=RenderedEmail("Giao nhiệm vụ", "<p>Nội dung</p>", "Nội dung"), created_at=clock.moment(date(2024, 4, 5)),
        )  # fmt: skip
    first = deliver_outbox(date(2024, 4, 5))
    assert (first.sent, first.retrying, first.failed) == (0, 1, 0)
    with session_scope() as session:
        row = session.scalars(select(OutboundEmail)).one()
        assert row.status == EmailStatus.QUEUED and row.retry_recipients == ["ketoan@donvi.example.vn"] and "450" in (row.last_error or "")
        row.not_before = None  # the backoff passes
    smtp_server.handler.accept_again()
    second = deliver_outbox(date(2024, 4, 6))
    assert second.sent == 1 and statuses() == {EmailStatus.SENT: 1}
    assert [envelope.rcpt_tos for envelope in smtp_server.envelopes()] == [("vanthu@donvi.example.vn",), ("ketoan@donvi.example.vn",)]
    assert all("ketoan@donvi.example.vn" in str(m["To"]) and "vanthu@donvi.example.vn" in str(m["To"]) for m in smtp_server.messages())


def test_failed_messages_are_shown_with_their_reason_requeued_and_told_to_the_admins(department, smtp_server, monkeypatch) -> None:
    """A mailbox refused for good: `cascade status` lists the message as failed with the server's reply, the
    daily tick emails the admins one digest (one a day, however often it runs), and after the address is
    fixed at the server `cascade outbox retry --failed` sends it."""
    from typer.testing import CliRunner

    from cascade.cli.main import app
    from flows.daily_tick import daily_tick

    monkeypatch.setenv("CASCADE_ADMIN_EMAILS", '["quantri@sxd.example.gov.vn"]')
    get_settings.cache_clear()
    smtp_server.refuse("u2@sxd.example.gov.vn")
    assert cascade_plan(department.plan, date(2024, 4, 5)).delivery.failed == 1
    runner = CliRunner()
    shown = runner.invoke(app, ["status", department.plan, "--as-of", "2024-04-05"], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    assert "Không gửi được" in shown.output and "550 5.1.1" in shown.output and "1 thư không gửi được" in shown.output

    for _ in range(2):
        daily_tick(date(2024, 4, 6))
    digests = [m for m in smtp_server.messages() if "quantri@sxd.example.gov.vn" in str(m["To"])]
    assert len(digests) == 1 and "1 thư không gửi được" in str(digests[0]["Subject"])
    assert "u2@sxd.example.gov.vn" in digests[0].get_body(preferencelist=("plain",)).get_content()

    smtp_server.handler._refused.clear()  # the unit's mailbox works again
    assert runner.invoke(app, ["outbox", "retry"]).output.startswith("Đã xếp lại 0 thư")  # failed ones only with --failed
    retried = runner.invoke(app, ["outbox", "retry", "--failed", "--plan", "74/KH-SXD"])
    assert retried.exit_code == 0 and "Đã xếp lại 1 thư" in retried.output, retried.output
    assert deliver_outbox(date(2024, 4, 7)).sent == 1 and EmailStatus.FAILED not in statuses()
    refused = runner.invoke(app, ["outbox", "retry", "--kind", "thu"])
    assert refused.exit_code == 1 and "unknown kind 'thu'" in refused.output
