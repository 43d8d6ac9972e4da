"""tasks.plans.workbook: the plan file as an Excel workbook, read by the plan importer with problems by cell."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook

from cascade.errors import ImportFileError
from tasks.plans.imports import import_plan, import_units, load_plan
from tasks.plans.workbook import PLAN_SHEET, plan_workbook

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "town-2024"


def as_stored(node: Any) -> Any:
    """The example plan file as `plan_document` gives a stored plan: days as ISO text."""
    if isinstance(node, dict):
        return {key: as_stored(value) for key, value in node.items()}
    if isinstance(node, list):
        return [as_stored(value) for value in node]
    return node.isoformat() if isinstance(node, date) else node


def town_workbook(path: Path) -> Path:
    plan_workbook(as_stored(yaml.safe_load((EXAMPLE / "plan.yaml").read_text(encoding="utf-8")))).save(path)
    return path


def test_the_plan_workbook_reads_as_the_plan_file_does(tmp_path: Path, workspace: Path) -> None:
    workbook = town_workbook(tmp_path / "Kế hoạch 104.xlsx")
    assert load_plan(workbook).spec == load_plan(EXAMPLE / "plan.yaml").spec
    sheets = load_workbook(workbook).sheetnames
    assert sheets == [PLAN_SHEET, "Nhiệm vụ", "Chỉ tiêu", "Báo cáo"]
    import_units(EXAMPLE / "units.yaml")
    assert import_plan(workbook) == "104-kh-ubnd-2024"


JOINT = EXAMPLE.parent / "joint-2024"


def test_a_joint_plan_and_its_report_layout_go_through_the_workbook(tmp_path: Path, workspace: Path) -> None:
    """joint_with, report_recipients and the sections' parts (figures, reporting, not asked) in the office's words."""
    path = tmp_path / "Kế hoạch 12.xlsx"
    plan_workbook(as_stored(yaml.safe_load((JOINT / "plan.yaml").read_text(encoding="utf-8")))).save(path)
    assert load_plan(path).spec == load_plan(JOINT / "plan.yaml").spec
    cells = [str(c.value) for row in load_workbook(path)["Báo cáo"].iter_rows() for c in row if c.value]
    assert any(
        "ket_qua=Kết quả thực hiện | bảng chỉ tiêu" in c and "bao_cao=Tình hình báo cáo của các đơn vị | tình hình báo cáo | đơn vị không viết" in c
        for c in cells
    )
    plan_cells = [str(c.value) for row in load_workbook(path)[PLAN_SHEET].iter_rows() for c in row if c.value]
    assert "tu.dn.bcs | BÍ THƯ | Võ Tấn Đức" in plan_cells
    import_units(JOINT / "units.yaml")
    assert import_plan(path) == "12-kh-bdvtu-bcs.ubnd-2024"


def test_an_unknown_section_flag_is_named_by_its_cell(tmp_path: Path, workspace: Path) -> None:
    path = town_workbook(tmp_path / "plan.xlsx")
    workbook = load_workbook(path)
    duties = workbook["Báo cáo"]
    column = next(c.column_letter for c in duties[2] if c.value == "sections")
    row = next(r for r in range(3, duties.max_row + 1) if duties[f"{column}{r}"].value)
    duties[f"{column}{row}"] = "tinh_hinh=Tình hình chung | biểu đồ"
    workbook.save(path)
    with pytest.raises(ImportFileError) as caught:
        load_plan(path)
    shown = caught.value.details()
    assert f"Báo cáo!{column}{row}" in shown and "'bảng chỉ tiêu', 'tình hình báo cáo', 'đơn vị không viết'" in shown and "biểu đồ" in shown, shown


def test_a_bad_cell_is_named_by_its_sheet_and_cell_and_nothing_is_written(tmp_path: Path, workspace: Path) -> None:
    path = town_workbook(tmp_path / "plan.xlsx")
    workbook = load_workbook(path)
    targets, duties = workbook["Chỉ tiêu"], workbook["Báo cáo"]
    assert targets["F2"].value == "value" and duties["F2"].value == "due_on"
    targets["F4"] = "nhiều"  # the second target's level (targets start on row 3)
    duties["F3"] = "30/02/2024"  # the first report's deadline
    workbook.save(path)
    import_units(EXAMPLE / "units.yaml")
    with pytest.raises(ImportFileError) as caught:
        import_plan(path)
    shown = caught.value.details()
    assert "Chỉ tiêu!F5" not in shown and "Chỉ tiêu!F4" in shown and "Báo cáo!F3" in shown, shown
    empty = tmp_path / "empty.xlsx"
    load_workbook(path).save(empty)
    blank = load_workbook(empty)
    del blank[PLAN_SHEET]
    blank.save(empty)
    with pytest.raises(ImportFileError, match="no sheet 'Kế hoạch'"):
        load_plan(empty)
