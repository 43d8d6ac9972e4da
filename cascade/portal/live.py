"""Serving the portal from a background thread of this process (the demo; browser tests)."""

from __future__ import annotations

import contextvars
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI


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


@contextmanager
def serving(app: FastAPI, host: str, port: int, timeout: float = 30.0) -> Iterator[str]:
    """Run uvicorn on host:port until the block ends; yields the base URL. The server thread runs in a
    copy of the caller's context, so flows the portal starts see the caller's Prefect settings."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=contextvars.copy_context().run, args=(server.run,), name="portal", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the portal did not start on {host}:{port}")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
