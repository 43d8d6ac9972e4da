import os
import subprocess
import sys
import textwrap
from datetime import date
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
        assert all(r.attempts == 1 and r.not_before is not None and r.last_error for r in rows)

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


def test_transient_failures_retry_until_the_attempts_run_out(department, smtp_server, monkeypatch) -> None:
    monkeypatch.setenv("CASCADE_SMTP_PORT", "1")
    monkeypatch.setenv("CASCADE_OUTBOX_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("CASCADE_OUTBOX_RETRY_BASE_SECONDS", "0")
    get_settings.cache_clear()
    # With no backoff the same run tries again at once, until the attempts run out.
    delivery = cascade_plan(department.plan, date(2024, 4, 5)).delivery
    assert (delivery.sent, delivery.retrying, delivery.failed) == (0, 4, 4)
    assert statuses() == {EmailStatus.FAILED: 4}
    with session_scope() as session:
        assert {r.attempts for r in session.scalars(select(OutboundEmail))} == {2}


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
