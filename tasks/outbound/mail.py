"""Building and sending email: the only module that imports yagmail.

yagmail is pinned to 0.16.0 (pyproject.toml) because `Mailer` calls its private
`Client._attempt_send` to reuse one logged-in connection for a whole batch: yagmail's public
`send()` reconnects and logs in again for every message. Re-check `Mailer` on any upgrade.
"""

from __future__ import annotations

import logging
import os
import random
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.generator import Generator
from email.message import Message
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, getaddresses, make_msgid
from io import StringIO
from pathlib import Path
from types import TracebackType
from typing import Any

import yagmail
from yagmail.headers import resolve_addresses
from yagmail.message import prepare_message

from cascade.settings import Settings, get_settings
from models.outbox import OutgoingEmail

log = logging.getLogger(__name__)

_ENCODING = "utf-8"
_NEWLINES = re.compile(r"\r\n|\r|\n")


class DeliveryError(Exception):
    """One message was not (fully) delivered.

    `permanent` is True for 5xx replies and unsendable messages (retrying will not help);
    `refused` maps refused recipients to `(code, reply)`; when it is non-empty but not every
    recipient is listed, the message did reach the others.
    """

    def __init__(
        self,
        message_id: str,
        reason: str,
        *,
        permanent: bool = False,
        refused: dict[str, tuple[int, str]] | None = None,
    ) -> None:
        super().__init__(f"{message_id}: {reason}")
        self.message_id = message_id
        self.reason = reason
        self.permanent = permanent
        self.refused = dict(refused or {})


class MissingAttachmentError(FileNotFoundError):
    """An attachment path of a message does not name an existing file."""

    def __init__(self, message_id: str, path: str) -> None:
        super().__init__(f"{message_id}: attachment file not found: {path}")
        self.message_id = message_id
        self.path = path


class MailServerError(Exception):
    """The SMTP server could not be reached, or refused our login: nothing was sent."""


def new_message_id(domain: str) -> str:
    """A fresh, globally unique Message-ID with angle brackets, e.g. '<1732.1.2@plan-cascade.local>'."""
    return make_msgid(domain=domain)


def _one_line(value: str) -> str:
    """A header value on one line: line breaks would inject headers."""
    return _NEWLINES.sub(" ", value).strip()


def _addresses(values: Iterable[str], *, message_id: str) -> list[tuple[str, str]]:
    """Parse RFC 5322 address strings (with display names) into (name, addr) pairs."""
    values = list(values)
    pairs = [(name, addr) for name, addr in getaddresses(values) if name or addr]
    for name, addr in pairs:
        if "@" not in addr:
            raise ValueError(f"{message_id}: not an email address: {name or addr!r} in {values!r}")
    return pairs


def _format(pairs: list[tuple[str, str]]) -> list[str]:
    # formataddr RFC 2047-encodes non-ASCII display names and leaves the address readable.
    return [formataddr((name, addr)) for name, addr in pairs]


def envelope_recipients(email: OutgoingEmail) -> list[str]:
    """The bare addresses for RCPT TO (To then Cc), without duplicates; only `envelope_only` when it is set
    (a retry to the addresses that refused the message for now)."""
    if email.envelope_only:
        return list(email.envelope_only)
    seen: set[str] = set()
    result: list[str] = []
    for _, addr in _addresses([*email.email_to, *email.email_cc], message_id=email.message_id):
        if addr.lower() not in seen:
            seen.add(addr.lower())
            result.append(addr)
    return result


