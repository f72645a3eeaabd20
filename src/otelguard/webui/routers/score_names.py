"""``GET /api/v1/scores/names``: the score names a project has in a time range, for pickers (the scores
page of the web UI). Mounted by ``routers.scores``; the time range defaults to the last 7 days."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from otelguard.storage.clickhouse.scores import ScoreFilter, score_filter_sql
from otelguard.storage.clickhouse.traces import qualified_table
from otelguard.storage.clickhouse.transport import ClickHouseTransport
from otelguard.webui.params import API_ERRORS, End, Start, reject_unknown_params
from otelguard.webui.routers.score_common import time_window
from otelguard.webui.security import Authenticated, Context

__all__ = ["ScoreName", "ScoreNameList", "list_score_names", "router"]

MAX_NAMES = 1000

router = APIRouter(tags=["scores"], responses=API_ERRORS)


class ScoreName(BaseModel):
    name: str
    data_type: str = Field(description="The name's most frequent data type in the range")
    count: int
    last_seen: int = Field(description="Newest score, ns since the epoch")
    sources: list[str] = Field(description="Sources that wrote it (evaluator, api, feedback, annotation)")


class ScoreNameList(BaseModel):
    items: list[ScoreName]
    start_time: int
    end_time: int
    truncated: bool = Field(description="More names than the limit: the least used were left out")


def list_score_names(
    transport: ClickHouseTransport, project_id: str, start_ns: int, end_ns: int, limit: int
) -> tuple[list[ScoreName], bool]:
    """The names scored in [start, end), most scored first; and whether more than ``limit`` exist."""
    params: dict[str, Any] = {"project_id": project_id, "limit": limit + 1}
    where = [
        "project_id = {project_id:String}",
        *score_filter_sql(ScoreFilter(start_ns=start_ns, end_ns=end_ns), params),
    ]
    # No FINAL: a replaced score not merged yet counts twice here, which a picker's count can live with,
    # and a names probe should stay cheap on a large table.
    rows = transport.query(
        "SELECT name, topK(1)(data_type)[1] AS dt, count() AS n,\n"
        "    toUnixTimestamp64Nano(max(timestamp)) AS last_ns, arraySort(groupUniqArray(source)) AS srcs\n"
        f"FROM {qualified_table(transport, None, 'scores')}\n"
        f"WHERE {' AND '.join(where)}\n"
        "GROUP BY name ORDER BY n DESC, name LIMIT {limit:UInt32}",
        params,
    )
    items = [
        ScoreName(
            name=str(r["name"]),
            data_type=str(r["dt"]),
            count=int(r["n"]),
            last_seen=int(r["last_ns"]),
            sources=[str(s) for s in r["srcs"]],
        )
        for r in rows[:limit]
    ]
    return items, len(rows) > limit


@router.get(
    "/scores/names",
    response_model=ScoreNameList,
    summary="Score names seen in a time range, most scored first (default: last 7 days)",
    dependencies=[Depends(reject_unknown_params)],
)
def score_names(
    ctx: Context,
    who: Authenticated,
    start: Start = None,
    end: End = None,
    limit: Annotated[int, Query(ge=1, le=MAX_NAMES, description="At most this many names")] = 200,
) -> ScoreNameList:
    start_ns, end_ns = time_window(start, end)
    items, truncated = list_score_names(ctx.clickhouse, who.project_id, start_ns, end_ns, limit)
    return ScoreNameList(items=items, start_time=start_ns, end_time=end_ns, truncated=truncated)
