"""`python -m cascade.cli`: the same command as the `cascade` script."""

from cascade.cli.main import app

app()
