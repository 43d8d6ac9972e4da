"""How a `cascade` command starts (the `cascade` script's entry point): handed to the workspace's command
server when one runs for this folder and environment (`cascade.cli.handover`), else run in this process.
"""

from __future__ import annotations

import os
import sys

from cascade.cli.handover import ENVIRONMENT_DEFAULTS, hand_over, wanted


def main() -> None:
    """The `cascade` command."""
    for name, value in ENVIRONMENT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    if wanted(sys.argv, os.environ):
        status = hand_over(sys.argv)
        if status is not None:
            sys.exit(status)
    from cascade.cli.main import app  # Typer, and each command's own imports when it runs

    app()
