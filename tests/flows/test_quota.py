"""SMTP quotas: the outbox drains over days in priority order and never exceeds the caps."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cascade import clock
from cascade.settings import get_settings
from flows.deliver_outbox import deliver_outbox
from models.db import session_scope
from models.outbox import EmailKind, EmailStatus, OutboundEmail
from tasks.outbound.outbox import queue_email
from tasks.outbound.quota import outbox_waiting, room
from templates import RenderedEmail

pytestmark = pytest.mark.usefixtures("prefect_harness")

MIX = [(EmailKind.ASSIGNMENT, 8), (EmailKind.REMINDER, 4), (EmailKind.OVERDUE, 3), (EmailKind.RECEIPT, 5)]  # queued in this order


def queue_mix(day: date) -> None:
    with session_scope() as session:
        for kind, count in MIX:
            for i in range(count):
                queue_email(
                    session, key=f"{kind}:{i}", kind=kind, email_to=[f"{kind}{i}@xa.example.gov.vn"],
                    rendered=RenderedEmail(f"{kind} {i}", f"<p>{kind} {i}</p>", f"{kind} {i}"), created_at=clock.moment(day),
                )  # fmt: skip


def quotas(monkeypatch: pytest.MonkeyPatch, **values: object) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"CASCADE_{name.upper()}", str(value))
    get_settings.cache_clear()


def test_the_daily_quota_spreads_the_outbox_over_days_best_priority_first(workspace, smtp_server, monkeypatch) -> None:
    quotas(monkeypatch, smtp_per_day=8, outbox_connections=1)  # one connection: the messages arrive in the order they were claimed
    first = date(2024, 10, 28)
    queue_mix(first)
    waiting = outbox_waiting(first)
    assert sum(n for _, _, n in waiting.by_kind) == 20 and waiting.room_today == 8 and waiting.days_to_drain == 3
    assert [kind for kind, _, _ in waiting.by_kind] == ["receipt", "overdue", "reminder", "assignment"]

    sent_per_day = []
    for offset in range(4):
        day = first + timedelta(days=offset)
        sent_per_day.append(deliver_outbox(day).sent)
        assert deliver_outbox(day).sent == 0  # the day's quota is used up: a second run sends nothing
    assert sent_per_day == [8, 8, 4, 0]

    subjects = [str(m["Subject"]).split()[0] for m in smtp_server.messages()]
    # Receipts (1), then overdue notices (2), reminders (3) and the bulk notices (5) last.
    assert subjects == ["receipt"] * 5 + ["overdue"] * 3 + ["reminder"] * 4 + ["assignment"] * 8
    with session_scope() as session:
        per_day = dict(
            session.execute(select(func.date(OutboundEmail.sent_at), func.count()).group_by(func.date(OutboundEmail.sent_at))).all()
        )  # fmt: skip
    assert sorted(per_day.values()) == [4, 8, 8]
    assert outbox_waiting(first + timedelta(days=3)).days_to_drain == 0


def test_the_minute_quota_caps_a_run_and_says_how_long_to_wait(workspace, smtp_server, monkeypatch) -> None:
    quotas(monkeypatch, smtp_per_minute=6, smtp_wait_max_seconds=0)
    day = clock.today()  # the minute window is real time: replays of today only
    queue_mix(day)
    assert deliver_outbox(day).sent == 6
    assert len(smtp_server.messages()) == 6
    with session_scope() as session:
        left = room(session, day)
        waiting = session.scalar(select(func.count()).where(OutboundEmail.status == EmailStatus.QUEUED))
    assert left.messages == 0 and left.limited_by == "minute" and 1.0 <= left.wait_seconds <= 60.0
    assert waiting == 14


def test_the_minute_window_moves_on(workspace, monkeypatch) -> None:
    quotas(monkeypatch, smtp_per_minute=2)
    day = clock.today()
    queue_mix(day)
    now = clock.moment(day)
    with session_scope() as session:
        ids = session.scalars(select(OutboundEmail.id).order_by(OutboundEmail.id).limit(2)).all()
        for row_id, ago in zip(ids, (50, 20), strict=True):
            row = session.get_one(OutboundEmail, row_id)
            row.status, row.sent_at = EmailStatus.SENT, now - timedelta(seconds=ago)
    with session_scope() as session:
        full = room(session, day)
    assert full.limited_by == "minute" and 8 <= full.wait_seconds <= 11  # the older send leaves the window in ~10 s
    with session_scope() as session:
        session.get_one(OutboundEmail, ids[0]).sent_at = datetime.now(clock.VN_TZ) - timedelta(seconds=61)
    with session_scope() as session:
        assert room(session, day).messages == 1
