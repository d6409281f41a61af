"""The command line: the root group and one thin module per group of commands."""
