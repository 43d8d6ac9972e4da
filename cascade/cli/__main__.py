"""`python -m cascade.cli`: the same command as the `cascade` script."""

from cascade.cli.launch import main

main()
