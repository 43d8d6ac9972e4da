"""Next year's plan drafted from this year's: deadlines at the same working-day positions of the new year, the
units of its first day (a ward merged on 01/01/2025), targets carried or raised, then issued and cascaded.

The plan is the town's (examples/town-2024, 104/KH-UBND of 30/01/2024); in these tests the ward of Lộc Hưng
ceases on 31/12/2024 and its work passes to An Tịnh.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from cascade.calendar import WorkingCalendar
from cascade.errors import ConflictError, InvalidValue, NotFound
from models.assignment import Assignment
from models.db import session_scope
from models.outbox import OutboundEmail
from models.plan import Plan, PlanStatus, ReportDuty
from models.unit import Unit
from tasks.plans.exports import plan_yaml
from tasks.plans.imports import import_plan, import_plan_file, import_units
from tasks.plans.rollover import Rollover, next_year_text, parse_raises, rescale, roll_over, same_working_day

TOWN = Path(__file__).resolve().parents[2] / "examples" / "town-2024"
PLAN = "104-kh-ubnd-2024"
NEW = "1-kh-ubnd-2025"  # the town's first plan number of 2025
WARDS_2025 = ["tb.antinh", "tb.giabinh", "tb.gialoc"]
TET_2025 = (date(2025, 1, 25), date(2025, 2, 2))

MERGER = """\
units:
  - code: tb.lochung
    name: Ủy ban nhân dân phường Lộc Hưng
    emails: [vanthu@lochung.trangbang.example.gov.vn]
    valid_to: 2024-12-31
    successor: tb.antinh
