/** Chart math: linear scales, "nice" value ticks, time ticks, bucket grids, stacking, top-N + other.
 * Pure functions (no DOM) so they are unit-tested; the SVG components in components/Chart.tsx draw with them. */

export type Scale = ((v: number) => number) & { domain: [number, number]; range: [number, number] };

/** Maps [d0, d1] linearly onto [r0, r1]; a zero-width domain maps everything to the middle of the range. */
export function linearScale(domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  const fn = ((v: number) => (span === 0 ? (r0 + r1) / 2 : r0 + ((v - d0) / span) * (r1 - r0))) as Scale;
  fn.domain = domain;
  fn.range = range;
  return fn;
}

/** A step of 1, 2, 2.5 or 5 × 10^k that splits `span` into about `count` parts. */
export function niceStep(span: number, count = 5): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const m = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
  return m * mag;
}

/** Round ticks from 0 (or below min when negative) up to at least `max`; the last tick is the domain top.
 * `max` of 0 (no data) still gives a usable 0..1 axis. `minStep` 1 keeps counts on whole numbers. */
export function niceTicks(min: number, max: number, count = 5, minStep = 0): number[] {
  let lo = Math.min(0, min);
  let hi = Math.max(max, lo);
  if (hi === lo) hi = lo + Math.max(1, minStep * count);
  const step = Math.max(minStep, niceStep(hi - lo, count));
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  // Rounded against float drift (0.1 + 0.2 …): 12 significant digits are plenty for axis labels.
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Decimals needed to tell the ticks apart (0.005 → 3, 2.5 → 1, 100 → 0), at most 8. */
export function tickDecimals(ticks: number[]): number {
  let d = 0;
  for (const t of ticks) {
    const s = String(Number(t.toPrecision(10)));
    const m = /e-(\d+)$/.exec(s);
    const n = m ? Number(m[1]) + (s.split("e")[0]!.split(".")[1]?.length ?? 0) : (s.split(".")[1]?.length ?? 0);
    d = Math.max(d, n);
  }
  return Math.min(8, d);
}

/** Points of a stacked band's top edge worth drawing: a run of empty buckets draws no line along the
 * bottom (null), but the edges next to data do so the shape closes. */
export function visibleEdge(thickness: number[], edge: number[]): (number | null)[] {
  return edge.map((v, i) => ((thickness[i] ?? 0) > 0 || (thickness[i - 1] ?? 0) > 0 || (thickness[i + 1] ?? 0) > 0 ? v : null));
}

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const TIME_STEPS = [MIN, 5 * MIN, 10 * MIN, 15 * MIN, 30 * MIN, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY];

/** Time ticks (ms) inside [start, end] on round local-time boundaries, about `count` of them.
 * `tzOffsetMs` is the zone's offset (local = UTC + offset), injectable for tests. */
export function timeTicks(start: number, end: number, count = 6, tzOffsetMs = -new Date(start).getTimezoneOffset() * MIN): { ticks: number[]; step: number } {
  if (!(end > start)) return { ticks: [start], step: DAY };
  const target = (end - start) / Math.max(1, count);
  const step = TIME_STEPS.find((s) => s >= target) ?? Math.ceil(target / (7 * DAY)) * 7 * DAY;
  const first = Math.ceil((start + tzOffsetMs) / step) * step - tzOffsetMs;
  const ticks: number[] = [];
  for (let t = first; t <= end; t += step) ticks.push(t);
  return { ticks, step };
}

/** Axis label for a time tick: "14:05" for sub-day steps (with the date at midnight), "Jun 5" otherwise. */
export function formatTimeTick(t: number, step: number): string {
  const d = new Date(t);
  const date = d.toLocaleDateString("en-US", { month: "short", day: "numeric" });
  if (step >= DAY) return date;
  if (d.getHours() === 0 && d.getMinutes() === 0 && step >= HOUR) return date;
  return d.toLocaleTimeString("en-US", { hour: "2-digit", minute: "2-digit", hour12: false });
}

export function bucketMs(bucket: "1m" | "5m" | "1h" | "1d"): number {
  return { "1m": MIN, "5m": 5 * MIN, "1h": HOUR, "1d": DAY }[bucket];
}

/** Bucket starts (ms, epoch-aligned like the API's UTC buckets) covering [start, end). */
export function bucketGrid(start: number, end: number, step: number): number[] {
  const out: number[] = [];
  for (let t = Math.floor(start / step) * step; t < end; t += step) out.push(t);
  return out;
}

/** Points (time in ms) placed on the grid; buckets without a point get `fill` (0 for counts and sums,
 * null for latency, where "no requests" is not "0 ms"). Points off the grid are dropped. */
export function alignToGrid(grid: number[], points: { time: number; value: number }[], fill: number | null): (number | null)[] {
  const index = new Map(grid.map((t, i) => [t, i]));
  const out: (number | null)[] = grid.map(() => fill);
  const seen = new Set<number>();
  for (const p of points) {
    const i = index.get(p.time);
    if (i === undefined) continue;
    out[i] = (seen.has(i) ? (out[i] ?? 0) : 0) + p.value; // the same bucket twice adds up
    seen.add(i);
  }
  return out;
}

export interface NamedValues {
  key: string;
  values: (number | null)[];
}

/** Keeps the `n` series with the largest totals (in that order) and sums the rest into one `otherKey`
 * series (only when there is a rest). Ties keep the input order. */
export function topNWithOther<T extends NamedValues>(series: T[], n: number, otherKey = "other"): NamedValues[] {
  const total = (s: NamedValues) => s.values.reduce<number>((a, v) => a + (v ?? 0), 0);
  const ranked = series.map((s, i) => ({ s, i, t: total(s) })).sort((a, b) => b.t - a.t || a.i - b.i);
  const top = ranked.slice(0, n).map((r) => ({ key: r.s.key, values: r.s.values }));
  const rest = ranked.slice(n);
  if (rest.length === 0) return top;
  const len = Math.max(...series.map((s) => s.values.length));
  const other = Array.from({ length: len }, (_, i) => rest.reduce((a, r) => a + (r.s.values[i] ?? 0), 0));
  return [...top, { key: otherKey, values: other }];
}

/** Stacked bands: for each series and index, [y0, y1] with y1 - y0 = the value (nulls count as 0). */
export function stack(series: (number | null)[][]): [number, number][][] {
  const len = Math.max(0, ...series.map((s) => s.length));
  const base = new Array<number>(len).fill(0);
  return series.map((values) =>
    Array.from({ length: len }, (_, i) => {
      const v = Math.max(0, values[i] ?? 0);
      const b = base[i]!;
      base[i] = b + v;
      const band: [number, number] = [b, b + v];
      return band;
    }),
  );
}

/** SVG path of a line through the points; null values break the line into segments. */
export function linePath(xs: number[], ys: (number | null)[]): string {
  let d = "";
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    if (y === null || y === undefined || !Number.isFinite(y)) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${round(xs[i]!)},${round(y)}`;
    pen = true;
  }
  return d;
}

/** SVG path of the band between `lower` and `upper` (same length; screen coordinates). */
export function areaPath(xs: number[], upper: number[], lower: number[]): string {
  if (xs.length === 0) return "";
  let d = `M${round(xs[0]!)},${round(upper[0]!)}`;
  for (let i = 1; i < xs.length; i++) d += `L${round(xs[i]!)},${round(upper[i]!)}`;
  for (let i = xs.length - 1; i >= 0; i--) d += `L${round(xs[i]!)},${round(lower[i]!)}`;
  return d + "Z";
}

/** The index of the grid time nearest to `t` (binary search; the grid is sorted). */
export function nearestIndex(grid: number[], t: number): number {
  if (grid.length === 0) return -1;
  let lo = 0;
  let hi = grid.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (grid[mid]! <= t) lo = mid;
    else hi = mid;
  }
  return Math.abs(grid[hi]! - t) < Math.abs(grid[lo]! - t) ? hi : lo;
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
