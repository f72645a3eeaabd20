/** Scores page helpers: the `/api/v1/scores/aggregate`, `/scores/names` and `/score-configs` shapes, ranges
 * and buckets, and the series, bars and rows the page draws. Pure functions, unit-tested in scores.test.ts. */
import { alignToGrid, niceStep, topNWithOther } from "./chart";
import { sourceLabel } from "./scoreFormat";

export * from "./scoreFormat";

export type ScoreDataType = "numeric" | "boolean" | "categorical";
export type ScoreSource = "evaluator" | "api" | "feedback" | "annotation";
export const SCORE_SOURCES: ScoreSource[] = ["evaluator", "api", "feedback", "annotation"];

export interface ScoreStats {
  count: number;
  mean?: number | null;
  stddev?: number | null;
  min?: number | null;
  max?: number | null;
  p50?: number | null;
  p90?: number | null;
  p95?: number | null;
  p99?: number | null;
  categories?: Record<string, number> | null;
}

export interface ScorePoint extends ScoreStats {
  time: number; // ns, bucket start
}

export interface HistogramBin {
  lower: number;
  upper: number;
  count: number;
}

export interface ScoreSeries {
  dimension: string | null;
  total: ScoreStats;
  points: ScorePoint[];
  histogram?: HistogramBin[] | null;
}

export type ScoreBucket = "1h" | "1d" | "1w";

export interface ScoreAggregate {
  name: string;
  data_type: ScoreDataType;
  bucket: ScoreBucket | "all";
  group_by: string | null;
  start_time: number;
  end_time: number;
  series: ScoreSeries[];
  truncated: boolean;
}

export interface ScoreName {
  name: string;
  data_type: string;
  count: number;
  last_seen: number; // ns
  sources: string[];
}

export interface ScoreConfig {
  name: string;
  data_type: ScoreDataType;
  min_value: number | null;
  max_value: number | null;
  categories: string[];
  description: string;
}

// ---------- the scores page ----------

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
export const BUCKET_MS: Record<ScoreBucket, number> = { "1h": HOUR, "1d": DAY, "1w": 7 * DAY };

export const SCORE_RANGES = [
  { id: "24h", label: "Last 24 hours", ms: DAY, buckets: ["1h"], bucket: "1h" },
  { id: "7d", label: "Last 7 days", ms: 7 * DAY, buckets: ["1h", "1d"], bucket: "1d" },
  { id: "30d", label: "Last 30 days", ms: 30 * DAY, buckets: ["1d", "1w"], bucket: "1d" },
  { id: "90d", label: "Last 90 days", ms: 90 * DAY, buckets: ["1d", "1w"], bucket: "1w" },
] as const satisfies readonly { id: string; label: string; ms: number; buckets: readonly ScoreBucket[]; bucket: ScoreBucket }[];

export type ScoreRange = (typeof SCORE_RANGES)[number];
export const DEFAULT_SCORE_RANGE = "7d";

export function scoreRange(id: string | null): ScoreRange {
  return SCORE_RANGES.find((r) => r.id === id) ?? SCORE_RANGES.find((r) => r.id === DEFAULT_SCORE_RANGE)!;
}

/** The bucket asked for when the range allows it, else the range's default. */
export function scoreBucket(range: ScoreRange, requested: string | null): ScoreBucket {
  const allowed: readonly ScoreBucket[] = range.buckets;
  return allowed.includes(requested as ScoreBucket) ? (requested as ScoreBucket) : range.bucket;
}

/** The names to pick from: those scored in the range (most scored first), then configured names that
 * have no scores yet (count 0), by name. */
