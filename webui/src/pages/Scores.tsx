/** The scores page: one score name at a time over a time range — headline statistics, the trend per bucket,
 * the distribution, a breakdown by a dimension (model, prompt version, user, evaluator, source) and the
 * most recent scores linking to their traces. */
import { useQuery } from "@tanstack/react-query";
import { createColumnHelper } from "@tanstack/react-table";
import { useMemo, useState, type ReactNode } from "react";
import { Link, useNavigate } from "react-router";
import { apiGet, type Page } from "../lib/api";
import { getApiKey, maskKey } from "../lib/auth";
import { niceTicks, tickDecimals } from "../lib/chart";
import { formatRelative, formatTimestamp, shortId } from "../lib/format";
import { windowFor } from "../lib/metrics";
import {
  BUCKET_MS,
  breakdownRows,
  categoryBars,
  categoryOnGrid,
  dimension,
  DIMENSIONS,
  dimensionMeans,
  donutSlices,
  evaluatorLabel,
  formatEdge,
  formatScoreNumber,
  formatShare,
  histogramTicks,
  OTHER,
  passFailOnGrid,
  pickerNames,
  SCORE_RANGES,
  SCORE_SOURCES,
  scoreBucket,
  scoreGrid,
  scoreRange,
  selectedName,
  statOnGrid,
  type BreakdownRow,
  type HistogramBin,
  type Score,
  type ScoreAggregate,
  type ScoreConfig,
  type ScoreName,
  type ScoreStats,
} from "../lib/scores";
import { useUrlState } from "../lib/useUrlState";
import { ChartCard, PALETTE, TimeChart } from "../components/Chart";
import { CopyButton } from "../components/CopyButton";
import { DataTable, type ColumnMeta } from "../components/DataTable";
import { IconRefresh } from "../components/Icons";
import { ScoreValue, SourceBadge } from "../components/ScoreViews";
import { StatCard } from "./Overview";
import "../scores.css";

const BUCKET_LABEL = { "1h": "hour", "1d": "day", "1w": "week" } as const;
const BUCKET_BUTTON = { "1h": "Hourly", "1d": "Daily", "1w": "Weekly" } as const;
const fmtCount = (v: number) => Math.round(v).toLocaleString("en-US");
const iso = (ms: number) => new Date(ms).toISOString();
const shareTick = (v: number) => `${Math.round(v * 100)}%`;

// ---------- distribution ----------

function Histogram({ bins, stats }: { bins: HistogramBin[]; stats: ScoreStats }) {
  const max = Math.max(0, ...bins.map((b) => b.count));
  const ticks = niceTicks(0, max, 4, 1);
  const top = ticks.at(-1) || 1;
  const lo = bins[0]?.lower ?? 0;
  const hi = bins.at(-1)?.upper ?? 1;
  const frac = (v: number) => (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo || 1);
  const xTicks = histogramTicks(lo, hi, 5);
  const digits = tickDecimals(xTicks);
  // A marker's label sits left of its line near the right edge so it stays inside the card.
  const mark = (v: number, cls: string, text: string) => (
    <div className={`histo-mark ${cls}${frac(v) > 0.72 ? " flip" : ""}`} style={{ left: `${frac(v) * 100}%` }}>
      <span>
        {text} {formatScoreNumber(v)}
      </span>
    </div>
  );
  return (
    <div className="histo" role="img" aria-label="Score distribution" data-testid="histogram">
      <div className="histo-plot">
        <div className="histo-bars">
          {ticks.map((t) => (
            <div key={t} className="histo-grid" style={{ bottom: `${(t / top) * 100}%` }}>
              <span>{fmtCount(t)}</span>
            </div>
          ))}
          {bins.map((b, i) => (
            <div
              key={i}
              className={`histo-bar${b.count ? "" : " zero"}`}
              data-tip={`${formatEdge(b.lower, bins)} – ${formatEdge(b.upper, bins)}: ${fmtCount(b.count)} score${b.count === 1 ? "" : "s"}`}
            >
              <span style={{ height: `${(b.count / top) * 100}%` }} />
            </div>
          ))}
          <div className="histo-marks">
            {stats.p50 != null && mark(stats.p50, "p50", "p50")}
            {stats.p95 != null && stats.p95 !== stats.p50 && mark(stats.p95, "p95", "p95")}
          </div>
        </div>
        <div className="histo-x">
          {xTicks.map((v) => (
            <span key={v} style={{ left: `${frac(v) * 100}%` }}>
              {v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })}
            </span>
          ))}
        </div>
      </div>
    </div>
  );
}

