"""The `cascade` command, one module per group of commands; `cascade.cli.main` puts them together."""
