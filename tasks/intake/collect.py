"""Prefect tasks of the reply collection: list the inbox, then decide and file away one batch at a time."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from prefect import task
from sqlalchemy.exc import SQLAlchemyError

from cascade.settings import get_settings
from models.inbound import IntakeOutcome
from tasks.intake.inbox import MailboxError, ensure_folders, fetch, file_away, inbox_uids, keyword, mailbox
from tasks.intake.replies import Decision, decide, mark_moved, unreadable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntakeTally:
    """What one collection did, by outcome; `seen_before` counts messages decided by an earlier run."""

    fetched: int = 0
    recorded: int = 0
    refused: int = 0
    quarantined: int = 0
    set_aside: int = 0
    seen_before: int = 0
    inbound_ids: tuple[int, ...] = field(default=(), repr=False)

    def __add__(self, other: IntakeTally) -> IntakeTally:
        return IntakeTally(
            self.fetched + other.fetched, self.recorded + other.recorded, self.refused + other.refused,
            self.quarantined + other.quarantined, self.set_aside + other.set_aside, self.seen_before + other.seen_before,
            self.inbound_ids + other.inbound_ids,
        )  # fmt: skip

    @classmethod
    def of(cls, decisions: list[Decision]) -> IntakeTally:
        new = [d for d in decisions if not d.seen_before]
        count = {outcome: sum(1 for d in new if d.outcome == outcome) for outcome in IntakeOutcome}
        return cls(
            len(decisions), count[IntakeOutcome.RECORDED], count[IntakeOutcome.REFUSED], count[IntakeOutcome.QUARANTINED],
            count[IntakeOutcome.SET_ASIDE], len(decisions) - len(new), tuple(d.inbound_id for d in decisions),
        )  # fmt: skip


@task(name="list-replies")
def list_replies() -> list[str]:
    """The UIDs waiting in the inbox, oldest first; creates the folders replies are filed into."""
    s = get_settings()
    with mailbox(s) as box:
        ensure_folders(box, [s.imap_processed_folder, s.imap_quarantine_folder, s.imap_review_folder])
        return inbox_uids(box)


@task(name="collect-batch")
def collect_batch(uids: list[str], as_of: date) -> IntakeTally:
    """Fetch a batch of messages, decide each (committing its outcome), then move each to its folder.

    A database or mailbox failure stops the batch: what was decided is filed away by the next run.
    A message that cannot be read for any other reason is set aside, not retried forever.
    """
    s = get_settings()
    decisions: list[tuple[str, Decision]] = []
    with mailbox(s) as box:
        for message in fetch(box, uids, int(s.imap_max_message_mb * 1024 * 1024)):
            try:
                decision = decide(message, as_of)
            except (SQLAlchemyError, MailboxError):
                raise
            except Exception as exc:  # a message no rule foresaw must not block the inbox
                log.exception("message UID %s could not be read; set aside", message.uid)
                decision = unreadable(message, as_of, exc)
            decisions.append((message.uid, decision))
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for uid, decision in decisions:
            groups[(decision.folder, decision.reason)].append(uid)
        for (folder, reason), group in groups.items():
            file_away(box, group, folder, keyword(reason))
    mark_moved([d.inbound_id for _, d in decisions], as_of)
    return IntakeTally.of([d for _, d in decisions])