const sliceColor = (dataType: string, key: string, i: number) =>
  dataType === "boolean" ? (key === "pass" ? "var(--ok)" : "var(--error)") : key === OTHER ? "var(--series-8)" : PALETTE[i % 7]!;

/** Boolean and categorical distributions: a donut with the leading share inside, and one bar per value. */
function CategoryBars({ stats, dataType }: { stats: ScoreStats; dataType: string }) {
  const bars = categoryBars(stats, dataType);
  const slices = donutSlices(bars, 7);
  const widest = Math.max(0, ...bars.map((b) => b.share));
  const r = 62;
  const c = 2 * Math.PI * r;
  const lead = bars[0];
  return (
    <div className="dist" data-testid="category-bars">
      <svg viewBox="0 0 160 160" width="160" height="160" className="donut" role="img" aria-label="Share of each value">
        <circle cx="80" cy="80" r={r} className="donut-track" />
        {slices.map((sl, i) =>
          sl.share > 0 ? (
            <circle
              key={sl.key}
              cx="80"
              cy="80"
              r={r}
              className="donut-slice"
              style={{ stroke: sliceColor(dataType, sl.key, i) }}
              strokeDasharray={`${Math.max(0, sl.share * c - (slices.length > 1 ? 2 : 0))} ${c}`}
              strokeDashoffset={-sl.offset * c}
              transform="rotate(-90 80 80)"
            >
              <title>{`${sl.label}: ${fmtCount(sl.count)} (${formatShare(sl.share)})`}</title>
            </circle>
          ) : null,
        )}
        <text x="80" y="78" textAnchor="middle" className="donut-value">
          {lead ? formatShare(lead.share) : "–"}
        </text>
        <text x="80" y="98" textAnchor="middle" className="donut-label">
          {lead ? lead.label : ""}
        </text>
      </svg>
      <div className="cat-bars">
        {bars.slice(0, 8).map((b, i) => (
          <div key={b.label} className="cat-row">
            <span className="cat-label" title={b.label}>
              <span className="swatch" style={{ background: sliceColor(dataType, b.label, i) }} />
              {b.label}
            </span>
            <div className="cat-track">
              <div className="cat-fill" style={{ width: `${widest > 0 ? (b.share / widest) * 100 : 0}%`, background: sliceColor(dataType, b.label, i) }} />
            </div>
            <span className="cat-num">
              <strong>{formatShare(b.share)}</strong>
              {fmtCount(b.count)}
            </span>
          </div>
        ))}
        {bars.length > 8 && <span className="faint small">+{bars.length - 8} more values</span>}
      </div>
    </div>
  );
}

// ---------- breakdown ----------

function Meter({ value, lo, hi, tone }: { value: number | null | undefined; lo: number; hi: number; tone?: "pass" }) {
  const f = value == null ? 0 : hi > lo ? (value - lo) / (hi - lo) : 1;
  return (
    <span className="meter">
      <span>{tone === "pass" ? formatShare(value) : formatScoreNumber(value)}</span>
      <span className="meter-track">
        <span className={`meter-fill${tone === "pass" ? " pass" : ""}`} style={{ width: `${Math.max(0, Math.min(1, f)) * 100}%`, display: "block" }} />
      </span>
    </span>
  );
}

