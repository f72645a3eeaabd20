"""``Dashboard``: a grid of widgets, each a validated metric query rendered as a chart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from otelguard.api.v1alpha1.base import ApiModel, CelRule, ListSet, present
from otelguard.api.v1alpha1.common import Resource, Span, StatusBase
from otelguard.api.v1alpha1.query import Dimension, MetricQuery

ChartType = Literal["line", "bar", "area", "pie", "number", "table", "heatmap"]
GRID_COLUMNS = 12
TIME_SERIES_CHARTS: tuple[ChartType, ...] = ("line", "area", "heatmap")
MAX_WIDGETS = 50


class Position(ApiModel):
    """Place and size on a 12-column grid.

    Not x/y/w/h: kubectl's YAML 1.1 parser reads an unquoted ``y`` (and ``n``) key as the boolean true.
    """

    cel_rules = (
        CelRule(
            rule=f"self.column + self.width <= {GRID_COLUMNS}",
            message=f"the widget must fit the {GRID_COLUMNS}-column grid: column + width <= {GRID_COLUMNS}",
            check=lambda o: o["column"] + o["width"] <= GRID_COLUMNS,
        ),
    )

    column: int = Field(ge=0, le=GRID_COLUMNS - 1, description="Grid column of the left edge, 0-11.")
    row: int = Field(ge=0, le=1000, description="Grid row of the top edge.")
    width: int = Field(ge=1, le=GRID_COLUMNS, description="Width in columns.")
    height: int = Field(ge=1, le=24, description="Height in rows.")


def _dims(o: Mapping[str, Any]) -> int:
    return len(o.get("dimensions") or [])


class Widget(MetricQuery):
    """A chart of one metric query."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="self.chart != 'number' || ((!has(self.dimensions) || self.dimensions.size() == 0)"
            " && !has(self.timeBucket))",
            message="a number widget shows a single value: no dimensions and no timeBucket",
            check=lambda o: o["chart"] != "number" or (_dims(o) == 0 and not present(o, "timeBucket")),
        ),
        CelRule(
            rule="self.chart != 'pie' || (has(self.dimensions) && self.dimensions.size() == 1"
            " && !has(self.timeBucket))",
            message="a pie widget needs exactly one dimension and no timeBucket",
            check=lambda o: o["chart"] != "pie" or (_dims(o) == 1 and not present(o, "timeBucket")),
        ),
        CelRule(
            rule="!(self.chart in ['line', 'area', 'heatmap']) || has(self.timeBucket)",
            message="line, area and heatmap widgets are time series: timeBucket is required",
            field_path=".timeBucket",
            reason="FieldValueRequired",
            check=lambda o: o["chart"] not in TIME_SERIES_CHARTS or present(o, "timeBucket"),
        ),
    )

    title: str = Field(min_length=1, max_length=200, description="Widget title.")
    chart: ChartType = Field(description="How the result is drawn.")
    dimensions: Annotated[list[Dimension], ListSet()] = Field(
        default_factory=list, max_length=2, description="Group by these dimensions (at most two)."
    )
    time_bucket: Span | None = Field(None, description="Time-series bucket width, e.g. 5m, 1h, 1d.")
    position: Position | None = Field(None, description="Grid placement; widgets without one flow in order.")


class DashboardSpec(ApiModel):
    """Desired state of a dashboard."""

    title: str = Field(min_length=1, max_length=200, description="Dashboard title.")
    description: str | None = Field(None, max_length=2048, description="What the dashboard shows.")
    time_range: Span = Field("24h", description="Default time range, e.g. 1h, 24h, 7d.")
    widgets: list[Widget] = Field(
        default_factory=list, max_length=MAX_WIDGETS, description="Widgets in order."
    )


class DashboardStatus(StatusBase):
    """Observed state of a dashboard."""

    widget_count: int | None = Field(None, ge=0, description="Number of widgets served to the UI.")


class Dashboard(Resource):
    """A dashboard of metric widgets served to the web UI."""

    kind: Literal["Dashboard"] = Field("Dashboard", description="Kind of the resource.")
    spec: DashboardSpec  # described by the spec model's docstring
    status: DashboardStatus | None = Field(None, description="Observed state, written by the operator.")
