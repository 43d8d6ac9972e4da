"""Console tables: boxed by rich while short, plain aligned columns once long (cascade.cli.tables)."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from cascade.cli.main import app
from cascade.cli.tables import LONG, show


def rendered(rows: int) -> list[str]:
    table = Table("Mã", "Tên đơn vị", title="Đơn vị", caption="hết")
    for i in range(rows):
        table.add_row(f"u{i}", "Ủy ban nhân dân phường An Tịnh" if i % 2 else "Trạm Y tế\nphường")
    out = io.StringIO()
    show(Console(file=out, width=60), table)
    return out.getvalue().splitlines()


def test_a_short_table_is_drawn_by_rich() -> None:
    lines = rendered(LONG)
    assert any("┃ Mã" in line for line in lines) and len(lines) > LONG


def test_a_long_table_prints_aligned_columns_one_row_a_line() -> None:
    lines = rendered(LONG + 1)
    assert lines[:3] == ["Đơn vị", "Mã    Tên đơn vị", "----  ------------------------------"]
    assert lines[3] == "u0    Trạm Y tế phường"  # a cell's lines joined: one row, one line
    assert lines[4] == "u1    Ủy ban nhân dân phường An Tịnh"
    assert lines[-2].startswith("u200 ") and lines[-1] == "hết" and len(lines) == LONG + 5
    assert "│" not in "".join(lines)


def test_units_list_of_a_large_tree_is_one_line_a_unit(workspace) -> None:
    from tests.fixtures.builders import make_unit_tree

    codes = make_unit_tree(depth=2, width=LONG + 50)
    out = CliRunner().invoke(app, ["units", "list"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0] == f"Đơn vị ({len(codes)})" and lines[2].startswith("---")
    body = [line.split()[0] for line in lines[3:]]
    assert body == [codes[0], *sorted(codes[1:])]  # the root, then its units by code, each on its own line
