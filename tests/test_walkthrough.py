"""The README's "A first cycle by hand", as a new user runs it: every documented command in its own process.

Each step is `cascade …` started the way `uv run cascade …` starts it (the project's console script),
against one fresh workspace, with the examples' files, a `cascade mailbox` process as the SMTP
server and Dovecot as the reply mailbox. A step asserts its effect in the database, the maildir or
the files, not only its exit code: a command that crashes on its own (a model its process never
imports, say) fails here even when the in-process tests pass.
"""

from __future__ import annotations

import json
import os
import pty
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, text

from cascade.net import free_port
from sandbox.email_units import latest_to, save_form
from sandbox.imap_server import LocalImapServer
from sandbox.smtp_sink import LocalMailbox, read_maildir
from sandbox.unit_mail import send_reply
from tests.fixtures.database import ON_POSTGRESQL
from tests.fixtures.forms import Form
from tests.fixtures.postgres import fresh_database

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.database]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "town-2024"
CASCADE = str(Path(sys.executable).parent / "cascade")  # what `uv run cascade` runs
REPLY_MAILBOX = "baocao@trangbang.example.gov.vn"
TOWN, WARD = "104-kh-ubnd-2024", "104-kh-ubnd-2024--tb.giabinh"


@dataclass
class Workspace:
    """One fresh workspace, the environment every command runs with, and ways to look at what they did."""

    folder: Path
    env: dict[str, str]
    database_url: str

    def run(self, *args: str, ok: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """`cascade ARGS` in its own process (`stdin` typed into it); asserts exit 0 unless `ok` is False."""
        started = time.perf_counter()
        done = subprocess.run([CASCADE, *args], env=self.env, cwd=self.folder, input=stdin, capture_output=True, text=True, timeout=600, check=False)
        print(f"{time.perf_counter() - started:6.1f} s  cascade {' '.join(args)}")  # shown when a step fails
        if ok:
            assert done.returncode == 0, f"cascade {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        return done

    def out(self, *args: str) -> str:
        done = self.run(*args)
        assert "━" not in done.stderr, f"cascade {' '.join(args)} drew progress bars into a pipe"
        return done.stdout

    def on_terminal(self, *args: str) -> tuple[str, str]:
        """`cascade ARGS` with stderr on a (pseudo-)terminal, as in a user's shell: its stdout and what it drew there."""
        leader, follower = pty.openpty()
        try:
            done = subprocess.run([CASCADE, *args], env={**self.env, "TERM": "xterm"}, cwd=self.folder, stdout=subprocess.PIPE, stderr=follower,
                                  text=True, timeout=600, check=False)  # fmt: skip
            os.close(follower)
            drawn = b""
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the terminal is closed once everything written has been read
                    break
                if not chunk:
                    break
                drawn += chunk
        finally:
            os.close(leader)
        assert done.returncode == 0, f"cascade {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{drawn.decode(errors='replace')}"
        return done.stdout, drawn.decode(errors="replace")

    def look(self, *args: str) -> str:
        """`cascade ARGS` for a command that only reads: its stdout, after asserting that the process never
        imported Prefect (Python's own import log, PYTHONPROFILEIMPORTTIME, lists every module it loaded)."""
        done = subprocess.run([CASCADE, *args], env={**self.env, "PYTHONPROFILEIMPORTTIME": "1"}, cwd=self.folder, capture_output=True, text=True,
                              timeout=600, check=False)  # fmt: skip
        assert done.returncode == 0, f"cascade {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr[-3000:]}"
        imported = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
        assert "cascade.cli.main" in imported and "prefect" not in imported, f"cascade {' '.join(args)} loaded Prefect"
        return done.stdout

    def scalar(self, sql: str, **params: object) -> object:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return connection.execute(text(sql), params).scalar()
        finally:
            engine.dispose()

    def mail(self) -> list:  # type: ignore[type-arg]
        return read_maildir(self.folder / "maildir")

    def mail_to(self, address: str, subject_start: str = "") -> list:  # type: ignore[type-arg]
        return [m for m in self.mail() if address in str(m["To"]) and str(m["Subject"]).startswith(subject_start)]


@contextmanager
def background(args: list[str], env: dict[str, str], folder: Path, port: int, seconds: float = 120) -> Iterator[None]:
    """`cascade ARGS` running in the background until the block ends, once it listens on `port`."""
    log = folder / f"{args[0]}.log"
    with log.open("w") as output:
        process = subprocess.Popen([CASCADE, *args], env=env, cwd=folder, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + seconds
            while True:
                assert process.poll() is None, f"cascade {args[0]} ended early: {log.read_text()}"
                assert time.monotonic() < deadline, f"cascade {args[0]} does not listen on port {port} after {seconds} s"
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                        break
                except OSError:
                    time.sleep(0.1)
            yield
        finally:
            process.terminate()
            process.wait(30)


@pytest.fixture()
def walk(tmp_path: Path) -> Iterator[tuple[Workspace, LocalImapServer]]:
    """A fresh workspace (an empty SQLite file, or an empty PostgreSQL database), `cascade mailbox` on a free
    port, Dovecot for the reply mailbox, and the test session's Prefect server for the flow runs."""
    from prefect.settings import PREFECT_API_URL

    folder = tmp_path / "ws"
    folder.mkdir()
    smtp_port = free_port()
    with LocalImapServer(user="baocao") as imap, fresh_database() if ON_POSTGRESQL else _no_database() as url:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CASCADE_")},
            "CASCADE_WORKSPACE": str(folder),
            "CASCADE_SMTP_HOST": "127.0.0.1",
            "CASCADE_SMTP_PORT": str(smtp_port),
            "CASCADE_SMTP_USER": "vanthu@trangbang.example.gov.vn",
            "CASCADE_MAIL_REPLY_TO": REPLY_MAILBOX,
            "CASCADE_PORTAL_BASE_URL": f"http://127.0.0.1:{free_port()}",
            "PREFECT_API_URL": str(PREFECT_API_URL.value()),
            "COLUMNS": "250",  # one table row per line
            **imap.settings_env(),
        }
        if url:
            env["CASCADE_DATABASE_URL"] = url
        space = Workspace(folder, env, url or f"sqlite:///{folder / 'cascade.db'}")
        with background(["mailbox", "--maildir", str(folder / "maildir"), "--port", str(smtp_port)], env, folder, smtp_port):
            try:
                yield space, imap
            finally:
                space.run("server", "stop")  # the command server the test starts


class _no_database:
    """SQLite: the database is a file the first command creates in the workspace."""

    def __enter__(self) -> str:
        return ""

    def __exit__(self, *exc: object) -> None:
        return None


def fill_form(path: Path, report: dict, plan: dict) -> None:  # type: ignore[type-arg]
    """Type a unit's report into its Excel form by the labels a person reads (metrics, section titles)."""
    form = Form.open(path)
    targets = {t["code"]: t for t in plan["plan"]["targets"]}
    sections = next(d["sections"] for d in plan["plan"]["duties"] if d["code"] == report["duty"])
    for code, given in report["values"].items():
        metric = targets[code]["metric"]
        figure = given["value"] if isinstance(given, dict) and "value" in given else given
        if isinstance(given, dict) and "numerator" in given:
            form.at(metric, "Tử số").value = given["numerator"]
            form.at(metric, "Mẫu số").value = given["denominator"]
        elif figure in ("đạt", "không đạt"):
            form.at(metric, "Giá trị").value = "Đạt" if figure == "đạt" else "Không đạt"
        else:
            form.at(metric, "Giá trị").value = figure
    for section in sections:
        form.section(section["title"]).value = report["sections"][section["code"]]
    form.score().value = report["self_assessment"]["score"]
    form.save()


@pytest.mark.timeout(900)  # some thirty commands, each a process of its own
def test_a_first_cycle_by_hand(walk: tuple[Workspace, LocalImapServer], tmp_path: Path) -> None:
    ws, imap = walk
    plan_file = yaml.safe_load((EXAMPLE / "plan.yaml").read_text(encoding="utf-8"))

    # The database and the inputs' formats
    assert "at revision" in ws.out("db", "upgrade")
    # The workspace's command server (flow runs go to the test session's Prefect server): every later command
    # is handed to it, but for `look`'s, whose environment differs (they show that reading loads no Prefect)
    assert "Command server ready" in ws.out("server", "start")
    assert ws.scalar("select count(*) from alembic_version") == 1
    for kind in ("units", "plan", "amendment", "submission"):
        assert json.loads(ws.look("schema", kind))["type"] == "object"

    # The org chart and the town's plan
    assert "Units: 17 created, 0 updated." in ws.out("units", "import", str(EXAMPLE / "units.yaml"))
    assert ws.scalar("select count(*) from unit") == 17
    tree = ws.look("units", "list", "--under", "tb.giabinh").splitlines()
    assert [line.split("│")[1].rstrip() for line in tree if "tb.giabinh" in line] == [
        " tb.giabinh", "   tb.giabinh.ca", "   tb.giabinh.qs", "   tb.giabinh.yt"
    ]  # fmt: skip
    # The ward's office gets an account: it sees its ward's plans and units, nothing of the other wards
    ward_office = "vanphong@giabinh.trangbang.example.gov.vn"
    added = ws.run("accounts", "add", "tb.giabinh", ward_office, "--role", "secretariat", "--password-stdin", stdin="mat-khau-gia-binh\n").stdout
    assert f"Account {ward_office} (secretariat) of Ủy ban nhân dân phường Gia Bình added." in added
    assert ws.scalar("select password_hash from account where email = :e", e=ward_office).startswith("$argon2id$")
    again = ws.run("accounts", "add", "tb.giabinh", ward_office, ok=False)
    assert again.returncode == 1 and f"Địa chỉ {ward_office} đã có tài khoản." in again.stderr
    listed = ws.look("accounts", "list", "--under", "tb")
    assert ward_office in listed and "secretariat" in listed
    # The office sets a new password; an admin disables the account (someone left) and enables it again
    assert f"Password of {ward_office} set." in ws.run("accounts", "password", ward_office, "--password-stdin", stdin="mat-khau-moi-gia-binh\n").stdout
    assert "disabled: its sessions have ended" in ws.out("accounts", "disable", ward_office)
    assert ws.scalar("select disabled_at is not null from account where email = :e", e=ward_office)
    assert "disabled" in ws.look("accounts", "list")
    assert f"Account {ward_office} enabled." in ws.out("accounts", "enable", ward_office)
    assert not ws.scalar("select disabled_at is not null from account where email = :e", e=ward_office)
    assert f"Plan imported: {TOWN}" in ws.out("plan", "import", str(EXAMPLE / "plan.yaml"))
    assert ws.scalar("select status from plan where key = :k", k=TOWN) == "issued"
    assert TOWN in ws.look("plan", "list")

    # The working-day calendar: a day off set by the office, then taken back
    assert "30/04/2024" in ws.look("workdays", "show", "2024")
    ws.run("workdays", "set", "2024-12-30", "--day-off", "--note", "Nghỉ theo thông báo của UBND tỉnh")
    assert ws.scalar("select count(*) from calendar_override") == 1
    ws.run("workdays", "unset", "2024-12-30")
    assert ws.scalar("select count(*) from calendar_override") == 0

    # The cascade: the four wards are assigned and emailed, their implementing plans drafted
    out = ws.out("plan", "cascade", "104/KH-UBND", "--as-of", "31/01/2024")
    assert "implementing plans drafted 4" in out
    assert ws.scalar("select count(*) from assignment") == 8  # 4 wards × (plan + annual report)
    assert ws.scalar("select count(*) from plan where status = 'draft'") == 4
    assert len(ws.mail_to("vanthu@giabinh.trangbang.example.gov.vn", "Giao nhiệm vụ")) == 2

    # A ward adjusts its draft (a tighter target) and issues it; its units get their notices
    draft = yaml.safe_load(ws.look("plan", "export", WARD))
    hai_long = next(t for t in draft["plan"]["targets"] if t["code"] == "hai_long")
    hai_long["value"] = 95
    adjusted = tmp_path / "giabinh.yaml"
    adjusted.write_text(yaml.safe_dump(draft, allow_unicode=True, sort_keys=False), encoding="utf-8")
    ws.run("plan", "import", str(adjusted), "--replace")
    assert ws.scalar("select t.value from target t join plan p on p.id = t.plan_id where p.key = :k and t.code = 'hai_long'", k=WARD) == 95
    assert "issued" in ws.out("plan", "issue", WARD, "--as-of", "15/02/2024")
    assert ws.scalar("select status from plan where key = :k", k=WARD) == "issued"
    notice = latest_to(ws.mail(), "congan@giabinh.trangbang.example.gov.vn", "Giao nhiệm vụ báo cáo")
    assert str(notice["From"]).startswith("Ủy ban nhân dân phường Gia Bình")  # the ward writes to its units in its own name
    lines = notice.get_body(preferencelist=("plain",)).get_content().splitlines()
    for task in plan_file["plan"]["tasks"]:  # every task on a line of its own
        assert any(line.startswith(f"  - {task['title']}") for line in lines), task["title"]

    # The calendar of the cycle, every level
    calendar = ws.look("calendar", "104/KH-UBND")
    assert "23/02/2024" in calendar and "30/10/2024" in calendar and "23/10/2024" in calendar

    # Reminders by hand, then the daily tick over a stretch of days
    before = len(ws.mail())
    out, screen = ws.on_terminal("remind", "--as-of", "21/02/2024")
    assert "Reminders queued 3" in out  # the three wards that have not issued
    assert "Lập thư nhắc (đơn vị)" in screen and "Gửi thư" in screen and "3/3" in screen, screen  # its progress bars
    assert len(ws.mail()) == before + 3
    ws.out("tick", "--as-of", "22/02/2024", "--until", "26/02/2024")
    assert ws.scalar("select count(*) from plan_milestone where day <= '2024-02-26' and status = 'pending'") == 0
    assert ws.scalar(
        "select outcome from plan_milestone m join report_duty d on d.id = m.duty_id where d.code = 'ke_hoach' and m.kind = 'due' and m.day = '2024-02-23'"
    )
    overdue = latest_to(ws.mail(), "vanthu@gialoc.trangbang.example.gov.vn", "Quá hạn")
    assert ".\n\nĐề nghị đơn vị khẩn trương" in overdue.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")

    # Reports recorded by hand: a YAML file, a JSON file, and a filled Excel form
    assert "Recorded version 1." in ws.out("submit", str(EXAMPLE / "submissions" / "tb.giabinh.ca.yaml"), "--as-of", "2024-10-14")
    report = yaml.safe_load((EXAMPLE / "submissions" / "tb.giabinh.qs.yaml").read_text(encoding="utf-8"))
    as_json = tmp_path / "tb.giabinh.qs.json"
    as_json.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    assert "Recorded version 1." in ws.out("submit", str(as_json), "--as-of", "2024-10-15")
    form = Path(ws.out("document", "form", "104/KH-UBND", "bao_cao_nam", "tb.giabinh.yt").strip())
    assert form.suffix == ".xlsx" and form.exists()
    health = yaml.safe_load((EXAMPLE / "submissions" / "tb.giabinh.yt.yaml").read_text(encoding="utf-8"))
    fill_form(form, health, plan_file)
    assert "Recorded version 1." in ws.out("submit", str(form), "--as-of", "2024-10-16")
    assert ws.scalar("select count(*) from submission where channel = 'file'") == 3
    assert len(ws.mail_to("tramyte@giabinh.trangbang.example.gov.vn", "Đã nhận báo cáo")) == 1

    # The unit's link: shown, then replaced (the old one dies, the new one is emailed)
    old = ws.look("link", "show", "104/KH-UBND", "bao_cao_nam", "tb.giabinh.ca").strip()
    token = ws.scalar(
        "select a.link_token from assignment a join unit u on u.id = a.unit_id join report_duty d on d.id = a.duty_id where u.code = 'tb.giabinh.ca' and d.code = 'bao_cao_nam'"
    )
    assert old.endswith(f"/u/{token}")
    ws.run("link", "revoke", "104/KH-UBND", "bao_cao_nam", "tb.giabinh.ca", "--as-of", "2024-10-16")
    new = ws.look("link", "show", "104/KH-UBND", "bao_cao_nam", "tb.giabinh.ca").strip()
    assert new != old and any(new in m.get_body(preferencelist=("plain",)).get_content() for m in ws.mail_to("congan@giabinh.trangbang.example.gov.vn"))

    # The portal serves the unit's page behind its new link
    port = int(ws.env["CASCADE_PORTAL_BASE_URL"].rsplit(":", 1)[1])
    with background(["portal", "--as-of", "2024-10-16"], ws.env, ws.folder, port):
        page = httpx.get(new, timeout=30)
        assert page.status_code == 200 and "Công an phường Gia Bình" in page.text
        assert httpx.get(old, timeout=30).status_code == 404
        with httpx.Client(base_url=ws.env["CASCADE_PORTAL_BASE_URL"], timeout=30) as office:  # the ward's office signs in
            login = office.get("/admin/login").text
            token = login.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            signed = office.post("/admin/login", data={"csrf": token, "user": ward_office, "password": "mat-khau-moi-gia-binh"})
            assert signed.status_code == 303
            home = office.get("/admin").text
            assert WARD in home and f"/admin/plans/{TOWN}/" not in home and "tb.gialoc" not in home
            assert office.get(f"/admin/plans/{TOWN}/bao_cao_nam").status_code == 404
            assert office.get(f"/admin/plans/{WARD}/bao_cao_nam").status_code == 200

    # A unit replies to its notice with a corrected form; `cascade collect` reads it from the reply mailbox
    address = "tramyte@giabinh.trangbang.example.gov.vn"
    notice = latest_to(ws.mail(), address, "Giao nhiệm vụ báo cáo")
    reply_form = save_form(notice, tmp_path / "tramyte")
    health["values"]["hai_long"] = "97%"
    fill_form(reply_form, health, plan_file)
    with LocalMailbox(tmp_path / "relay", deliveries=[imap.delivery(REPLY_MAILBOX)]) as relay:
        send_reply(notice, sender=address, smtp_host="127.0.0.1", smtp_port=relay.port, body="Đơn vị gửi lại biểu mẫu đã sửa.", attachments=[reply_form])
    assert "recorded 1" in ws.out("collect", "--as-of", "2024-10-17")
    assert (
        ws.scalar(
            "select max(version) from submission s join assignment a on a.id = s.assignment_id join unit u on u.id = a.unit_id where u.code = 'tb.giabinh.yt'"
        )
        == 2
    )
    assert "Đã ghi nhận" in ws.look("replies")
    assert "Emails sent 0" in ws.out("deliver", "--as-of", "2024-10-17")
    assert "Đã xếp lại 0 thư" in ws.out("outbox", "retry", "--failed")  # nothing failed: nothing to send again
    assert ws.scalar("select count(*) from outbound_email where status <> 'sent'") == 0

    # A late amendment (130/KH-UBND): the town asks Gia Bình for 6 "Dân vận khéo" models instead of 3, the office
    # exporting the plan, editing it and adding the amending document's number and day; the ward's plan follows
    amended = yaml.safe_load(ws.look("plan", "export", "104/KH-UBND"))
    mo_hinh = next(t for t in amended["plan"]["targets"] if t["code"] == "mo_hinh_dan_van_kheo")
    mo_hinh["allocations"]["tb.giabinh"], mo_hinh["value"] = 6, 15
    amendment = tmp_path / "sua-doi-130.yaml"
    header = {"number": "130", "issued_on": "2024-10-18", "reason": "Căn cứ Công văn số 45/UBND-NC ngày 16/10/2024 của UBND tỉnh Tây Ninh;"}
    amendment.write_text(yaml.safe_dump({"amendment": header, **amended}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert "amended by 130/KH-UBND (version 2)" in ws.out("plan", "amend", "104/KH-UBND", str(amendment), "--as-of", "18/10/2024")
    for office in ("vanthu@giabinh.trangbang.example.gov.vn", "congan@giabinh.trangbang.example.gov.vn", address):
        assert len(ws.mail_to(office, "Sửa đổi, bổ sung")) == 1, office  # the ward and its three units, one notice each
    assert not ws.mail_to("vanthu@gialoc.trangbang.example.gov.vn", "Sửa đổi, bổ sung")  # nothing changed for Gia Lộc
    assert ws.scalar("select t.value from target t join plan p on p.id = t.plan_id where p.key = :k and t.code = 'mo_hinh_dan_van_kheo'", k=WARD) == 6
    first = yaml.safe_load(ws.look("plan", "export", "104/KH-UBND", "--version", "1"))
    assert next(t for t in first["plan"]["targets"] if t["code"] == "mo_hinh_dan_van_kheo")["value"] == 12

    # The ward consolidates its units' reports; its report goes up; the town consolidates
    ws.run("consolidate", WARD, "bao_cao_nam", "--as-of", "2024-10-24", "--this-level")
    assert (ws.folder / "reports" / WARD).is_dir() and ws.scalar("select count(*) from report") == 1
    ward_report = next((ws.folder / "reports" / WARD).glob("*.md")).read_text(encoding="utf-8")
    assert "Báo cáo lập theo kế hoạch trước sửa đổi" in ward_report and "Công an phường Gia Bình (gửi ngày 14/10/2024" in ward_report
    out = ws.out("consolidate", "104/KH-UBND", "bao_cao_nam", "--as-of", "2024-10-31")
    assert "submitted 1/4" in out
    trace = ws.look("trace", "104/KH-UBND", "bao_cao_nam", "mo_hinh_dan_van_kheo")
    assert "tb.giabinh.ca" in trace and "tb.giabinh" in trace
    status = ws.look("status", "104/KH-UBND", "--as-of", "2024-10-31")
    assert "Công an phường Gia Bình" in status and "Hộp thư đi" in status

    # Documents: the plan in Word, a PDF copy of the town's report
    word = Path(ws.out("document", "plan", "104/KH-UBND").strip())
    assert word.suffix == ".docx" and word.stat().st_size > 10_000
    report_docx = next((ws.folder / "reports" / TOWN).glob("*.docx"))
    pdf = Path(ws.out("document", "pdf", str(report_docx)).strip())
    assert pdf.read_bytes().startswith(b"%PDF")

    # The cycle closes
    ws.run("plan", "close", "104/KH-UBND", "--as-of", "2024-12-31")
    assert ws.scalar("select count(*) from plan where status <> 'closed' and status <> 'draft'") == 0

    # The steps since `server start` ran in the command server, but for the reading ones, and ended well there
    log = (ws.folder / "prefect" / "commands.log").read_text(encoding="utf-8")
    assert ": cascade plan cascade 104/KH-UBND --as-of 31/01/2024\n" in log and ": cascade remind --as-of 21/02/2024\n" in log
    assert ": cascade calendar 104/KH-UBND\n" not in log
    failed = [line.split(": ", 1)[0].rsplit(" ", 1)[1] for line in log.splitlines() if ": exit 1 in " in line]  # the process ids
    assert log.count(": exit 0 in ") >= 20 and len(failed) == 1, log  # only the account added twice, on purpose
    assert f"process {failed[0]}: cascade accounts add tb.giabinh vanphong@giabinh.trangbang.example.gov.vn\n" in log, log


@pytest.mark.parametrize(
    "args",
    [
        ("consolidate", "104/KH-UBND", "khong_co"),
        ("consolidate", "99/KH-XYZ", "bao_cao_nam"),
        ("plan", "cascade", "99/KH-XYZ"),
        ("plan", "cascade", "104/KH-UBND", "--units", "tb.khong_co"),
        ("plan", "issue", "99/KH-XYZ"),
        ("remind", "--plan", "99/KH-XYZ"),
        ("trace", "104/KH-UBND", "khong_co", "hai_long"),
        ("link", "show", "104/KH-UBND", "bao_cao_nam", "tb.khong_co"),
        ("link", "revoke", "104/KH-UBND", "khong_co", "tb.giabinh"),
        ("document", "form", "104/KH-UBND", "bao_cao_nam", "tb.khong_co"),
        ("calendar", "99/KH-XYZ"),
        ("status", "99/KH-XYZ"),
    ],
    ids=lambda args: "-".join(args[:2]),
)
def test_a_wrong_code_is_one_line_and_exit_1(imported_town: Workspace, args: tuple[str, ...]) -> None:
    done = imported_town.run(*args, ok=False)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stdout + done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture(scope="module")
def imported_town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A workspace with the town's units and plan imported, for commands given wrong codes."""
    folder = tmp_path_factory.mktemp("wrong-codes")
    with fresh_database() if ON_POSTGRESQL else _no_database() as url:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("CASCADE_")}, "CASCADE_WORKSPACE": str(folder), "COLUMNS": "250"}
        env.pop("PREFECT_API_URL", None)  # a wrong code must be refused before any flow (and its server) starts
        if url:
            env["CASCADE_DATABASE_URL"] = url
        space = Workspace(folder, env, url or f"sqlite:///{folder / 'cascade.db'}")
        space.run("units", "import", str(EXAMPLE / "units.yaml"))
        space.run("plan", "import", str(EXAMPLE / "plan.yaml"))
        yield space
