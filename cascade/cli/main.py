"""The `cascade` command (`cascade.cli.main:app`): thin wrappers that parse arguments and run a flow or a query.

Each module holds one group of commands; this one puts them together. Commands that other installed
packages offer (the sandbox's `cascade demo` and `cascade mailbox`) join through the entry-point group
`plancascade.commands`, so that nothing here imports them.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from cascade.cli import accounts, amendments, backup, cycle, documents, outbox, plans, reading, rollover, servers, workdays  # noqa: F401 (amendments, rollover: their commands join plans.plan_app)

app = typer.Typer(help="plan-cascade: cascade a plan down the hierarchy and gather the reports back up.", no_args_is_help=True, pretty_exceptions_enable=False)
for group in (plans, accounts, servers, cycle, reading, documents, workdays, outbox, backup):
    app.add_typer(group.app)
for plugin in entry_points(group="plancascade.commands"):
    plugin.load()(app)
