"""Keep secrets out of logs: the configured passwords and keys, portal links and reply tokens.

Admins read flow-run logs in the Prefect UI, which stores them in its database; a unit's portal
link or its reply address is as good as its password, so neither may appear there.
"""

from __future__ import annotations

import logging
import re

import prefect  # noqa: F401  (importing Prefect installs its handlers: filter those)

from cascade.settings import get_settings

# '/u/<link token>' in a portal link, '+<token>@' in a reply address (tokens are URL-safe base64).
_TOKENS = re.compile(r"(/u/|\+)[A-Za-z0-9_-]{16,}(?=@|\b|/|$)")
MASK = "***"
LOGGERS = ("", "prefect", "prefect.flow_runs", "prefect.task_runs")


def redact(text: str) -> str:
    """`text` with every configured secret and every link or reply token replaced by '***'."""
    settings = get_settings()
    for secret in (settings.smtp_password, settings.imap_password, settings.dashboard_password, settings.portal_secret):
        value = secret.get_secret_value() if secret is not None else ""
        if len(value) >= 4:
            text = text.replace(value, MASK)
    return _TOKENS.sub(lambda m: f"{m[1]}{MASK}", text)


class RedactingFilter(logging.Filter):
    """A handler filter that rewrites each record's message before any handler formats or ships it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install() -> None:
    """Add the filter to every handler of the root logger and Prefect's (the console, and the API handler that
    ships run logs to the server); idempotent."""
    for name in LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
