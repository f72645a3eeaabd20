import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { Link, useParams } from "react-router";
import { ApiError, apiGet, type UserSummary } from "../lib/api";
import { alignToGrid, bucketMs } from "../lib/chart";
import { formatCost, formatPercent, formatRelative, formatTimestamp, formatTokens } from "../lib/format";
import { costTick, gridFor, NS_PER_MS, sum, windowFor, type UserActivityPoint } from "../lib/metrics";
import { useUrlState } from "../lib/useUrlState";
import { ChartCard, TimeChart } from "../components/Chart";
import { IconArrowLeft, IconTraces } from "../components/Icons";
import { StatCard } from "./Overview";

interface UserDetailResponse extends UserSummary {
  bucket: "1h" | "1d";
  activity: UserActivityPoint[];
}

const USER_RANGES = [
  { id: "24h", label: "Last 24 hours", ms: 86_400_000, bucket: "1h" },
  { id: "7d", label: "Last 7 days", ms: 7 * 86_400_000, bucket: "1h" },
  { id: "30d", label: "Last 30 days", ms: 30 * 86_400_000, bucket: "1d" },
  { id: "90d", label: "Last 90 days", ms: 90 * 86_400_000, bucket: "1d" },
] as const;
const DEFAULT_USER_RANGE = "7d";

const fmtCount = (v: number) => Math.round(v).toLocaleString("en-US");

export function UserDetail() {
  const { userId = "" } = useParams();
  const [params, update] = useUrlState();
  const range = USER_RANGES.find((r) => r.id === params.get("range")) ?? USER_RANGES.find((r) => r.id === DEFAULT_USER_RANGE)!;
  const [tick] = useState(0);
  const { start, end } = useMemo(() => windowFor(range.ms), [range.ms, tick]);
  const query = useQuery({
    queryKey: ["user", userId, range.id, start],
    queryFn: () =>
      apiGet<UserDetailResponse>(`/users/${encodeURIComponent(userId)}`, {
        bucket: range.bucket,
        start: new Date(start).toISOString(),
        end: new Date(end).toISOString(),
      }),
  });
  const grid = useMemo(() => gridFor(start, end, range.bucket), [start, end, range.bucket]);
  const step = bucketMs(range.bucket);
  const activity = query.data?.activity ?? [];
  const on = (pick: (p: UserActivityPoint) => number) => alignToGrid(grid, activity.map((p) => ({ time: Math.round(p.time / NS_PER_MS), value: pick(p) })), 0);
  const traces = useMemo(() => on((p) => p.trace_count), [activity, grid]); // eslint-disable-line react-hooks/exhaustive-deps
  const errors = useMemo(() => on((p) => p.error_count), [activity, grid]); // eslint-disable-line react-hooks/exhaustive-deps
  const cost = useMemo(() => on((p) => p.total_cost), [activity, grid]); // eslint-disable-line react-hooks/exhaustive-deps
  const tokens = useMemo(() => on((p) => p.total_tokens), [activity, grid]); // eslint-disable-line react-hooks/exhaustive-deps
  const notFound = query.error instanceof ApiError && query.error.status === 404;
  const u = query.data;
  const tracesLink = `/traces?user_id=${encodeURIComponent(userId)}&range=all`;

  return (
    <div className="page">
      <Link to="/users" className="back">
        <IconArrowLeft /> Users
      </Link>
      <header className="page-head">
        <div>
          <div className="stat-label">User</div>
          <h1 className="user-title">{userId}</h1>
          {u && (
            <p className="muted small">
              First seen {formatTimestamp(u.first_seen)} · last seen <span title={formatTimestamp(u.last_seen)}>{formatRelative(u.last_seen)}</span>
            </p>
          )}
        </div>
        <div className="head-actions">
          <div className="segmented" role="group" aria-label="Time range">
            {USER_RANGES.map((r) => (
              <button
                key={r.id}
                type="button"
                title={r.label}
                className={r.id === range.id ? "active" : ""}
                aria-pressed={r.id === range.id}
                onClick={() => update({ range: r.id === DEFAULT_USER_RANGE ? null : r.id })}
              >
                {r.id}
              </button>
            ))}
          </div>
          <Link to={tracesLink} className="btn btn-primary" data-testid="user-traces-link">
            <IconTraces /> View traces
          </Link>
        </div>
      </header>

      {notFound ? (
        <div className="card empty" data-testid="user-empty">
          <h3>No traces from this user in the {range.label.toLowerCase()}</h3>
          <p className="muted">Try a longer range, or open all of their traces.</p>
          {range.id !== "90d" && (
            <button type="button" className="btn" onClick={() => update({ range: "90d" })}>
              Show the last 90 days
            </button>
          )}
        </div>
      ) : (
        <>
          <div className="kpis">
            <StatCard testId="user-kpi-traces" label="Traces" loading={query.isPending} value={fmtCount(u?.trace_count ?? 0)} sub={`${fmtCount(u?.session_count ?? 0)} session${u?.session_count === 1 ? "" : "s"}`} />
            <StatCard testId="user-kpi-cost" label="Cost" loading={query.isPending} value={formatCost(u?.total_cost ?? 0, false)} sub={u && u.trace_count ? `${formatCost(u.total_cost / u.trace_count, false)} per trace` : undefined} />
            <StatCard testId="user-kpi-tokens" label="Tokens" loading={query.isPending} value={formatTokens(u?.total_tokens ?? 0)} sub={u ? `${formatTokens(u.input_tokens)} in · ${formatTokens(u.output_tokens)} out` : undefined} />
            <StatCard
              testId="user-kpi-errors"
              label="Error rate"
              loading={query.isPending}
              tone={u && u.error_count > 0 ? "error" : undefined}
              value={u ? formatPercent(u.error_rate) : "–"}
              sub={u ? `${fmtCount(u.error_count)} failed` : undefined}
            />
            <StatCard testId="user-kpi-guardrails" label="Guardrail hits" loading={query.isPending} value={fmtCount(u?.guardrail_hits ?? 0)} sub="events on their traces" />
          </div>
          <div className="chart-grid">
            <ChartCard title="Traces" loading={query.isPending} summary={`${fmtCount(sum(traces))} in the ${range.label.toLowerCase()}`}>
              <TimeChart
                label="user-traces"
                kind="bar"
                integer
                times={grid}
                bucketMs={step}
                formatValue={fmtCount}
                series={[
                  { key: "ok", label: "Succeeded", values: traces.map((v, i) => Math.max(0, (v ?? 0) - (errors[i] ?? 0))), color: "var(--series-1)" },
                  { key: "errors", label: "Errors", values: errors, color: "var(--error)" },
                ]}
              />
            </ChartCard>
            <ChartCard title="Cost" loading={query.isPending} summary={formatCost(sum(cost), false)}>
              <TimeChart label="user-cost" kind="area" times={grid} bucketMs={step} formatValue={(v) => formatCost(v, false)} formatTick={costTick} series={[{ key: "cost", label: "Cost", values: cost, color: "var(--series-3)" }]} />
            </ChartCard>
            <ChartCard title="Tokens" loading={query.isPending} summary={formatTokens(sum(tokens))}>
              <TimeChart label="user-tokens" kind="bar" times={grid} bucketMs={step} formatValue={formatTokens} series={[{ key: "tokens", label: "Tokens", values: tokens, color: "var(--series-2)" }]} />
            </ChartCard>
          </div>
        </>
      )}
    </div>
  );
}
