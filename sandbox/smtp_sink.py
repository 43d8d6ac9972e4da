"""A local SMTP sink: the embedded default mail server for demos and tests.

`LocalMailbox` runs an aiosmtpd server in a background thread and stores every message it
receives, byte for byte, in a Maildir folder. It accepts SMTPUTF8 and 8BITMIME, asks for
no authentication and offers no TLS: bind it to a loopback address only. Recipients that one of
its `deliveries` accepts (the reply mailbox, see `sandbox.imap_server.ImapDelivery`) are handed to
that delivery instead, as a mail server hands its local mailboxes' mail to their store.
"""

from __future__ import annotations

import asyncio
import contextlib
import mailbox
import re
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol
from weakref import WeakKeyDictionary

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tasks.intake.inbox import parse_message

DEFAULT_HOST = "127.0.0.1"


class LocalDelivery(Protocol):
    """A mailbox this server delivers into itself rather than storing the message in its Maildir."""

    def accepts(self, recipient: str) -> bool: ...

    def deliver(self, raw: bytes, mail_from: str, recipient: str) -> None: ...


@dataclass(frozen=True)
class ReceivedEnvelope:
    """The SMTP envelope of one stored message: who sent it to whom, over which connection."""

    key: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    peer: Any
    connection: int
    smtp_utf8: bool