def build_message(email: OutgoingEmail, *, sender: str, sender_name: str, date: datetime) -> Message:
    """The MIME message for `email`, built by yagmail, From `sender_name <sender>`, dated `date`.

    Raises ValueError for a naive `date`, a malformed Message-ID or address, and
    MissingAttachmentError for an attachment path that is not a file.
    """
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError(f"{email.message_id}: the Date must be timezone-aware, got {date!r}")
    message_id = email.message_id.strip()
    if not (message_id.startswith("<") and message_id.endswith(">") and "@" in message_id):
        raise ValueError(f"not a Message-ID with angle brackets: {email.message_id!r}")
    to = _format(_addresses(email.email_to, message_id=message_id))
    if not to:
        raise ValueError(f"{message_id}: no recipient")
    cc = _format(_addresses(email.email_cc, message_id=message_id))

    attachments = [os.fspath(p) for p in email.attachments]
    for path in attachments:
        if not os.path.isfile(path):
            raise MissingAttachmentError(message_id, path)

    # yagmail turns every newline of an HTML content string into <br> (inside <style> too):
    # hand it one line. It would also attach a content string that names an existing file.
    html = _NEWLINES.sub(" ", email.html)
    if html and os.path.isfile(html):
        raise ValueError(f"{message_id}: the HTML body is a file path, yagmail would attach it")

    headers = {"Date": format_datetime(date)}
    if email.reply_to:
        headers["Reply-To"] = ", ".join(_format(_addresses([email.reply_to], message_id=message_id)))
    if email.in_reply_to:
        headers["In-Reply-To"] = _one_line(email.in_reply_to)
    if email.references:
        headers["References"] = _one_line(email.references)
    # Message-ID goes through `message_id=`: through `headers=` yagmail would add a second one.

    # No address validation here (soft_email_validation=False semantics): the strings carry
    # display names, which yagmail's regex rejects; _addresses() checked them instead.
    addresses = resolve_addresses(sender, sender_name, to, cc or None, None)
    msg = prepare_message(
        sender,
        sender_name,
        addresses,
        _one_line(email.subject),
        html,
        attachments or None,
        headers,
        _ENCODING,
        prettify_html=False,
        message_id=message_id,
        group_messages=False,
    )
    # yagmail escapes quotes in the name before formataddr, which then shows in the decoded name.
    msg.replace_header("From", formataddr((sender_name, sender)))

    # yagmail fills the text/plain alternative with the HTML source (newlines as <br>), and
    # send() offers no way to give a plain-text body: put our own text there.
    # It also wraps the HTML in a <div>, around our DOCTYPE: the HTML part gets our document as it is.
    alternative = next(p for p in msg.get_payload() if p.get_content_type() == "multipart/alternative")
    parts = alternative.get_payload()
    for i, part in enumerate(parts):
        if part.get_content_type() == "text/plain":
            parts[i] = MIMEText(email.text, "plain", _ENCODING)
        elif part.get_content_type() == "multipart/related" and email.html:
            related = part.get_payload()
            for j, inner in enumerate(related):
                if inner.get_content_type() == "text/html":
                    related[j] = MIMEText(email.html, "html", _ENCODING)

    # yagmail sets Content-Disposition only on application/* files, and writes 'None/None' as
    # the type of an extension mimetypes does not know: fix both so every file is an attachment.
    for part, path in zip(msg.get_payload()[1:], attachments, strict=True):
        if part.get_content_type() == "none/none":
            part.set_type("application/octet-stream")
        if part.get("Content-Disposition") is None:
            part.add_header("Content-Disposition", "attachment", filename=Path(path).name)
    return msg


_FOLDED: dict[tuple[str, str, str], str] = {}  # (the policy's repr: its settings, name, value) → the folded header
_FOLDED_KEPT = 4096


class _Generator(Generator):
    """The stdlib generator, writing the same text faster: an attachment's base64 text in one piece
    instead of line by line (its lines already end in the generator's newline), and a header it has
    folded before (the sender, the parts' types, the same attachment's name) from a cache; a short
    printable ASCII header as it is, which is what compat32 folding makes of it (tests/tasks/test_mail.py)."""

    def _write_headers(self, msg: Message) -> None:
        policy = self.policy
        assert policy is not None  # flatten() sets it before writing any header
        settings = repr(policy)  # a policy is cloned for every message: its settings, not its identity, make the key
        # compat32 runs every header through email.header.Header, a third of the time building a message
        limit = policy.max_line_length if type(policy) is type(compat32) else None
        for name, value in msg.raw_items():
            if not isinstance(value, str):
                self.write(policy.fold(name, value))
                continue
            if limit and len(name) + 2 + len(value) <= limit and value.isascii() and value.isprintable():
                self.write(f"{name}: {value}{policy.linesep}")
                continue
            folded = _FOLDED.get((settings, name, value))
            if folded is None:
                if len(_FOLDED) >= _FOLDED_KEPT:
                    _FOLDED.clear()
                folded = _FOLDED[(settings, name, value)] = policy.fold(name, value)
            self.write(folded)
        self.write(self._NL)  # type: ignore[attr-defined]

    @classmethod
    def _make_boundary(cls, text: str | None = None) -> str:
        # The stdlib compiles a regular expression for every boundary it checks, three a message and a
        # fifth of the time building one; a substring test is quicker, and stricter (anywhere, not only
        # at a line's start).
        boundary = f"{'=' * 15}{random.randrange(sys.maxsize):019d}=="  # as the stdlib makes them
        chosen, counter = boundary, 0
        while text is not None and "--" + chosen in text:
            chosen, counter = f"{boundary}.{counter}", counter + 1
        return chosen

    def _handle_application(self, msg: Message) -> None:
        payload = msg.get_payload()
        if isinstance(payload, str) and self._NL == "\n" and "\r" not in payload and not self._mangle_from_:  # type: ignore[attr-defined]  # the generator's own settings, private in the stubs
            self.write(payload)
        else:
            self._handle_text(msg)  # type: ignore[attr-defined]  # what the stdlib generator does for every non-text part