"""


# ---------------------------------------------------------------------------------------------
# The working-day position, pure
# ---------------------------------------------------------------------------------------------

CALENDAR = WorkingCalendar()


@pytest.mark.parametrize(
    ("day", "moved"),
    [
        # Second half of the month: counted back from its end
        (date(2024, 10, 30), date(2025, 10, 30)),  # the second-to-last working day of October (Wed → Thu)
        (date(2024, 2, 23), date(2025, 2, 24)),  # 5th from the end of February (23, 26, 27, 28, 29) → 24, 25, 26, 27, 28/02/2025
        (date(2024, 1, 30), date(2025, 1, 23)),  # 2nd from the end of January; January 2025 ends in Tết (27-31/01): 24, 23/01
        (date(2024, 5, 31), date(2025, 5, 30)),  # the last working day of May; 31/05/2025 is a Saturday
        (date(2024, 3, 29), date(2025, 3, 31)),  # the last working day of March; 31/03/2025 is a Monday
        (date(2024, 4, 17), date(2025, 4, 22)),  # 7th from the end, across Giỗ Tổ (18/04/2024), 30/04 and the worked Saturday 26/04/2025
        # First half: counted from its start
        (date(2024, 2, 1), date(2025, 2, 3)),  # the first working day of February: 03/02/2025, after Tết Ất Tỵ (25/01-02/02)
        (date(2024, 2, 15), date(2025, 2, 10)),  # the first day after Tết Giáp Thìn is the 6th working day of February 2024
        (date(2024, 1, 2), date(2025, 1, 2)),  # the first working day after New Year's Day
        (date(2024, 9, 4), date(2025, 9, 3)),  # the 2nd working day of September, after Quốc khánh (02-03/09/2024, 01-02/09/2025)
    ],
)
def test_a_working_day_moves_to_the_same_position_of_its_month(day: date, moved: date) -> None:
    assert same_working_day(day, 2025, CALENDAR) == moved
    assert CALENDAR.is_working_day(moved)


def test_every_working_day_of_2024_lands_on_a_working_day_of_the_same_month_in_2025() -> None:
    days = [date(2024, 1, 1) + timedelta(days=n) for n in range(366)]
    for day in (d for d in days if CALENDAR.is_working_day(d)):
        moved = same_working_day(day, 2025, CALENDAR)
        assert (moved.year, moved.month) == (2025, day.month) and CALENDAR.is_working_day(moved), day
        assert not TET_2025[0] <= moved <= TET_2025[1], day
    # The position is kept: two working days keep their order, and the last working day stays the last
    assert same_working_day(date(2024, 12, 30), 2025, CALENDAR) < same_working_day(date(2024, 12, 31), 2025, CALENDAR) == date(2025, 12, 31)


def test_a_day_that_is_not_a_working_day_keeps_its_calendar_day() -> None:
    assert same_working_day(date(2024, 5, 1), 2025, CALENDAR) == date(2025, 5, 1)  # a holiday: its duty's on_day_off rule settles it
    assert same_working_day(date(2024, 10, 26), 2025, CALENDAR) == date(2025, 10, 26)  # a Saturday, a Sunday in 2025
    assert same_working_day(date(2020, 2, 29), 2021, CALENDAR) == date(2021, 2, 28)  # a Saturday 29/02: the month's last day


def test_the_offices_own_days_off_count() -> None:
    closed = WorkingCalendar({date(2025, 10, 31): (False, "Nghỉ theo quyết định của UBND tỉnh")})
    assert same_working_day(date(2024, 10, 30), 2025, closed) == date(2025, 10, 29)


def test_only_the_phrase_nam_and_the_old_year_changes() -> None:
    text = "Báo cáo năm 2024 (NĂM 2024, Năm  2024); ngày 30/10/2024; năm 20245; giai đoạn năm 2024 - 2026; năm 2023"
    assert next_year_text(text, 2024, 2025) == "Báo cáo năm 2025 (NĂM 2025, Năm  2025); ngày 30/10/2024; năm 20245; giai đoạn năm 2024 - 2026; năm 2023"


def test_raised_values_are_read_as_vietnamese_numbers_and_bad_ones_are_named() -> None:
    assert parse_raises(["mo_hinh=15", "hai_long = 92,5%", "so_ho=1.234"]) == {"mo_hinh": 15, "hai_long": Decimal("92.5"), "so_ho": 1234}
    for bad, named in (("mo_hinh", "'mo_hinh': expected CODE=VALUE"), ("mo_hinh=mười", "'mười' is not a number"), ("=15", "expected CODE=VALUE")):
        with pytest.raises(InvalidValue, match=named):
            parse_raises([bad])
    with pytest.raises(InvalidValue, match="'a' twice"):
        parse_raises(["a=1", "a=2"])


def test_allocations_are_shared_again_in_proportion_and_add_up_exactly() -> None:
    shares = {"tb.antinh": Decimal(6), "tb.giabinh": Decimal(3), "tb.gialoc": Decimal(3)}
    assert rescale(shares, Decimal(15)) == {"tb.antinh": 7, "tb.giabinh": 4, "tb.gialoc": 4}  # 7,5 / 3,75 / 3,75
    assert rescale(shares, Decimal(12)) == shares
    assert sum(rescale(shares, Decimal("10.5")).values()) == Decimal("10.5")
    assert rescale({"a": Decimal(0), "b": Decimal(0)}, Decimal(3)) == {"a": 2, "b": 1}


# ---------------------------------------------------------------------------------------------
# The town's plan rolled over to 2025
# ---------------------------------------------------------------------------------------------


def roll(plan: str = PLAN, year: int = 2025, *, out: Path, **options: Any) -> Rollover:
    return roll_over(plan, year, out=out, **options)


@pytest.fixture()
def town(workspace: Path, tmp_path: Path) -> Path:
    """The town's units and plan of 2024, and Lộc Hưng merged into An Tịnh from 01/01/2025."""
    import_units(TOWN / "units.yaml")
    (tmp_path / "merger.yaml").write_text(MERGER, encoding="utf-8")
    import_units(tmp_path / "merger.yaml")
    assert import_plan(TOWN / "plan.yaml") == PLAN
    return tmp_path


@pytest.fixture()
def rolled(town: Path) -> Rollover:
    return roll(out=town / "draft.yaml", raises=["hai_long=95"])


def stored(key: str) -> dict[str, Any]:
    with session_scope() as session:
        plan = session.scalars(select(Plan).where(Plan.key == key)).one()
        return {
            "status": plan.status,
            "number": plan.number,
            "issued_on": plan.issued_on,
            "title": plan.title,
            "year": plan.year,
            "basis": list(plan.basis),
            "parent": plan.parent_plan.key if plan.parent_plan else None,
            "duties": {d.code: (d.due_on, d.period_start, d.cutoff_on, d.title) for d in plan.duties},
            "targets": {t.code: (t.value, dict(t.allocations or {})) for t in plan.targets},
            "leads": {t.code: sorted(tu.unit.code for tu in t.units) for t in plan.tasks},
        }


