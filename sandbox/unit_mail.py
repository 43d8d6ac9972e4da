"""A unit's mail program, for the demo and the tests: it answers an email from the system over SMTP.

The reply is what Outlook or Thunderbird sends when someone presses Reply: to every Reply-To
address (the reply mailbox, then the issuing office), "Re: " and the subject, threaded by
In-Reply-To and References, with the files attached. It goes through yagmail to an SMTP server, never into the mailbox directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid
from pathlib import Path

import yagmail


def reply_addresses(notice: EmailMessage) -> list[str]:
    """Where a reply to `notice` goes: every address of its Reply-To, else its sender."""
    return [address for _, address in getaddresses([str(notice.get("Reply-To") or notice["From"])]) if address]


def send_reply(
    notice: EmailMessage,
    *,
    sender: str,
    smtp_host: str,
    smtp_port: int,
    body: str,
    attachments: Sequence[Path] = (),
    to: str | None = None,
    subject: str | None = None,
    headers: Mapping[str, str] | None = None,
    threaded: bool = True,
) -> str:
    """Reply to `notice` as `sender` (or send to `to` with `subject`, as a new message); returns its Message-ID.

    `headers` adds or overrides header lines (an autoresponder's Auto-Submitted, say); `threaded=False`
    leaves out In-Reply-To and References (a new message rather than a reply). Raises
    RuntimeError when the server did not take the message.
    """
    message_id = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    thread = {"In-Reply-To": str(notice["Message-ID"]), "References": str(notice["Message-ID"])} if threaded else {}
    client = yagmail.SMTP(
        user=sender, host=smtp_host, port=smtp_port, smtp_ssl=False, smtp_starttls=False, smtp_skip_login=True, soft_email_validation=False,
    )  # fmt: skip
    try:
        result = client.send(
            to=to or reply_addresses(notice),
            subject=subject if subject is not None else f"Re: {notice['Subject']}",
            contents=[body],
            attachments=[str(p) for p in attachments] or None,
            headers={**thread, **(headers or {})},
            prettify_html=False,
            message_id=message_id,
            group_messages=False,
        )
    finally:
        client.close()
    if result is False:
        raise RuntimeError(f"the SMTP server on {smtp_host}:{smtp_port} did not take the reply of {sender}")
    return message_id


__all__ = ["reply_addresses", "send_reply"]
