"""Outgoing mail: the outbox, the sending quotas and the one module that speaks SMTP (through yagmail)."""
