"""The `mlrelease` console script, and `python -m mlrelease`.

Start-up imports ~17 000 objects (typer, its click, the command table) that live until the
process ends, and makes almost no garbage; the cyclic collector would walk them anyway, ~40
times while they are imported and once more at exit: ~10 ms of the ~65 that `bump --dry-run`
takes. So collection is off while they are imported, and they are frozen (`gc.freeze`, left
out of every later collection) before the command runs, with collection back on for whatever
the command itself allocates.
"""

from __future__ import annotations

import gc
from typing import NoReturn


def main() -> NoReturn:
    """Import the command line without collecting, freeze what it made, run it."""
    gc.disable()
    try:
        from mlrelease.cli.app import main as run
    finally:
        gc.freeze()
        gc.enable()
    run()


if __name__ == "__main__":
    main()