def message_text(msg: Message) -> str:
    """The message as sent: what `msg.as_string(maxheaderlen=78)` gives. Long headers are folded
    (as_string() defaults to no folding): RFC 2047 words <= 75 chars, long References chains stay
    far below the 998-character line limit."""
    out = StringIO()
    _Generator(out, mangle_from_=False, maxheaderlen=78, policy=msg.policy).flatten(msg)
    return out.getvalue()


_LINE_ENDS = re.compile(r"(?:\r\n|\n|\r(?!\n))")


def wire_bytes(text: str) -> bytes:
    """A message's text as smtplib sends it (every line end CRLF, ASCII): what `sendmail` makes of a str,
    without its regular expression over the whole message when the text has only '\n' line ends (ours do)."""
    return (text.replace("\n", "\r\n") if "\r" not in text else _LINE_ENDS.sub("\r\n", text)).encode("ascii")


@dataclass(frozen=True)
class WireMessage:
    """A message ready for the SMTP connection: its envelope recipients and its bytes as sent."""

    email: OutgoingEmail
    recipients: list[str]
    data: bytes


def wire_message(email: OutgoingEmail, settings: Settings, *, date: datetime | None = None) -> WireMessage:
    """`email` as `Mailer.send` sends it (see there), built without a connection: a thread may make the
    next messages while one is on the wire. Raises DeliveryError (permanent) for a missing attachment
    and ValueError for a message that cannot be built."""
    when = date if date is not None else email.date
    if when is None:
        raise ValueError(f"{email.message_id}: no date given for the Date header")
    try:
        msg = build_message(email, sender=settings.smtp_user, sender_name=email.sender_name or settings.mail_from_name, date=when)
    except MissingAttachmentError as exc:
        raise DeliveryError(email.message_id, str(exc), permanent=True) from exc
    return WireMessage(email, envelope_recipients(email), wire_bytes(message_text(msg)))


def _describe(exc: BaseException) -> tuple[str, bool, dict[str, tuple[int, str]]]:
    """Reason, permanence and refused recipients of an SMTP or socket error, read by attribute."""
    refused: dict[str, tuple[int, str]] = {}
    for addr, (code, reply) in (getattr(exc, "recipients", None) or {}).items():
        refused[addr] = (int(code), reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply))
    code = getattr(exc, "smtp_code", None)
    if refused:
        detail = "; ".join(f"{addr}: {c} {r}" for addr, (c, r) in refused.items())
        return f"all recipients refused: {detail}", all(c >= 500 for c, _ in refused.values()), refused
    if isinstance(code, int):
        reply = getattr(exc, "smtp_error", b"")
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        return f"{type(exc).__name__}: {code} {text}", code >= 500, refused
    return f"{type(exc).__name__}: {exc}", False, refused


# What yagmail's connection raises when the server has closed it (the class its own retry loop catches).
DISCONNECTED: type[OSError] = yagmail.sender.smtplib.SMTPServerDisconnected


