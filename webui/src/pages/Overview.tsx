import { useQuery } from "@tanstack/react-query";
import { useMemo, useState, type ReactNode } from "react";
import { Link } from "react-router";
import { apiGet, type Page, type Params, type TraceSummary } from "../lib/api";
import { bucketMs } from "../lib/chart";
import { formatCost, formatDuration, formatPercent, formatTokens } from "../lib/format";
import {
  colorMap,
  combinePercentile,
  costTick,
  DEFAULT_OVERVIEW_RANGE,
  gridFor,
  groupedOnGrid,
  OVERVIEW_RANGES,
  overviewRange,
  OTHER_KEY,
  sum,
  totalOnGrid,
  windowFor,
  type MetricResult,
} from "../lib/metrics";
import { useUrlState } from "../lib/useUrlState";
import { ChartCard, TimeChart } from "../components/Chart";
import { IconRefresh } from "../components/Icons";
import { Skeleton } from "../components/Skeleton";
import { GettingStarted } from "./Traces";

const fmtCount = (v: number) => Math.round(v).toLocaleString("en-US");
const fmtCostAxis = (v: number) => formatCost(v, false);

export function useMetric(params: Params, enabled = true) {
  return useQuery({
    queryKey: ["metrics", params],
    queryFn: () => apiGet<MetricResult>("/metrics", params),
    enabled,
  });
}

export function StatCard({ label, value, sub, loading, tone, testId }: { label: string; value: ReactNode; sub?: ReactNode; loading: boolean; tone?: "error"; testId: string }) {
  return (
    <div className="kpi card" data-testid={testId}>
      <div className="stat-label">{label}</div>
      {loading ? (
        <div className="kpi-skeleton">
          <Skeleton width="55%" height={24} />
          <Skeleton width="70%" height={11} />
        </div>
      ) : (
        <>
          <div className={`kpi-value${tone === "error" ? " text-error" : ""}`}>{value}</div>
          {sub !== undefined && <div className="kpi-sub">{sub}</div>}
        </>
      )}
    </div>
  );
}

