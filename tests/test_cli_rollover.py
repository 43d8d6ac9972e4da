"""`cascade plan rollover` as a user runs it: the command in its own process, on a fresh workspace holding the town
example's units and plan (and Lộc Hưng merged into An Tịnh from 01/01/2025), imported beforehand."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from sqlalchemy import select

from models.db import session_scope
from models.plan import Plan, PlanStatus
from tasks.plans.imports import import_plan, import_units

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "town-2024"
CASCADE = str(Path(sys.executable).parent / "cascade")  # what `uv run cascade` runs
MERGER = """\
units:
  - code: tb.lochung
    name: Ủy ban nhân dân phường Lộc Hưng
    emails: [vanthu@lochung.trangbang.example.gov.vn]
    valid_to: 31/12/2024
    successor: tb.antinh
"""


def test_the_secretariat_rolls_the_town_plan_over_to_2025_and_a_typo_is_refused(workspace: Path, tmp_path: Path) -> None:
    (tmp_path / "merger.yaml").write_text(MERGER, encoding="utf-8")
    import_units(EXAMPLE / "units.yaml")
    import_units(tmp_path / "merger.yaml")
    import_plan(EXAMPLE / "plan.yaml")
    folder = tmp_path / "office"  # where the secretariat runs the command
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASCADE_") and k != "PREFECT_API_URL"}  # no flow runs: nothing is sent
    env |= {k: os.environ[k] for k in ("CASCADE_WORKSPACE", "CASCADE_DATABASE_URL") if k in os.environ} | {"CASCADE_COMMAND_SERVER": "off"}

    def cascade(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CASCADE, *args], env={**env, **extra}, cwd=folder, capture_output=True, text=True, timeout=300, check=False)

    done = cascade("plan", "rollover", "104/KH-UBND", "--year", "2025", "--raise", "hai_long=95%")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout.splitlines()
    assert out[0] == ("Đã lập dự thảo Kế hoạch số 01/KH-UBND năm 2025 (1-kh-ubnd-2025) từ Kế hoạch số 104/KH-UBND năm 2024; tệp kế hoạch: 1-kh-ubnd-2025.yaml.")
    assert out[1] == "Những điểm thay đổi so với Kế hoạch số 104/KH-UBND năm 2024:"
    for line in (
        "- Ngày ban hành: Thứ Ba 30/01/2024 → Thứ Năm 23/01/2025",
        "- Hạn “Ban hành kế hoạch thực hiện công tác Dân vận chính quyền năm 2025”: Thứ Sáu 23/02/2024 → Thứ Hai 24/02/2025",
        "- Hạn “Báo cáo kết quả thực hiện công tác Dân vận chính quyền năm 2025”: Thứ Tư 30/10/2024 → Thứ Năm 30/10/2025",
        "- Chỉ tiêu “Mức độ hài lòng của cá nhân, tổ chức đối với sự phục vụ của cơ quan hành chính nhà nước”: ≥ 90% → ≥ 95%",
    ):
        assert line in out, line
    assert any(line.startswith("- tb.lochung → tb.antinh (UBND phường Lộc Hưng hoạt động đến hết ngày 31/12/2024") for line in out)
    assert out[-1].startswith("Điều chỉnh: sửa tệp 1-kh-ubnd-2025.yaml") and "cascade plan issue 1-kh-ubnd-2025 --as-of" in out[-1]

    # The plan file, in the current folder, and the draft in the database
    written = yaml.safe_load((folder / "1-kh-ubnd-2025.yaml").read_text(encoding="utf-8"))["plan"]
    assert (written["key"], written["number"], written["year"], written["issued_on"]) == ("1-kh-ubnd-2025", "1", 2025, "2025-01-23")
    assert written["tasks"][0]["lead"] == ["tb.antinh", "tb.giabinh", "tb.gialoc"]
    assert written["targets"][2]["allocations"] == {"tb.antinh": 6, "tb.giabinh": 3, "tb.gialoc": 3}
    with session_scope() as session:
        draft = session.scalars(select(Plan).where(Plan.key == "1-kh-ubnd-2025")).one()
        assert (draft.status, draft.issued_on.isoformat(), draft.title) == (PlanStatus.DRAFT, "2025-01-23", "Thực hiện công tác Dân vận chính quyền năm 2025")

    # A mistyped target: one line naming it and the plan's targets, exit 1, nothing written, and no Prefect loaded for it
    refused = cascade("plan", "rollover", "104-kh-ubnd-2024", "--year", "2026", "--raise", "hai_lon=95", PYTHONPROFILEIMPORTTIME="1")
    assert refused.returncode == 1 and refused.stdout == ""
    errors = [line for line in refused.stderr.splitlines() if not line.startswith("import time:")]
    assert errors == [
        "error: --raise hai_lon: plan 104/KH-UBND (104-kh-ubnd-2024) has no target 'hai_lon'; "
        "its targets: hoc_tap_quan_triet, quy_che_dan_chu, mo_hinh_dan_van_kheo, hai_long"
    ]
    assert not (folder / "1-kh-ubnd-2026.yaml").exists()
    assert not [line for line in refused.stderr.splitlines() if line.rstrip().endswith("| prefect")]
