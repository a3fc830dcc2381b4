"""A sine-wave datasource written in Python.

It targets the `query-plugin` world of the grafana-wasm WIT contract, the
same contract the Rust SDK implements, and is built into a component by
componentize-py (see README.md). The bindings (`wit_world`) are generated
from `../../wit` at build time.

Query model (the query's JSON): `points` (1 to 100000, default 60) and
`periodSeconds` (default 60). Each query answers one frame `sine` with a
`time` field (one point per second, the last at the range's end) and a
float64 `value` field.
"""

import json
import math

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import frames, log, types

MAX_POINTS = 100_000
SECOND_NS = 1_000_000_000


class Data(exports.Data):
    """QueryData: one sine frame per query."""

    def query_data(self, request: types.QueryDataRequest) -> types.QueryDataResponse:
        return types.QueryDataResponse(
            responses=[(query.ref_id, answer(query)) for query in request.queries]
        )


class Diagnostics(exports.Diagnostics):
    """CheckHealth answers OK; metrics are left to the host."""

    def check_health(self, request: types.CheckHealthRequest) -> types.CheckHealthResult:
        return types.CheckHealthResult(
            status=types.HealthStatus.OK,
            message="sine wave generator ready",
            json_details=b"",
        )

    def collect_metrics(self, request: types.CollectMetricsRequest) -> types.CollectMetricsResult:
        raise Err(types.HandlerError_Unimplemented())


def answer(query: types.DataQuery) -> types.DataResponse:
    """The response to one query: its frame, or an error for this query only."""
    try:
        model = json.loads(query.json or b"{}")
        points = int(model.get("points", 60))
        period = float(model.get("periodSeconds", 60))
    except (ValueError, TypeError, AttributeError) as error:
        return failure(f"invalid query: {error}")
    if not 1 <= points <= MAX_POINTS:
        return failure(f"points must be between 1 and {MAX_POINTS}, got {points}")
    if period <= 0:
        return failure(f"periodSeconds must be positive, got {period}")
    end = query.time_range.to_ms * 1_000_000
    times = [end - (points - 1 - i) * SECOND_NS for i in range(points)]
    # The phase from integer nanoseconds: epoch times as floats lose precision.
    period_ns = max(1, round(period * SECOND_NS))
    values = [math.sin(2 * math.pi * (t % period_ns) / period_ns) for t in times]
    log.log(log.Level.DEBUG, "sine query", [("refId", query.ref_id), ("points", str(points))])
    frame = frames.Frame(
        name="sine",
        ref_id=query.ref_id,
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