export function Overview() {
  const [params, update] = useUrlState();
  const range = overviewRange(params.get("range"));
  // The window is fixed when the range changes (or on refresh) so every query shares one grid.
  const [tick, setTick] = useState(0);
  const { start, end } = useMemo(() => windowFor(range.ms), [range.ms, tick]); // eslint-disable-line react-hooks/exhaustive-deps
  const base = { start: new Date(start).toISOString(), end: new Date(end).toISOString(), bucket: range.bucket };
  const grid = useMemo(() => gridFor(start, end, range.bucket), [start, end, range.bucket]);
  const step = bucketMs(range.bucket);

  const requests = useMetric({ ...base, metric: "requests", agg: "count" });
  const errors = useMetric({ ...base, metric: "errors", agg: "count" });
  const cost = useMetric({ ...base, metric: "cost", agg: "sum", group_by: "model" });
  const tokens = useMetric({ ...base, metric: "tokens", agg: "sum", group_by: "model" });
  const p50 = useMetric({ ...base, metric: "latency", agg: "p50" });
  const p95 = useMetric({ ...base, metric: "latency", agg: "p95" });
  const p99 = useMetric({ ...base, metric: "latency", agg: "p99" });
  // Whole-range totals: a trace with two models counts under each model, so totals come ungrouped; daily
  // buckets give the p95 exactly whenever the range falls in one UTC day.
  const daily = { ...base, bucket: "1d" };
  const costTotal = useMetric({ ...daily, metric: "cost", agg: "sum" });
  const tokensTotal = useMetric({ ...daily, metric: "tokens", agg: "sum" });
  const dailyRequests = useMetric({ ...daily, metric: "requests", agg: "count" });
  const dailyP95 = useMetric({ ...daily, metric: "latency", agg: "p95" });

  const reqValues = useMemo(() => totalOnGrid(requests.data, grid), [requests.data, grid]);
  const errValues = useMemo(() => totalOnGrid(errors.data, grid), [errors.data, grid]);
  const [costSeries, tokenSeries] = useMemo(() => {
    const c = groupedOnGrid(cost.data, grid, "model", 5);
    const t = groupedOnGrid(tokens.data, grid, "model", 5);
    const colors = colorMap(t, c); // a model has the same colour in both charts
    return [c.map((s) => ({ ...s, color: colors.get(s.key) })), t.map((s) => ({ ...s, color: colors.get(s.key) }))];
  }, [cost.data, tokens.data, grid]);
  const latencySeries = useMemo(
    () => [
      { key: "p50", label: "p50", values: totalOnGrid(p50.data, grid, null), color: "var(--series-2)" },
      { key: "p95", label: "p95", values: totalOnGrid(p95.data, grid, null), color: "var(--series-1)" },
      { key: "p99", label: "p99", values: totalOnGrid(p99.data, grid, null), color: "var(--series-4)" },
    ],
    [p50.data, p95.data, p99.data, grid],
  );

  const totalRequests = sum(reqValues);
  const totalErrors = sum(errValues);
  const p95Total = useMemo(() => {
    const weights = new Map((dailyRequests.data?.series[0]?.points ?? []).map((p) => [p.time, p.value]));
    return combinePercentile((dailyP95.data?.series[0]?.points ?? []).map((p) => ({ value: p.value, weight: weights.get(p.time) ?? 0 })));
  }, [dailyRequests.data, dailyP95.data]);

  const loading = requests.isPending || errors.isPending;
  const empty = requests.isSuccess && totalRequests === 0;
  const anyTrace = useQuery({
    queryKey: ["traces", "any"],
    queryFn: () => apiGet<Page<TraceSummary>>("/traces", { limit: 1 }),
    enabled: empty,
  });
  const fetching = [requests, errors, cost, tokens, p50, p95, p99].some((q) => q.isFetching);
  const rangeLabel = range.label.toLowerCase();

  return (
    <div className="page page-overview">
      <header className="page-head">
        <div>
          <h1>Overview</h1>
          <p className="muted">Traffic, spend, tokens and latency of your LLM application.</p>
        </div>
        <div className="head-actions">
          <div className="segmented" role="group" aria-label="Time range">
            {OVERVIEW_RANGES.map((r) => (
              <button
                key={r.id}
                type="button"
                title={r.label}
                className={r.id === range.id ? "active" : ""}
                aria-pressed={r.id === range.id}
                onClick={() => update({ range: r.id === DEFAULT_OVERVIEW_RANGE ? null : r.id })}
              >
                {r.id}
              </button>
            ))}
          </div>
          <button type="button" className="btn btn-ghost" aria-label="Refresh" title="Refresh" disabled={fetching} onClick={() => setTick((t) => t + 1)}>
            <IconRefresh className={fetching ? "spin" : undefined} />
          </button>
        </div>
      </header>

      {empty && anyTrace.data?.items.length === 0 ? (
        <div className="card">
          <GettingStarted />
        </div>
      ) : (
        <>
          <div className="kpis">
            <StatCard
              testId="kpi-requests"
              label="Requests"
              loading={loading}
              value={fmtCount(totalRequests)}
              sub={<Link to={`/traces?range=${range.id}`}>traces in the {rangeLabel}</Link>}
            />
            <StatCard
              testId="kpi-cost"
              label="Cost"
              loading={costTotal.isPending}
              value={formatCost(sum((costTotal.data?.series[0]?.points ?? []).map((p) => p.value)), false)}
              sub={totalRequests > 0 ? `${formatCost(sum((costTotal.data?.series[0]?.points ?? []).map((p) => p.value)) / totalRequests, false)} per request` : "no requests"}
            />
            <StatCard
              testId="kpi-tokens"
              label="Tokens"
              loading={tokensTotal.isPending}
              value={formatTokens(sum((tokensTotal.data?.series[0]?.points ?? []).map((p) => p.value)))}
              sub={totalRequests > 0 ? `${formatTokens(sum((tokensTotal.data?.series[0]?.points ?? []).map((p) => p.value)) / totalRequests)} per request` : "no requests"}
            />
            <StatCard
              testId="kpi-errors"
              label="Error rate"
              loading={loading}
              tone={totalErrors > 0 ? "error" : undefined}
              value={totalRequests > 0 ? formatPercent(totalErrors / totalRequests) : "–"}
              sub={
                totalErrors > 0 ? (
                  <Link to={`/traces?errors=1&range=${range.id}`}>
                    {fmtCount(totalErrors)} failed request{totalErrors === 1 ? "" : "s"}
                  </Link>
                ) : (
                  "no failed requests"
                )
              }
            />
            <StatCard
              testId="kpi-latency"
              label="p95 latency"
              loading={dailyP95.isPending || dailyRequests.isPending}
              value={p95Total.value === null ? "–" : `${p95Total.exact ? "" : "≈ "}${formatDuration(p95Total.value)}`}
              sub={p95Total.exact ? "trace duration" : "estimated from daily p95s"}
            />
          </div>

          {empty ? (
            <div className="card empty" data-testid="overview-empty">
              <h3>No requests in the {rangeLabel}</h3>
              <p className="muted">Traces exist in this project, just not in this time range.</p>
              {range.id !== "7d" && (
                <button type="button" className="btn" onClick={() => update({ range: "7d" })}>
                  Show the last 7 days
                </button>
              )}
            </div>
          ) : (
            <div className="chart-grid">
              <ChartCard title="Cost by model" loading={cost.isPending} summary={costSeries.some((s) => s.key === OTHER_KEY) ? "top 5 models + other" : undefined}>
                <TimeChart label="cost" kind="area" times={grid} bucketMs={step} series={costSeries} formatValue={fmtCostAxis} formatTick={costTick} />
              </ChartCard>
              <ChartCard title="Tokens by model" loading={tokens.isPending}>
                <TimeChart label="tokens" kind="bar" times={grid} bucketMs={step} series={tokenSeries} formatValue={formatTokens} />
              </ChartCard>
              <ChartCard title="Latency" loading={p50.isPending || p95.isPending || p99.isPending} summary="trace duration percentiles">
                <TimeChart label="latency" kind="line" times={grid} bucketMs={step} series={latencySeries} formatValue={(v) => formatDuration(v)} />
              </ChartCard>
              <ChartCard title="Requests and errors" loading={loading}>
                <TimeChart
                  label="requests"
                  kind="bar"
                  integer
                  times={grid}
                  bucketMs={step}
                  formatValue={fmtCount}
                  series={[
                    { key: "ok", label: "Succeeded", values: reqValues.map((v, i) => Math.max(0, (v ?? 0) - (errValues[i] ?? 0))), color: "var(--series-1)" },
                    { key: "errors", label: "Errors", values: errValues, color: "var(--error)" },
                  ]}
                />
              </ChartCard>
            </div>
          )}
        </>
      )}
    </div>
  );
}

