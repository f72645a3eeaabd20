/** Hand-written SVG time-series charts: lines, stacked areas and stacked bars over a bucket grid, with
 * axes, a hover crosshair + tooltip and a legend that toggles series. Width follows the container. */
import { useLayoutEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { areaPath, formatTimeTick, linePath, linearScale, nearestIndex, niceTicks, stack, timeTicks, visibleEdge } from "../lib/chart";
import { Skeleton } from "./Skeleton";

export interface ChartSeries {
  key: string;
  label: string;
  values: (number | null)[];
  /** A CSS color; default: the theme's series palette by position. */
  color?: string;
}

export interface TimeChartProps {
  /** Bucket starts, ms. */
  times: number[];
  bucketMs: number;
  series: ChartSeries[];
  kind: "line" | "area" | "bar";
  /** Areas and bars stack; lines never do. */
  stacked?: boolean;
  height?: number;
  formatValue: (v: number) => string;
  /** Accessible name of the chart (also its test id). */
  label: string;
  /** Show a "Total" row in the tooltip (stacked charts). */
  showTotal?: boolean;
  /** Whole-number axis (counts). */
  integer?: boolean;
  /** Axis labels (default: formatValue); gets all ticks to pick a precision. */
  formatTick?: (v: number, ticks: number[]) => string;
}

export const PALETTE = Array.from({ length: 8 }, (_, i) => `var(--series-${i + 1})`);
export const seriesColor = (s: ChartSeries, i: number) => s.color ?? PALETTE[i % PALETTE.length];

function useWidth<T extends HTMLElement>(): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const ro = new ResizeObserver(([entry]) => entry && setWidth(Math.floor(entry.contentRect.width)));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}

const M = { top: 10, right: 12, bottom: 26 };

