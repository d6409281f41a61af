"""The packaged inference service: training, model loading and the FastAPI app."""

__version__ = "0.1.0"