class MaildirHandler:
    """aiosmtpd handler: stores each message's raw bytes in a Maildir and records its envelope.

    `connections` counts SMTP sessions that greeted (EHLO/HELO); `envelopes` lists what was
    delivered, in order. Override `recipient_refusal` to refuse addresses.
    """

    def __init__(self, maildir: Path | str, deliveries: Sequence[LocalDelivery] = ()) -> None:
        self.maildir = Path(maildir)
        self.deliveries = tuple(deliveries)
        for sub in ("tmp", "new", "cur"):  # also when the folder exists but is empty
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
        self._box = mailbox.Maildir(self.maildir, create=False)
        self._lock = threading.Lock()
        self._connections = 0
        self._connection_of: WeakKeyDictionary[Session, int] = WeakKeyDictionary()  # each greeted session's number
        self._envelopes: list[ReceivedEnvelope] = []

    @property
    def connections(self) -> int:
        with self._lock:
            return self._connections

    @property
    def envelopes(self) -> list[ReceivedEnvelope]:
        with self._lock:
            return list(self._envelopes)

    def recipient_refusal(self, address: str) -> str | None:
        """The SMTP reply refusing `address` (e.g. '550 5.1.1 ...'), or None to accept it."""
        return None

    def _greeted(self, session: Session) -> None:
        with self._lock:
            if session not in self._connection_of:
                self._connections += 1
                self._connection_of[session] = self._connections

    async def handle_HELO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str) -> str:
        session.host_name = hostname
        self._greeted(session)
        return f"250 {server.hostname}"

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]) -> list[str]:
        session.host_name = hostname
        self._greeted(session)
        return responses

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]) -> str:
        refusal = self.recipient_refusal(address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        if raw is None:
            content = envelope.content or b""
            raw = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
        mail_from = envelope.mail_from or ""
        stored = []
        for recipient in envelope.rcpt_tos:
            delivery = next((d for d in self.deliveries if d.accepts(recipient)), None)
            if delivery is None:
                stored.append(recipient)
                continue
            try:  # blocking IMAP I/O: off the server's event loop
                await asyncio.get_running_loop().run_in_executor(None, delivery.deliver, raw, mail_from, recipient)
            except Exception as exc:  # the sender keeps the message and retries, as with any mail server
                return f"451 4.3.0 local delivery to {recipient} failed: {type(exc).__name__}"
        if not stored:
            return "250 OK: delivered"
        # Trace headers go on top, as an MTA would add them; the message itself is kept as sent.
        trace = (f"X-Peer: {session.peer!r}\r\nX-MailFrom: {mail_from}\r\nX-RcptTo: {', '.join(stored)}\r\n").encode()
        with self._lock:
            key = self._box.add(trace + raw)
            self._envelopes.append(
                ReceivedEnvelope(
                    key=key,
                    mail_from=mail_from,
                    rcpt_tos=tuple(stored),
                    peer=session.peer,
                    connection=self._connection_of.get(session, 0),
                    smtp_utf8=envelope.smtp_utf8,
                )
            )
        return f"250 OK: queued as {key}"


class _BoundController(Controller):
    """A Controller serving on a socket we bound ourselves, so port 0 yields a known free port."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


def _bind(host: str, port: int) -> socket.socket:
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    return socket.create_server(address[:2], family=family)


class LocalMailbox:
    """An SMTP sink on `host:port` writing into the Maildir `maildir`; usable as a context manager.

    With `port=0` a free port is chosen; `.port` gives the bound port once started.
    """

    def __init__(
        self,
        maildir: Path | str,
        host: str = DEFAULT_HOST,
        port: int = 0,
        *,
        handler: MaildirHandler | None = None,
        deliveries: Sequence[LocalDelivery] = (),
    ) -> None:
        self.maildir = Path(maildir)
        self.host = host
        self._requested_port = port
        self.handler = handler if handler is not None else MaildirHandler(self.maildir, deliveries)
        self._controller: _BoundController | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("LocalMailbox is not started")
        return self._port

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> LocalMailbox:
        """Bind, start serving in a background thread and return self; raises OSError if the port is taken."""
        if self._controller is not None:
            raise RuntimeError("LocalMailbox already started")
        sock = _bind(self.host, self._requested_port)
        controller = _BoundController(
            self.handler,
            sock,
            loop=asyncio.new_event_loop(),
            server_hostname=socket.gethostname(),  # avoids aiosmtpd's slow getfqdn() lookup
            enable_SMTPUTF8=True,
            decode_data=False,  # keep bytes: advertises 8BITMIME
        )
        try:
            controller.start()
        except BaseException:
            controller.stop(no_assert=True)
            sock.close()
            if not controller.loop.is_closed():
                controller.loop.close()
            raise
        self._port = sock.getsockname()[1]
        self._controller = controller
        return self

    def stop(self) -> None:
        """Stop serving and release the port; a no-op when not running."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def messages(self) -> list[EmailMessage]:
        return read_maildir(self.maildir)

    def __enter__(self) -> LocalMailbox:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


_KEY_RE = re.compile(r"^(\d+)\.M(\d+)P\d+Q(\d+)")


def _arrival(path: Path) -> tuple[int, int, int]:
    """Sort key: the delivery time Python's Maildir writes into the file name, else the mtime."""
    match = _KEY_RE.match(path.name)
    if match:
        seconds, micros, count = match.groups()
        return int(seconds), int(micros), int(count)
    mtime_ns = path.stat().st_mtime_ns
    return mtime_ns // 10**9, mtime_ns % 10**9 // 1000, 0


def read_maildir(path: Path | str) -> list[EmailMessage]:
    """Every message in the Maildir at `path` (new and cur), parsed, oldest arrival first."""
    root = Path(path)
    files = [f for sub in ("new", "cur") if (root / sub).is_dir() for f in (root / sub).iterdir() if f.is_file()]
    files.sort(key=_arrival)
    return [_parsed(str(f), f.stat().st_size) for f in files]


@lru_cache(maxsize=8192)
def _parsed(path: str, size: int) -> EmailMessage:
    """A delivered message never changes (Maildir files are written once, then only renamed): a caller
    reading the folder again and again, as the demo's units and the tests do, parses each one once."""
    return parse_message(Path(path).read_bytes())


def serve_forever(
    maildir: Path | str,
    host: str = DEFAULT_HOST,
    port: int = 8025,
    *,
    on_ready: Callable[[LocalMailbox], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve until Ctrl-C (or until `stop` is set); `on_ready` is called once listening."""
    stop = stop if stop is not None else threading.Event()
    with LocalMailbox(maildir, host, port) as box:
        if on_ready is not None:
            on_ready(box)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


__all__ = [
    "DEFAULT_HOST",
    "LocalDelivery",
    "LocalMailbox",
    "MaildirHandler",
    "ReceivedEnvelope",
    "parse_message",
    "read_maildir",
    "serve_forever",
]
