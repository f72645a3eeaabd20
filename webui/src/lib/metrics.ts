/** `/api/v1/metrics` and `/api/v1/users/{id}` shapes, the overview's time ranges and series helpers. */
import { alignToGrid, bucketGrid, bucketMs, tickDecimals, topNWithOther } from "./chart";

export type Bucket = "1m" | "5m" | "1h" | "1d";

export interface MetricPoint {
  time: number; // ns
  value: number;
}

export interface MetricResult {
  metric: string;
  agg: string;
  bucket: Bucket;
  scope: string;
  group_by: string[];
  start_time: number;
  end_time: number;
  series: { dimensions: Record<string, string>; points: MetricPoint[] }[];
  truncated: boolean;
}

export interface UserActivityPoint {
  time: number; // ns
  trace_count: number;
  total_cost: number;
  total_tokens: number;
  error_count: number;
}

export const OVERVIEW_RANGES = [
  { id: "1h", label: "Last hour", ms: 3_600_000, bucket: "1m" },
  { id: "24h", label: "Last 24 hours", ms: 86_400_000, bucket: "1h" },
  { id: "7d", label: "Last 7 days", ms: 7 * 86_400_000, bucket: "1h" },
] as const satisfies readonly { id: string; label: string; ms: number; bucket: Bucket }[];

export type OverviewRangeId = (typeof OVERVIEW_RANGES)[number]["id"];
export const DEFAULT_OVERVIEW_RANGE: OverviewRangeId = "24h";

export function overviewRange(id: string | null) {
  return OVERVIEW_RANGES.find((r) => r.id === id) ?? OVERVIEW_RANGES.find((r) => r.id === DEFAULT_OVERVIEW_RANGE)!;
}

/** [start, end) in ms for a range ending now; `end` is rounded up to the next minute so the query keys
 * (and the browser cache) stay stable for a minute. */
export function windowFor(ms: number, now: number = Date.now()): { start: number; end: number } {
  const end = Math.ceil(now / 60_000) * 60_000;
  return { start: end - ms, end };
}

export const NS_PER_MS = 1_000_000;

/** Points of all series summed per bucket onto the grid (ns → ms). */
export function totalOnGrid(result: MetricResult | undefined, grid: number[], fill: number | null = 0): (number | null)[] {
  const points = (result?.series ?? []).flatMap((s) => s.points.map((p) => ({ time: Math.round(p.time / NS_PER_MS), value: p.value })));
  return alignToGrid(grid, points, fill);
}

export function sum(values: (number | null)[]): number {
  return values.reduce<number>((a, v) => a + (v ?? 0), 0);
}

export const OTHER_KEY = "__other__";

/** Series grouped by one dimension → top `n` by total plus "Other", each aligned to the grid. */
export function groupedOnGrid(result: MetricResult | undefined, grid: number[], dim: string, n = 5): { key: string; label: string; values: (number | null)[] }[] {
  const series = (result?.series ?? []).map((s) => ({
    key: s.dimensions[dim] ?? "",
    values: alignToGrid(grid, s.points.map((p) => ({ time: Math.round(p.time / NS_PER_MS), value: p.value })), 0),
  }));
  return topNWithOther(series, n, OTHER_KEY).map((s) => ({
    ...s,
    label: s.key === OTHER_KEY ? "Other" : s.key === "" ? `(no ${dim})` : s.key,
  }));
}

/** Cost axis labels: dollars with just enough decimals to tell ticks apart ($0.005, $0.010 …). */
export function costTick(v: number, ticks: number[]): string {
  return `$${v.toFixed(Math.max(2, tickDecimals(ticks)))}`;
}

/** One colour per group across several charts: keys in first-seen order over the given lists (each
 * already ranked) take palette slots 1–7; "Other" is always the neutral slot 8. */
export function colorMap(...lists: { key: string }[][]): Map<string, string> {
  const out = new Map<string, string>([[OTHER_KEY, "var(--series-8)"]]);
  let next = 0;
  for (const list of lists)
    for (const { key } of list) if (!out.has(key)) out.set(key, `var(--series-${(next++ % 7) + 1})`);
  return out;
}

/** The grid of a range and bucket. */
export function gridFor(start: number, end: number, bucket: Bucket): number[] {
  return bucketGrid(start, end, bucketMs(bucket));
}

/** A whole-range percentile from per-bucket percentiles: exact when one bucket holds every request,
 * otherwise the request-weighted mean (an estimate; the API has no whole-range aggregate yet). */
export function combinePercentile(buckets: { value: number; weight: number }[]): { value: number | null; exact: boolean } {
  const used = buckets.filter((b) => b.weight > 0);
  if (used.length === 0) return { value: null, exact: true };
  if (used.length === 1) return { value: used[0]!.value, exact: true };
  const w = used.reduce((a, b) => a + b.weight, 0);
  return { value: used.reduce((a, b) => a + b.value * b.weight, 0) / w, exact: false };
}