def test_the_town_plan_rolls_over_to_2025_with_its_deadlines_units_and_targets(rolled: Rollover, town: Path) -> None:
    assert (rolled.key, rolled.code, rolled.path) == (NEW, "01/KH-UBND", town / "draft.yaml")
    draft = stored(NEW)
    assert (draft["status"], draft["number"], draft["year"]) == (PlanStatus.DRAFT, "1", 2025)
    assert draft["title"] == "Thực hiện công tác Dân vận chính quyền năm 2025"
    assert draft["basis"] == stored(PLAN)["basis"]  # kept: no --basis
    # 30/01/2024, the second-to-last working day of January, → 23/01/2025, before Tết Ất Tỵ
    assert draft["issued_on"] == date(2025, 1, 23)
    assert draft["duties"] == {
        "ke_hoach": (date(2025, 2, 24), None, None, "Ban hành kế hoạch thực hiện công tác Dân vận chính quyền năm 2025"),
        # the report due 30/10/2024 (2nd-to-last working day) → 30/10/2025; its data period moves by the calendar
        "bao_cao_nam": (date(2025, 10, 30), date(2025, 1, 1), date(2025, 10, 15), "Báo cáo kết quả thực hiện công tác Dân vận chính quyền năm 2025"),
    }
    for due_on, *_ in draft["duties"].values():
        assert due_on.year == 2025 and CALENDAR.is_working_day(due_on) and not TET_2025[0] <= due_on <= TET_2025[1]
    # Units of 01/01/2025: every task led by the four wards is led by the three that remain
    assert set(map(tuple, draft["leads"].values())) == {tuple(WARDS_2025)}
    # Lộc Hưng's 3 models are An Tịnh's now; the satisfaction target raised to 95%; the others carried
    assert draft["targets"]["mo_hinh_dan_van_kheo"] == (12, {"tb.antinh": "6", "tb.giabinh": "3", "tb.gialoc": "3"})
    assert draft["targets"]["hai_long"][0] == 95
    assert draft["targets"]["hoc_tap_quan_triet"][0] == 100 and draft["targets"]["quy_che_dan_chu"][0] == 90

    # The file written is the plan file format, as `cascade plan export` writes it
    written = yaml.safe_load(rolled.path.read_text(encoding="utf-8"))["plan"]
    assert (written["key"], written["issued_on"], written["duties"][0]["due_on"]) == (NEW, "2025-01-23", "2025-02-24")

    # The changes, line by line
    changes = "\n".join(rolled.changes)
    for line in (
        "Số, ký hiệu: 104/KH-UBND → 01/KH-UBND",
        "Ngày ban hành: Thứ Ba 30/01/2024 → Thứ Năm 23/01/2025",
        "Tên kế hoạch: “Thực hiện công tác Dân vận chính quyền năm 2024” → “Thực hiện công tác Dân vận chính quyền năm 2025”",
        "Hạn “Ban hành kế hoạch thực hiện công tác Dân vận chính quyền năm 2025”: Thứ Sáu 23/02/2024 → Thứ Hai 24/02/2025",
        "Hạn “Báo cáo kết quả thực hiện công tác Dân vận chính quyền năm 2025”: Thứ Tư 30/10/2024 → Thứ Năm 30/10/2025",
        "Chỉ tiêu “Mức độ hài lòng của cá nhân, tổ chức đối với sự phục vụ của cơ quan hành chính nhà nước”: ≥ 90% → ≥ 95%",
        "Kỳ số liệu “Báo cáo kết quả thực hiện công tác Dân vận chính quyền năm 2025”: từ 01/01/2024 đến 15/10/2024 → từ 01/01/2025 đến 15/10/2025",
        "Phân bổ chỉ tiêu “Mô hình “Dân vận khéo” đăng ký và thực hiện”: tb.giabinh 3, tb.gialoc 3, tb.antinh 3, tb.lochung 3 → tb.antinh 6, tb.giabinh 3, tb.gialoc 3",
        "Căn cứ: giữ nguyên 4 văn bản của kế hoạch năm 2024",
    ):
        assert line in changes, line
    [merged] = [line for line in rolled.changes if line.startswith("tb.lochung → tb.antinh")]
    assert "UBND phường Lộc Hưng hoạt động đến hết ngày 31/12/2024, công việc chuyển cho UBND phường An Tịnh" in merged
    assert merged.count("(chủ trì)") == 5 and merged.endswith("chỉ tiêu “Mô hình “Dân vận khéo” đăng ký và thực hiện” (phân bổ)")

    # The source is untouched
    assert stored(PLAN)["issued_on"] == date(2024, 1, 30) and stored(PLAN)["status"] == PlanStatus.ISSUED


