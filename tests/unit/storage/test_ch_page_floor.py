"""Where a list page's second statement starts reading (``traces.page_floor_ns``)."""

from __future__ import annotations

from otelguard.storage.clickhouse.traces import START_SLACK_NS, page_floor_ns

DAY = START_SLACK_NS
T = 1_790_000_000 * 10**9


def test_the_earliest_start_when_step_one_saw_the_day_before_it() -> None:
    # no lower bound: step 1 saw every row, so no page trace has one before its first start
    assert page_floor_ns([T + 5, T, T + 9]) == T
    # a window from S: step 1 read from S - 1 day, and every page trace starts at or after S
    assert page_floor_ns([T + 3600 * 10**9, T], seen_from_ns=T - DAY) == T
    assert page_floor_ns([T], seen_from_ns=T - DAY) == T


def test_a_day_of_slack_where_step_one_did_not_look() -> None:
    # rows between a day before the page and what step 1 read may belong to its traces: keep them
    assert page_floor_ns([T], seen_from_ns=T - DAY + 1) == T - DAY
    assert page_floor_ns([T, T + DAY], seen_from_ns=T) == T - DAY
    assert page_floor_ns([5], seen_from_ns=10) == 0  # never before the epoch
