/** One session: totals, a timeline of its traces to scale across the session, and the conversation turn by
 * turn (each trace's user message and answer as chat bubbles). Rows and turns open the trace. */
import { useInfiniteQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { Link, useParams } from "react-router";
import { apiGet, ApiError, type SessionSummary, type TraceSummary } from "../lib/api";
import { formatCost, formatDuration, formatTimestamp, formatTokens, nsToDate } from "../lib/format";
import { axisTicks, barPosition } from "../lib/waterfall";
import { CopyButton } from "../components/CopyButton";
import { IconAlert, IconArrowLeft, IconGuardrails } from "../components/Icons";
import { DetailHeaderSkeleton, Skeleton } from "../components/Skeleton";
import "../sessions-compare.css";

/** GET /api/v1/sessions/{id}: each trace carries its turn's previews (see the sessions router). */
export interface SessionTrace extends TraceSummary {
  input_preview: string;
  output_preview: string;
  error_message: string;
  guardrail_hits: number;
}

export interface SessionDetailPage extends SessionSummary {
  traces: SessionTrace[];
  next_cursor: string | null;
}

const clock = (ns: number) => nsToDate(ns).toLocaleTimeString("en-US", { hour12: false });
/** Axis labels: "0", "+20 s", "+1m" (not "+1m 0s"). */
const tickLabel = (ms: number) => (ms === 0 ? "0" : `+${formatDuration(ms).replace(/ 0s$/, "").replace(/^(\d+h) 0m$/, "$1")}`);
const traceUrl = (id: string) => `/traces/${encodeURIComponent(id)}`;

function Stat({ label, value, title }: { label: string; value: React.ReactNode; title?: string }) {
  return (
    <div className="stat" title={title}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
    </div>
  );
}

function Timeline({ session, traces }: { session: SessionSummary; traces: SessionTrace[] }) {
  const last = Math.max(session.last_time, ...traces.map((t) => t.end_time));
  const win = { start: session.first_time, end: last > session.first_time ? last : session.first_time + 1000 };
  const totalMs = (win.end - win.start) / 1e6;
  const ticks = axisTicks(totalMs, 5);
  return (
    <div className="card st-card" data-testid="session-timeline">
      <div className="st-row st-head" aria-hidden="true">
        <div className="st-name">Trace</div>
        <div className="st-track">
          {ticks.map((t) => (
            <span key={t} className="wf-tick" style={{ left: `${(t / totalMs) * 100}%` }}>
              {tickLabel(t)}
            </span>
          ))}
        </div>
        <div className="st-num">Tokens</div>
        <div className="st-num">Cost</div>
      </div>
      {traces.map((t, i) => {
        const { left, width } = barPosition({ span_id: t.trace_id, start_time: t.start_time, end_time: t.end_time, children: [] }, win);
        const err = t.error_count > 0;
        const labelRight = left + width > 78;
        return (
          <Link
            key={t.trace_id}
            to={traceUrl(t.trace_id)}
            className={`st-row${err ? " error" : ""}`}
            data-testid="timeline-row"
            aria-label={`Turn ${i + 1}: ${t.name || "trace"} at ${clock(t.start_time)}, ${formatDuration(t.latency_ms)}${err ? ", error" : ""}`}
          >
            <div className="st-name">
              <span className="st-index">{i + 1}</span>
              <span className="st-time">{clock(t.start_time)}</span>
              <span className="st-trace-name" title={t.name}>
                {t.name || "(unnamed)"}
              </span>
              {t.models[0] && (
                <span className="pill pill-model" title={t.models.join(", ")}>
                  {t.models[0]}
                </span>
              )}
            </div>
            <div className="st-track">
              {ticks.map((tick) => (
                <span key={tick} className="wf-grid" style={{ left: `${(tick / totalMs) * 100}%` }} />
              ))}
              <div className={`st-bar${err ? " err" : ""}`} style={{ left: `${left}%`, width: `${width}%` }} />
              <span
                className="st-bar-label"
                style={labelRight ? { right: `${100 - left + 0.6}%` } : { left: `calc(${left + width}% + 6px)` }}
              >
                {formatDuration(t.latency_ms)}
                {err && <IconAlert width={13} height={13} className="st-err-icon" aria-label="error" />}
                {t.guardrail_hits > 0 && (
                  <span className="guard-mark" title={`${t.guardrail_hits} guardrail event${t.guardrail_hits === 1 ? "" : "s"}`} data-testid="guardrail-marker">
                    <IconGuardrails width={12} height={12} />
                    {t.guardrail_hits}
                  </span>
                )}
              </span>
            </div>
            <div className="st-num">{t.total_tokens ? formatTokens(t.total_tokens) : <span className="faint">–</span>}</div>
            <div className="st-num">{t.total_cost ? formatCost(t.total_cost) : <span className="faint">–</span>}</div>
          </Link>
        );
      })}
    </div>
  );
}

function Bubble({ role, who, text }: { role: "user" | "assistant"; who: string; text: string }) {
  return (
    <div className={`bubble-row ${role}`}>
      <div className={`bubble bubble-${role}`} data-role={role}>
        <div className="bubble-who">{who}</div>
        <div className="bubble-text">{text}</div>
      </div>
    </div>
  );
}

function Turn({ trace, n, sessionStart }: { trace: SessionTrace; n: number; sessionStart: number }) {
  const err = trace.error_count > 0;
  return (
    <article className="turn" data-testid="turn" aria-label={`Turn ${n}`}>
      <header className="turn-meta">
        <span className="turn-n">Turn {n}</span>
        <span className="faint" title={formatTimestamp(trace.start_time)}>
          {n === 1 ? clock(trace.start_time) : `+${formatDuration((trace.start_time - sessionStart) / 1e6)}`}
        </span>
        <Link to={traceUrl(trace.trace_id)} className="turn-link">
          {trace.name || "(unnamed trace)"}
        </Link>
        <span className="spacer" />
        {trace.models.slice(0, 2).map((m) => (
          <span key={m} className="pill pill-model">
            {m}
          </span>
        ))}
        <span className="turn-fact">{formatDuration(trace.latency_ms)}</span>
        {trace.total_tokens > 0 && <span className="turn-fact">{formatTokens(trace.total_tokens)} tok</span>}
        {trace.total_cost > 0 && <span className="turn-fact">{formatCost(trace.total_cost)}</span>}
        {trace.guardrail_hits > 0 && (
          <span className="pill pill-guard">
            <IconGuardrails width={11} height={11} /> {trace.guardrail_hits} guardrail
          </span>
        )}
        {err && <span className="badge-error">error</span>}
      </header>
      {trace.input_preview ? (
        <Bubble role="user" who={trace.user_id || "user"} text={trace.input_preview} />
      ) : (
        <div className="turn-none">No input recorded</div>
      )}
      {trace.output_preview ? (
        <Bubble role="assistant" who={trace.models[0] ?? "assistant"} text={trace.output_preview} />
      ) : (
        !err && <div className="turn-none">No output recorded</div>
      )}
      {err && (
        <div className="error-box turn-error" role="note">
          <IconAlert />
          <div>{trace.error_message || "A span of this trace ended with an error."}</div>
        </div>
      )}
    </article>
  );
}

function SessionSkeleton() {
  return (
    <div className="page" aria-busy="true">
      <DetailHeaderSkeleton titleWidth="35%" />
      <div className="card" style={{ padding: 16, display: "grid", gap: 12 }}>
        {Array.from({ length: 5 }, (_, i) => (
          <Skeleton key={i} width={`${92 - i * 9}%`} height={18} />
        ))}
      </div>
    </div>
  );
}

export function SessionDetail() {
  const { sessionId = "" } = useParams();
  const query = useInfiniteQuery({
    queryKey: ["session", sessionId],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      apiGet<SessionDetailPage>(`/sessions/${encodeURIComponent(sessionId)}`, { limit: 100, cursor: pageParam }),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const traces = useMemo(() => query.data?.pages.flatMap((p) => p.traces) ?? [], [query.data]);
  const session = query.data?.pages[0];
  if (query.isPending) return <SessionSkeleton />;
  if (query.isError || !session) {
    const notFound = query.error instanceof ApiError && query.error.status === 404;
    return (
      <div className="page">
        <Link to="/sessions" className="back">
          <IconArrowLeft /> Sessions
        </Link>
        <div className="empty">
          <h3>{notFound ? "Session not found" : "Could not load the session"}</h3>
          <p className="muted">{notFound ? `No traces in this project carry session id “${sessionId}”.` : query.error?.message}</p>
        </div>
      </div>
    );
  }
  const hits = traces.reduce((n, t) => n + t.guardrail_hits, 0);
  return (
    <div className="page">
      <Link to="/sessions" className="back">
        <IconArrowLeft /> Sessions
      </Link>
      <header className="trace-head session-head">
        <div>
          <h1>
            Session <span className="mono session-id">{session.session_id}</span>
          </h1>
          <div className="trace-sub">
            <CopyButton text={session.session_id} label="Copy session id" compact />
            <span>{formatTimestamp(session.first_time)}</span>
            <span className="sep">→</span>
            <span>{formatTimestamp(session.last_time)}</span>
            {session.user_ids.length > 0 && <span className="sep">·</span>}
            {session.user_ids.map((u) => (
              <Link key={u} to={`/users/${encodeURIComponent(u)}`}>
                {u}
              </Link>
            ))}
          </div>
        </div>
        <Link className="btn" to={`/traces?session_id=${encodeURIComponent(session.session_id)}&range=all&sort=start_time&order=asc`}>
          Open in trace list
        </Link>
      </header>
      <div className="stats">
        <Stat label="Traces" value={session.trace_count} />
        <Stat label="Duration" value={formatDuration(session.duration_ms)} />
        <Stat label="Tokens" value={formatTokens(session.total_tokens)} title={`${session.input_tokens} in · ${session.output_tokens} out`} />
        <Stat label="Cost" value={formatCost(session.total_cost, false)} />
        <Stat label="Errors" value={<span className={session.error_count ? "text-error" : undefined}>{session.error_count}</span>} />
        <Stat label="Guardrail hits" value={hits} title={query.hasNextPage ? "In the traces loaded so far" : undefined} />
      </div>
      <section className="session-section">
        <div className="section-title">
          <h2>Timeline</h2>
          <span className="muted small">Each bar is a trace, placed and sized to scale across the session.</span>
        </div>
        <Timeline session={session} traces={traces} />
      </section>
      <section className="session-section">
        <div className="section-title">
          <h2>Conversation</h2>
          <span className="muted small">The user message and the answer of every turn, oldest first.</span>
        </div>
        <div className="conversation" data-testid="conversation">
          {traces.map((t, i) => (
            <Turn key={t.trace_id} trace={t} n={i + 1} sessionStart={session.first_time} />
          ))}
        </div>
      </section>
      {query.hasNextPage && (
        <div className="table-foot">
          <span className="muted small">
            {traces.length} of {session.trace_count} traces
          </span>
          <button type="button" className="btn" onClick={() => query.fetchNextPage()} disabled={query.isFetchingNextPage}>
            {query.isFetchingNextPage ? "Loading…" : "Load more"}
          </button>
        </div>
      )}
    </div>
  );
}
