"""The FastAPI app: `create_app()` builds it; the model is loaded once, in the lifespan.

Every client error is a 422 in FastAPI's usual `{"detail": [{"type", "loc", "msg"}]}` shape
with a message that names the offending field, never a 500; only a body too big or too slow to
arrive is refused earlier, with a 413 or a 408 (`service.limits`).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic_core import from_json, to_json
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import __version__
from service.limits import BodyLimitMiddleware
from service.model import LoadedModel, Prediction, PredictionError, load_model
from service.schemas import (
    HealthResponse,
    MetadataResponse,
    PredictRequest,
    PredictResponse,
    ReadyResponse,
)
from service.settings import Settings

logger = logging.getLogger("service")
access_logger = logging.getLogger("service.access")

MAX_ERRORS = 20  # a bad 1000-row batch must not answer with 30,000 error objects
QUIET_PATHS = frozenset({"/health", "/ready"})  # probes, logged at DEBUG only
# Scoring this many rows takes about 0.3 ms, less than handing it to a worker thread and back
# costs; larger batches go to the threadpool so that they do not stall other connections.
INLINE_ROWS = 256


# The dependencies are async so that FastAPI calls them on the event loop: a plain def
# would cost a round trip through the threadpool each, on every request.
async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


async def get_model(request: Request) -> LoadedModel:
    """The loaded model, or 503 while there is none (before start-up has finished)."""
    model: LoadedModel | None = request.app.state.model
    if model is None:
        raise HTTPException(status_code=503, detail="model not loaded")
    return model


SettingsDep = Annotated[Settings, Depends(get_settings)]
ModelDep = Annotated[LoadedModel, Depends(get_model)]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the model at `settings.model_path` is loaded when the lifespan starts.

    A model that cannot be served makes start-up raise `ModelLoadError`.
    """
    settings = settings if settings is not None else Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model = load_model(settings.model_path)
        app.state.model = model
        logger.info(
            "loaded %s (sha256 %s, scikit-learn %s, holdout accuracy %.3f)",
            model.path,
            model.sha256[:12],
            model.metadata.sklearn_version,
            model.metadata.metrics["accuracy"],
        )
        yield
        app.state.model = None

    app = FastAPI(
        title="mlrelease inference service",
        version=__version__,
        lifespan=lifespan,
    )
    app.router.route_class = FastJSONRoute
    app.state.settings = settings
    app.state.model = None
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout
    )
    app.add_middleware(AccessLogMiddleware)
    _add_routes(app)
    return app


class FastJSONRequest(Request):
    """A request whose JSON body pydantic-core parses, about twice as fast as `json.loads`.

    A body it refuses is parsed again by the json module, so that invalid JSON still raises
    the `JSONDecodeError` whose message and position the 422 quotes.
    """

    async def json(self) -> Any:
        """The body parsed as JSON, once."""
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = from_json(body)
            except ValueError:
                self._json = json.loads(body)
        return self._json


class FastJSONRoute(APIRoute):
    """A route that hands its endpoint a `FastJSONRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, called with the faster request."""
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            return await handler(FastJSONRequest(request.scope, request.receive))

        return handle


def _add_routes(app: FastAPI) -> None:
    @app.get("/health")
    def health() -> HealthResponse:
        """Liveness: 200 whenever the process answers."""
        return HealthResponse()

    @app.get("/ready", responses={503: {"model": ReadyResponse}})
    def ready(request: Request, response: Response) -> ReadyResponse:
        """Readiness: 200 once the model is loaded, 503 before."""
        model: LoadedModel | None = request.app.state.model
        if model is None:
            response.status_code = 503
            return ReadyResponse(status="not ready")
        return ReadyResponse(status="ready", model_sha256=model.sha256)

    @app.get("/metadata")
    def metadata(model: ModelDep) -> MetadataResponse:
        """The service version and the model's metadata, as training wrote it."""
        return MetadataResponse(service_version=__version__, model=model.metadata)

    # Async, so a small batch is scored without a round trip through the threadpool; the
    # response model documents the body, which is encoded here directly, not validated again.
    @app.post("/predict", response_model=PredictResponse)
    async def predict(body: PredictRequest, model: ModelDep, settings: SettingsDep) -> Response:
        """Score one row (`instance`) or a batch (`instances`); probabilities follow `classes`."""
        rows = body.rows
        field = body.sent_as
        if len(rows) > settings.max_batch:
            limit = f"the limit is {settings.max_batch} (MAX_BATCH)"
            raise _invalid(
                [_error("batch_too_large", (field,), f"instances has {len(rows)} rows; {limit}")]
            )
        expects = f"the model expects {model.n_features}"
        wrong = [
            _error(
                "row_length",
                _row_loc(field, index),
                f"{_row_name(field, index)} has {_values(len(row))}; {expects}",
            )
            for index, row in enumerate(rows)
            if len(row) != model.n_features
        ]
        if wrong:
            raise _invalid(wrong)
        if len(rows) <= INLINE_ROWS:
            prediction = _score(model, rows, field)
        else:
            prediction = await run_in_threadpool(_score, model, rows, field)
        # pydantic-core's encoder writes floats several times faster than json.dumps, with the
        # same round-trip precision; the probabilities are known finite (model.py checks).
        payload = {
            "predictions": prediction.labels,
            "probabilities": prediction.probabilities,
            "classes": model.classes,
            "model_sha256": model.sha256,
        }
        return Response(to_json(payload), media_type="application/json")


