"""`cascade outbox retry`: send again, now, what the server did not take."""

from __future__ import annotations

from typing import Annotated

import typer

from cascade.cli.common import checked, console, ready

app = typer.Typer()
outbox_app = typer.Typer(help="The outbox: messages waiting, retrying or failed.", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")


@outbox_app.command("retry")
def retry(
    failed: Annotated[bool, typer.Option("--failed", help="Also the messages given up on (a refusal for good, or the retry period ended).")] = False,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind: assignment, reminder, overdue, receipt, report…")] = None,
    plan: Annotated[str | None, typer.Option("--plan", help="Only the messages about this plan's assignments (key or number/symbol).")] = None,
) -> None:
    """Make the messages waiting out a backoff due now (with --failed, the failed ones too, with a new retry
    period); `cascade deliver` then sends them. Nothing already sent is sent again."""
    from cascade.errors import NotFound
    from models.db import session_scope
    from models.outbox import EmailKind
    from models.plan import plan_by_ref
    from tasks.outbound.outbox import requeue
    from templates import message

    ready()
    if kind is not None and kind not in {k.value for k in EmailKind}:
        typer.echo(f"error: unknown kind '{kind}'; expected one of: {', '.join(k.value for k in EmailKind)}", err=True)
        raise typer.Exit(1)
    key = None
    if plan is not None:

        def find() -> str:
            with session_scope() as session:
                found = plan_by_ref(session, plan)
                if found is None:
                    raise NotFound(f"unknown plan '{plan}': give its key (104-kh-ubnd-2024) or its number/symbol (104/KH-UBND)")
                return found.key

        key = checked(find)
    count = requeue(failed=failed, kind=kind, plan_key=key)
    console.print(message("cli.outbox.requeued", count=count))