def test_a_new_ward_joins_the_lists_that_named_every_ward_and_the_basis_is_replaced(town: Path) -> None:
    (town / "new-ward.yaml").write_text(
        "units:\n  - {code: tb.moi, name: Ủy ban nhân dân phường Mới, short_name: UBND phường Mới, parent: tb, kind: ward,"
        " emails: [vanthu@moi.trangbang.example.gov.vn], valid_from: 2025-01-01}\n",
        encoding="utf-8",
    )
    import_units(town / "new-ward.yaml")
    basis = ["Kế hoạch số 05/KH-UBND ngày 06/01/2025 của UBND tỉnh Tây Ninh", "Luật Thực hiện dân chủ ở cơ sở"]
    rolled = roll(out=town / "draft.yaml", number="7", basis=basis)
    draft = stored("7-kh-ubnd-2025")
    assert set(map(tuple, draft["leads"].values())) == {("tb.antinh", "tb.giabinh", "tb.gialoc", "tb.moi")}
    # A new ward starts at 0 of an allocated target; the total still adds up
    assert draft["targets"]["mo_hinh_dan_van_kheo"][1] == {"tb.antinh": "6", "tb.giabinh": "3", "tb.gialoc": "3", "tb.moi": "0"}
    assert draft["basis"] == basis
    assert any(line.startswith("Thêm tb.moi (UBND phường Mới, trực thuộc UBND thị xã Trảng Bàng ngày 01/01/2025): nhiệm vụ") for line in rolled.changes)
    assert (
        "Căn cứ: thay 4 văn bản bằng 2 văn bản mới: Kế hoạch số 05/KH-UBND ngày 06/01/2025 của UBND tỉnh Tây Ninh; Luật Thực hiện dân chủ ở cơ sở"
        in rolled.changes
    )


def test_a_list_naming_some_wards_follows_each_and_a_ward_without_successor_is_dropped(town: Path) -> None:
    (town / "closed.yaml").write_text(
        "units:\n  - {code: tb.gialoc, name: Ủy ban nhân dân phường Gia Lộc, emails: [vanthu@gialoc.trangbang.example.gov.vn], valid_to: 2024-12-31}\n",
        encoding="utf-8",
    )
    import_units(town / "closed.yaml")
    document = yaml.safe_load((TOWN / "plan.yaml").read_text(encoding="utf-8"))
    plan = document["plan"] | {"key": "105-kh-ubnd-2024", "number": "105"}
    plan["tasks"][4] |= {"lead": ["tb.lochung"], "support": ["tb.antinh", "tb.gialoc"]}
    plan["targets"][3]["reporters"] = ["tb.antinh", "tb.lochung", "tb.gialoc"]
    (town / "plan.yaml").write_text(yaml.safe_dump({"plan": plan}, allow_unicode=True), encoding="utf-8")
    import_plan(town / "plan.yaml")

    rolled = roll("105-kh-ubnd-2024", out=town / "draft.yaml")
    written = yaml.safe_load(rolled.path.read_text(encoding="utf-8"))["plan"]
    # Lộc Hưng's task goes to An Tịnh, which no longer supports it; Gia Lộc, with no successor, is dropped
    assert (written["tasks"][4]["lead"], written["tasks"][4]["support"]) == (["tb.antinh"], [])
    assert written["tasks"][0]["lead"] == ["tb.antinh", "tb.giabinh"]
    assert written["targets"][3]["reporters"] == ["tb.antinh"]
    # The 12 models: An Tịnh 3 + Lộc Hưng's 3, Gia Bình 3, Gia Lộc's 3 lost: shared again in proportion, 8 and 4
    assert written["targets"][2]["allocations"] == {"tb.antinh": 8, "tb.giabinh": 4}
    [dropped] = [line for line in rolled.changes if line.startswith("Bỏ tb.gialoc")]
    assert dropped.startswith("Bỏ tb.gialoc (UBND phường Gia Lộc hoạt động đến hết ngày 31/12/2024, không có đơn vị kế thừa): nhiệm vụ")
    assert (
        "(phối hợp)" in dropped
        and "(phân bổ)" in dropped
        and dropped.endswith("chỉ tiêu “Mức độ hài lòng của cá nhân, tổ chức đối với sự phục vụ của cơ quan hành chính nhà nước” (đơn vị báo cáo)")
    )


