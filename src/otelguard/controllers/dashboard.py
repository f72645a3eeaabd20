"""Dashboard → a validated definition row (``resources`` kind Dashboard) served to the UI.

Checks beyond the schema: dimensions/filters that the widget's metric has (``queries``), a time bucket no
wider than the time range and at most ``MAX_POINTS`` buckets per series (a 7d range in 1m buckets would be
10,080 points per line), and positioned widgets that overlap on the grid.
"""

from __future__ import annotations

from otelguard.api.v1alpha1 import Dashboard, DashboardStatus
from otelguard.api.v1alpha1.dashboard import DashboardSpec, Widget
from otelguard.controllers.base import (
    INVALID_SPEC,
    Applied,
    Desired,
    Failure,
    Json,
    ReconcileInput,
    config_status,
    plan_stored_spec,
)
from otelguard.controllers.checks import duration_seconds
from otelguard.controllers.queries import query_problems

KIND = "Dashboard"
MAX_POINTS = 1000
NOT_SERVED = "not shown yet: this OTelGuard release has no dashboards API or page"


def _bucket_problem(spec: DashboardSpec, i: int, widget: Widget) -> str | None:
    if widget.time_bucket is None:
        return None
    bucket, span = duration_seconds(widget.time_bucket), duration_seconds(spec.time_range)
    where = f"spec.widgets[{i}].timeBucket"
    if bucket > span:
        return f"{where}: {widget.time_bucket} is wider than the time range {spec.time_range}"
    if span // bucket > MAX_POINTS:
        return (
            f"{where}: {spec.time_range} in {widget.time_bucket} buckets is {span // bucket} points per "
            f"series; use a bucket of at least {-(-span // MAX_POINTS)}s (at most {MAX_POINTS} points)"
        )
    return None


def _overlaps(spec: DashboardSpec) -> list[str]:
    placed = [(i, w.position) for i, w in enumerate(spec.widgets) if w.position is not None]
    out = []
    for a, (i, p) in enumerate(placed):
        for j, q in placed[a + 1 :]:
            apart = (
                p.column + p.width <= q.column
                or q.column + q.width <= p.column
                or p.row + p.height <= q.row
                or q.row + q.height <= p.row
            )
            if not apart:
                out.append(f"spec.widgets[{i}] and spec.widgets[{j}] overlap on the grid")
    return out


def problems(spec: DashboardSpec) -> list[str]:
    out: list[str] = []
    for i, widget in enumerate(spec.widgets):
        out += query_problems(widget, f"spec.widgets[{i}]", list(widget.dimensions))
        if (problem := _bucket_problem(spec, i, widget)) is not None:
            out.append(problem)
    return out + _overlaps(spec)


def plan(inp: ReconcileInput) -> Desired:
    spec = inp.resource_as(Dashboard).spec
    found = [Failure(INVALID_SPEC, message) for message in problems(spec)]
    return plan_stored_spec(inp, KIND, spec, found, facts={"widgetCount": len(spec.widgets)})


def status(inp: ReconcileInput, desired: Desired, applied: Applied | None) -> Json:
    count = desired.facts.get("widgetCount")
    stored = f"stored with {count} widgets"
    return config_status(
        inp,
        desired,
        applied,
        DashboardStatus,
        stored=Failure("Stored", stored),
        ready=Failure("Stored", f"{stored}; {NOT_SERVED}"),
        owned=dict(desired.facts),
    )