export function TimeChart({ times, bucketMs, series, kind, stacked = kind !== "line", height = 220, formatValue, label, showTotal = stacked, integer = false, formatTick }: TimeChartProps) {
  const [ref, width] = useWidth<HTMLDivElement>();
  const [hidden, setHidden] = useState<Set<string>>(new Set());
  const [hover, setHover] = useState<number | null>(null);
  const visible = series.map((s, i) => ({ s, i })).filter(({ s }) => !hidden.has(s.key));

  const geo = useMemo(() => {
    const bands = stacked ? stack(visible.map(({ s }) => s.values)) : null;
    let max = 0;
    if (bands) for (const b of bands.at(-1) ?? []) max = Math.max(max, b[1]);
    else for (const { s } of visible) for (const v of s.values) if (v != null && v > max) max = v;
    const yTicks = niceTicks(0, max, height < 200 ? 3 : 4, integer ? 1 : 0);
    const tickLabel = (t: number) => (formatTick ? formatTick(t, yTicks) : formatValue(t));
    const labelW = Math.max(...yTicks.map((t) => tickLabel(t).length)) * 6.6 + 14;
    const left = Math.max(36, Math.ceil(labelW));
    const start = times[0] ?? 0;
    const end = (times.at(-1) ?? 0) + bucketMs;
    const x = linearScale([start, end], [left, Math.max(left + 1, width - M.right)]);
    const y = linearScale([yTicks[0]!, yTicks.at(-1)!], [height - M.bottom, M.top]);
    const centres = times.map((t) => x(t + bucketMs / 2));
    const tt = timeTicks(start, end, Math.max(2, Math.floor((width - left) / 80)));
    return { bands, yTicks, left, x, y, centres, tt, start, end, tickLabel };
  }, [visible.map((v) => v.s.key).join("|"), series, stacked, times, bucketMs, width, height, formatValue, integer, formatTick]); // eslint-disable-line react-hooks/exhaustive-deps

  const { bands, yTicks, left, x, y, centres, tt, tickLabel } = geo;
  const slot = times.length ? x(times[0]! + bucketMs) - x(times[0]!) : 0;
  const barW = Math.max(2, Math.min(28, slot * (slot < 6 ? 0.9 : 0.72)));

  function onMove(e: React.MouseEvent<SVGRectElement>) {
    const rect = e.currentTarget.ownerSVGElement!.getBoundingClientRect();
    const px = e.clientX - rect.left;
    const i = nearestIndex(centres, px);
    setHover(i >= 0 ? i : null);
  }

  const tooltip: ReactNode =
    hover !== null && width > 0 ? (
      <div
        className="chart-tooltip"
        role="tooltip"
        style={{
          left: centres[hover],
          transform: `translateX(${centres[hover]! > width * 0.62 ? "calc(-100% - 12px)" : "12px"})`,
        }}
      >
        <div className="chart-tooltip-time">{new Date(times[hover]!).toLocaleString("en-US", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false })}</div>
        {[...visible].reverse().map(({ s, i }) => {
          const v = s.values[hover];
          return (
            <div key={s.key} className="chart-tooltip-row">
              <span className="swatch" style={{ background: seriesColor(s, i) }} />
              <span className="chart-tooltip-label">{s.label}</span>
              <span className="chart-tooltip-value">{v == null ? "–" : formatValue(v)}</span>
            </div>
          );
        })}
        {showTotal && visible.length > 1 && (
          <div className="chart-tooltip-row total">
            <span className="swatch" />
            <span className="chart-tooltip-label">Total</span>
            <span className="chart-tooltip-value">{formatValue(visible.reduce((a, { s }) => a + (s.values[hover] ?? 0), 0))}</span>
          </div>
        )}
      </div>
    ) : null;

  return (
    <div className="chart" data-testid={`chart-${label}`}>
      <div className="chart-plot" ref={ref} style={{ height }} onMouseLeave={() => setHover(null)}>
        {width > 0 && (
          <svg width={width} height={height} role="img" aria-label={label} className="chart-svg">
            <g className="chart-grid">
              {yTicks.map((t) => (
                <g key={t}>
                  <line x1={left} x2={width - M.right} y1={y(t)} y2={y(t)} className={t === 0 ? "axis-base" : undefined} />
                  <text x={left - 8} y={y(t)} dy="0.32em" textAnchor="end">
                    {tickLabel(t)}
                  </text>
                </g>
              ))}
              {tt.ticks.map((t) => (
                <text key={t} x={x(t)} y={height - 6} textAnchor="middle">
                  {formatTimeTick(t, tt.step)}
                </text>
              ))}
            </g>
            <g className="chart-data">
              {kind === "bar" &&
                visible.map(({ s, i }, k) => (
                  <g key={s.key} className="chart-bars" style={{ fill: seriesColor(s, i) }} data-series={s.key}>
                    {centres.map((cx, j) => {
                      const [y0, y1] = bands ? bands[k]![j]! : [0, s.values[j] ?? 0];
                      if (y1 - y0 <= 0) return null;
                      const top = y(y1);
                      const h = Math.max(1, y(y0) - top);
                      return <rect key={j} x={cx - barW / 2} y={top} width={barW} height={h} rx={Math.min(2, barW / 4)} opacity={hover === null || hover === j ? 1 : 0.55} />;
                    })}
                  </g>
                ))}
              {kind === "area" &&
                bands &&
                visible.map(({ s, i }, k) => {
                  const upper = bands[k]!.map((b) => y(b[1]));
                  const lower = bands[k]!.map((b) => y(b[0]));
                  return (
                    <g key={s.key} data-series={s.key}>
                      <path d={areaPath(centres, upper, lower)} className="chart-area" style={{ fill: seriesColor(s, i) }} />
                      <path d={linePath(centres, visibleEdge(bands[k]!.map((b) => b[1] - b[0]), upper))} className="chart-line" style={{ stroke: seriesColor(s, i) }} />
                    </g>
                  );
                })}
              {kind === "line" &&
                visible.map(({ s, i }) => {
                  const ys = s.values.map((v) => (v == null ? null : y(v)));
                  // Lone points (gaps on both sides) would be invisible as a line: draw them as dots.
                  const lone = ys.map((v, j) => v !== null && ys[j - 1] == null && ys[j + 1] == null);
                  return (
                    <g key={s.key} data-series={s.key} style={{ stroke: seriesColor(s, i), fill: seriesColor(s, i) }}>
                      <path d={linePath(centres, ys)} className="chart-line" />
                      {ys.map((v, j) => (lone[j] && v !== null ? <circle key={j} cx={centres[j]} cy={v} r={2.5} /> : null))}
                    </g>
                  );
                })}
            </g>
            {hover !== null && (
              <g className="chart-hover" pointerEvents="none">
                <line x1={centres[hover]} x2={centres[hover]} y1={M.top} y2={height - M.bottom} />
                {kind !== "bar" &&
                  visible.map(({ s, i }, k) => {
                    const v = bands ? bands[k]![hover]![1] : s.values[hover];
                    if (v == null) return null;
                    return <circle key={s.key} cx={centres[hover]} cy={y(v)} r={3.5} style={{ fill: seriesColor(s, i) }} />;
                  })}
              </g>
            )}
            <rect x={left} y={0} width={Math.max(0, width - left - M.right)} height={height - M.bottom} fill="transparent" onMouseMove={onMove} data-testid="chart-hit" />
          </svg>
        )}
        {tooltip}
      </div>
      {series.length > 1 && (
        <div className="chart-legend" role="list">
          {series.map((s, i) => {
            const off = hidden.has(s.key);
            return (
              <button
                key={s.key}
                type="button"
                role="listitem"
                className={`legend-item${off ? " off" : ""}`}
                aria-pressed={!off}
                title={off ? `Show ${s.label}` : `Hide ${s.label}`}
                onClick={() =>
                  setHidden((prev) => {
                    const next = new Set(prev);
                    if (next.has(s.key)) next.delete(s.key);
                    else if (visible.length > 1) next.add(s.key);
                    return next;
                  })
                }
              >
                <span className="swatch" style={{ background: seriesColor(s, i) }} />
                <span className="legend-label">{s.label}</span>
              </button>
            );
          })}
        </div>
      )}
    </div>
  );
}

/** A titled card around a chart, with a skeleton while loading and a one-line summary on the right. */
export function ChartCard({ title, summary, loading, children, height = 220 }: { title: string; summary?: ReactNode; loading: boolean; children: ReactNode; height?: number }) {
  return (
    <section className="card chart-card" aria-label={title}>
      <header className="chart-card-head">
        <h3>{title}</h3>
        {summary !== undefined && !loading && <span className="chart-card-summary">{summary}</span>}
      </header>
      {loading ? (
        <div className="chart-skeleton" style={{ height }} aria-busy="true" aria-label="Loading chart">
          <Skeleton height={height - 30} />
          <Skeleton width="40%" height={10} />
        </div>
      ) : (
        children
      )}
    </section>
  );
}
