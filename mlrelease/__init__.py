"""mlrelease: build, version and push a containerised ML inference service."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mlrelease")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
