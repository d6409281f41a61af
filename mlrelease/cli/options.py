"""Options that several commands share, declared once."""

from pathlib import Path
from typing import Annotated

import typer

KeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        metavar="PATH",
        help="A Google credentials file; takes precedence over GCP_SA_KEY and ADC.",
    ),
]

AttemptsOption = Annotated[
    int | None,
    typer.Option(
        "--attempts",
        metavar="N",
        min=1,
        help="Tries for transient registry failures (default: the `attempts` setting, 3).",
    ),
]

SizeBudgetOption = Annotated[
    float | None,
    typer.Option("--size-budget-mb", metavar="MB", help="Override `size_budget_mb`."),
]

SizeWarnOption = Annotated[
    float | None,
    typer.Option("--size-warn-mb", metavar="MB", help="Override `size_warn_mb`."),
]