function BreakdownTable({ rows, dataType, dim, colors, range }: { rows: BreakdownRow[]; dataType: string; dim: string; colors: Map<string, string>; range: [number, number] }) {
  const catKeys = useMemo(() => {
    const totals = new Map<string, number>();
    for (const r of rows) for (const [k, n] of Object.entries(r.stats.categories ?? {})) totals.set(k, (totals.get(k) ?? 0) + n);
    return [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  }, [rows]);
  return (
    <div className="table-wrap">
      <table className="table breakdown-table" aria-label={`Scores by ${dim}`} data-testid="breakdown-table">
        <thead>
          <tr>
            <th>{dimension(dim).label}</th>
            <th className="num">Scores</th>
            {dataType === "numeric" && (
              <>
                <th className="num">Mean</th>
                <th className="num">p50</th>
                <th className="num">p95</th>
              </>
            )}
            {dataType === "boolean" && (
              <>
                <th className="num">Pass rate</th>
                <th className="num">Passed</th>
                <th className="num">Failed</th>
              </>
            )}
            {dataType === "categorical" && (
              <>
                <th>Distribution</th>
                <th>Most common</th>
              </>
            )}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => {
            const cats = r.stats.categories ?? {};
            const top = Object.entries(cats).sort((a, b) => b[1] - a[1])[0];
            const color = colors.get(r.key);
            return (
              <tr key={r.key} data-dim={r.key}>
                <td>
                  <span className="swatch-row">
                    {color && <span className="swatch" style={{ background: color }} />}
                    <span className={`dim-label${r.key === "" ? " none" : ""}`} title={r.label}>
                      {r.label}
                    </span>
                  </span>
                </td>
                <td className="num">
                  {fmtCount(r.stats.count)} <span className="faint small">{formatShare(r.share)}</span>
                </td>
                {dataType === "numeric" && (
                  <>
                    <td className="num">
                      <Meter value={r.stats.mean} lo={range[0]} hi={range[1]} />
                    </td>
                    <td className="num">{formatScoreNumber(r.stats.p50)}</td>
                    <td className="num">{formatScoreNumber(r.stats.p95)}</td>
                  </>
                )}
                {dataType === "boolean" && (
                  <>
                    <td className="num">
                      <Meter value={r.stats.mean} lo={0} hi={1} tone="pass" />
                    </td>
                    <td className="num">{fmtCount(cats["true"] ?? 0)}</td>
                    <td className="num">{(cats["false"] ?? 0) > 0 ? <span className="text-error">{fmtCount(cats["false"] ?? 0)}</span> : "0"}</td>
                  </>
                )}
                {dataType === "categorical" && (
                  <>
                    <td>
                      <span className="stackbar" title={Object.entries(cats).map(([k, n]) => `${k}: ${n}`).join(", ")}>
                        {catKeys.map((k, i) =>
                          cats[k] ? <span key={k} style={{ width: `${(cats[k]! / (r.stats.count || 1)) * 100}%`, background: PALETTE[i % 7] }} /> : null,
                        )}
                      </span>
                    </td>
                    <td>{top ? <span className="score-value score-category">{top[0]}</span> : <span className="faint">–</span>}</td>
                  </>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

// ---------- onboarding ----------

const EVALUATOR_YAML = `apiVersion: otelguard.io/v1alpha1
kind: Evaluator
metadata:
  name: mentions-refund
  namespace: default
spec:
  kind: heuristic              # or llm-judge, guardrail
  target: {spanKinds: [llm]}   # which spans to score
  samplingRate: 1.0
  heuristic:
    type: contains
    params: {substring: refund, caseInsensitive: true}
  score: {name: mentions_refund, dataType: boolean}`;

function apiSnippet(origin: string, key: string) {
  return `curl -X POST ${origin}/api/v1/scores \\
  -H "Authorization: Bearer ${key}" \\
  -H "Content-Type: application/json" \\
  -d '{"name": "correctness", "value": 0.9,
       "trace_id": "<32 hex trace id>", "span_id": "<16 hex span id>",
       "comment": "Matches the reference answer"}'`;
}

function feedbackSnippet(origin: string) {
  return `// In the browser: a public key can only add feedback, never read.
await fetch("${origin}/api/v1/feedback", {
  method: "POST",
  headers: {
    "Content-Type": "application/json",
    "x-otelguard-public-key": "<your public key>",
  },
  body: JSON.stringify({ trace_id, type: "thumbs", value: "up", comment: "Solved it!" }),
});`;
}

function ScoresOnboarding({ range, onWiden }: { range: string | null; onWiden: () => void }) {
  const [tab, setTab] = useState<"evaluator" | "api" | "feedback">("evaluator");
  const origin = window.location.origin;
  const key = getApiKey() ?? "<your-api-key>";
  const code = tab === "evaluator" ? EVALUATOR_YAML : tab === "api" ? apiSnippet(origin, key) : feedbackSnippet(origin);
  const file = { evaluator: "evaluator.yaml", api: "POST /api/v1/scores", feedback: "POST /api/v1/feedback" }[tab];
  return (
    <div className="card">
      <div className="empty onboarding scores-empty" data-testid="scores-empty">
        <h2>{range ? `No scores in the ${range}` : "No scores yet"}</h2>
        {range && (
          <p className="small">
            Older scores may exist:{" "}
            <button type="button" className="link-inline" onClick={onWiden}>
              look at the last 90 days
            </button>
            .
          </p>
        )}
        <p className="muted">
          Scores measure the quality of your LLM application — a number, a pass/fail or a category attached to a trace, a
          span or a session. They arrive three ways:
        </p>
        <ol>
          <li>
            <strong>Evaluators</strong> score live traffic continuously: apply an <code>Evaluator</code> resource (an LLM
            judge, a heuristic such as regex, contains or JSON validity, or any guardrail validator).
          </li>
          <li>
            <strong>Your code or annotators</strong> send scores to <code>POST /api/v1/scores</code> (one, or a batch of up
            to 1000).
          </li>
          <li>
            <strong>Your users</strong> leave thumbs up/down or a 1–5 rating through <code>POST /api/v1/feedback</code>,
            callable from a browser with a public key.
          </li>
        </ol>
        <div className="code-card">
          <div className="code-tabs">
            <button type="button" className={tab === "evaluator" ? "active" : ""} onClick={() => setTab("evaluator")}>
              Evaluator
            </button>
            <button type="button" className={tab === "api" ? "active" : ""} onClick={() => setTab("api")}>
              Scores API
            </button>
            <button type="button" className={tab === "feedback" ? "active" : ""} onClick={() => setTab("feedback")}>
              User feedback
            </button>
            <span className="spacer" />
            <span className="muted small code-title">{file}</span>
            <CopyButton text={code} label="Copy snippet" />
          </div>
          <pre className="code">{code.split(key).join(maskKey(key))}</pre>
        </div>
        <p className="muted small">
          Apply the Evaluator with <code>kubectl apply -f</code> (or <code>otelguard apply -f</code> locally); matching spans
          are scored within seconds of arriving.
        </p>
      </div>
    </div>
  );
}

// ---------- page ----------

const col = createColumnHelper<Score>();

function NamePicker({ names, name, onPick }: { names: ScoreName[]; name: string; onPick: (n: string) => void }) {
  const known = names.some((n) => n.name === name);
  return (
    <label className="score-select">
      <span className="sr-only">Score</span>
      <select value={name} onChange={(e) => onPick(e.target.value)} aria-label="Score name" data-testid="score-name-select">
        {!known && <option value={name}>{name} (none in range)</option>}
        {names.map((n) => (
          <option key={n.name} value={n.name}>
            {n.name}
            {n.count > 0 ? ` · ${fmtCount(n.count)}` : " · no scores yet"}
          </option>
        ))}
      </select>
    </label>
  );
}

export function Scores() {
  const navigate = useNavigate();
  const [params, update] = useUrlState();
  const range = scoreRange(params.get("range"));
  const bucket = scoreBucket(range, params.get("bucket"));
  const dim = dimension(params.get("by"));
  const source = SCORE_SOURCES.find((s) => s === params.get("source")) ?? null;
  const [tick, setTick] = useState(0);
  const { start, end } = useMemo(() => windowFor(range.ms), [range.ms, tick]); // eslint-disable-line react-hooks/exhaustive-deps
  const win = { start: iso(start), end: iso(end) };

  const namesQ = useQuery({
    queryKey: ["score-names", win],
    queryFn: () => apiGet<{ items: ScoreName[] }>("/scores/names", { ...win, limit: 500 }),
  });
  // Configs need Postgres; without them the picker still lists every name that has scores.
  const configsQ = useQuery({
    queryKey: ["score-configs"],
    queryFn: () => apiGet<{ items: ScoreConfig[] }>("/score-configs").catch(() => ({ items: [] as ScoreConfig[] })),
  });
  const names = useMemo(() => pickerNames(namesQ.data?.items ?? [], configsQ.data?.items ?? []), [namesQ.data, configsQ.data]);
  const name = selectedName(names, params.get("name"));
  const info = names.find((n) => n.name === name);
  const config = configsQ.data?.items.find((c) => c.name === name);

  const base = { name, ...win, source, bucket };
  const totalQ = useQuery({
    queryKey: ["score-aggregate", base],
    queryFn: () => apiGet<ScoreAggregate>("/scores/aggregate", { ...base, bins: 24 }),
    enabled: Boolean(name),
  });
  const byQ = useQuery({
    queryKey: ["score-aggregate", base, dim.id],
    queryFn: () => apiGet<ScoreAggregate>("/scores/aggregate", { ...base, group_by: dim.id }),
    enabled: Boolean(name),
  });
  const recentQ = useQuery({
    queryKey: ["scores-recent", name, win, source],
    queryFn: () => apiGet<Page<Score>>("/scores", { name, ...win, source, limit: 25 }),
    enabled: Boolean(name),
  });

  const agg = totalQ.data;
  const series = agg?.series[0];
  const stats = series?.total;
  const dataType = agg?.data_type ?? info?.data_type ?? "numeric";
  const step = BUCKET_MS[bucket];
  const grid = useMemo(() => scoreGrid(start, end, step, series?.points ?? byQ.data?.series[0]?.points ?? []), [start, end, step, series, byQ.data]);
  const dimSeries = useMemo(() => (dataType === "categorical" ? [] : dimensionMeans(byQ.data, grid, 5).map((s, i) => ({ ...s, color: PALETTE[i % 7] }))), [byQ.data, grid, dataType]);
  const colors = useMemo(() => new Map(dimSeries.map((s) => [s.key, s.color!])), [dimSeries]);
  const rows = useMemo(() => breakdownRows(byQ.data), [byQ.data]);

  const trend = useMemo(() => {
    if (dataType === "categorical") return categoryOnGrid(series, grid, 6).map((s, i) => ({ ...s, color: s.key === OTHER ? "var(--series-8)" : PALETTE[i % 7] }));
    if (dataType === "boolean") {
      const { pass, fail } = passFailOnGrid(series, grid);
      return [
        { key: "pass", label: "Passed", values: pass, color: "var(--ok)" },
        { key: "fail", label: "Failed", values: fail, color: "var(--error)" },
      ];
    }
    return [
      { key: "mean", label: "Mean", values: statOnGrid(series, grid, "mean"), color: "var(--series-1)" },
      { key: "p50", label: "p50", values: statOnGrid(series, grid, "p50"), color: "var(--series-2)" },
      { key: "p95", label: "p95", values: statOnGrid(series, grid, "p95"), color: "var(--series-4)" },
    ];
  }, [series, grid, dataType]);

  const columns = useMemo(
    () => [
      col.accessor("timestamp", {
        header: "Time",
        meta: { width: 150 } satisfies ColumnMeta,
        cell: (c) => (
          <span className="nowrap" title={formatRelative(c.getValue())}>
            {formatTimestamp(c.getValue())}
          </span>
        ),
      }),
      col.display({ id: "value", header: "Value", cell: (c) => <ScoreValue score={c.row.original} /> }),
      col.accessor("source", { header: "Source", cell: (c) => <SourceBadge source={c.getValue()} /> }),
      col.display({
        id: "evaluator",
        header: "Evaluator",
        cell: (c) => (evaluatorLabel(c.row.original) ? <span className="mono small">{evaluatorLabel(c.row.original)}</span> : <span className="faint">–</span>),
      }),
      col.accessor("comment", {
        header: "Comment",
        cell: (c) =>
          c.getValue() ? (
            <span className="comment-cell" title={c.getValue()}>
              {c.getValue()}
            </span>
          ) : (
            <span className="faint">–</span>
          ),
      }),
      col.accessor("trace_id", {
        header: "Trace",
        cell: (c) =>
          c.getValue() ? (
            <Link
              className="mono trace-link"
              to={`/traces/${c.getValue()}${c.row.original.span_id ? `?span=${c.row.original.span_id}` : ""}`}
              onClick={(e) => e.stopPropagation()}
              data-testid="score-trace-link"
            >
              {shortId(c.getValue(), 6, 4)}
            </Link>
          ) : c.row.original.session_id ? (
            <Link to={`/sessions/${encodeURIComponent(c.row.original.session_id)}`} onClick={(e) => e.stopPropagation()}>
              session {shortId(c.row.original.session_id, 8, 4)}
            </Link>
          ) : (
            <span className="faint">–</span>
          ),
      }),
    ],
    [],
  );

  const fetching = [namesQ, totalQ, byQ, recentQ].some((q) => q.isFetching);
  const noScoresAtAll = namesQ.isSuccess && names.length === 0 && !params.get("name");
  const loading = totalQ.isPending && Boolean(name);
  const empty = totalQ.isSuccess && (stats?.count ?? 0) === 0;
  const count = stats?.count ?? 0;
  const cats = stats?.categories ?? {};
  const bars = categoryBars(stats, dataType);
  const lastSeen = info?.last_seen ? formatRelative(info.last_seen) : "–";
  const meanRange: [number, number] = [config?.min_value ?? Math.min(0, stats?.min ?? 0), config?.max_value ?? Math.max(stats?.max ?? 1, 1)];

  let kpis: ReactNode;
  if (dataType === "boolean") {
    const rate = stats?.mean ?? null;
    kpis = (
      <>
        <StatCard testId="kpi-pass-rate" label="Pass rate" loading={loading} value={<span className={rate != null && rate < 0.5 ? "tone-fail" : "tone-pass"}>{formatShare(rate)}</span>} sub="share of true" />
        <StatCard testId="kpi-passed" label="Passed" loading={loading} value={fmtCount(cats["true"] ?? 0)} sub="true" />
        <StatCard testId="kpi-failed" label="Failed" loading={loading} tone={(cats["false"] ?? 0) > 0 ? "error" : undefined} value={fmtCount(cats["false"] ?? 0)} sub="false" />
      </>
    );
  } else if (dataType === "categorical") {
    kpis = (
      <>
        <StatCard testId="kpi-categories" label="Categories" loading={loading} value={fmtCount(bars.length)} sub={config?.categories.length ? `of ${config.categories.length} configured` : "distinct values"} />
        <StatCard testId="kpi-top" label="Most common" loading={loading} value={bars[0]?.label ?? "–"} sub={bars[0] ? `${formatShare(bars[0].share)} of scores` : undefined} />
        <StatCard testId="kpi-least" label="Least common" loading={loading} value={bars.length > 1 ? bars.at(-1)!.label : "–"} sub={bars.length > 1 ? `${formatShare(bars.at(-1)!.share)} of scores` : undefined} />
      </>
    );
  } else {
    kpis = (
      <>
        <StatCard testId="kpi-mean" label="Mean" loading={loading} value={formatScoreNumber(stats?.mean)} sub={stats?.stddev != null ? `± ${formatScoreNumber(stats.stddev)} std dev` : "–"} />
        <StatCard testId="kpi-p50" label="Median (p50)" loading={loading} value={formatScoreNumber(stats?.p50)} sub={stats?.min != null ? `min ${formatScoreNumber(stats.min)} · max ${formatScoreNumber(stats.max)}` : undefined} />
        <StatCard testId="kpi-p95" label="p95" loading={loading} value={formatScoreNumber(stats?.p95)} sub={stats?.p99 != null ? `p99 ${formatScoreNumber(stats.p99)}` : undefined} />
      </>
    );
  }

  return (
    <div className="page page-scores">
      <header className="page-head">
        <div>
          <h1>Scores</h1>
          <p className="muted">Quality over time from evaluators, the scores API, user feedback and annotations.</p>
        </div>
        <div className="head-actions">
          {range.buckets.length > 1 && !noScoresAtAll && (
            <div className="segmented" role="group" aria-label="Bucket">
              {range.buckets.map((b) => (
                <button key={b} type="button" className={b === bucket ? "active" : ""} aria-pressed={b === bucket} onClick={() => update({ bucket: b === range.bucket ? null : b })}>
                  {BUCKET_BUTTON[b]}
                </button>
              ))}
            </div>
          )}
          <div className="segmented" role="group" aria-label="Time range">
            {SCORE_RANGES.map((r) => (
              <button key={r.id} type="button" title={r.label} className={r.id === range.id ? "active" : ""} aria-pressed={r.id === range.id} onClick={() => update({ range: r.id === "7d" ? null : r.id, bucket: null })}>
                {r.id}
              </button>
            ))}
          </div>
          <button type="button" className="btn btn-ghost" aria-label="Refresh" title="Refresh" disabled={fetching} onClick={() => setTick((t) => t + 1)}>
            <IconRefresh className={fetching ? "spin" : undefined} />
          </button>
        </div>
      </header>

      {noScoresAtAll ? (
        <ScoresOnboarding range={range.id === "90d" ? null : range.label.toLowerCase()} onWiden={() => update({ range: "90d", bucket: null })} />
      ) : (
        <>
          <div className="score-picker">
            {name ? <NamePicker names={names} name={name} onPick={(n) => update({ name: n, source: null })} /> : <span className="faint">Loading score names…</span>}
            {name && <span className="score-type" data-testid="score-type">{dataType}</span>}
            {(info?.sources.length ?? 0) > 1 || source ? (
              <div className="segmented" role="group" aria-label="Source">
                <button type="button" className={source ? "" : "active"} aria-pressed={!source} onClick={() => update({ source: null })}>
                  All sources
                </button>
                {(info?.sources ?? []).map((s) => (
                  <button key={s} type="button" className={source === s ? "active" : ""} aria-pressed={source === s} onClick={() => update({ source: s })}>
                    {s}
                  </button>
                ))}
              </div>
            ) : (
              info?.sources[0] && <SourceBadge source={info.sources[0]} />
            )}
            {config?.description && <span className="score-desc">{config.description}</span>}
          </div>

          <div className="kpis scores-kpis">
            <StatCard testId="kpi-count" label="Scores" loading={loading} value={fmtCount(count)} sub={`in the ${range.label.toLowerCase()}`} />
            {kpis}
            <StatCard testId="kpi-last" label="Last score" loading={loading} value={lastSeen} sub={info?.last_seen ? formatTimestamp(info.last_seen) : undefined} />
          </div>

          {totalQ.isError ? (
            <div className="card empty">
              <h3>Could not load the {name} scores</h3>
              <p className="muted">{totalQ.error.message}</p>
            </div>
          ) : empty ? (
            <div className="card empty" data-testid="scores-range-empty">
              <h3>
                No <code>{name}</code> scores in the {range.label.toLowerCase()}
                {source ? ` from ${source}` : ""}
              </h3>
              <p className="muted">Pick another score or widen the time range.</p>
              {range.id !== "90d" && (
                <button type="button" className="btn" onClick={() => update({ range: "90d", bucket: null })}>
                  Show the last 90 days
                </button>
              )}
            </div>
          ) : (
            <>
              <div className="chart-grid score-charts">
                <ChartCard
                  title={dataType === "categorical" ? `Categories per ${BUCKET_LABEL[bucket]}` : dataType === "boolean" ? `Passed and failed per ${BUCKET_LABEL[bucket]}` : `Mean per ${BUCKET_LABEL[bucket]}`}
                  loading={loading}
                  summary={dataType === "boolean" ? `${formatShare(stats?.mean)} pass · ${fmtCount(count)} scores` : `${fmtCount(count)} scores`}
                >
                  {dataType !== "numeric" ? (
                    <TimeChart label="score-trend" kind="bar" integer times={grid} bucketMs={step} series={trend} formatValue={fmtCount} />
                  ) : (
                    <TimeChart label="score-trend" kind="line" times={grid} bucketMs={step} series={trend} formatValue={formatScoreNumber} />
                  )}
                </ChartCard>
                <ChartCard title="Distribution" loading={loading} summary={dataType === "numeric" ? `${series?.histogram?.length ?? 0} bins` : `${bars.length} value${bars.length === 1 ? "" : "s"}`}>
                  {stats && dataType === "numeric" && series?.histogram?.length ? <Histogram bins={series.histogram} stats={stats} /> : stats ? <CategoryBars stats={stats} dataType={dataType} /> : null}
                </ChartCard>
              </div>

              <section className="card breakdown" aria-label="Breakdown" data-testid="breakdown">
                <header className="breakdown-head">
                  <h3>By {dim.label.toLowerCase()}</h3>
                  <div className="segmented" role="group" aria-label="Break down by">
                    {DIMENSIONS.map((d) => (
                      <button key={d.id} type="button" className={d.id === dim.id ? "active" : ""} aria-pressed={d.id === dim.id} onClick={() => update({ by: d.id === "model" ? null : d.id })}>
                        {d.label}
                      </button>
                    ))}
                  </div>
                </header>
                {byQ.isPending ? (
                  <div className="chart-skeleton" style={{ height: 200 }} aria-busy="true" />
                ) : rows.length === 0 ? (
                  <p className="muted small" style={{ padding: "12px 0 16px" }}>
                    No scores to break down.
                  </p>
                ) : (
                  <div className={`breakdown-grid${dimSeries.length === 0 ? " single" : ""}`}>
                    {dimSeries.length > 0 && (
                      <div>
                        <div className="faint small" style={{ marginBottom: 4 }}>
                          {dataType === "boolean" ? "Pass rate" : "Mean"} per {BUCKET_LABEL[bucket]}
                          {rows.length > 5 ? ", top 5" : ""}
                        </div>
                        <TimeChart label="score-by-dimension" kind="line" height={230} times={grid} bucketMs={step} series={dimSeries} formatValue={dataType === "boolean" ? formatShare : formatScoreNumber} formatTick={dataType === "boolean" ? shareTick : undefined} />
                      </div>
                    )}
                    <BreakdownTable rows={rows} dataType={dataType} dim={dim.id} colors={colors} range={meanRange} />
                  </div>
                )}
                {byQ.data?.truncated && <p className="faint small">Only part of the breakdown is shown: too many values.</p>}
              </section>
            </>
          )}

          {name && (
            <section aria-label="Recent scores">
              <div className="recent-head">
                <h3>Recent scores</h3>
                <span className="muted small">newest first · click a row to open its trace</span>
              </div>
              <DataTable
                label="Recent scores"
                data={recentQ.data?.items ?? []}
                columns={columns}
                sort=""
                order="desc"
                onSort={() => undefined}
                loading={recentQ.isPending}
                onRowClick={(s) => s.trace_id && navigate(`/traces/${s.trace_id}${s.span_id ? `?span=${s.span_id}` : ""}`)}
                rowClassName={(s) => (s.data_type === "boolean" && s.value === 0 ? "row-error" : "")}
                empty={
                  <div className="empty">
                    <p className="muted">No {name} scores in this range.</p>
                  </div>
                }
              />
            </section>
          )}
        </>
      )}
    </div>
  );
}
