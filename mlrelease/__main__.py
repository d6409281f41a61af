"""`python -m mlrelease`: the same as the `mlrelease` console script."""

from mlrelease.cli.app import main

if __name__ == "__main__":
    main()
