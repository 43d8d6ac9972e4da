"""`cascade portal`, `cascade serve` and `cascade server` (the workspace's Prefect server)."""

from __future__ import annotations

import os
from typing import Annotated
from urllib.parse import urlsplit

import typer

from cascade import clock
from cascade.cli.common import checked, console, parse_day, prefect_api, ready, run
from cascade.settings import Settings, get_settings

# Commands import what they use inside their bodies: flows and tasks pull in Prefect (seconds), models
# SQLAlchemy and Alembic; `cascade --help` and a mistyped command should pay for none of them.


app = typer.Typer()


@app.command("portal")
def portal(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Default: the port of portal_base_url.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Act as on this day (replaying a cycle); default: each day's real date.")] = None,
) -> None:
    """Serve the units' report pages and the secretariat's dashboard (Ctrl-C to stop)."""
    import uvicorn

    from flows.runtime import local_runs
    from portal.app import create_app

    ready()
    settings = get_settings()
    day = parse_day(as_of) if as_of else None
    app_ = create_app((lambda: day) if day else clock.today)
    listen = port or urlsplit(settings.portal_base_url).port or 8765
    console.print(f"Portal on http://{host}:{listen} (links in emails use {settings.portal_base_url}); dashboard at /admin (Ctrl-C to stop)")
    if settings.dashboard_password is None:
        console.print("[yellow]CASCADE_DASHBOARD_PASSWORD is not set: the dashboard refuses every login.[/yellow]")

    def serve_portal() -> None:
        with prefect_api(), local_runs():  # the flows its pages start show in the workspace's Prefect UI
            uvicorn.run(app_, host=host, port=listen, log_level="warning", proxy_headers=True)

    checked(serve_portal)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address the Prefect server and the portal listen on.")] = "127.0.0.1",
    prefect_port: Annotated[int | None, typer.Option(help="Port of the Prefect server started here; default 4200 if free.")] = None,
    portal_port: Annotated[int | None, typer.Option(help="Default: the port of portal_base_url.")] = None,
) -> None:
    """Run everything on this machine: a Prefect server (or CASCADE_PREFECT_API_URL's), the daily tick and
    reply collection on their schedules, and the portal, until Ctrl-C or SIGTERM."""
    from cascade.cli.serve import serve as serve_all

    ready()
    run(lambda: serve_all(get_settings(), host=host, prefect_port=prefect_port, portal_port=portal_port, echo=typer.echo), api=False)


server = typer.Typer(help="The workspace's Prefect server, which every command that runs a flow reports to.", no_args_is_help=True)
app.add_typer(server, name="server")


@server.command("status")
def server_status() -> None:
    """Say whether the workspace's Prefect server runs, where its UI is, and where its log and database are (exit 1 when it is down),
    and whether its command server runs."""
    from cascade.cli.prefect_server import healthy, home_of, recorded

    settings = get_settings()
    show_command_servers(settings)
    named = [(name, url) for name, url in (("PREFECT_API_URL", os.environ.get("PREFECT_API_URL")), ("prefect_api_url", settings.prefect_api_url)) if url]
    if named:  # the server flow runs go to instead of the workspace's (cascade.cli.common.prefect_api)
        name, url = named[0]
        up = healthy(url.rstrip("/"))
        console.print(f"Flow runs go to the Prefect server of {name}: {url} ({'answering' if up else 'not answering'})")
        raise typer.Exit(0 if up else 1)
    found = recorded(settings)
    if found is None:
        console.print(f"No Prefect server runs for the workspace {settings.workspace.resolve()}; the next command that runs a flow starts one.")
        raise typer.Exit(1)
    state = "running" if healthy(found.api_url) else "starting or not answering"
    console.print(f"Prefect server {state}: UI {found.ui_url}, API {found.api_url}, process {found.pid}")
    database = settings.prefect_database_url or str(home_of(settings) / "prefect.db")
    if password := urlsplit(database).password:
        database = database.replace(f":{password}@", ":***@", 1)
    console.print(f"Its log: {found.log}; its database: {database}")


@server.command("start")
def server_start() -> None:
    """Start the workspace's Prefect server (unless flow runs go to another: PREFECT_API_URL, prefect_api_url) and its command server
    in the background (the first command that runs a flow does it too)."""
    from cascade.cli import command_server as commands
    from cascade.cli.prefect_server import workspace_server

    settings = get_settings()
    elsewhere = os.environ.get("PREFECT_API_URL") or settings.prefect_api_url
    if elsewhere:
        console.print(f"Flow runs go to the Prefect server at {elsewhere}.")
    else:
        found, started = checked(lambda: workspace_server(settings))
        console.print(f"Prefect server {'started' if started else 'already running'}: UI {found.ui_url} (process {found.pid})")
    if settings.command_server:
        ready_ = commands.start(settings, os.environ, wait=commands.START_TIMEOUT)
        if ready_ is None:
            console.print(f"The command server did not start; see {commands.log_of(settings)}")
            raise typer.Exit(1)
        console.print(f"Command server ready (process {ready_.pid}): commands started in {os.getcwd()} with this environment run in it.")


@server.command("stop")
def server_stop() -> None:
    """Stop the workspace's Prefect server and its command servers; its flow runs stay in its database for the next one."""
    from cascade.cli import command_server as commands
    from cascade.cli.prefect_server import stop_workspace_server

    settings = get_settings()
    for stopped_ in commands.stop(settings):
        console.print(f"Command server stopped (process {stopped_.pid}).")
    stopped = checked(lambda: stop_workspace_server(settings))
    console.print(f"Prefect server stopped (process {stopped.pid})." if stopped else "No Prefect server was running for this workspace.")


def show_command_servers(settings: Settings) -> None:
    """A line per command server of the workspace (none: commands load everything themselves)."""
    from cascade.cli import command_server as commands

    servers = commands.running(settings)
    for found in servers:
        console.print(f"Command server running: process {found.pid}, socket {found.socket}")
    if not servers:
        console.print("No command server runs: each command loads Prefect and the flows itself.")
    console.print(f"Its log: {commands.log_of(settings)}")
