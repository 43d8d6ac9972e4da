"""Where the consolidated report's parts go: as the duty places them, else by common practice."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from models.report_outline import FIGURES_SECTION, REPORTING_SECTION, OutlineSection, report_outline
from models.specs import DutySpec

SEEDED = [  # the department report's four sections (report-department-2023.txt)
    {"code": "tinh_hinh", "title": "Tình hình chung"},
    {"code": "ket_qua", "title": "Kết quả triển khai, thực hiện"},
    {"code": "danh_gia", "title": "Đánh giá chung"},
    {"code": "nhiem_vu", "title": "Nhiệm vụ, giải pháp thời gian tới"},
]


def parts(outline: tuple[OutlineSection, ...]) -> list[tuple[str, bool, bool, bool]]:
    return [(s.code, s.asked, s.reporting, s.figures) for s in outline]


def test_by_default_reporting_heads_the_first_section_and_figures_the_results_one() -> None:
    assert parts(report_outline(SEEDED)) == [
        ("tinh_hinh", True, True, False),
        ("ket_qua", True, False, True),
        ("danh_gia", True, False, False),
        ("nhiem_vu", True, False, False),
    ]


def test_without_a_results_section_the_figures_get_their_own_after_the_first() -> None:
    outline = report_outline([{"code": "tinh_hinh", "title": "Tình hình chung"}, {"code": "phuong_huong", "title": "Phương hướng"}])
    assert parts(outline) == [("tinh_hinh", True, True, False), (FIGURES_SECTION, False, False, True), ("phuong_huong", True, False, False)]
    assert outline[1].title == ""  # titled by the template (templates/messages/reporting.yaml)


def test_the_duty_places_the_parts_and_sections_the_units_do_not_write() -> None:
    placed = [
        {"code": "trien_khai", "title": "Tình hình triển khai"},
        {"code": "ket_qua", "title": "Kết quả thực hiện"},
        {"code": "chi_tieu", "title": "Các chỉ tiêu", "shows": ["figures"], "asked": False},
        {"code": "bao_cao", "title": "Chế độ báo cáo", "shows": ["reporting"], "asked": False},
    ]
    assert parts(report_outline(placed)) == [
        ("trien_khai", True, False, False),
        ("ket_qua", True, False, False),  # titled "Kết quả…", but the duty put the figures elsewhere
        ("chi_tieu", False, False, True),
        ("bao_cao", False, True, False),
    ]


def test_a_duty_without_targets_drops_the_figures_and_a_section_of_figures_only() -> None:
    placed = [*SEEDED[:1], {"code": "chi_tieu", "title": "Các chỉ tiêu", "shows": ["figures"], "asked": False}, *SEEDED[1:]]
    outline = report_outline(placed, has_figures=False)
    assert [s.code for s in outline] == ["tinh_hinh", "ket_qua", "danh_gia", "nhiem_vu"] and not any(s.figures for s in outline)
    assert parts(report_outline([], has_figures=False)) == [(REPORTING_SECTION, False, True, False)]


def duty(sections: list[dict[str, object]]) -> DutySpec:
    return DutySpec.model_validate({"code": "bao_cao_nam", "kind": "annual", "title": "Báo cáo năm", "due_on": "2024-10-30", "sections": sections})


def test_a_duty_places_each_part_once_and_leaves_no_section_empty() -> None:
    with pytest.raises(ValidationError, match="'figures' is already shown by section \\[0\\]"):
        duty([{"code": "a", "title": "A", "shows": ["figures"]}, {"code": "b", "title": "B", "shows": ["figures", "reporting"]}])
    with pytest.raises(ValidationError, match="a section the units do not write must show figures or reporting"):
        duty([{"code": "a", "title": "A"}, {"code": "b", "title": "B", "asked": False}])
    with pytest.raises(ValidationError, match="at least one narrative section the units write"):
        duty([{"code": "b", "title": "B", "shows": ["reporting"], "asked": False}])
    with pytest.raises(ValidationError, match="figures"):
        duty([{"code": "a", "title": "A", "shows": ["chart"]}])
    stored = [s.stored() for s in duty([{"code": "a", "title": "A"}, {"code": "b", "title": "B", "shows": ["figures"], "asked": False}]).sections]
    assert stored == [{"code": "a", "title": "A"}, {"code": "b", "title": "B", "shows": ["figures"], "asked": False}]
