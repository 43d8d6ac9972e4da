"""Inputs built to exhaust memory or time are refused before any parser opens them, in a process of the
command's own, whose peak memory is measured: decompression bombs, billion-laughs YAML, macro workbooks."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from cascade.errors import ImportFileError
from cascade.input_limits import workbook_problem
from tasks.plans.imports import import_plan, import_units

CASCADE = str(Path(sys.executable).parent / "cascade")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PEAK_LIMIT_MB = 300  # issue: peak memory of any import or intake ≤ 300 MB whatever the input
# The child's peak resident memory, read by a parent that does nothing else (ru_maxrss of its children, in KB).
MEASURE = "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(done.returncode)"


def run_measured(folder: Path, *args: str) -> tuple[int, str, int]:
    """`cascade ARGS` in its own process on a fresh workspace: exit code, stderr, peak memory in MB."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASCADE_")} | {
        "CASCADE_WORKSPACE": str(folder), "CASCADE_COMMAND_SERVER": "off", "COLUMNS": "250"
    }  # fmt: skip
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run([sys.executable, "-c", MEASURE, CASCADE, *args], env=env, capture_output=True, text=True, timeout=300, check=False)
    peak_kb = int(done.stdout.strip().splitlines()[-1])
    return done.returncode, done.stderr, peak_kb // 1024


def with_part(base: Path, out: Path, name: str, data: bytes) -> Path:
    """A copy of the workbook `base` with one more part, deflated as Excel writes it."""
    with zipfile.ZipFile(base) as source, zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for info in source.infolist():
            package.writestr(info, source.read(info))
        package.writestr(name, data)
    return out


def units_workbook(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(["code", "name", "emails"])
    sheet.append(["a", "Đơn vị A", "a@example.vn"])
    book.save(path)
    return path


def sheet_of_zeros(megabytes: int) -> bytes:
    head = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    return head + b" " * (megabytes * 1024 * 1024) + b"</sheetData></worksheet>"


def test_a_workbook_that_unpacks_to_gigabytes_is_refused_from_its_directory(tmp_path: Path) -> None:
    bomb = with_part(units_workbook(tmp_path / "base.xlsx"), tmp_path / "don-vi.xlsx", "xl/worksheets/sheet9.xml", sheet_of_zeros(120))
    assert bomb.stat().st_size < 1024 * 1024  # 120 MB of sheet in well under a megabyte
    code, err, peak = run_measured(tmp_path / "ws", "units", "import", str(bomb))
    assert code == 1 and "the workbook unpacks to 120,0 MB, above the limit of 50 MB (setting input_max_unpacked_mb)" in err, err
    print(f"peak {peak} MB")  # quoted in RELIABILITY.md
    assert "Traceback" not in err and peak < PEAK_LIMIT_MB


def test_a_part_that_unpacks_hundreds_of_times_its_size_is_a_bomb(workspace: Path, tmp_path: Path) -> None:
    bomb = with_part(units_workbook(tmp_path / "base.xlsx"), tmp_path / "plan.xlsx", "xl/worksheets/sheet9.xml", sheet_of_zeros(30))
    problem = workbook_problem(bomb)
    assert problem is not None and problem.kind == "zip_ratio" and problem.facts["part"] == "xl/worksheets/sheet9.xml"
    with pytest.raises(ImportFileError) as refused:
        import_plan(bomb)
    assert "a decompression bomb, not a workbook" in str(refused.value) and "(setting input_max_zip_ratio)" in str(refused.value)


def test_a_filled_form_bomb_is_refused_in_the_units_words(tmp_path: Path) -> None:
    bomb = with_part(units_workbook(tmp_path / "base.xlsx"), tmp_path / "bieu-mau.xlsx", "xl/worksheets/sheet9.xml", sheet_of_zeros(120))
    code, err, peak = run_measured(tmp_path / "ws", "submit", str(bomb))
    assert code == 1 and "không được mở: tệp giải nén ra 120,0 MB, vượt giới hạn 50 MB" in err, err
    print(f"peak {peak} MB")  # quoted in RELIABILITY.md
    assert peak < PEAK_LIMIT_MB


def test_a_macro_workbook_renamed_xlsx_is_refused_as_such(workspace: Path, tmp_path: Path) -> None:
    macro = with_part(units_workbook(tmp_path / "base.xlsx"), tmp_path / "don-vi.xlsx", "xl/vbaProject.bin", b"\xd0\xcf\x11\xe0" + bytes(512))
    with pytest.raises(ImportFileError, match=r"a macro-enabled workbook \(\.xlsm, with VBA macros\)"):
        import_units(macro)


def test_a_workbook_of_too_many_sheets_is_refused(tmp_path: Path) -> None:
    book = Workbook()
    for n in range(60):
        book.create_sheet(f"S{n}")
    book.save(tmp_path / "many.xlsx")
    problem = workbook_problem(tmp_path / "many.xlsx")
    assert problem is not None and problem.describe() == "the workbook has 61 sheets, above the limit of 50 (setting input_max_sheets)"


BILLION_LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
    + ["units: *i"]
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (BILLION_LAUGHS, "the file's YAML aliases expand it to more than 1,000,000 values (setting input_max_yaml_values)"),
        ("units: &u [*u]\n", "the file's YAML aliases expand it to more than 1,000,000 values"),  # an alias inside itself
        ("x: &x 1\nunits: [" + ", ".join(["*x"] * 101) + "]\n", "the file uses 101+ YAML aliases (*name), above the limit of 100"),
    ],
    ids=["billion-laughs", "recursive", "many-aliases"],
)
def test_yaml_that_expands_without_bound_is_refused_before_it_is_built(workspace: Path, tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "units.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ImportFileError) as refused:
        import_units(path)
    assert expected in str(refused.value)


def test_a_billion_laughs_file_is_refused_by_the_command_within_its_memory(tmp_path: Path) -> None:
    path = tmp_path / "units.yaml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    code, err, peak = run_measured(tmp_path / "ws", "units", "import", str(path))
    assert code == 1 and "(setting input_max_yaml_values)" in err and "Traceback" not in err, err
    print(f"peak {peak} MB")  # quoted in RELIABILITY.md
    assert peak < PEAK_LIMIT_MB


def test_a_file_above_the_size_limit_is_refused_unread(workspace: Path, tmp_path: Path) -> None:
    path = tmp_path / "units.yaml"
    with path.open("wb") as handle:
        handle.write(b"units: []\n# " + b"x" * (21 * 1024 * 1024) + b"\n")
    with pytest.raises(ImportFileError, match=r"the file is 21,0 MB, above the limit of 20 MB \(setting input_max_mb\)"):
        import_units(path)


def test_our_own_workbooks_are_far_inside_the_limits(tmp_path: Path) -> None:
    from tasks.plans.workbook import plan_workbook

    plan_workbook().save(tmp_path / "plan.xlsx")
    for path in [tmp_path / "plan.xlsx", *(Path(__file__).resolve().parents[2] / "templates" / "forms").glob("*.xlsx")]:
        assert workbook_problem(path) is None, path
