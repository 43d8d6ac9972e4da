"""Fixtures for the portal: the app on a cascaded plan, a day that tests move, a logged-in client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient

from cascade.settings import get_settings
from flows.cascade_plan import cascade_plan
from models.db import session_scope
from portal.app import create_app
from portal.jobs import Jobs
from portal.live import free_port, serving
from tasks.plans.contexts import portal_link
from tasks.plans.lookup import find_assignment, find_plan
from tests.fixtures.builders import Department
from tests.fixtures.smtp import SmtpServer
from tests.flows.helpers import by_subject, text_part

PASSWORD = "mat-khau-thu-nghiem"
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
SUBMIT_KEY = re.compile(r'name="submit_key" value="([^"]+)"')


@dataclass
class Day:
    """The day the portal acts on; tests move it through the cycle."""

    value: date = date(2024, 10, 20)


@dataclass
class Portal:
    client: TestClient
    day: Day
    jobs: Jobs
    plan: str

    def link(self, unit: str) -> str:
        with session_scope() as session:
            return portal_link(find_assignment(session, find_plan(session, self.plan), "bao_cao_nam", unit))

    def path(self, unit: str) -> str:
        return "/u/" + self.link(unit).rsplit("/u/", 1)[1]

    def csrf(self, html: str) -> str:
        found = CSRF.search(html)
        assert found, "the page has no CSRF field"
        return found.group(1)

    def login(self) -> None:
        page = self.client.get("/admin/login")
        response = self.client.post("/admin/login", data={"csrf": self.csrf(page.text), "user": "vanphong", "password": PASSWORD}, follow_redirects=False)
        assert response.status_code == 303, response.text


def link_in_notice(messages, unit_address: str) -> str:  # type: ignore[no-untyped-def]
    """The portal link printed in the unit's assignment email."""
    notice = next(m for m in by_subject(messages, "Giao nhiệm vụ") if m["To"].addresses[0].addr_spec == unit_address)
    found = re.search(r"(http://\S+/u/\S+)", text_part(notice))
    assert found, "the assignment email carries no portal link"
    return found.group(1)


@pytest.fixture()
def cascaded(department: Department, smtp_server) -> Department:  # type: ignore[no-untyped-def]
    """The seeded department with its plan cascaded on 05/04/2024 (four notices sent)."""
    cascade_plan(department.plan, date(2024, 4, 5))
    return department


@pytest.fixture()
def portal(cascaded, smtp_server, monkeypatch: pytest.MonkeyPatch) -> Iterator[Portal]:  # type: ignore[no-untyped-def]
    """The portal over the seeded department's cascaded plan, acting on 20/10/2024."""
    monkeypatch.setenv("CASCADE_DASHBOARD_PASSWORD", PASSWORD)
    get_settings.cache_clear()
    day, jobs = Day(), Jobs()
    app = create_app(lambda: day.value, jobs=jobs)
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        yield Portal(client, day, jobs, cascaded.plan)
    jobs.shutdown()


# The portal served for a real browser: uvicorn on a local port, the emails' links pointing at it.


@dataclass
class LivePortal:
    base_url: str
    day: Day
    jobs: Jobs
    plan: str
    smtp: SmtpServer


@pytest.fixture()
def live_portal(department: Department, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[LivePortal]:
    """The portal served by uvicorn on 127.0.0.1:<free port> in a background thread, over the seeded
    department's plan cascaded on 05/04/2024 with the links in the emails pointing at that server."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("CASCADE_PORTAL_BASE_URL", base_url)
    monkeypatch.setenv("CASCADE_DASHBOARD_PASSWORD", PASSWORD)
    get_settings.cache_clear()
    cascade_plan(department.plan, date(2024, 4, 5))

    day, jobs = Day(), Jobs()
    with serving(create_app(lambda: day.value, jobs=jobs), "127.0.0.1", port):
        yield LivePortal(base_url, day, jobs, department.plan, smtp_server)
        jobs.wait(60)
    jobs.shutdown()
