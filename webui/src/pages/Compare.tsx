/** Two traces side by side (/compare?a=ID&b=ID): totals with changes, line diffs of the inputs and outputs,
 * the root attributes' diff, and every span matched by name+kind with its own diffs (lib/compare). */
import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { apiGet, ApiError, type SpanNode, type TraceDetail } from "../lib/api";
import {
  attrStats,
  compareTotals,
  diffAttributes,
  diffLines,
  diffStats,
  matchSpans,
  pairStatus,
  payloadText,
  splitRows,
  traceIO,
  type AttrChange,
  type PairStatus,
  type SpanPair,
  type SplitCell,
  type TotalRow,
} from "../lib/compare";
import { formatCost, formatDuration, formatTimestamp, formatTokens, shortId } from "../lib/format";
import { IconAlert, IconArrowLeft, IconChevron, IconDiff } from "../components/Icons";
import { KindBadge } from "../components/KindBadge";
import { Skeleton } from "../components/Skeleton";
import "../sessions-compare.css";

const CONTEXT = 3;
const SPAN_PAGE = 200;

function useTrace(id: string) {
  return useQuery({
    queryKey: ["trace", id],
    queryFn: () => apiGet<TraceDetail>(`/traces/${encodeURIComponent(id)}`),
    enabled: id !== "",
  });
}

function TraceCard({ side, trace }: { side: "A" | "B"; trace: TraceDetail }) {
  return (
    <div className={`card cmp-card side-${side.toLowerCase()}`} data-testid={`trace-${side.toLowerCase()}`}>
      <div className="cmp-card-top">
        <span className={`side-badge side-${side.toLowerCase()}`}>{side}</span>
        <Link to={`/traces/${encodeURIComponent(trace.trace_id)}`} className="cmp-card-name" title={trace.name}>
          {trace.name || "(unnamed trace)"}
        </Link>
      </div>
      <div className="cmp-card-sub">
        <code>{shortId(trace.trace_id, 10, 4)}</code>
        <span className="sep">·</span>
        <span>{formatTimestamp(trace.start_time)}</span>
        {trace.user_id && (
          <>
            <span className="sep">·</span>
            <span>{trace.user_id}</span>
          </>
        )}
      </div>
      {trace.models.length > 0 && (
        <div className="pills">
          {trace.models.map((m) => (
            <span key={m} className="pill pill-model">
              {m}
            </span>
          ))}
        </div>
      )}
    </div>
  );
}

function formatValue(row: TotalRow, v: number): string {
  if (row.id === "latency") return formatDuration(v);
  if (row.id === "cost") return formatCost(v, false);
  if (row.id.endsWith("tokens")) return formatTokens(v);
  return String(v);
}

function Change({ row }: { row: TotalRow }) {
  if (row.delta === 0) return <span className="faint">same</span>;
  const sign = row.delta > 0 ? "+" : "−";
  const magnitude = formatValue(row, Math.abs(row.delta));
  const tone = !row.lowerIsBetter ? "neutral" : row.delta > 0 ? "worse" : "better";
  return (
    <span className={`delta delta-${tone}`}>
      {sign}
      {magnitude}
      {row.ratio !== null && <span className="delta-pct"> ({sign}{Math.abs(row.ratio * 100).toFixed(Math.abs(row.ratio) < 0.1 ? 1 : 0)}%)</span>}
    </span>
  );
}

