"""mlrelease: build, version and push a containerised ML inference service."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # importlib.metadata costs ~25 ms: read the version only when somebody asks for it.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("mlrelease")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0.0.0+unknown"
    raise AttributeError(f"module 'mlrelease' has no attribute {name!r}")
