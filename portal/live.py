"""Serving the portal from a background thread of this process (the demo; browser tests)."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from cascade.net import free_port

__all__ = ["free_port", "serving"]


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
