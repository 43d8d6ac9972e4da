"""`cascade workdays show/set/unset` against a real SQLite workspace."""

from __future__ import annotations

from datetime import date

from typer.testing import CliRunner

from cascade.cli.main import app
from models.calendar import load_calendar
from models.db import session_scope

runner = CliRunner()


def cascade(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_set_show_unset_round_trip(workspace) -> None:
    before = cascade("workdays", "show", "2025").splitlines()
    assert "29/01/2025  Thứ Tư  Tết Nguyên Đán" in before
    assert "26/04/2025  Thứ Bảy  Làm bù cho ngày nghỉ 02/05/2025  (ngày làm việc)" in before
    assert not any(line.startswith("03/02/2025") for line in before)
    assert not any(line.startswith("04/01/2025") for line in before)  # plain Saturdays are not listed

    out = cascade("workdays", "set", "2025-02-03", "--day-off", "--note", "Nghỉ thêm Tết")
    assert "03/02/2025 (Thứ Hai) là ngày nghỉ" in out
    out = cascade("workdays", "set", "08/02/2025", "--working", "--note", "Làm bù ngày 03/02")
    assert "08/02/2025 (Thứ Bảy) là ngày làm việc" in out

    shown = cascade("workdays", "show", "2025").splitlines()
    assert "03/02/2025  Thứ Hai  Nghỉ thêm Tết" in shown
    assert "08/02/2025  Thứ Bảy  Làm bù ngày 03/02  (ngày làm việc)" in shown
    assert shown == sorted(shown, key=lambda line: (line[6:10], line[3:5], line[0:2]))
    with session_scope() as session:
        calendar = load_calendar(session)
        assert not calendar.is_working_day(date(2025, 2, 3))
        assert calendar.is_working_day(date(2025, 2, 8))

    assert "Đã bỏ điều chỉnh ngày 03/02/2025" in cascade("workdays", "unset", "03/02/2025")
    after = cascade("workdays", "show", "2025").splitlines()
    assert not any(line.startswith("03/02/2025") for line in after)
    assert "08/02/2025  Thứ Bảy  Làm bù ngày 03/02  (ngày làm việc)" in after


def test_set_replaces_an_earlier_override(workspace) -> None:
    cascade("workdays", "set", "2025-02-03", "--day-off", "--note", "Nghỉ thêm")
    cascade("workdays", "set", "2025-02-03", "--working", "--note", "Đi làm bình thường")
    shown = cascade("workdays", "show", "2025").splitlines()
    assert [line for line in shown if line.startswith("03/02/2025")] == ["03/02/2025  Thứ Hai  Đi làm bình thường  (ngày làm việc)"]


def test_unset_without_override_exits_1(workspace) -> None:
    result = runner.invoke(app, ["workdays", "unset", "2025-02-03"])
    assert result.exit_code == 1
    assert "error: ngày 03/02/2025 không có điều chỉnh nào" in result.output


def test_bad_input_is_refused(workspace) -> None:
    bad_date = runner.invoke(app, ["workdays", "set", "31/02/2025", "--day-off", "--note", "x"])
    assert bad_date.exit_code == 2 and "31/02/2025" in bad_date.output
    no_kind = runner.invoke(app, ["workdays", "set", "2025-02-03", "--note", "x"])
    assert no_kind.exit_code == 2
    blank_note = runner.invoke(app, ["workdays", "set", "2025-02-03", "--day-off", "--note", "  "])
    assert blank_note.exit_code == 2
    with session_scope() as session:
        assert load_calendar(session).is_working_day(date(2025, 2, 3))


def test_plan_import_and_cascade_print_the_deadline_moved_off_a_holiday(workspace, smtp_server, tmp_path, prefect_harness) -> None:
    import json

    from tests.fixtures.builders import make_unit_tree
    from tests.flows.test_day_off_deadlines import plan_file

    make_unit_tree(depth=2, width=2)
    path = plan_file(tmp_path / "plan.yaml", "after")
    out = cascade("plan", "import", str(path))
    assert f"warning: {path}:" in out and "duty 'bao_cao_thang4' is due 30/04/2024, a day off" in out
    assert "moved to 02/05/2024 (Thứ Năm), the next working day (on_day_off: after)" in out and "Plan imported: 12-kh-sxd-2024" in out
    assert "on_day_off: after" in cascade("plan", "export", "12-kh-sxd-2024")
    out = cascade("plan", "cascade", "12/KH-SXD", "--as-of", "05/04/2024")
    assert "2 new assignment(s)" in out and "warning" not in out  # already moved at import: nothing more to say
    schema = json.loads(cascade("schema", "plan"))
    assert schema["$defs"]["DutySpec"]["properties"]["on_day_off"]["default"] == "before"
