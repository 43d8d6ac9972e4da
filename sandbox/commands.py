"""The sandbox's commands, `cascade demo` and `cascade mailbox`: the CLI finds `register` through the
entry point `plancascade.commands` of pyproject.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cascade.cli.common import console, run
from cascade.settings import get_settings


def register(app: typer.Typer) -> None:
    """Add the sandbox's commands to the `cascade` command."""
    commands = typer.Typer()
    commands.command("demo")(demo)
    commands.command("mailbox")(mailbox)
    app.add_typer(commands)


def mailbox(
    maildir: Annotated[Path | None, typer.Option(help="Maildir folder; default <workspace>/maildir.")] = None,
    host: str = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Default: the configured SMTP port.")] = None,
) -> None:
    """Run a local SMTP server that stores every message in a Maildir (for trying things out)."""
    from sandbox.smtp_sink import serve_forever

    settings = get_settings()
    folder = maildir or settings.workspace / "maildir"
    console.print(f"SMTP sink on {host}:{port or settings.smtp_port}, storing into {folder.resolve()} (Ctrl-C to stop)")
    serve_forever(folder, host, port or settings.smtp_port)


def demo(workspace: Annotated[Path, typer.Option(help="Folder for the demo (emptied first).")] = Path("demo-workspace")) -> None:
    """Run the whole annual cycle of the example plan on a fresh workspace and a local mailbox."""
    from sandbox.demo import fresh_workspace, run_demo

    folder = fresh_workspace(workspace)  # before `run`, which starts the Prefect server in the workspace
    run(lambda: run_demo(folder, console), command_server=False)  # the demo's environment is not the one its user types commands in
