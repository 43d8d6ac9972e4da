"""The floor of `make bench`: the same messages, already built, sent over one SMTP connection.

Reads every message of a Maildir (as the benchmark's sink stored a cascade's notices), then times
only their sending: one `smtplib` connection, `sendmail` per message, nothing else. No program
that sends those bytes to that server can be much faster; the cascade is measured against it.
(The project itself sends through yagmail; this is a yardstick, not a way to send.)

    python benchmarks/peers/bare_delivery.py MAILDIR --port 2525
"""

from __future__ import annotations

import argparse
import smtplib
import time
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path


def read(path: Path) -> tuple[list[str], bytes]:
    """One stored message as (envelope recipients, raw bytes)."""
    raw = path.read_bytes()
    headers = BytesHeaderParser().parsebytes(raw)
    return [address for _, address in getaddresses([*headers.get_all("To", []), *headers.get_all("Cc", [])]) if address], raw


def load(maildir: Path) -> list[tuple[list[str], bytes]]:
    """Each message of `maildir` (new/ and cur/) as (envelope recipients, raw bytes)."""
    return [read(path) for path in sorted([*maildir.glob("new/*"), *maildir.glob("cur/*")])]


def deliver(messages: list[tuple[list[str], bytes]], port: int, host: str = "127.0.0.1", sender: str = "bench@plan-cascade.local") -> float:
    """Send the messages over one connection; returns the seconds it took."""
    started = time.perf_counter()
    with smtplib.SMTP(host, port) as smtp:
        for recipients, raw in messages:
            smtp.sendmail(sender, recipients, raw)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("maildir", type=Path)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    messages = load(args.maildir)
    seconds = deliver(messages, args.port, args.host)
    print(f"{len(messages)} messages in {seconds:.2f} s ({len(messages) / seconds:,.0f}/s)")


if __name__ == "__main__":
    main()
