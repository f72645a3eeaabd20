import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { Link, useParams } from "react-router";
import { apiGet, ApiError, type SpanNode, type TraceDetail as Trace } from "../lib/api";
import { formatCost, formatDuration, formatTimestamp, formatTokens, shortId } from "../lib/format";
import { allSpans, axisTicks, flattenTree, traceWindow } from "../lib/waterfall";
import { useUrlState } from "../lib/useUrlState";
import { PayloadView } from "../components/ChatMessages";
import { CopyButton } from "../components/CopyButton";
import { IconAlert, IconArrowLeft, IconChevron } from "../components/Icons";
import { AttributeTable, JsonViewer } from "../components/JsonViewer";
import { KindBadge, kindOf } from "../components/KindBadge";
import { DetailHeaderSkeleton, Skeleton } from "../components/Skeleton";
import { ScoreList, ScoreMarker } from "../components/ScoreViews";
import { scoresBySpan, type Score } from "../lib/scoreFormat";

const isError = (s: SpanNode) => s.status_code === "error" || Boolean(s.error_type || s.error_message);

function Stat({ label, value, title }: { label: string; value: React.ReactNode; title?: string }) {
  return (
    <div className="stat" title={title}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
    </div>
  );
}

function Waterfall({ trace, selected, onSelect, scores }: { trace: Trace; selected: string | null; onSelect: (id: string) => void; scores?: Map<string, Score[]> }) {
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const win = useMemo(() => traceWindow(trace.spans), [trace.spans]);
  const rows = useMemo(() => flattenTree(trace.spans, collapsed, win), [trace.spans, collapsed, win]);
  const totalMs = (win.end - win.start) / 1e6;
  const ticks = axisTicks(totalMs, 4);
  const toggle = (id: string) =>
    setCollapsed((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  return (
    <div className="waterfall" role="tree" aria-label="Span waterfall" data-testid="waterfall">
      <div className="wf-head">
        <div className="wf-name-col">Span</div>
        <div className="wf-time-col">
          {ticks.map((t) => (
            <span key={t} className="wf-tick" style={{ left: `${(t / totalMs) * 100}%` }}>
              {formatDuration(t)}
            </span>
          ))}
        </div>
      </div>
      {rows.map(({ span, depth, hasChildren, collapsed: isCollapsed, left, width }) => {
        const err = isError(span);
        return (
          <div
            key={span.span_id}
            role="treeitem"
            aria-selected={span.span_id === selected}
            aria-expanded={hasChildren ? !isCollapsed : undefined}
            className={`wf-row${span.span_id === selected ? " selected" : ""}${err ? " error" : ""}`}
            data-span-id={span.span_id}
            onClick={() => onSelect(span.span_id)}
          >
            <div className="wf-name-col" style={{ paddingLeft: 8 + depth * 18 }}>
              {hasChildren ? (
                <button
                  type="button"
                  className="wf-toggle"
                  aria-label={isCollapsed ? "Expand" : "Collapse"}
                  onClick={(e) => {
                    e.stopPropagation();
                    toggle(span.span_id);
                  }}
                >
                  <IconChevron width={12} height={12} className={isCollapsed ? "chev" : "chev open"} />
                </button>
              ) : (
                <span className="wf-toggle-spacer" />
              )}
              <KindBadge kind={span.kind} iconOnly />
              <span className="wf-span-name" title={span.name}>
                {span.name}
              </span>
              {err && <IconAlert width={14} height={14} className="wf-err-icon" aria-label="error" />}
              {scores?.get(span.span_id) && <ScoreMarker scores={scores.get(span.span_id)!} />}
            </div>
            <div className="wf-time-col">
              {ticks.map((t) => (
                <span key={t} className="wf-grid" style={{ left: `${(t / totalMs) * 100}%` }} />
              ))}
              <div className={`wf-bar kind-bg-${kindOf(span.kind)}${err ? " err" : ""}`} style={{ left: `${left}%`, width: `${width}%` }} />
              <span className={`wf-dur${left + width > 80 ? " inside" : ""}`} style={left + width > 80 ? { right: `${100 - left - width}%` } : { left: `${left + width}%` }}>
                {formatDuration(span.latency_ms)}
              </span>
            </div>
          </div>
        );
      })}
    </div>
  );
}

function SpanPanel({ span, traceStart, scores }: { span: SpanNode; traceStart: number; scores?: Score[] }) {
  const err = isError(span);
  const tokens = span.total_tokens ? `${formatTokens(span.input_tokens)} → ${formatTokens(span.output_tokens)}` : null;
  return (
    <aside className="span-panel" aria-label="Span details" data-testid="span-panel">
      <header className="span-panel-head">
        <div className="span-title">
          <KindBadge kind={span.kind} />
          <h3 title={span.name}>{span.name}</h3>
        </div>
        <div className="span-ids">
          <code className="muted small">{span.span_id}</code>
          <CopyButton text={span.span_id} label="Copy span id" compact />
        </div>
      </header>
      <div className="span-meta">
        <Stat label="Duration" value={formatDuration(span.latency_ms)} />
        <Stat label="Starts at" value={`+${formatDuration((span.start_time - traceStart) / 1e6)}`} />
        <Stat label="Status" value={<span className={err ? "status status-error" : "status status-ok"}>{err ? "Error" : span.status_code === "ok" ? "OK" : "Unset"}</span>} />
        {span.model && <Stat label="Model" value={span.model} title={span.request_model ? `requested ${span.request_model}` : undefined} />}
        {span.provider && <Stat label="Provider" value={span.provider} />}
        {tokens && <Stat label="Tokens in → out" value={tokens} />}
        {span.total_cost > 0 && <Stat label="Cost" value={formatCost(span.total_cost)} />}
        {span.service_name && <Stat label="Service" value={span.service_name} />}
      </div>
      {err && (
        <div className="error-box" role="note">
          <IconAlert />
          <div>
            <div className="error-title">{span.error_type || "Error"}</div>
            <div>{span.error_message || span.status_message || "The span ended with an error status."}</div>
          </div>
        </div>
      )}
      {scores && scores.length > 0 && (
        <details className="collapsible" open data-testid="span-scores">
          <summary>
            Scores <span className="muted">({scores.length})</span>
          </summary>
          <ScoreList scores={scores} />
        </details>
      )}
      <PayloadView title="Input" text={span.input} truncated={span.input_truncated} />
      <PayloadView title="Output" text={span.output} truncated={span.output_truncated} />
      <details className="collapsible" open>
        <summary>
          Attributes <span className="muted">({Object.keys(span.attributes).length})</span>
          <span className="spacer" />
          <CopyButton text={JSON.stringify(span.attributes, null, 2)} label="Copy attributes" compact />
        </summary>
        <AttributeTable attributes={span.attributes} />
      </details>
      <details className="collapsible">
        <summary>
          Resource <span className="muted">({Object.keys(span.resource_attributes).length})</span>
        </summary>
        <AttributeTable attributes={span.resource_attributes} />
      </details>
      {span.events.length > 0 && (
        <details className="collapsible">
          <summary>
            Events <span className="muted">({span.events.length})</span>
          </summary>
          <JsonViewer value={span.events} defaultOpen={1} />
        </details>
      )}
    </aside>
  );
}

function DetailSkeleton() {
  return (
    <div className="page" aria-busy="true">
      <DetailHeaderSkeleton titleWidth="40%" />
      <div className="detail-grid" style={{ marginTop: 20 }}>
        <div className="card" style={{ padding: 16, display: "grid", gap: 12 }}>
          {Array.from({ length: 6 }, (_, i) => (
            <Skeleton key={i} width={`${90 - i * 8}%`} height={18} />
          ))}
        </div>
      </div>
    </div>
  );
}

export function TraceDetail() {
  const { traceId = "" } = useParams();
  const [params, update] = useUrlState();
  const query = useQuery({
    queryKey: ["trace", traceId],
    queryFn: () => apiGet<Trace>(`/traces/${encodeURIComponent(traceId)}`),
    retry: (n, err) => !(err instanceof ApiError && err.status >= 400 && err.status < 500) && n < 2,
  });
  const trace = query.data;
  const spans = useMemo(() => (trace ? allSpans(trace.spans) : []), [trace]);
  // One request for every score of the trace (span- and trace-level), grouped by span here.
  const scoreQuery = useQuery({
    queryKey: ["trace-scores", traceId],
    queryFn: () => apiGet<{ items: Score[]; next_cursor: string | null }>("/scores", { trace_id: traceId, limit: 1000 }),
    enabled: /^[0-9a-f]{32}$/i.test(traceId),
  });
  const scores = useMemo(() => scoresBySpan(scoreQuery.data?.items ?? []), [scoreQuery.data]);
  const traceScores = scores.get("") ?? [];
  if (query.isPending) return <DetailSkeleton />;
  if (query.isError || !trace) {
    return (
      <div className="page">
        <Link to="/traces" className="back">
          <IconArrowLeft /> Traces
        </Link>
        <div className="empty">
          <h3>{query.error instanceof ApiError && query.error.status === 404 ? "Trace not found" : "Could not load the trace"}</h3>
          <p className="muted">{query.error?.message}</p>
        </div>
      </div>
    );
  }
  const selectedId = params.get("span") ?? spans[0]?.span_id ?? null;
  const selected = spans.find((s) => s.span_id === selectedId) ?? spans[0];
  const win = traceWindow(trace.spans);
  const kinds = Object.entries(trace.span_counts_by_kind).sort((a, b) => b[1] - a[1]);
  return (
    <div className="page page-wide">
      <Link to="/traces" className="back">
        <IconArrowLeft /> Traces
      </Link>
      <header className="trace-head">
        <div>
          <h1>{trace.name || "(unnamed trace)"}</h1>
          <div className="trace-sub">
            <code>{shortId(trace.trace_id, 12, 6)}</code>
            <CopyButton text={trace.trace_id} label="Copy trace id" compact />
            <span className="sep">·</span>
            <span>{formatTimestamp(trace.start_time)}</span>
            {trace.user_id && (
              <>
                <span className="sep">·</span>
                <Link to={`/traces?user_id=${encodeURIComponent(trace.user_id)}`}>user {trace.user_id}</Link>
              </>
            )}
            {trace.session_id && (
              <>
                <span className="sep">·</span>
                <Link to={`/sessions/${encodeURIComponent(trace.session_id)}`}>session {shortId(trace.session_id, 10, 4)}</Link>
              </>
            )}
          </div>
        </div>
      </header>
      <div className="stats">
        <Stat label="Latency" value={formatDuration(trace.latency_ms)} />
        <Stat label="Tokens" value={formatTokens(trace.total_tokens)} title={`${trace.input_tokens} in · ${trace.output_tokens} out`} />
        <Stat label="Cost" value={formatCost(trace.total_cost, false)} />
        <Stat label="Spans" value={trace.span_count} />
        <Stat label="Errors" value={<span className={trace.error_count ? "text-error" : undefined}>{trace.error_count}</span>} />
        <Stat
          label="Models"
          value={trace.models.length ? trace.models.join(", ") : <span className="faint">–</span>}
        />
      </div>
      {kinds.length > 0 && (
        <div className="kind-summary">
          {kinds.map(([k, n]) => (
            <span key={k} className="kind-count">
              <KindBadge kind={k} /> <span className="muted">×{n}</span>
            </span>
          ))}
          {trace.spans_truncated && <span className="pill pill-warn">span list truncated</span>}
        </div>
      )}
      {traceScores.length > 0 && (
        <section className="card trace-scores" aria-label="Trace scores" data-testid="trace-scores">
          <header className="trace-scores-head">
            <h3>Trace scores</h3>
            <span className="muted small">{traceScores.length} on the whole trace</span>
          </header>
          <ScoreList scores={traceScores} />
        </section>
      )}
      <div className="detail-grid">
        <div className="card wf-card">
          <Waterfall trace={trace} selected={selected?.span_id ?? null} onSelect={(id) => update({ span: id })} scores={scores} />
        </div>
        {selected && <SpanPanel key={selected.span_id} span={selected} traceStart={win.start} scores={scores.get(selected.span_id)} />}
      </div>
    </div>
  );
}
