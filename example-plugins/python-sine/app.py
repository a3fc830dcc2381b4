"""A sine-wave datasource written in Python that can also read its API.

It targets the `datasource` world of the grafana-wasm WIT contract, the
same contract the Rust SDK implements, and is built into a component by
componentize-py (see README.md). The bindings (`wit_world`) are generated
from `../../wit` at build time.

Query model (the query's JSON):

* `{"path": "/series"}` GETs that path under the datasource's URL through
  the host's governed HTTP client (the host adds the datasource's basic
  auth and custom headers); the answer is a JSON array of
  `{"time": <ms since the epoch>, "value": <number>}`, returned as the
  frame `series`.
* Otherwise a sine wave: `points` (1 to 100000, default 60) and
  `periodSeconds` (default 60), one frame `sine` with a `time` field (one
  point per second, the last at the range's end) and a float64 `value`.

CheckHealth GETs `jsonData.healthPath` (default `/`) when the datasource
has a URL; without one only the sine wave is available, and it says so.
"""

import json
import math
import urllib.parse

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import frames, log, outgoing_handler, streams
from wit_world.imports import grafana_plugin_types as types
from wit_world.imports import wasi_http_types as http

MAX_POINTS = 100_000
SECOND_NS = 1_000_000_000
MS_NS = 1_000_000


class Data(exports.Data):
    """QueryData: one frame per query, each query failing on its own."""

    def query_data(self, request: types.QueryDataRequest) -> types.QueryDataResponse:
        settings = request.plugin_context.data_source_instance_settings
        return types.QueryDataResponse(
            responses=[(query.ref_id, answer(settings, query)) for query in request.queries]
        )


class Health(exports.Health):
    """CheckHealth: the API answers, or the message says why not."""

    def check_health(self, request: types.CheckHealthRequest) -> types.CheckHealthResult:
        settings = request.plugin_context.data_source_instance_settings
        if settings is None or not settings.url:
            return health(types.HealthStatus.OK, "sine wave generator ready (no API URL set)")
        path = json.loads(settings.json_data or b"{}").get("healthPath", "/")
        try:
            status, _ = get(settings.url, path)
        except HttpError as error:
            return health(types.HealthStatus.ERROR, f"GET {path}: {error}")
        if 200 <= status < 300:
            return health(types.HealthStatus.OK, f"{settings.url} answered {status}")
        return health(types.HealthStatus.ERROR, f"{settings.url} answered {status} to GET {path}")


class Resource(exports.Resource):
    """No resources: Grafana answers 404, as for a Go plugin without them."""

    def call_resource(self, request: types.CallResourceRequest) -> None:
        raise Err(types.HandlerError_Unimplemented())


def health(status: types.HealthStatus, message: str) -> types.CheckHealthResult:
    return types.CheckHealthResult(status=status, message=message, json_details=b"")


def answer(settings, query: types.DataQuery) -> types.DataResponse:
    """The response to one query: its frame, or an error for this query only."""
    try:
        model = json.loads(query.json or b"{}")
        if "path" in model:
            return series(settings, query, str(model["path"]))
        points = int(model.get("points", 60))
        period = float(model.get("periodSeconds", 60))
    except (ValueError, TypeError, AttributeError) as error:
        return failure(f"invalid query: {error}")
    if not 1 <= points <= MAX_POINTS:
        return failure(f"points must be between 1 and {MAX_POINTS}, got {points}")
    if period <= 0:
        return failure(f"periodSeconds must be positive, got {period}")
    end = query.time_range.to_ms * MS_NS
    times = [end - (points - 1 - i) * SECOND_NS for i in range(points)]
    # The phase from integer nanoseconds: epoch times as floats lose precision.
    period_ns = max(1, round(period * SECOND_NS))
    values = [math.sin(2 * math.pi * (t % period_ns) / period_ns) for t in times]
    log.log(log.Level.DEBUG, "sine query", [("refId", query.ref_id), ("points", str(points))])
    return time_series("sine", query.ref_id, times, values)


def series(settings, query: types.DataQuery, path: str) -> types.DataResponse:
    """The API's points at `path` as a time series; its failures are downstream."""
    if settings is None or not settings.url:
        return failure("the datasource has no URL to query")
    try:
        status, body = get(settings.url, path)
    except HttpError as error:
        return downstream(f"GET {path}: {error}")
    if not 200 <= status < 300:
        return downstream(f"GET {path}: status {status}")
    try:
        points = json.loads(body)
        times = [int(point["time"]) * MS_NS for point in points]
        values = [float(point["value"]) for point in points]
    except (ValueError, TypeError, KeyError) as error:
        return downstream(f"GET {path}: expected an array of {{time, value}}: {error}")
    return time_series("series", query.ref_id, times, values)


def time_series(name: str, ref_id: str, times: list, values: list) -> types.DataResponse:
    """One frame of a `time` field (nanoseconds) and a float64 `value` field."""
    frame = frames.Frame(
        name=name,
        ref_id=ref_id,
        meta=None,
        fields=[
            column("time", frames.Values_Time(times)),
            column("value", frames.Values_Float64(values)),
        ],
    )
    return types.DataResponse(frames=[frames.FrameData_Columnar(frame)], error=None, status=None)


def column(name: str, values: frames.Values) -> frames.Field:
    """A non-nullable field without labels or config."""
    return frames.Field(
        name=name, values=values, nullable=False, validity=b"", labels=None, config=None
    )


def failure(message: str) -> types.DataResponse:
    """A bad-request error blamed on the query, as the Go SDK's ErrDataResponse."""
    error = types.PluginError(message=message, source=types.ErrorSource.PLUGIN)
    return types.DataResponse(frames=[], error=error, status=400)


def downstream(message: str) -> types.DataResponse:
    """An error of the API the datasource reads (Grafana's downstream source)."""
    error = types.PluginError(message=message, source=types.ErrorSource.DOWNSTREAM)
    return types.DataResponse(frames=[], error=error, status=502)


class HttpError(Exception):
    """The request did not get an answer (refused by the sandbox, network)."""


def get(base_url: str, path: str) -> tuple[int, bytes]:
    """GETs `path` under `base_url` through `wasi:http`: status and body."""
    url = urllib.parse.urlsplit(base_url.rstrip("/") + "/" + path.lstrip("/"))
    request = http.OutgoingRequest(http.Fields.from_list([]))
    request.set_method(http.Method_Get())
    request.set_scheme(http.Scheme_Https() if url.scheme == "https" else http.Scheme_Http())
    request.set_authority(url.netloc)
    request.set_path_with_query(url.path + (f"?{url.query}" if url.query else ""))
    try:
        future = outgoing_handler.handle(request, None)
    except Err as error:
        raise HttpError(error.value) from None
    with future:
        with future.subscribe() as ready:
            ready.block()
        outcome = future.get()
    if outcome is None or isinstance(outcome, Err):
        raise HttpError("no response")
    if isinstance(outcome.value, Err):
        raise HttpError(outcome.value.value)
    with outcome.value.value as response:
        status = response.status()
        with response.consume() as body:
            return status, read_all(body)


def read_all(body: http.IncomingBody) -> bytes:
    """The whole body, read until the stream closes."""
    chunks = []
    with body.stream() as stream:
        while True:
            try:
                chunks.append(stream.blocking_read(65536))
            except Err as error:
                if isinstance(error.value, streams.StreamError_Closed):
                    return b"".join(chunks)
                raise HttpError(f"reading the body: {error.value}") from None