class Mailer:
    """One SMTP connection (yagmail, logged in once) for a batch of messages.

    Use as `with Mailer(settings) as mailer: mailer.send(email, date=...)`; closing quits.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings if settings is not None else get_settings()
        self._client: Any = None
        self.sent = 0

    def open(self) -> Mailer:
        """Connect (and log in if a password is set); raises MailServerError on failure."""
        if self._client is not None:
            return self
        s = self.settings
        password = (s.smtp_password.get_secret_value() if s.smtp_password is not None else "") or None
        client = yagmail.SMTP(
            user=s.smtp_user,
            password=password,
            host=s.smtp_host,
            port=s.smtp_port,
            smtp_ssl=s.smtp_ssl,
            smtp_starttls=s.smtp_starttls,
            # Without a password yagmail would ask the keyring, which can hang on a prompt.
            smtp_skip_login=password is None,
            soft_email_validation=False,
            timeout=s.smtp_timeout_seconds,
        )
        client.log = log  # yagmail otherwise installs its own stderr handler
        try:
            client.login()
        except OSError as exc:  # socket, TLS and SMTP errors (the SMTP ones subclass OSError)
            self._close_client(client)
            raise MailServerError(f"cannot connect to SMTP {s.smtp_host}:{s.smtp_port} as {s.smtp_user}: {type(exc).__name__}: {exc}") from exc
        self._client = client
        return self

    def send(self, email: OutgoingEmail, *, date: datetime | None = None) -> None:
        """Send `email` over the open connection, dated `date` (default `email.date`), From its
        `sender_name` (else `mail_from_name`) at the account's own address (`smtp_user`).

        Raises DeliveryError unless the server accepted the message for every recipient;
        the connection stays usable after a refusal.
        """
        self.transmit(wire_message(email, self.settings, date=date))

    def transmit(self, message: WireMessage) -> None:
        """Send a message `wire_message` made over the open connection; raises DeliveryError as `send` does."""
        if self._client is None:
            raise RuntimeError("Mailer is not open: use `with Mailer(...) as mailer:`")
        email, recipients, data = message.email, message.recipients, message.data
        try:
            result = self._sendmail(recipients, data)
        except DISCONNECTED:
            # The connection dropped (the server restarted, or an idle timeout): log in again once and resend.
            # yagmail's own loop (_attempt_send) sleeps 3 and 6 s and logs in twice for every message, which
            # held a dead server's run 18 s a message; here a second failure ends the run (MailServerError),
            # and the run gives the rest of its batch back at once.
            self._reconnect()
            try:
                result = self._sendmail(recipients, data)
            except DISCONNECTED as exc:
                raise MailServerError(f"SMTP connection lost again after logging in anew: {exc}") from exc
            except OSError as exc:
                reason, permanent, refused = _describe(exc)
                raise DeliveryError(email.message_id, reason, permanent=permanent, refused=refused) from exc
        except OSError as exc:  # the SMTP errors subclass OSError; socket errors too
            if isinstance(exc, (ConnectionError, TimeoutError)):
                raise MailServerError(f"SMTP connection failed: {type(exc).__name__}: {exc}") from exc
            reason, permanent, refused = _describe(exc)
            raise DeliveryError(email.message_id, reason, permanent=permanent, refused=refused) from exc
        if result:  # some recipients refused, the others accepted the message
            refused = {
                addr: (int(code), reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)) for addr, (code, reply) in result.items()
            }
            detail = "; ".join(f"{addr}: {c} {r}" for addr, (c, r) in refused.items())
            raise DeliveryError(
                email.message_id,
                f"delivered to the other recipients, refused: {detail}",
                permanent=all(c >= 500 for c, _ in refused.values()),
                refused=refused,
            )
        self.sent += 1

    def _sendmail(self, recipients: list[str], data: bytes) -> dict[str, Any]:
        """SENDMAIL over the connection yagmail opened and logged in (the library's own `smtp` object)."""
        result: dict[str, Any] = self._client.smtp.sendmail(self._client.user, recipients, data)
        return result

    def _reconnect(self) -> None:
        """Log in again over a new connection (yagmail's `login`), once; raises MailServerError when the server is gone."""
        try:
            self._client.login()
        except OSError as exc:
            s = self.settings
            raise MailServerError(f"SMTP connection lost and cannot reconnect to {s.smtp_host}:{s.smtp_port}: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _close_client(client: Any) -> None:
        client.close()  # QUIT; swallows a dropped connection
        if client.smtp is not None:
            client.smtp.close()  # make sure the socket is released even if QUIT failed

    def close(self) -> None:
        """Quit the connection; a no-op when not open."""
        client, self._client = self._client, None
        if client is not None:
            try:
                self._close_client(client)
            except OSError as exc:  # the connection is gone either way
                log.warning("error while closing the SMTP connection: %s", exc)

    def __enter__(self) -> Mailer:
        return self.open()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


__all__ = [
    "DeliveryError",
    "MailServerError",
    "Mailer",
    "MissingAttachmentError",
    "WireMessage",
    "build_message",
    "envelope_recipients",
    "new_message_id",
    "wire_message",
]
