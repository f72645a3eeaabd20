/** Waterfall layout: the span tree flattened into rows (depth-first, children by start time) and each row's
 * bar position as a percentage of the trace's time span. Pure functions, unit-tested. */

export interface TreeSpan {
  span_id: string;
  start_time: number;
  end_time: number;
  children: TreeSpan[];
}

export interface Row<S extends TreeSpan> {
  span: S;
  depth: number;
  hasChildren: boolean;
  collapsed: boolean;
  /** Offset and width of the bar, in percent of the trace window. */
  left: number;
  width: number;
}

export interface Window {
  start: number;
  end: number;
}

/** The time window covered by every span (ns). A zero-length window is widened to 1 µs: epoch times in ns
 * exceed 2^53, so adding a single ns would be lost to float rounding. */
export function traceWindow(spans: readonly TreeSpan[]): Window {
  let start = Infinity;
  let end = -Infinity;
  const visit = (nodes: readonly TreeSpan[]) => {
    for (const s of nodes) {
      start = Math.min(start, s.start_time);
      end = Math.max(end, s.end_time, s.start_time);
      visit(s.children);
    }
  };
  visit(spans);
  if (!Number.isFinite(start)) return { start: 0, end: 1 };
  return { start, end: end > start ? end : start + 1000 };
}

export const MIN_BAR_PERCENT = 0.4;

export function barPosition(span: TreeSpan, win: Window): { left: number; width: number } {
  const total = win.end - win.start;
  const clamp = (v: number) => Math.min(100, Math.max(0, v));
  const left = clamp(((span.start_time - win.start) / total) * 100);
  const raw = clamp(((Math.max(span.end_time, span.start_time) - span.start_time) / total) * 100);
  const width = Math.min(100 - left, Math.max(MIN_BAR_PERCENT, raw));
  return { left, width: Math.max(width, 0) };
}

/** Depth-first rows; children of a collapsed span are skipped. */
export function flattenTree<S extends TreeSpan>(
  roots: readonly S[],
  collapsed: ReadonlySet<string> = new Set(),
  win: Window = traceWindow(roots),
): Row<S>[] {
  const rows: Row<S>[] = [];
  const visit = (nodes: readonly S[], depth: number) => {
    const ordered = [...nodes].sort((a, b) => a.start_time - b.start_time);
    for (const span of ordered) {
      const isCollapsed = collapsed.has(span.span_id);
      rows.push({
        span,
        depth,
        hasChildren: span.children.length > 0,
        collapsed: isCollapsed,
        ...barPosition(span, win),
      });
      if (!isCollapsed) visit(span.children as S[], depth + 1);
    }
  };
  visit(roots, 0);
  return rows;
}

/** Every span in the tree, depth-first (for lookups by id). */
export function allSpans<S extends TreeSpan>(roots: readonly S[]): S[] {
  const out: S[] = [];
  const visit = (nodes: readonly S[]) => {
    for (const s of nodes) {
      out.push(s);
      visit(s.children as S[]);
    }
  };
  visit(roots);
  return out;
}

/** "Nice" axis ticks for a duration in ms: steps of 1, 2 or 5 × 10^k, about `target` of them. */
export function axisTicks(totalMs: number, target = 5): number[] {
  if (!(totalMs > 0)) return [0];
  const rough = totalMs / target;
  const pow = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= rough) ?? 10 * pow;
  const ticks: number[] = [];
  for (let t = 0; t <= totalMs + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}