def test_periodic_duties_take_the_new_years_periods_and_a_deadline_kept_on_a_day_off_stays_on_its_day(workspace: Path, tmp_path: Path) -> None:
    import_units(TOWN / "units.yaml")
    document = yaml.safe_load((TOWN / "plan.yaml").read_text(encoding="utf-8"))
    sections = [{"code": "ket_qua", "title": "Kết quả thực hiện năm 2024"}]
    document["plan"]["duties"] += [
        {"code": "bao_cao_quy", "kind": "quarterly", "title": "Báo cáo công tác dân vận", "due_after_cutoff": 5, "sections": sections},
        # Due on Quốc khánh 2024, and kept there: the same calendar day, Quốc khánh 2025 too (01-02/09/2025), kept
        {"code": "so_ket", "kind": "ad_hoc", "title": "Sơ kết", "due_on": "2024-09-02", "on_day_off": "keep", "sections": sections},
    ]
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    import_plan(tmp_path / "plan.yaml")

    rolled = roll(out=tmp_path / "draft.yaml")
    duties = stored(NEW)["duties"]
    # Generated for the Decree 09/2019 periods: those of 2025 (Q1 from 15/12/2024 to 14/03/2025); 21/03/2024, the
    # 7th working day from the end of March, → 21/03/2025
    assert duties["bao_cao_quy.q1"] == (date(2025, 3, 21), date(2024, 12, 15), date(2025, 3, 14), "Báo cáo công tác dân vận quý I năm 2025")
    assert duties["bao_cao_quy.q4"][1:] == (date(2025, 9, 15), date(2025, 12, 14), "Báo cáo công tác dân vận quý IV năm 2025")
    assert duties["so_ket"][0] == date(2025, 9, 2)
    assert "Hạn “Sơ kết” rơi vào 02/09/2025, ngày nghỉ (Quốc khánh): giữ nguyên ngày này" in rolled.changes
    assert "Báo cáo “Sơ kết” (tên, đề mục): “năm 2024” → “năm 2025”" in rolled.changes  # a section's title
    assert "Kỳ số liệu “Báo cáo công tác dân vận quý I năm 2025”: từ 15/12/2023 đến 14/03/2024 → từ 15/12/2024 đến 14/03/2025" in rolled.changes


def test_refusals_name_what_to_change(town: Path) -> None:
    out = town / "draft.yaml"
    with pytest.raises(InvalidValue, match=r"--year 2024: plan 104/KH-UBND .* covers 2024"):
        roll(year=2024, out=out)
    with pytest.raises(InvalidValue, match="has no target 'nope'; its targets: hoc_tap_quan_triet, quy_che_dan_chu, mo_hinh_dan_van_kheo, hai_long"):
        roll(out=out, raises=["nope=3"])
    with pytest.raises(InvalidValue, match="'ba' is not a number"):
        roll(out=out, raises=["hai_long=ba"])
    assert not out.exists()  # nothing written
    roll(out=out)
    with pytest.raises(ConflictError, match=f"plan {NEW} already exists"):
        roll(out=out, number="1")
    # A closed plan rolls over too, to another year
    with session_scope() as session:
        session.scalars(select(Plan).where(Plan.key == PLAN)).one().status = PlanStatus.CLOSED
    assert roll(year=2026, out=town / "2026.yaml").key == "1-kh-ubnd-2026"