export function pickerNames(seen: ScoreName[], configs: ScoreConfig[]): ScoreName[] {
  const names = new Set(seen.map((n) => n.name));
  const extra = configs
    .filter((c) => !names.has(c.name))
    .map((c) => ({ name: c.name, data_type: c.data_type, count: 0, last_seen: 0, sources: [] }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return [...seen, ...extra];
}

/** The selected name: the requested one (a link from a trace names a score that may have no scores in
 * the range: the page says so rather than showing another score), else the most scored. */
export function selectedName(names: ScoreName[], requested: string | null): string | null {
  return requested || (names[0]?.name ?? null);
}

/** Bucket starts (ms) covering [start, end), aligned like the API's buckets: on a returned point when
 * there is one (weeks start where ClickHouse starts them), else on the epoch (UTC days and hours). */
export function scoreGrid(start: number, end: number, stepMs: number, points: { time: number }[] = []): number[] {
  if (!(end > start) || !(stepMs > 0)) return [];
  const anchor = points.length ? Math.round(points[0]!.time / 1e6) : 0;
  const first = anchor + Math.floor((start - anchor) / stepMs) * stepMs;
  const out: number[] = [];
  for (let t = first; t < end && out.length < 10_000; t += stepMs) out.push(t);
  return out;
}

type Stat = "mean" | "p50" | "p95";

/** One statistic per bucket on the grid; empty buckets are gaps (null), not zeros. */
export function statOnGrid(series: ScoreSeries | undefined, grid: number[], stat: Stat): (number | null)[] {
  const points = (series?.points ?? [])
    .filter((p) => p[stat] != null && Number.isFinite(p[stat]))
    .map((p) => ({ time: Math.round(p.time / 1e6), value: p[stat] as number }));
  return alignToGrid(grid, points, null);
}

/** Passed and failed counts per bucket of a boolean score (0 where nothing was scored). */
export function passFailOnGrid(series: ScoreSeries | undefined, grid: number[]): { pass: number[]; fail: number[] } {
  const on = (key: string) =>
    alignToGrid(grid, (series?.points ?? []).map((p) => ({ time: Math.round(p.time / 1e6), value: p.categories?.[key] ?? 0 })), 0).map((v) => v ?? 0);
  return { pass: on("true"), fail: on("false") };
}

export const OTHER = "__other__";

/** Stacked counts per category and bucket: the `n` most frequent categories plus "Other". */
export function categoryOnGrid(series: ScoreSeries | undefined, grid: number[], n = 6): { key: string; label: string; values: (number | null)[] }[] {
  const totals = series?.total.categories ?? {};
  const keys = Object.keys(totals);
  const per = keys.map((key) => ({
    key,
    values: alignToGrid(
      grid,
      (series?.points ?? []).map((p) => ({ time: Math.round(p.time / 1e6), value: p.categories?.[key] ?? 0 })),
      0,
    ),
  }));
  return topNWithOther(per, n, OTHER).map((s) => ({ ...s, label: s.key === OTHER ? "Other" : s.key || "(empty)" }));
}

export interface CategoryBar {
  label: string;
  count: number;
  share: number;
}

/** Bars of a boolean or categorical distribution: booleans as pass then fail, categories by count. */
export function categoryBars(stats: ScoreStats | undefined, dataType: string): CategoryBar[] {
  const cats = stats?.categories ?? {};
  const total = Object.values(cats).reduce((a, b) => a + b, 0);
  const share = (n: number) => (total > 0 ? n / total : 0);
  if (dataType === "boolean") {
    const pass = cats["true"] ?? 0;
    const fail = cats["false"] ?? 0;
    return [
      { label: "pass", count: pass, share: share(pass) },
      { label: "fail", count: fail, share: share(fail) },
    ];
  }
  return Object.entries(cats)
    .map(([label, count]) => ({ label, count, share: share(count) }))
    .sort((a, b) => b.count - a.count || a.label.localeCompare(b.label));
}

export const DIMENSIONS = [
  { id: "model", label: "Model" },
  { id: "prompt_version", label: "Prompt version" },
  { id: "user", label: "User" },
  { id: "evaluator", label: "Evaluator" },
  { id: "source", label: "Source" },
] as const;

export type DimensionId = (typeof DIMENSIONS)[number]["id"];

export function dimension(id: string | null): (typeof DIMENSIONS)[number] {
  return DIMENSIONS.find((d) => d.id === id) ?? DIMENSIONS[0];
}

export function dimensionValueLabel(dim: string, value: string | null): string {
  if (value == null) return "All";
  if (value !== "") return dim === "source" ? sourceLabel(value) : value;
  return { model: "(no model)", prompt_version: "(no prompt)", user: "(no user)", evaluator: "(not an evaluator)", source: "(none)" }[dim] ?? "(none)";
}

export interface BreakdownRow {
  key: string;
  label: string;
  stats: ScoreStats;
  /** Of all scores in the breakdown (a score under several models counts under each). */
  share: number;
}

/** One row per dimension value, most scored first. */
export function breakdownRows(agg: ScoreAggregate | undefined): BreakdownRow[] {
  const series = agg?.series ?? [];
  const total = series.reduce((a, s) => a + s.total.count, 0);
  return series
    .map((s) => ({
      key: s.dimension ?? "",
      label: dimensionValueLabel(agg?.group_by ?? "", s.dimension),
      stats: s.total,
      share: total > 0 ? s.total.count / total : 0,
    }))
    .sort((a, b) => b.stats.count - a.stats.count || a.label.localeCompare(b.label));
}

/** Mean per bucket of the `n` most scored dimension values (numeric, boolean). */
export function dimensionMeans(agg: ScoreAggregate | undefined, grid: number[], n = 5): { key: string; label: string; values: (number | null)[] }[] {
  const ranked = [...(agg?.series ?? [])].sort((a, b) => b.total.count - a.total.count).slice(0, n);
  return ranked.map((s) => ({
    key: s.dimension ?? "",
    label: dimensionValueLabel(agg?.group_by ?? "", s.dimension),
    values: statOnGrid(s, grid, "mean"),
  }));
}

/** A readable bin edge: "0.25", "12.5", "1,200". */
export function formatEdge(v: number, bins: HistogramBin[]): string {
  const width = bins.length ? Math.abs(bins[0]!.upper - bins[0]!.lower) : 1;
  const digits = width >= 10 ? 0 : width >= 1 ? 1 : width >= 0.1 ? 2 : 3;
  return Number(v.toFixed(digits)).toLocaleString("en-US", { maximumFractionDigits: digits });
}

/** Round value-axis ticks inside [lo, hi] (about `count` of them) for a histogram's x axis. */
export function histogramTicks(lo: number, hi: number, count = 4): number[] {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [lo];
  const step = niceStep(hi - lo, count);
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export interface DonutSlice {
  key: string;
  label: string;
  count: number;
  share: number;
  /** Where the slice starts, as a share of the circle. */
  offset: number;
}

/** Donut slices of a distribution: the first `n` bars, the rest folded into "Other". */
export function donutSlices(bars: CategoryBar[], n = 7): DonutSlice[] {
  const head = bars.slice(0, n);
  const rest = bars.slice(n);
  const all = rest.length
    ? [...head, { label: "Other", count: rest.reduce((a, b) => a + b.count, 0), share: rest.reduce((a, b) => a + b.share, 0) }]
    : head;
  let offset = 0;
  return all.map((b, i) => {
    const slice = { key: i < head.length ? b.label : OTHER, label: b.label, count: b.count, share: b.share, offset };
    offset += b.share;
    return slice;
  });
}
