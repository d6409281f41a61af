"""What core functions return: frozen values that both the Rich view and `--json` render.

One module per group of commands; import from it (`mlrelease.results.build`), so that a command
loads only its own results. Each result has `to_data()`, the `data` member of the JSON
envelope. Its keys are a contract with scripts: add keys freely, never rename or drop one
without bumping the envelope schema. Fields that only the human view shows (details for
`--verbose`) stay out of `to_data()`.
"""