function Totals({ a, b }: { a: TraceDetail; b: TraceDetail }) {
  const rows = compareTotals(a, b);
  return (
    <div className="table-wrap">
      <table className="table cmp-totals" aria-label="Totals">
        <thead>
          <tr>
            <th>Metric</th>
            <th className="num">A</th>
            <th className="num">B</th>
            <th className="num">Change (B vs A)</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id} data-metric={r.id}>
              <td className={r.id.startsWith("kind:") ? "cmp-kind-row" : undefined}>
                {r.id.startsWith("kind:") ? <KindBadge kind={r.id.slice(5)} /> : r.label}
              </td>
              <td className="num">{formatValue(r, r.a)}</td>
              <td className="num">{formatValue(r, r.b)}</td>
              <td className="num">
                <Change row={r} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

type Row = [SplitCell | null, SplitCell | null];
type Block = { kind: "rows"; rows: Row[] } | { kind: "fold"; rows: Row[] };

/** Long runs of unchanged lines fold to their first and last `CONTEXT` lines. */
function foldRows(rows: Row[]): Block[] {
  const blocks: Block[] = [];
  let k = 0;
  while (k < rows.length) {
    if (rows[k]![0]?.op !== "equal") {
      const start = k;
      while (k < rows.length && rows[k]![0]?.op !== "equal") k++;
      blocks.push({ kind: "rows", rows: rows.slice(start, k) });
      continue;
    }
    const start = k;
    while (k < rows.length && rows[k]![0]?.op === "equal") k++;
    const run = rows.slice(start, k);
    const keepHead = start === 0 ? 0 : CONTEXT;
    const keepTail = k === rows.length ? 0 : CONTEXT;
    if (run.length > keepHead + keepTail + 2) {
      if (keepHead) blocks.push({ kind: "rows", rows: run.slice(0, keepHead) });
      blocks.push({ kind: "fold", rows: run.slice(keepHead, run.length - keepTail) });
      if (keepTail) blocks.push({ kind: "rows", rows: run.slice(run.length - keepTail) });
    } else {
      blocks.push({ kind: "rows", rows: run });
    }
  }
  return blocks;
}

function Cell({ cell }: { cell: SplitCell | null }) {
  if (!cell) return <div className="dl-cell dl-blank" />;
  return (
    <div className={`dl-cell dl-${cell.op}`}>
      <span className="dl-n">{cell.n}</span>
      <span className="dl-text">{cell.text || " "}</span>
    </div>
  );
}

function DiffRows({ rows }: { rows: Row[] }) {
  return (
    <>
      {rows.map(([l, r], i) => (
        <div className="dl-row" key={i}>
          <Cell cell={l} />
          <Cell cell={r} />
        </div>
      ))}
    </>
  );
}

function FoldedRows({ rows }: { rows: Row[] }) {
  const [open, setOpen] = useState(false);
  if (open) return <DiffRows rows={rows} />;
  return (
    <button type="button" className="dl-fold" onClick={() => setOpen(true)}>
      ⋯ {rows.length} unchanged lines
    </button>
  );
}

/** A side-by-side line diff of two payloads (chat messages and JSON normalised first). */
export function DiffView({ title, a, b }: { title: string; a: string; b: string }) {
  const ta = useMemo(() => payloadText(a), [a]);
  const tb = useMemo(() => payloadText(b), [b]);
  const lines = useMemo(() => diffLines(ta, tb), [ta, tb]);
  const stats = diffStats(lines);
  const blocks = useMemo(() => foldRows(splitRows(lines)), [lines]);
  const empty = ta === "" && tb === "";
  return (
    <section className="cmp-diff" aria-label={`${title} diff`} data-testid={`diff-${title.toLowerCase()}`}>
      <header className="section-head">
        <h4>{title}</h4>
        {empty ? (
          <span className="pill">none in either trace</span>
        ) : stats.same ? (
          <span className="pill pill-same">identical</span>
        ) : (
          <span className="diff-stats">
            <span className="diff-add">+{stats.added}</span> <span className="diff-del">−{stats.removed}</span> lines
          </span>
        )}
      </header>
      {!empty && (
        <div className="dl">
          <div className="dl-row dl-head">
            <div className="dl-cell">A</div>
            <div className="dl-cell">B</div>
          </div>
          {blocks.map((blk, i) => (blk.kind === "fold" ? <FoldedRows key={i} rows={blk.rows} /> : <DiffRows key={i} rows={blk.rows} />))}
        </div>
      )}
    </section>
  );
}

const ATTR_LABEL: Record<AttrChange["kind"], string> = { added: "only in B", removed: "only in A", changed: "changed", same: "same" };

export function AttributeDiff({ a, b, title = "Attributes" }: { a: Record<string, string>; b: Record<string, string>; title?: string }) {
  const [showSame, setShowSame] = useState(false);
  const changes = useMemo(() => diffAttributes(a, b), [a, b]);
  const stats = attrStats(changes);
  const shown = showSame ? changes : changes.filter((c) => c.kind !== "same");
  return (
    <section className="cmp-attrs" aria-label={`${title} diff`} data-testid="attr-diff">
      <header className="section-head">
        <h4>{title}</h4>
        <span className="diff-stats">
          {stats.changed} changed · {stats.added} only in B · {stats.removed} only in A · {stats.same} same
        </span>
        <span className="spacer" />
        {stats.same > 0 && (
          <label className="toggle small">
            <input type="checkbox" checked={showSame} onChange={(e) => setShowSame(e.target.checked)} />
            <span>Show unchanged</span>
          </label>
        )}
      </header>
      {shown.length === 0 ? (
        <div className="muted small">{changes.length ? "All attributes are the same." : "No attributes on either side."}</div>
      ) : (
        <table className="attr-diff">
          <tbody>
            {shown.map((c) => (
              <tr key={c.key} className={`ad-${c.kind}`} data-kind={c.kind}>
                <td className="ad-key">
                  <code>{c.key}</code>
                </td>
                <td className="ad-kind">{ATTR_LABEL[c.kind]}</td>
                <td className="ad-val">{c.a !== undefined ? <code>{c.a}</code> : <span className="faint">–</span>}</td>
                <td className="ad-val">{c.b !== undefined ? <code>{c.b}</code> : <span className="faint">–</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const STATUS_LABEL: Record<PairStatus, string> = { same: "same", changed: "changed", "only-a": "only in A", "only-b": "only in B" };

function SpanPairRow({ pair, status }: { pair: SpanPair<SpanNode>; status: PairStatus }) {
  const [open, setOpen] = useState(false);
  const span = (pair.a ?? pair.b)!;
  const latency = (s: SpanNode | null) =>
    s ? (
      <span className={s.status_code === "error" ? "text-error" : undefined}>
        {formatDuration(s.latency_ms)}
        {s.status_code === "error" && <IconAlert width={12} height={12} aria-label="error" className="sp-err" />}
      </span>
    ) : (
      "–"
    );
  return (
    <div className={`sp-pair sp-${status}${open ? " open" : ""}`} data-testid="span-pair" data-status={status}>
      <button type="button" className="sp-head" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
        <IconChevron width={12} height={12} className={open ? "chev open" : "chev"} />
        <KindBadge kind={span.kind} iconOnly />
        <span className="sp-name">{span.name}</span>
        <span className={`sp-status st-${status}`}>{STATUS_LABEL[status]}</span>
        <span className="spacer" />
        <span className="sp-lat">
          {latency(pair.a)} <span className="faint">→</span> {latency(pair.b)}
        </span>
      </button>
      {open && (
        <div className="sp-body">
          <DiffView title="Input" a={pair.a?.input ?? ""} b={pair.b?.input ?? ""} />
          <DiffView title="Output" a={pair.a?.output ?? ""} b={pair.b?.output ?? ""} />
          <AttributeDiff a={pair.a?.attributes ?? {}} b={pair.b?.attributes ?? {}} />
        </div>
      )}
    </div>
  );
}

function SpanPairs({ a, b }: { a: TraceDetail; b: TraceDetail }) {
  const [limit, setLimit] = useState(SPAN_PAGE);
  const pairs = useMemo(() => matchSpans(a.spans, b.spans).map((p) => ({ p, status: pairStatus(p) })), [a, b]);
  const count = (s: PairStatus) => pairs.filter((x) => x.status === s).length;
  return (
    <section className="session-section">
      <div className="section-title">
        <h2>Spans</h2>
        <span className="muted small" data-testid="span-summary">
          {count("same") + count("changed")} matched by name and kind · {count("changed")} changed · {count("only-a")} only in A ·{" "}
          {count("only-b")} only in B
        </span>
      </div>
      <div className="card sp-list">
        {pairs.slice(0, limit).map(({ p, status }, i) => (
          <SpanPairRow key={`${p.a?.span_id ?? ""}:${p.b?.span_id ?? ""}:${i}`} pair={p} status={status} />
        ))}
      </div>
      {pairs.length > limit && (
        <div className="table-foot">
          <span className="muted small">
            {limit} of {pairs.length} spans
          </span>
          <button type="button" className="btn" onClick={() => setLimit((l) => l + SPAN_PAGE)}>
            Show more
          </button>
        </div>
      )}
    </section>
  );
}

function Message({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <div className="page">
      <Link to="/traces" className="back">
        <IconArrowLeft /> Traces
      </Link>
      <div className="empty">
        <IconDiff width={28} height={28} className="faint" />
        <h3>{title}</h3>
        {children}
      </div>
    </div>
  );
}

export function Compare() {
  const [params, setParams] = useSearchParams();
  const idA = params.get("a") ?? "";
  const idB = params.get("b") ?? "";
  const qa = useTrace(idA);
  const qb = useTrace(idB);
  if (!idA || !idB) {
    return (
      <Message title="Pick two traces to compare">
        <p className="muted">In the traces table, tick the boxes of two traces and press Compare.</p>
        <Link className="btn" to="/traces">
          Go to traces
        </Link>
      </Message>
    );
  }
  if (qa.isError || qb.isError) {
    const err = (qa.error ?? qb.error)!;
    const side = qa.isError ? "A" : "B";
    const notFound = err instanceof ApiError && err.status === 404;
    return (
      <Message title={notFound ? `Trace ${side} not found` : `Could not load trace ${side}`}>
        <p className="muted">{notFound ? `No trace ${side === "A" ? idA : idB} in this project.` : err.message}</p>
      </Message>
    );
  }
  if (!qa.data || !qb.data) {
    return (
      <div className="page" aria-busy="true">
        <Skeleton width={120} height={14} />
        <div style={{ height: 16 }} />
        <Skeleton width="30%" height={28} />
        <div className="cmp-heads" style={{ marginTop: 20 }}>
          {[0, 1].map((i) => (
            <div key={i} className="card cmp-card">
              <Skeleton width="60%" height={18} />
              <Skeleton width="80%" height={12} />
            </div>
          ))}
        </div>
      </div>
    );
  }
  const a = qa.data;
  const b = qb.data;
  const ioA = traceIO(a.spans);
  const ioB = traceIO(b.spans);
  return (
    <div className="page page-wide cmp-page">
      <Link to="/traces" className="back">
        <IconArrowLeft /> Traces
      </Link>
      <header className="page-head">
        <div>
          <h1>Compare traces</h1>
          <p className="muted">B against A: what changed in cost, latency, inputs, outputs and spans.</p>
        </div>
        <button type="button" className="btn" onClick={() => setParams({ a: idB, b: idA }, { replace: true })}>
          <IconDiff /> Swap A and B
        </button>
      </header>
      <div className="cmp-heads">
        <TraceCard side="A" trace={a} />
        <TraceCard side="B" trace={b} />
      </div>
      <section className="session-section">
        <div className="section-title">
          <h2>Totals</h2>
        </div>
        <Totals a={a} b={b} />
      </section>
      <section className="session-section">
        <div className="section-title">
          <h2>Input and output</h2>
          <span className="muted small">The root span's, or the first input and last output below it.</span>
        </div>
        <div className="card cmp-io">
          <DiffView title="Input" a={ioA.input} b={ioB.input} />
          <DiffView title="Output" a={ioA.output} b={ioB.output} />
          <AttributeDiff title="Root attributes" a={a.spans[0]?.attributes ?? {}} b={b.spans[0]?.attributes ?? {}} />
        </div>
      </section>
      <SpanPairs a={a} b={b} />
    </div>
  );
}