def test_an_implementing_plan_rolls_over_under_the_new_years_plan_of_its_parents_issuer(town: Path) -> None:
    ward = yaml.safe_load((TOWN / "plan.yaml").read_text(encoding="utf-8"))["plan"]
    units = ["tb.giabinh.ca", "tb.giabinh.qs", "tb.giabinh.yt"]
    ward |= {"key": None, "number": "1", "issuer": "tb.giabinh", "issued_on": "2024-02-15", "place": "Gia Bình", "parent_plan": PLAN, "cascade": None}
    for task in ward["tasks"]:
        task["lead"] = units
    for target in ward["targets"]:
        if target.get("allocations"):
            target |= {"value": 3, "allocations": dict.fromkeys(units, 1)}
    ward["duties"] = [d | {"due_on": "2024-10-23"} for d in ward["duties"] if d["code"] == "bao_cao_nam"]
    (town / "ward.yaml").write_text(yaml.safe_dump({"plan": ward}, allow_unicode=True), encoding="utf-8")
    ward_key = import_plan(town / "ward.yaml")

    with pytest.raises(NotFound, match="has no plan for 2025 yet: roll that plan over first"):
        roll(ward_key, out=town / "w.yaml")
    roll(out=town / "town.yaml")
    rolled = roll(ward_key, out=town / "w.yaml")
    assert rolled.key == f"{NEW}--tb.giabinh"
    draft = stored(rolled.key)
    # 15/02/2024, the 6th working day of February → 10/02/2025; 23/10/2024, the 7th from the end of October → 23/10/2025
    assert (draft["status"], draft["number"], draft["parent"], draft["issued_on"]) == (PlanStatus.DRAFT, "1", NEW, date(2025, 2, 10))
    assert draft["duties"]["bao_cao_nam"][0] == date(2025, 10, 23)
    assert "Thực hiện kế hoạch: 104/KH-UBND → 01/KH-UBND" in rolled.changes

    with session_scope() as session:  # a second plan of the town for 2025: which one to implement is for the user to say
        other = Plan(key="9-kh-ubnd-2025", number="9", symbol="KH-UBND", issuer_id=session.scalars(select(Unit.id).where(Unit.code == "tb")).one(),
                     issued_on=date(2025, 3, 3), place="Trảng Bàng", title="Khác", year=2025, signer_title="CHỦ TỊCH", signer_name="")  # fmt: skip
        session.add(other)
        session.delete(session.scalars(select(Plan).where(Plan.key == rolled.key)).one())
    with pytest.raises(ConflictError, match=r"tb has 2 plans for 2025 \(1-kh-ubnd-2025, 9-kh-ubnd-2025\): name the one to implement with --parent KEY"):
        roll(ward_key, out=town / "w.yaml")
    assert roll(ward_key, out=town / "w.yaml", parent=NEW).key == f"{NEW}--tb.giabinh"


# ---------------------------------------------------------------------------------------------
# The draft issued and cascaded
# ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("prefect_harness")
def test_the_rolled_over_draft_is_issued_and_cascaded_to_the_2025_wards(rolled: Rollover, smtp_server) -> None:  # type: ignore[no-untyped-def]
    from flows.issue_plan import issue_plan

    # Adjusted as a user does (export, edit, import --replace): it stays a draft
    with session_scope() as session:
        exported = plan_yaml(session, session.scalars(select(Plan).where(Plan.key == NEW)).one())
    rolled.path.write_text(exported.replace("value: 95\n", "value: 96\n"), encoding="utf-8")
    import_plan_file(rolled.path, replace=True)
    assert stored(NEW)["status"] == PlanStatus.DRAFT and stored(NEW)["targets"]["hai_long"][0] == 96

    result = issue_plan(NEW, date(2025, 1, 23))
    assert (result.assigned, result.drafted, result.issued) == (6, 3, 0)  # three wards × two duties; their plans wait to be issued
    issued = stored(NEW)
    assert (issued["status"], issued["number"], issued["issued_on"]) == (PlanStatus.ISSUED, "1", date(2025, 1, 23))
    with session_scope() as session:
        assigned = session.execute(
            select(Unit.code, ReportDuty.code, Assignment.due_on)
            .join(Assignment, Assignment.unit_id == Unit.id)
            .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
            .join(Plan, Plan.id == ReportDuty.plan_id)
            .where(Plan.key == NEW)
        ).all()
        new_id = session.scalars(select(Plan.id).where(Plan.key == NEW)).one()
        drafts = {p.issuer.code: p for p in session.scalars(select(Plan).where(Plan.parent_plan_id == new_id))}
        antinh_models = next(t.value for t in drafts["tb.antinh"].targets if t.code == "mo_hinh_dan_van_kheo")
        sent = session.scalars(select(OutboundEmail.status)).all()
    assert sorted(assigned) == sorted(
        (ward, duty, due) for ward in WARDS_2025 for duty, due in (("ke_hoach", date(2025, 2, 24)), ("bao_cao_nam", date(2025, 10, 30)))
    )
    assert sorted(drafts) == WARDS_2025 and antinh_models == 6  # An Tịnh's draft asks it for Lộc Hưng's models too
    assert len(sent) == 6 and {str(s) for s in sent} == {"sent"}
    subjects = [str(m["Subject"]) for m in smtp_server.messages()]
    assert len(subjects) == 6
    assert sum("hạn 30/10/2025" in s for s in subjects) == 3 and sum("hạn 24/02/2025" in s for s in subjects) == 3
    recipients = sorted(m["To"].addresses[0].addr_spec for m in smtp_server.messages())
    assert recipients == sorted(f"vanthu@{ward[3:]}.trangbang.example.gov.vn" for ward in WARDS_2025 for _ in range(2))  # none to Lộc Hưng