def _score(model: LoadedModel, rows: list[list[float]], field: str) -> Prediction:
    """Score rows already checked for shape; rows the model cannot score are a 422."""
    try:
        return model.predict(rows)
    except PredictionError as err:
        raise _invalid(
            [
                _error("unscorable", _row_loc(field, index), f"{_row_name(field, index)} has {err}")
                for index in err.rows
            ]
            or [_error("unscorable", (field,), str(err))]
        ) from err


def _values(count: int) -> str:
    return "1 value" if count == 1 else f"{count} values"


def _row_loc(field: str, index: int) -> tuple[str | int, ...]:
    return (field,) if field == "instance" else (field, index)


def _row_name(field: str, index: int) -> str:
    return field if field == "instance" else f"{field}[{index}]"


def _error(kind: str, loc: tuple[str | int, ...], msg: str) -> dict[str, Any]:
    return {"type": kind, "loc": ("body", *loc), "msg": msg}


def _invalid(errors: list[dict[str, Any]]) -> RequestValidationError:
    # Raised from the endpoint, these get the same handler and shape as schema errors.
    return RequestValidationError(errors)


async def _validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 shape, with messages that name the field and no unsafe echoed input.

    The stock handler echoes the offending value; a NaN or Infinity there makes the JSON
    encoder fail and the client get a 500 instead of the 422.
    """
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [_describe(error) for error in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        more = len(errors) - MAX_ERRORS
        detail.append({"type": "too_many_errors", "loc": ["body"], "msg": f"{more} more errors"})
    return JSONResponse(status_code=422, content={"detail": detail})


def _describe(error: dict[str, Any]) -> dict[str, Any]:
    loc = list(error.get("loc", ()))
    kind = str(error.get("type", "value_error"))
    value = error.get("input")
    inner = loc[1:] if loc[:1] == ["body"] else loc
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in inner)
    path = path.lstrip(".")
    msg = str(error.get("msg", "invalid value"))

    if kind == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "malformed")
        msg = f"request body is not valid JSON: {reason} at character {inner[0] if inner else 0}"
    elif inner == [] and kind in {"missing", "model_attributes_type", "dict_type"}:
        msg = (
            'request body must be a JSON object such as {"instances": [[...]]}, '
            "sent with Content-Type: application/json"
        )
    elif kind == "extra_forbidden":
        msg = f"{path} is not a known field; send instance or instances"
    elif kind == "finite_number":
        msg = f"{path} is not a finite number (NaN, Infinity, or too large for a 64-bit float)"
    elif kind == "float_type" and type(value) is int:
        msg = f"{path} is an integer too large for a 64-bit float"
    elif kind == "float_type":
        msg = f"{path} must be a number, not {_json_kind(value)}"
    elif kind == "list_type":
        msg = f"{path} must be a list, not {_json_kind(value)}"
    elif path and not msg.startswith(path):
        msg = f"{path}: {msg}"

    described: dict[str, Any] = {"type": kind, "loc": loc, "msg": msg}
    if _is_safe_to_echo(value):
        described["input"] = value
    return described


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    names = {str: "a string", list: "a list", dict: "an object", float: "a number", int: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _is_safe_to_echo(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int):
        return abs(value) < 2**63
    return isinstance(value, str) and len(value) <= 100


class AccessLogMiddleware:
    """One plain line per request: method, path (no query string), status, milliseconds."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before it answers

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            level = logging.DEBUG if scope["path"] in QUIET_PATHS else logging.INFO
            elapsed_ms = (time.perf_counter() - started) * 1000
            access_logger.log(
                level, "%s %s %d %.1fms", scope["method"], scope["path"], status, elapsed_ms
            )
