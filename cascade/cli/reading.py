"""Reading the cycle: `cascade status`, `trace` and `calendar`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.tree import Tree

from cascade.cli.common import AsOf, checked, console, parse_day, ready, run

if TYPE_CHECKING:
    from tasks.outbound.quota import OutboxWaiting

# Commands import what they use inside their bodies: flows and tasks pull in Prefect (seconds), models
# SQLAlchemy and Alembic; `cascade --help` and a mistyped command should pay for none of them.


app = typer.Typer()


@app.command("trace")
def trace(
    plan: Annotated[str, typer.Argument(help="Plan key or number/symbol.")],
    duty: Annotated[str, typer.Argument(help="Duty code, e.g. bao_cao_nam.")],
    indicator: Annotated[str, typer.Argument(help="Indicator (target) code, e.g. nha_o_xa_hoi.")],
) -> None:
    """Show where a consolidated figure comes from: the submissions behind it, level by level."""
    from tasks.plans.lookup import check_references

    ready()
    checked(lambda: check_references(plan, duty=duty))
    # Imported after the check: a mistyped code is refused without loading Prefect.
    from tasks.reporting.queries import TraceNode, trace_figure

    report, nodes = run(lambda: trace_figure(plan, duty, indicator))
    figure = next(t for t in report.summary["targets"] if t["code"] == indicator)
    tree = Tree(f"{indicator} = {figure['figure']} (báo cáo ngày {report.as_of:%d/%m/%Y}, {figure['reported']}/{figure['expected']} đơn vị)")

    def add(branch: Tree, node: TraceNode) -> None:
        shown = f"{node.numerator}/{node.denominator}" if node.numerator is not None else str(node.value)
        covers = f", {node.covers} đơn vị" if node.covers else ""
        child = branch.add(
            f"{node.unit_name} ({node.unit_code}): {shown}{covers} — bản #{node.submission_id} lần {node.version}, {node.channel}, {node.received_on:%d/%m/%Y}"
        )
        for grandchild in node.children:
            add(child, grandchild)

    for node in nodes:
        add(tree, node)
    console.print(tree)


@app.command("status")
def status(
    plan: Annotated[str | None, typer.Argument(help="Plan key or number/symbol; without one, only the outbox.")] = None,
    as_of: AsOf = None,
    all_levels: Annotated[bool, typer.Option("--all-levels/--this-level", help="Include the units of every implementing plan below (default).")] = True,
) -> None:
    """A table of the plan's units × assignment state, level by level, and what waits in the outbox."""
    from tasks.outbound.quota import outbox_waiting
    from tasks.reporting.queries import STATE_WORDS, plan_status

    ready()
    day = parse_day(as_of)
    if plan is not None:
        code, rows = run(lambda: plan_status(plan, day, all_levels=all_levels, include_merged=True))
        table = Table(
            "Cấp", "Kế hoạch", "Đơn vị", "Báo cáo", "Hạn", "Trạng thái", "Ngày nộp", "Lần nộp", "Nhắc gần nhất", "Thư đã gửi", "Thư chờ gửi",
            title=f"Kế hoạch {code} — ngày {day:%d/%m/%Y}",
        )  # fmt: skip
        for row in rows:
            unit = row.unit_name
            if row.state == "merged":
                unit += f" (đã sáp nhập vào {row.merged_into})" if row.merged_into else " (đã sáp nhập)"
            elif row.transferred_from:
                unit += f" (tiếp nhận từ {row.transferred_from}, đã sáp nhập)"
            table.add_row(
                str(row.level),
                row.plan_code,
                unit,
                row.duty_code,
                f"{row.due_on:%d/%m/%Y}",
                STATE_WORDS[row.state],
                f"{row.submitted_on:%d/%m/%Y}" if row.submitted_on else "-",
                str(row.versions),
                row.last_reminder or "-",
                str(row.emails_sent),
                str(row.emails_waiting),
            )
        console.print(table)
    console.print(outbox_table(outbox_waiting(day)))


def outbox_table(waiting: OutboxWaiting) -> Table:
    """What waits in the outbox, best priority first, with the daily quota's view."""
    total = sum(n for _, _, n in waiting.by_kind)
    caption = f"{waiting.retrying} thư đang chờ gửi lại sau lỗi."
    if waiting.room_today is not None:
        caption += f" Hạn mức hôm nay còn {waiting.room_today} thư; cần khoảng {waiting.days_to_drain} ngày để gửi hết."
    table = Table("Ưu tiên", "Loại thư", "Số thư chờ", title=f"Hộp thư đi: {total} thư chờ gửi", caption=caption)
    for kind, priority, count in waiting.by_kind:
        table.add_row(str(priority), EMAIL_KIND_WORDS.get(kind, kind), str(count))
    return table


EMAIL_KIND_WORDS = {
    "receipt": "Xác nhận đã nhận báo cáo",
    "link": "Đường dẫn mới",
    "intake": "Trả lời thư báo cáo",
    "alert": "Cảnh báo văn phòng",
    "review": "Kết quả xem xét",
    "overdue": "Thông báo quá hạn",
    "escalation": "Tổng hợp quá hạn (thủ trưởng, văn phòng)",
    "reminder": "Nhắc hạn",
    "report": "Báo cáo tổng hợp",
    "assignment": "Giao nhiệm vụ",
}


@app.command("calendar")
def calendar(
    plan: Annotated[str, typer.Argument(help="Plan key or number/symbol.")],
    all_levels: Annotated[bool, typer.Option("--all-levels/--this-level", help="Include every implementing plan below (default).")] = True,
) -> None:
    """The plan's milestones: what the daily tick does on which day, and what it did."""
    from models.milestones import STATUS_WORDS, milestone_title
    from tasks.followup.milestones import plan_calendar

    ready()
    code, rows = run(lambda: plan_calendar(plan, all_levels=all_levels))
    table = Table("Ngày", "Kế hoạch", "Báo cáo", "Mốc", "Trạng thái", "Kết quả", title=f"Lịch thực hiện Kế hoạch {code}")
    for row in rows:
        state = STATUS_WORDS[row.status] + (f" ({row.done_on:%d/%m/%Y})" if row.done_on and row.done_on != row.day else "")
        table.add_row(
            f"{row.day:%d/%m/%Y}", row.plan_code, row.duty_title, milestone_title(row.kind, row.step, row.duty_kind), state, row.outcome or "",
        )  # fmt: skip
    console.print(table)
