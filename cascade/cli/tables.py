"""Tables on the console: rich's boxed tables for what a person reads on one screen, plain aligned
columns for long ones.

rich lays out every cell before it prints: a table of 2,000 units took 3 s of a 3.5 s command. Past
`LONG` rows the same table prints as columns two spaces apart under an underlined header, in
milliseconds, and reads as well in a pager, a file or `grep`.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

LONG = 200


def show(console: Console, table: Table) -> None:
    """Print `table`: boxed by rich up to `LONG` rows, as plain aligned columns beyond."""
    if table.row_count <= LONG:
        console.print(table)
        return
    columns = [[_plain(column.header), *map(_plain, column.cells)] for column in table.columns]
    widths = [max(map(cell_len, cells)) for cells in columns]
    rows = ["  ".join(cell + " " * (width - cell_len(cell)) for cell, width in zip(row, widths, strict=True)).rstrip() for row in zip(*columns, strict=True)]
    lines = [*([_plain(table.title)] if table.title else []), rows[0], "  ".join("-" * width for width in widths), *rows[1:]]
    if table.caption:
        lines.append(_plain(table.caption))
    console.file.write("\n".join(lines) + "\n")


def _plain(cell: object) -> str:
    return " ".join(str(cell).splitlines())
