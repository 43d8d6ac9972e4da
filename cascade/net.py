"""Small network helpers shared by the local servers (portal, SMTP sink, IMAP)."""

from __future__ import annotations

import socket


def free_port(preferred: int | None = None, host: str = "127.0.0.1") -> int:
    """`preferred` when nothing listens on it, else a port the system picks."""
    candidates = [preferred, 0] if preferred else [0]
    for port in candidates:
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise OSError("no free port")
