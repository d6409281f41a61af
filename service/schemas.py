"""Wire and file schemas: the metadata written beside the model, and the HTTP bodies.

Only static rules live here. Rules that depend on the loaded model or the settings (the
number of features, `MAX_BATCH`) are checked in `app.py` and answered in the same 422 shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

METADATA_VERSION: Literal[1] = 1

# strict: "1.5" and true are not numbers; allow_inf_nan=False: Python's json module accepts
# NaN/Infinity literals and turns 1e400 into inf, none of which a model can score.
FiniteFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Row = list[FiniteFloat]


class Example(BaseModel):
    """One holdout row and the label the model gave it at training time, for smoke tests."""

    model_config = ConfigDict(frozen=True)

    instance: Row
    prediction: str


class ModelMetadata(BaseModel):
    """The metadata JSON written beside the model file (same stem, `.json`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metadata_version: Literal[1] = METADATA_VERSION
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the model file")
    sklearn_version: str = Field(min_length=1)
    python_version: str
    dataset: str
    estimator: str = Field(
        description="the pipeline's steps, e.g. StandardScaler+LogisticRegression"
    )
    feature_names: list[str] = Field(min_length=1)
    class_names: list[str] = Field(min_length=2, description="in the order of the probabilities")
    metrics: dict[str, float] = Field(description="holdout metrics; always has accuracy")
    trained_at: datetime
    training_seconds: float = Field(ge=0)
    seed: int
    n_train: int = Field(gt=0)
    n_test: int = Field(gt=0)
    example: Example

    @model_validator(mode="after")
    def _consistent(self) -> ModelMetadata:
        if "accuracy" not in self.metrics:
            raise ValueError("metrics has no accuracy")
        if len(self.example.instance) != len(self.feature_names):
            raise ValueError("example.instance does not have one value per feature name")
        if self.example.prediction not in self.class_names:
            raise ValueError("example.prediction is not one of class_names")
        return self


class PredictRequest(BaseModel):
    """`{"instance": [f1, ..., fn]}` for one row or `{"instances": [[...], ...]}` for a batch."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"instance": [1.0, 2.0]}, {"instances": [[1.0, 2.0]]}]},
    )

    instance: Row | None = Field(default=None, description="one row of feature values")
    instances: list[Row] | None = Field(default=None, description="a batch of rows")

    @field_validator("instance", mode="before")
    @classmethod
    def _instance_is_flat(cls, value: Any) -> Any:
        # Catch the common mix-up once, instead of one "not a number" error per nested row.
        if isinstance(value, list) and value and all(isinstance(item, list) for item in value):
            raise PydanticCustomError(
                "row_shape",
                "instance must be one row (a flat list of numbers); send a batch as instances",
            )
        return value

    @field_validator("instances", mode="before")
    @classmethod
    def _instances_are_rows(cls, value: Any) -> Any:
        if isinstance(value, list) and value and not any(isinstance(item, list) for item in value):
            raise PydanticCustomError(
                "batch_shape",
                "instances must be a list of rows (lists of numbers); "
                "send a single row as instance",
            )
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> PredictRequest:
        if (self.instance is None) == (self.instances is None):
            raise PydanticCustomError(
                "instance_or_instances",
                "send exactly one of instance (one row) or instances (a list of rows)",
            )
        if self.instances is not None and not self.instances:
            raise PydanticCustomError("empty_batch", "instances is empty; send at least one row")
        return self

    @property
    def sent_as(self) -> str:
        """The name the client used, so error messages point at what it sent."""
        return "instance" if self.instance is not None else "instances"

    @property
    def rows(self) -> list[list[float]]:
        """The request as a batch, whichever form it came in."""
        if self.instance is not None:
            return [self.instance]
        return self.instances or []


class PredictResponse(BaseModel):
    """Predictions for every row, in request order; probabilities follow `classes`."""

    predictions: list[str]
    probabilities: list[list[float]]
    classes: list[str]
    model_sha256: str


class HealthResponse(BaseModel):
    """Liveness: the process answers."""

    status: Literal["ok"] = "ok"


class ReadyResponse(BaseModel):
    """Readiness: whether the model is loaded and requests can be scored."""

    status: Literal["ready", "not ready"]
    model_sha256: str | None = None


class MetadataResponse(BaseModel):
    """The version of the service, and the metadata of the model it serves."""

    service_version: str
    model: ModelMetadata
