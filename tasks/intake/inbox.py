"""The reply mailbox over IMAP (imap-tools): connect, list, fetch with arrival dates, tag and move.

Reading never changes a message (BODY.PEEK: no \\Seen flag); a message leaves the inbox only
through `file_away`, which the intake calls after the message's outcome is committed.
"""

from __future__ import annotations

import contextlib
import email.policy
import imaplib
import re
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesParser, Parser

from imap_tools import AND, BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError

from cascade.errors import CascadeError
from cascade.settings import Settings, get_settings


class MailboxError(CascadeError):
    """The reply mailbox cannot be reached or refused the login; nothing was read."""


@dataclass(frozen=True)
class Fetched:
    """One message of the inbox, as stored on the server."""

    uid: str
    raw: bytes  # the whole message; only its header when it is over the size limit
    arrived_at: datetime  # INTERNALDATE: when the mailbox received it (the sender cannot set it)
    size: int
    truncated: bool = False


def _client(settings: Settings) -> BaseMailBox:
    host, port, timeout = settings.imap_host, settings.resolved_imap_port, settings.imap_timeout_seconds
    if not host:
        raise MailboxError("no reply mailbox is configured: set CASCADE_IMAP_HOST (and CASCADE_IMAP_USER, CASCADE_IMAP_PASSWORD)")
    if settings.imap_security == "ssl":
        return MailBox(host, port, timeout=timeout, ssl_context=ssl.create_default_context())
    if settings.imap_security == "starttls":
        return MailBoxStartTls(host, port, timeout=timeout, ssl_context=ssl.create_default_context())
    return MailBoxUnencrypted(host, port, timeout=timeout)


@contextmanager
def mailbox(settings: Settings | None = None) -> Iterator[BaseMailBox]:
    """The reply mailbox, logged in with its inbox selected; raises MailboxError when it cannot be reached."""
    s = settings if settings is not None else get_settings()
    user = s.resolved_imap_user
    where = f"IMAP {s.imap_host}:{s.resolved_imap_port} ({s.imap_security})"
    try:
        box = _client(s)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"cannot connect to {where}: {type(exc).__name__}: {exc}") from exc
    try:
        password = s.imap_password.get_secret_value() if s.imap_password is not None else ""
        box.login(user or "", password, initial_folder=s.imap_inbox)
    except MailboxLoginError as exc:
        box.logout()
        raise MailboxError(f"{where} refused the login of {user!r}: {exc}") from None
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"{where}: {type(exc).__name__}: {exc}") from exc
    try:
        yield box
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):  # the connection is gone either way
            box.logout()


def ensure_folders(box: BaseMailBox, names: Sequence[str]) -> None:
    """Create the folders replies are filed into, once."""
    for name in names:
        if not box.folder.exists(name):
            box.folder.create(name)


def inbox_uids(box: BaseMailBox) -> list[str]:
    """UIDs of the selected folder's messages, oldest first (a message half-moved by a crash is \\Deleted: skipped)."""
    return sorted(box.uids(AND(deleted=False)), key=int)


_ITEM = re.compile(rb"UID (\d+)|INTERNALDATE \"([^\"]+)\"|RFC822\.SIZE (\d+)")


def _meta(box: BaseMailBox, uids: Sequence[str]) -> dict[str, tuple[datetime, int]]:
    status, data = box.client.uid("FETCH", ",".join(uids), "(UID INTERNALDATE RFC822.SIZE)")
    if status != "OK":
        raise MailboxError(f"FETCH of the arrival dates failed: {data!r}")
    found: dict[str, tuple[datetime, int]] = {}
    for line in data:
        text = line[0] if isinstance(line, tuple) else line
        if not isinstance(text, bytes):
            continue
        uid = arrived = size = None
        for m in _ITEM.finditer(text):
            if m[1]:
                uid = m[1].decode()
            elif m[2]:
                arrived = datetime.strptime(m[2].decode(), "%d-%b-%Y %H:%M:%S %z")
            elif m[3]:
                size = int(m[3])
        if uid and arrived is not None and size is not None:
            found[uid] = (arrived, size)
    return found


def _bodies(box: BaseMailBox, uids: Sequence[str], part: str) -> dict[str, bytes]:
    if not uids:
        return {}
    status, data = box.client.uid("FETCH", ",".join(uids), f"(UID BODY.PEEK[{part}])")
    if status != "OK":
        raise MailboxError(f"FETCH of {len(uids)} message(s) failed: {data!r}")
    found: dict[str, bytes] = {}
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            uid = re.search(rb"UID (\d+)", item[0])
            if uid:
                found[uid[1].decode()] = item[1]
    return found


def fetch(box: BaseMailBox, uids: Sequence[str], max_bytes: int) -> list[Fetched]:
    """The messages with these UIDs (those gone meanwhile are left out); over `max_bytes`, only the header."""
    meta = _meta(box, uids)
    small = [u for u in uids if u in meta and meta[u][1] <= max_bytes]
    large = [u for u in uids if u in meta and meta[u][1] > max_bytes]
    whole, headers = _bodies(box, small, ""), _bodies(box, large, "HEADER")
    fetched = []
    for uid in uids:
        if uid in whole or uid in headers:
            arrived, size = meta[uid]
            fetched.append(Fetched(uid, whole.get(uid) or headers[uid], arrived, size, truncated=uid in headers))
    return fetched


def keyword(reason: str) -> str:
    """The IMAP keyword a message is tagged with in its folder: 'cascade-no-form' (an atom: no spaces)."""
    return "cascade-" + reason.replace("_", "-")


def file_away(box: BaseMailBox, uids: Sequence[str], folder: str, tag: str | None = None) -> None:
    """Tag the messages and move them to `folder` (a UID already gone is no error: another run moved it)."""
    if not uids:
        return
    if tag:
        box.flag(list(uids), tag, True)
    box.move(list(uids), folder)


__all__ = ["Fetched", "MailboxError", "ensure_folders", "fetch", "file_away", "inbox_uids", "keyword", "mailbox"]


def parse_message(raw: bytes) -> EmailMessage:
    """Parse one stored message with `email.policy.default`.

    Raw UTF-8 header values (SMTPUTF8 mail) are re-read as text so that display names decode.
    """
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    if not head.isascii():
        try:
            text_head = head.decode("utf-8")
        except UnicodeDecodeError:
            return message
        headers = Parser(policy=email.policy.default).parsestr(text_head + "\n\n", headersonly=True)
        for name in {n.lower() for n, v in headers.items() if not str(v).isascii()}:
            values = headers.get_all(name) or []
            del message[name]
            for value in values:
                message[name] = value
    return message
