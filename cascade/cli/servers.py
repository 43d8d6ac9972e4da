"""`cascade portal` and `cascade serve`."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import typer

from cascade import clock
from cascade.cli.common import console, parse_day, ready, run
from cascade.settings import get_settings

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
    with local_runs():
        uvicorn.run(app_, host=host, port=listen, log_level="warning", proxy_headers=True)


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
    run(lambda: serve_all(get_settings(), host=host, prefect_port=prefect_port, portal_port=portal_port, echo=typer.echo))
