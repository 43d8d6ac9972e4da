"""Accounts on the secretariat's pages: each office sees and acts on its own unit and the units below it;
a viewer sees without acting; sessions live in the database and end on sign-out, disabling, idleness and
expiry; a one-time link sent through a real SMTP server signs in once."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select, update

from cascade import clock
from cascade.settings import get_settings
from flows.cascade_plan import cascade_plan
from flows.consolidate import consolidate
from models.account import Account, AccountRole, AccountSession, SignInLink
from models.assignment import Assignment
from models.audit import AuditEvent
from models.db import session_scope
from models.plan import Plan
from models.report import Report
from models.submission import Attachment, ReviewStatus, Submission
from models.unit import Unit
from portal.app import create_app
from portal.jobs import Jobs
from tasks.accounts.registry import add_account, set_disabled
from tasks.cascading.implementing import derived_key
from tasks.intake.submissions import record_submission
from tasks.plans.workbook import plan_workbook
from tests.fixtures.builders import make_plan, make_unit_tree
from tests.fixtures.smtp import SmtpServer
from tests.flows.helpers import submission, text_part

pytestmark = pytest.mark.usefixtures("prefect_harness")

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
ADMIN_PASSWORD = "mat-khau-quan-tri-goc"
PASSWORDS = {"vp@u1.example.vn": "mat-khau-phuong-1", "vp@u2.example.vn": "mat-khau-phuong-2", "lanhdao@root.example.vn": "mat-khau-chi-xem"}


@dataclass
class Wards:
    """ROOT issues 74/KH-SXD to U1 and U2, which issue their own plans to U1.1, U1.2 and U2.1, U2.2; one leaf
    of each ward has reported with evidence, and every level is consolidated."""

    app: object
    jobs: Jobs
    root: str
    plans: dict[str, str]  # ward code → its implementing plan's key
    smtp: SmtpServer

    def client(self) -> TestClient:
        return TestClient(self.app, base_url="http://127.0.0.1:8765")  # type: ignore[arg-type]  # a FastAPI app

    def sign_in(self, email: str, password: str | None = None) -> TestClient:
        client = self.client()
        token = csrf(client.get("/admin/login").text)
        response = client.post("/admin/login", data={"csrf": token, "user": email, "password": password or PASSWORDS[email]}, follow_redirects=False)
        assert response.status_code == 303, response.text
        return client


def csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def post(client: TestClient, path: str, **data: str) -> int:
    """POST a form the way the pages do (with the CSRF field of any page); the status, redirects not followed."""
    token = csrf(client.get("/admin/login").text)
    return client.post(path, data={"csrf": token, **data}, follow_redirects=False).status_code


def ids(leaf: str) -> tuple[int, int, int]:
    """The leaf's assignment, its latest submission and that submission's first attachment."""
    with session_scope() as session:
        assignment = session.scalars(select(Assignment).join(Unit, Unit.id == Assignment.unit_id).where(Unit.code == leaf)).one()
        latest = session.scalars(select(Submission).where(Submission.assignment_id == assignment.id).order_by(Submission.version.desc())).first()
        assert latest is not None
        attachment = session.scalars(select(Attachment).where(Attachment.submission_id == latest.id)).first()
        assert attachment is not None
        return assignment.id, latest.id, attachment.id


def report_of(unit: str) -> int:
    with session_scope() as session:
        found = session.scalars(select(Report.id).join(Unit, Unit.id == Report.unit_id).where(Unit.code == unit).order_by(Report.id.desc())).first()
        assert found is not None, f"no report of {unit}"
        return found


@pytest.fixture()
def wards(workspace: Path, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Wards]:
    monkeypatch.setenv("CASCADE_DASHBOARD_PASSWORD", ADMIN_PASSWORD)
    get_settings.cache_clear()
    make_unit_tree(depth=3, width=2)
    root = make_plan(assignees=None)
    with session_scope() as session:
        plan = session.scalars(select(Plan).where(Plan.key == root)).one()
        plan.cascade_policy = {"levels": [{"lead_days": 5, "issue": "auto"}, {"lead_days": 3, "issue": "auto"}]}
    cascade_plan(root, date(2024, 4, 5))
    plans = {ward: derived_key(root, ward) for ward in ("U1", "U2")}
    evidence = tmp_path / "bien-ban.pdf"
    evidence.write_bytes(b"%PDF-1.4 minimal evidence")
    for ward, leaf in (("U1", "U1.1"), ("U2", "U2.1")):
        report = submission(plans[ward], leaf, nha_o_xa_hoi=3, dan_van_kheo=1, nuoc_sach=(9, 10), hai_long=Decimal(96))
        record_submission.fn(replace(report, attachments=(evidence,)), date(2024, 10, 10))
    consolidate(root, "bao_cao_nam", date(2024, 10, 31))
    with session_scope() as session:
        now = clock.utc_now()
        for email, unit in (("vp@u1.example.vn", "U1"), ("vp@u2.example.vn", "U2")):
            add_account(session, unit, email, AccountRole.SECRETARIAT, actor="test", now=now, password=PASSWORDS[email])
        add_account(session, "ROOT", "lanhdao@root.example.vn", AccountRole.VIEWER, actor="test", now=now, password=PASSWORDS["lanhdao@root.example.vn"])
        add_account(session, "U1", "new@u1.example.vn", AccountRole.SECRETARIAT, actor="test", now=now)  # no password: link only
    jobs = Jobs()
    app = create_app(lambda: date(2024, 10, 20), jobs=jobs)
    yield Wards(app, jobs, root, plans, smtp_server)
    jobs.wait(60)
    jobs.shutdown()


def test_a_ward_secretariat_sees_and_acts_on_its_own_subtree_only(wards: Wards) -> None:
    office = wards.sign_in("vp@u1.example.vn")
    own, other = wards.plans["U1"], wards.plans["U2"]
    home = office.get("/admin").text
    assert f"/admin/plans/{own}/bao_cao_nam" in home
    assert f"/admin/plans/{other}/" not in home and f"/admin/plans/{wards.root}/" not in home
    assert "/admin/audit" not in home and "/admin/accounts" not in home

    # Another ward's plan, unit, report, file and actions, and the level above: 404, as if they did not exist
    assert office.get(f"/admin/plans/{own}/bao_cao_nam").status_code == 200
    assert office.get(f"/admin/plans/{other}/bao_cao_nam").status_code == 404
    assert office.get(f"/admin/plans/{wards.root}/bao_cao_nam").status_code == 404
    mine, theirs = ids("U1.1"), ids("U2.1")
    page = office.get(f"/admin/assignments/{mine[0]}")
    assert page.status_code == 200 and "Chấp nhận" in page.text
    assert f'href="/admin/plans/{own}/bao_cao_nam"' in page.text  # its way back is its own board, not the town's
    assert office.get(f"/admin/assignments/{theirs[0]}").status_code == 404
    assert office.get(f"/admin/attachments/{mine[2]}").status_code == 200
    assert office.get(f"/admin/attachments/{theirs[2]}").status_code == 404
    assert office.get(f"/admin/reports/{report_of('U1')}/0").status_code == 200
    assert office.get(f"/admin/reports/{report_of('U2')}/0").status_code == 404
    assert office.get(f"/admin/reports/{report_of('ROOT')}/0").status_code == 404
    assert post(office, f"/admin/submissions/{theirs[1]}/review", action="accept") == 404
    assert post(office, f"/admin/plans/{other}/bao_cao_nam/remind") == 404
    assert post(office, f"/admin/plans/{wards.root}/bao_cao_nam/consolidate") == 404
    assert office.get("/admin/audit").status_code == 404 and office.get("/admin/accounts").status_code == 404
    assert post(office, "/admin/accounts", unit="U2", email="x@u2.example.vn", role="admin") == 404
    with session_scope() as session:
        assert session.get_one(Submission, theirs[1]).review_status == ReviewStatus.PENDING
        assert session.scalar(select(Account).where(Account.email == "x@u2.example.vn")) is None

    # Its own: review and remind
    assert post(office, f"/admin/submissions/{mine[1]}/review", action="accept") == 303
    assert post(office, f"/admin/plans/{own}/bao_cao_nam/remind") == 303
    wards.jobs.wait(60)
    with session_scope() as session:
        assert session.get_one(Submission, mine[1]).review_status == ReviewStatus.ACCEPTED
        acts = [(e.actor, str(e.action)) for e in session.scalars(select(AuditEvent).where(AuditEvent.actor == "vp@u1.example.vn"))]
    assert ("vp@u1.example.vn", "review") in acts and ("vp@u1.example.vn", "remind_now") in acts

    # The runs an office started show on its own pages, not on another's
    other_office = wards.sign_in("vp@u2.example.vn")
    assert f"send-reminders {own}" not in other_office.get(f"/admin/plans/{other}/bao_cao_nam").text
    assert f"send-reminders {own}" in office.get(f"/admin/plans/{own}/bao_cao_nam").text


def test_a_viewer_sees_the_subtree_and_changes_nothing(wards: Wards) -> None:
    viewer = wards.sign_in("lanhdao@root.example.vn")
    board = viewer.get(f"/admin/plans/{wards.root}/bao_cao_nam")
    assert board.status_code == 200 and "Gửi nhắc nhở ngay" not in board.text and "Tổng hợp báo cáo</button>" not in board.text
    assert viewer.get(f"/admin/plans/{wards.plans['U2']}/bao_cao_nam").status_code == 200  # below its unit
    assignment, latest, attachment = ids("U2.1")
    page = viewer.get(f"/admin/assignments/{assignment}")
    assert page.status_code == 200 and 'value="accept"' not in page.text and "Ghi nhận điểm" not in page.text
    assert viewer.get(f"/admin/attachments/{attachment}").status_code == 200
    assert post(viewer, f"/admin/submissions/{latest}/review", action="accept") == 403
    assert post(viewer, f"/admin/plans/{wards.root}/bao_cao_nam/remind") == 403
    assert post(viewer, f"/admin/plans/{wards.root}/bao_cao_nam/consolidate") == 403
    wards.jobs.wait(60)
    assert not wards.jobs.recent
    with session_scope() as session:
        assert session.get_one(Submission, latest).review_status == ReviewStatus.PENDING


def session_of(client: TestClient) -> str:
    token = client.cookies.get("cascade_session")
    assert token
    return token


def test_sessions_live_in_the_database_and_end_on_sign_out_disabling_idleness_and_expiry(wards: Wards) -> None:
    home = "/admin"
    office = wards.sign_in("vp@u1.example.vn")
    token = session_of(office)
    with session_scope() as session:  # only the token's hash is kept; the password is an Argon2 hash
        row = session.scalars(select(AccountSession).where(AccountSession.login == "vp@u1.example.vn")).one()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.token_hash
        stored = session.scalars(select(Account.password_hash).where(Account.email == "vp@u1.example.vn")).one()
        assert stored is not None and stored.startswith("$argon2id$") and PASSWORDS["vp@u1.example.vn"] not in stored

    # Sign-out ends the session on the server: the same cookie, kept by a thief, no longer works
    assert post(office, "/admin/logout") == 303
    thief = wards.client()
    thief.cookies.set("cascade_session", token, path="/admin")
    assert thief.get(home, follow_redirects=False).status_code == 303

    # Idle past the limit, or past the session's lifetime: signed out
    for column, value in (("last_seen_at", timedelta(minutes=61)), ("expires_at", timedelta(seconds=1))):
        office = wards.sign_in("vp@u1.example.vn")
        assert office.get(home).status_code == 200
        with session_scope() as session:
            session.execute(
                update(AccountSession)
                .where(AccountSession.token_hash == hashlib.sha256(session_of(office).encode()).hexdigest())
                .values({column: clock.utc_now() - value})
            )
        assert office.get(home, follow_redirects=False).headers["location"] == "/admin/login", column

    # Disabling the account ends its open sessions at once and refuses its password
    office = wards.sign_in("vp@u1.example.vn")
    with session_scope() as session:
        set_disabled(session, "vp@u1.example.vn", True, actor="test", now=clock.utc_now())
    assert office.get(home, follow_redirects=False).status_code == 303
    client = wards.client()
    refused = client.post(
        "/admin/login", data={"csrf": csrf(client.get("/admin/login").text), "user": "vp@u1.example.vn", "password": PASSWORDS["vp@u1.example.vn"]}
    )
    assert refused.status_code == 401
    # A wrong password and an account without one are refused the same way
    for user, password in (("vp@u2.example.vn", "sai-mat-khau-roi"), ("new@u1.example.vn", "bat-ky-mat-khau"), ("ai@khong.vn", "bat-ky-mat-khau")):
        response = client.post("/admin/login", data={"csrf": csrf(client.get("/admin/login").text), "user": user, "password": password})
        assert response.status_code == 401 and "không đúng" in unescape(response.text)


def link_to(smtp: SmtpServer, address: str) -> str:
    mails = [m for m in smtp.messages() if m["To"].addresses[0].addr_spec == address and str(m["Subject"]).startswith("Đường dẫn đăng nhập")]
    assert len(mails) == 1, [m["Subject"] for m in mails]
    found = re.search(r"(http://\S+/admin/login/link/\S+)", text_part(mails[0]))
    assert found, "the email carries no sign-in link"
    return found.group(1)


def test_a_link_sent_by_email_signs_in_once(wards: Wards) -> None:
    client = wards.client()
    asked = client.post("/admin/login/link", data={"csrf": csrf(client.get("/admin/login").text), "email": "new@u1.example.vn"})
    stranger = client.post("/admin/login/link", data={"csrf": csrf(client.get("/admin/login").text), "email": "ai@khong.vn"})
    assert asked.status_code == stranger.status_code == 200 and unescape(asked.text).count("đường dẫn đăng nhập vừa được gửi") == 1
    assert asked.text.replace("new@u1.example.vn", "") == stranger.text.replace("ai@khong.vn", "")  # the page tells a stranger nothing
    wards.jobs.wait(60)
    link = link_to(wards.smtp, "new@u1.example.vn")
    assert not [m for m in wards.smtp.messages() if m["To"].addresses[0].addr_spec == "ai@khong.vn"]
    path = "/admin/login/link/" + link.rsplit("/admin/login/link/", 1)[1]

    # Opening the link (a mail scanner does) spends nothing; the button does, once
    assert client.get(path).status_code == 200 and client.get(path).status_code == 200
    used = client.post(path, data={"csrf": csrf(client.get(path).text)}, follow_redirects=False)
    assert used.status_code == 303 and used.headers["location"] == "/admin"
    assert f"/admin/plans/{wards.plans['U1']}/bao_cao_nam" in client.get("/admin").text
    again = wards.client()
    assert again.get(path).status_code == 404
    assert again.post(path, data={"csrf": csrf(again.get("/admin/login").text)}, follow_redirects=False).status_code == 404
    assert again.get("/admin", follow_redirects=False).status_code == 303

    # A second link within a minute is not sent; an expired one does not work
    client.post("/admin/login/link", data={"csrf": csrf(client.get("/admin/login").text), "email": "new@u1.example.vn"})
    wards.jobs.wait(60)
    assert len([m for m in wards.smtp.messages() if m["To"].addresses[0].addr_spec == "new@u1.example.vn"]) == 1
    with session_scope() as session:
        session.execute(
            update(SignInLink).values(created_at=clock.utc_now() - timedelta(minutes=20), expires_at=clock.utc_now() - timedelta(minutes=5), used_at=None)
        )
        assert session.scalar(select(Account.last_sign_in_at).where(Account.email == "new@u1.example.vn")) is not None
    assert wards.client().get(path).status_code == 404

    # Signed in by the link, the person sets a password and signs in with it from then on
    own = client.get("/admin/account")
    assert own.status_code == 200 and "Đặt mật khẩu" in own.text
    assert client.post("/admin/account", data={"csrf": csrf(own.text), "password": "ngan", "again": "ngan"}).status_code == 400
    assert client.post("/admin/account", data={"csrf": csrf(own.text), "password": "mat-khau-moi-dai", "again": "khac-hoan-toan"}).status_code == 400
    assert client.post("/admin/account", data={"csrf": csrf(own.text), "password": "mat-khau-moi-dai", "again": "mat-khau-moi-dai"}).status_code == 200
    assert wards.sign_in("new@u1.example.vn", "mat-khau-moi-dai").get("/admin").status_code == 200


def test_the_admin_adds_and_disables_accounts_on_its_pages(wards: Wards) -> None:
    admin = wards.sign_in(get_settings().dashboard_user, ADMIN_PASSWORD)
    page = admin.get("/admin/accounts")
    assert page.status_code == 200 and "vp@u1.example.vn" in page.text and "lanhdao@root.example.vn" in page.text
    assert post(admin, "/admin/accounts", unit="U2", email="Vien.Chuc@U2.example.vn", role="viewer") == 303
    with session_scope() as session:
        added = session.scalars(select(Account).where(Account.email == "vien.chuc@u2.example.vn")).one()
        assert added.role == AccountRole.VIEWER and added.unit.code == "U2" and added.password_hash is None
    token = csrf(page.text)
    duplicate = admin.post("/admin/accounts", data={"csrf": token, "unit": "U2", "email": "vp@u1.example.vn", "role": "secretariat"})
    assert duplicate.status_code == 400 and "đã có tài khoản" in unescape(duplicate.text)
    bad = admin.post("/admin/accounts", data={"csrf": token, "unit": "U9", "email": "a@b.vn", "role": "secretariat"})
    assert bad.status_code == 400 and "Không có đơn vị mã" in unescape(bad.text)

    office = wards.sign_in("vp@u2.example.vn")
    with session_scope() as session:
        account_id = session.scalars(select(Account.id).where(Account.email == "vp@u2.example.vn")).one()
    assert post(admin, f"/admin/accounts/{account_id}/disable") == 303
    assert office.get("/admin", follow_redirects=False).status_code == 303
    assert "đã khóa" in admin.get("/admin/accounts").text
    assert post(admin, f"/admin/accounts/{account_id}/enable") == 303
    assert wards.sign_in("vp@u2.example.vn").get("/admin").status_code == 200
    audit = unescape(admin.get("/admin/audit").text)
    for act in ("Tạo tài khoản", "Khóa tài khoản", "Mở lại tài khoản"):
        assert act in audit


# Every route of the secretariat's pages, and what an account of another subtree gets from it (with that subtree's
# objects); the routes open to every signed-in account are listed apart. A new route fails the next test until
# it is added to one of them.
OPEN_TO_EVERY_ACCOUNT = {
    ("GET", "/admin"), ("GET", "/admin/replies"), ("GET", "/admin/units"), ("GET", "/admin/account"), ("POST", "/admin/account"),
    ("GET", "/admin/login"), ("POST", "/admin/login"), ("POST", "/admin/login/link"), ("GET", "/admin/login/link/{token}"),
    ("POST", "/admin/login/link/{token}"), ("POST", "/admin/logout"), ("POST", "/admin/plans/import"), ("GET", "/admin/plans/template.xlsx"),
}  # fmt: skip
PROBES = {
    ("GET", "/admin/plans/{plan_key}/{duty}"): "/admin/plans/{other}/bao_cao_nam",
    ("POST", "/admin/plans/{plan_key}/{duty}/{action}"): "/admin/plans/{other}/bao_cao_nam/remind",
    ("GET", "/admin/assignments/{assignment_id}"): "/admin/assignments/{assignment}",
    ("POST", "/admin/submissions/{submission_id}/review"): "/admin/submissions/{submission}/review",
    ("GET", "/admin/reports/{report_id}/{index}"): "/admin/reports/{report}/0",
    ("GET", "/admin/attachments/{attachment_id}"): "/admin/attachments/{attachment}",
    ("GET", "/admin/plan/{key}"): "/admin/plan/{other}",
    ("POST", "/admin/plan/{key}"): "/admin/plan/{other}",
    ("GET", "/admin/plan/{key}/preview.pdf"): "/admin/plan/{other}/preview.pdf",
    ("GET", "/admin/plan/{key}/document.docx"): "/admin/plan/{other}/document.docx",
    ("POST", "/admin/plan/{key}/issue"): "/admin/plan/{other}/issue",
    ("POST", "/admin/plan/{key}/cascade"): "/admin/plan/{root}/cascade",
    ("POST", "/admin/plan/{key}/close-duty"): "/admin/plan/{other}/close-duty",
    ("POST", "/admin/plan/{key}/amend"): "/admin/plan/{other}/amend",
    ("GET", "/admin/plan/{key}/plan.yaml"): "/admin/plan/{other}/plan.yaml",
    ("GET", "/admin/units/{code}"): "/admin/units/U2",
    ("POST", "/admin/units/import"): "/admin/units/import",
    ("GET", "/admin/audit"): "/admin/audit",
    ("GET", "/admin/accounts"): "/admin/accounts",
    ("POST", "/admin/accounts"): "/admin/accounts",
    ("POST", "/admin/accounts/{account_id}/{action}"): "/admin/accounts/{account}/disable",
}


def test_every_route_refuses_another_subtree_and_a_viewer_changes_nothing(wards: Wards) -> None:
    routes = {
        (method, route.path)
        for entry in wards.app.routes  # type: ignore[attr-defined]  # a FastAPI app
        for route in getattr(getattr(entry, "original_router", None), "routes", [entry])  # an included router's own routes
        for method in getattr(route, "methods", None) or ()
        if route.path.startswith("/admin") and method != "HEAD"
    }
    assert routes == set(PROBES) | OPEN_TO_EVERY_ACCOUNT, "a route of the secretariat's pages is neither probed here nor listed as open"

    assignment, submission, attachment = ids("U2.1")
    with session_scope() as session:
        account = session.scalars(select(Account.id).where(Account.email == "vp@u2.example.vn")).one()
    values = {"other": wards.plans["U2"], "root": wards.root, "assignment": assignment, "submission": submission, "report": report_of("U2"),
              "attachment": attachment, "account": account}  # fmt: skip
    office = wards.sign_in("vp@u1.example.vn")
    for (method, _), probe in PROBES.items():
        path = probe.format(**values)
        status = office.get(path).status_code if method == "GET" else post(office, path, action="accept", number="5", unit="U1", email="a@u1.vn", role="admin")
        assert status == 404, f"{method} {path}: {status}"

    # A viewer of the whole tree reads all of it and changes none of it
    viewer = wards.sign_in("lanhdao@root.example.vn")
    for path in (f"/admin/plan/{wards.plans['U2']}", "/admin/units/U2", f"/admin/plans/{wards.root}/bao_cao_nam"):
        assert viewer.get(path).status_code == 200, path
    for path in (
        f"/admin/plan/{wards.plans['U2']}", f"/admin/plan/{wards.root}/cascade", f"/admin/plan/{wards.root}/close-duty", f"/admin/plan/{wards.root}/amend",
        "/admin/plans/import",
    ):  # fmt: skip
        response = viewer.post(path, data={"csrf": csrf(viewer.get("/admin/login").text), "title": "Đổi tên"}, follow_redirects=False)
        assert response.status_code in (403, 404), path
    refused = viewer.post(f"/admin/submissions/{submission}/review", data={"csrf": csrf(viewer.get("/admin/login").text), "action": "accept"})
    assert refused.status_code == 403 and "Tài khoản chỉ xem" in unescape(refused.text)


def test_the_org_chart_shows_each_office_its_subtree_and_admins_upload_units_files(wards: Wards, tmp_path: Path) -> None:
    office = wards.sign_in("vp@u1.example.vn")
    tree = office.get("/admin/units").text
    assert "/admin/units/U1.1" in tree and "/admin/units/U1.2" in tree and "/admin/units/U2" not in tree and "/admin/units/ROOT" not in tree
    unit = office.get("/admin/units/U1")
    assert unit.status_code == 200 and "vp@u1.example.vn" in unit.text and "new@u1.example.vn" in unit.text
    assert f"/admin/plan/{wards.plans['U1']}" in unit.text

    admin = wards.sign_in(get_settings().dashboard_user, ADMIN_PASSWORD)
    token = csrf(admin.get("/admin/units").text)
    bad = "code,name,kind,parent,emails\nU1.3,Tổ công tác số 3,office,U1,to3@sxd.example.gov.vn\nU1.4,Tổ số 4,office,U1,khong-phai-dia-chi\n"
    refused = admin.post("/admin/units/import", data={"csrf": token}, files={"file": ("Danh sách.csv", bad.encode(), "text/csv")})
    shown = unescape(re.sub(r"<[^>]+>", "", refused.text))  # the text a person reads
    assert refused.status_code == 400 and "Dòng 3, cột emails: expected an email address" in shown and "tệp Danh sách.csv" in shown
    with session_scope() as session:
        assert session.scalar(select(Unit).where(Unit.code == "U1.3")) is None  # all or nothing
    good = bad.replace("khong-phai-dia-chi", "to4@sxd.example.gov.vn")
    done = admin.post("/admin/units/import", data={"csrf": token}, files={"file": ("Danh sách.csv", good.encode(), "text/csv")}, follow_redirects=False)
    assert done.status_code == 303
    listed = admin.get(done.headers["location"]).text
    assert "Đã nhập tệp đơn vị" in unescape(listed) and "/admin/units/U1.4" in listed
    assert "/admin/units/U1.4" in office.get("/admin/units").text  # the ward's office sees its new unit


def small_plan(issuer: str, due_on: str = "2024-11-15") -> dict[str, Any]:
    """A plan of `issuer` with one annual report and nothing else, as `plan_document` gives one."""
    return {"plan": {
        "key": f"5-kh-{issuer.lower()}-2024", "number": "5", "symbol": f"KH-{issuer}", "issuer": issuer, "issued_on": "2024-10-01",
        "place": "Biên Hòa", "title": "Kiểm tra công tác dân vận năm 2024", "year": 2024, "signer": {"title": "TRƯỞNG PHÒNG", "name": "Nguyễn Thị Huệ"},
        "duties": [{"code": "bao_cao_kiem_tra", "kind": "annual", "title": "Báo cáo kết quả kiểm tra", "due_on": due_on,
                    "sections": [{"code": "ket_qua", "title": "Kết quả kiểm tra"}]}],
    }}  # fmt: skip


def upload(client: TestClient, name: str, content: bytes) -> Any:
    token = csrf(client.get("/admin").text)
    return client.post("/admin/plans/import", data={"csrf": token}, files={"file": (name, content, "application/octet-stream")}, follow_redirects=False)


def workbook_bytes(document: dict[str, Any] | None = None) -> bytes:
    buffer = io.BytesIO()
    plan_workbook(document).save(buffer)
    return buffer.getvalue()


def test_an_office_imports_its_plan_from_the_workbook_template_with_problems_by_cell(wards: Wards) -> None:
    office = wards.sign_in("vp@u1.example.vn")
    template = office.get("/admin/plans/template.xlsx")
    assert template.status_code == 200 and "Mẫu kế hoạch.xlsx" in unquote(template.headers["content-disposition"])
    assert load_workbook(io.BytesIO(template.content)).sheetnames == ["Kế hoạch", "Nhiệm vụ", "Chỉ tiêu", "Báo cáo"]

    # Out of its scope: refused, nothing imported
    refused = upload(office, "Kế hoạch Thanh tra.xlsx", workbook_bytes(small_plan("U2")))
    assert refused.status_code == 400 and "không thuộc phạm vi" in unescape(refused.text)
    # A bad cell: named by sheet and cell
    bad = small_plan("U1", due_on="31/02/2024")
    refused = upload(office, "Kế hoạch 5.xlsx", workbook_bytes(bad))
    assert refused.status_code == 400 and "Báo cáo!F3" in unescape(refused.text)
    with session_scope() as session:
        assert session.scalar(select(Plan).where(Plan.key.like("5-kh-%"))) is None
    # Corrected: imported, its page opens
    done = upload(office, "Kế hoạch 5.xlsx", workbook_bytes(small_plan("U1")))
    assert done.status_code == 303 and done.headers["location"] == "/admin/plan/5-kh-u1-2024?ok=imported"
    assert "Kiểm tra công tác dân vận năm 2024" in office.get(done.headers["location"]).text
