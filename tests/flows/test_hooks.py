"""A failed top-level flow run is emailed to the admins through the real SMTP server, once."""

from __future__ import annotations

import json

import pytest
from prefect import flow

from cascade.settings import get_settings
from flows.hooks import FAILURE_HOOKS
from tests.flows.helpers import text_part

pytestmark = pytest.mark.usefixtures("prefect_harness")


@flow(name="broken-step", **FAILURE_HOOKS)
def broken_step(as_of: str) -> None:
    raise ValueError(f"bảng tính hỏng ở ô B7 ({as_of})")


@flow(name="outer-run", flow_run_name="outer-run-{as_of}", **FAILURE_HOOKS)
def outer_run(as_of: str) -> None:
    broken_step(as_of)


@pytest.fixture()
def admins(workspace, smtp_server, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CASCADE_ADMIN_EMAILS", json.dumps(["quantri@sxd.example.gov.vn", "kythuat@sxd.example.gov.vn"]))
    get_settings.cache_clear()
    return smtp_server


def test_a_failed_run_emails_the_admins_once_not_once_per_subflow(admins) -> None:
    with pytest.raises(ValueError, match="ô B7"):
        outer_run("2024-11-01")
    messages = admins.messages()
    assert len(messages) == 1
    message = messages[0]
    assert sorted(a.addr_spec for a in message["To"].addresses) == ["kythuat@sxd.example.gov.vn", "quantri@sxd.example.gov.vn"]
    assert message["Subject"] == "[plan-cascade] Lượt chạy outer-run-2024-11-01 (outer-run) thất bại"
    body = text_part(message)
    assert "bảng tính hỏng ở ô B7 (2024-11-01)" in body and "as_of = 2024-11-01" in body


def test_without_admins_a_failure_sends_nothing(workspace, smtp_server) -> None:
    with pytest.raises(ValueError):
        outer_run("2024-11-02")
    assert smtp_server.messages() == []


def test_logs_reaching_the_prefect_api_carry_no_secrets(workspace, monkeypatch) -> None:
    """The handlers Prefect installed (console, API) redact passwords, portal links and reply tokens."""
    import logging

    from prefect.logging.handlers import APILogHandler

    from cascade.redact import LOGGERS, RedactingFilter

    monkeypatch.setenv("CASCADE_SMTP_PASSWORD", "mat-khau-smtp-123")
    get_settings.cache_clear()
    handlers = [h for name in LOGGERS[1:] for h in logging.getLogger(name).handlers]
    assert any(isinstance(h, APILogHandler) for h in handlers)
    assert all(any(isinstance(f, RedactingFilter) for f in h.filters) for h in handlers)
    record = logging.LogRecord("prefect.flow_runs", logging.WARNING, __file__, 1, "login %s failed; link %s; reply to %s", (
        "mat-khau-smtp-123", "https://baocao.example.gov.vn/u/Zq3xY1u2v3w4x5y6z7A8B9C0", "baocao+Q1w2E3r4T5y6U7i8O9p0@example.gov.vn",
    ), None)  # fmt: skip
    for handler in handlers:
        assert all(f.filter(record) for f in handler.filters)
    message = record.getMessage()
    assert message == "login *** failed; link https://baocao.example.gov.vn/u/***; reply to baocao+***@example.gov.vn"
