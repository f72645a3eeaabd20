import { useInfiniteQuery } from "@tanstack/react-query";
import { createColumnHelper } from "@tanstack/react-table";
import { useEffect, useMemo, useState } from "react";
import { Link, useNavigate } from "react-router";
import { ApiError, apiGet, type Page } from "../lib/api";
import { formatDuration, formatRelative, formatTimestamp, shortId } from "../lib/format";
import { activeEventFilters, EVENT_FILTER_KEYS, EVENT_RANGES, eventQueryParams, type GuardrailEvent } from "../lib/guardrailEvents";
import { useUrlState } from "../lib/useUrlState";
import { DataTable, type ColumnMeta } from "../components/DataTable";
import { IconRefresh, IconX } from "../components/Icons";

const col = createColumnHelper<GuardrailEvent>();

const POLICY_EXAMPLE = `apiVersion: otelguard.io/v1alpha1
kind: GuardrailPolicy
metadata:
  name: support-bot-safety
spec:
  stages: [input, output]
  mode: shadow          # record events without enforcing; "enforce" to act
  rules:
    - name: pii
      validator: pii
      onFail:
        - type: sanitize
        - type: alert`;

/** A text filter that writes to the URL after a pause (and on Enter). */
function TextFilter({ name, label, value, onChange, mono }: { name: string; label: string; value: string; onChange: (v: string | null) => void; mono?: boolean }) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  useEffect(() => {
    if (draft.trim() === value) return;
    const t = setTimeout(() => onChange(draft.trim() || null), 350);
    return () => clearTimeout(t);
  }, [draft, value, onChange]);
  return (
    <label className="filter">
      <span>{label}</span>
      <input
        type="text"
        name={name}
        className={mono ? "mono" : undefined}
        placeholder="any"
        value={draft}
        spellCheck={false}
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => e.key === "Enter" && onChange(draft.trim() || null)}
        aria-label={`Filter by ${label.toLowerCase()}`}
      />
    </label>
  );
}

function SelectFilter({ label, value, options, onChange }: { label: string; value: string; options: [string, string][]; onChange: (v: string | null) => void }) {
  return (
    <label className="filter">
      <span>{label}</span>
      <select value={value} onChange={(e) => onChange(e.target.value || null)} aria-label={`Filter by ${label.toLowerCase()}`}>
        <option value="">Any</option>
        {options.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
    </label>
  );
}

export function VerdictBadge({ verdict }: { verdict: string }) {
  return <span className={`verdict verdict-${verdict}`}>{verdict || "–"}</span>;
}

export function GuardrailEvents() {
  const navigate = useNavigate();
  const [params, update] = useUrlState();
  const qp = eventQueryParams(params);
  const { rangeId: _rangeId, ...apiParams } = qp;
  const active = activeEventFilters(params);
  const query = useInfiniteQuery({
    queryKey: ["guardrail-events", params.toString()],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) => apiGet<Page<GuardrailEvent>>("/guardrail-events", { ...apiParams, limit: 50, cursor: pageParam }),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const rows = useMemo(() => query.data?.pages.flatMap((p) => p.items) ?? [], [query.data]);
  // An API without this route (404) means no events yet, not a failure.
  const missing = query.error instanceof ApiError && query.error.status === 404;

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
      col.accessor("policy", {
        header: "Policy",
        cell: (c) => (
          <span className="cell-policy">
            <strong className="strong">{c.getValue()}</strong>
            {c.row.original.policy_version && <span className="faint small"> v{c.row.original.policy_version}</span>}
          </span>
        ),
      }),
      col.accessor("rule", { header: "Rule", cell: (c) => c.getValue() || <span className="faint">–</span> }),
      col.accessor("validator", { header: "Validator", cell: (c) => <span className="pill pill-mono">{c.getValue()}</span> }),
      col.accessor("stage", { header: "Stage", cell: (c) => <span className="stage">{c.getValue()}</span> }),
      col.accessor("action", {
        header: "Action",
        cell: (c) => (
          <span className="pills">
            {c
              .getValue()
              .split(/[,\s]+/)
              .filter(Boolean)
              .map((a) => (
                <span key={a} className={`pill action action-${a}`}>
                  {a}
                </span>
              ))}
          </span>
        ),
      }),
      col.accessor("verdict", {
        header: "Verdict",
        cell: (c) => (
          <span className="pills">
            <VerdictBadge verdict={c.getValue()} />
            {c.row.original.shadow && (
              <span className="pill pill-shadow" title="Shadow mode: recorded, not enforced">
                shadow
              </span>
            )}
          </span>
        ),
      }),
      col.accessor("findings", {
        header: "Findings",
        meta: { align: "right" } satisfies ColumnMeta,
        cell: (c) => {
          const f = Array.isArray(c.getValue()) ? c.getValue() : [];
          const names = [...new Set(f.map((x) => String(x.entity ?? x.validator ?? "")).filter(Boolean))];
          return f.length ? <span title={names.join(", ")}>{f.length}</span> : <span className="faint">0</span>;
        },
      }),
      col.accessor("latency_us", { header: "Latency", meta: { align: "right" } satisfies ColumnMeta, cell: (c) => formatDuration(c.getValue() / 1000) }),
      col.accessor("trace_id", {
        header: "Trace",
        cell: (c) =>
          c.getValue() ? (
            <Link
              className="mono trace-link"
              to={`/traces/${c.getValue()}${c.row.original.span_id ? `?span=${c.row.original.span_id}` : ""}`}
              onClick={(e) => e.stopPropagation()}
              data-testid="event-trace-link"
            >
              {shortId(c.getValue(), 6, 4)}
            </Link>
          ) : (
            <span className="faint">–</span>
          ),
      }),
    ],
    [],
  );

  const onText = (key: string) => (v: string | null) => update({ [key]: v });
  const setters = useMemo(() => Object.fromEntries(EVENT_FILTER_KEYS.map((k) => [k, onText(k)])) as Record<(typeof EVENT_FILTER_KEYS)[number], (v: string | null) => void>, [update]); // eslint-disable-line react-hooks/exhaustive-deps

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Guardrail events</h1>
          <p className="muted">Every rule that failed on an input or output, newest first — enforced or in shadow mode.</p>
        </div>
      </header>

      <div className="toolbar">
        <div className="segmented" role="group" aria-label="Time range">
          {EVENT_RANGES.map((r) => (
            <button
              key={r.id}
              type="button"
              title={r.label}
              className={r.id === qp.rangeId ? "active" : ""}
              aria-pressed={r.id === qp.rangeId}
              onClick={() => update({ range: r.id === "7d" ? null : r.id })}
            >
              {r.short}
            </button>
          ))}
        </div>
        <span className="spacer" />
        {active > 0 && (
          <button type="button" className="btn btn-ghost btn-sm" onClick={() => update(Object.fromEntries(EVENT_FILTER_KEYS.map((k) => [k, null])))}>
            <IconX width={13} height={13} /> Clear {active} filter{active === 1 ? "" : "s"}
          </button>
        )}
        <button type="button" className="btn btn-ghost" onClick={() => query.refetch()} aria-label="Refresh" title="Refresh" disabled={query.isFetching}>
          <IconRefresh className={query.isFetching ? "spin" : undefined} />
        </button>
      </div>
      <div className="filters card" role="group" aria-label="Filters">
        <TextFilter name="policy" label="Policy" value={params.get("policy") ?? ""} onChange={setters.policy} />
        <TextFilter name="validator" label="Validator" value={params.get("validator") ?? ""} onChange={setters.validator} />
        <SelectFilter
          label="Action"
          value={params.get("action") ?? ""}
          onChange={setters.action}
          options={["block", "sanitize", "retry", "fallback", "alert", "transform"].map((a) => [a, a])}
        />
        <SelectFilter label="Stage" value={params.get("stage") ?? ""} onChange={setters.stage} options={[["input", "input"], ["output", "output"], ["ingest", "ingest"]]} />
        <SelectFilter label="Verdict" value={params.get("verdict") ?? ""} onChange={setters.verdict} options={[["block", "block"], ["flag", "flag"], ["pass", "pass"]]} />
        <SelectFilter label="Mode" value={params.get("shadow") ?? ""} onChange={setters.shadow} options={[["false", "Enforced"], ["true", "Shadow"]]} />
        <TextFilter name="trace_id" label="Trace id" value={params.get("trace_id") ?? ""} onChange={setters.trace_id} mono />
      </div>

      <DataTable
        label="Guardrail events"
        data={rows}
        columns={columns}
        sort=""
        order="desc"
        onSort={() => undefined}
        onRowClick={(e) => e.trace_id && navigate(`/traces/${e.trace_id}${e.span_id ? `?span=${e.span_id}` : ""}`)}
        rowClassName={(e) => (e.verdict === "block" && !e.shadow ? "row-error" : "")}
        loading={query.isPending}
        empty={
          query.isError && !missing ? (
            <div className="empty">
              <h3>Could not load guardrail events</h3>
              <p className="muted">{query.error.message}</p>
            </div>
          ) : active > 0 ? (
            <div className="empty" data-testid="events-empty">
              <h3>No events match</h3>
              <p className="muted">Nothing in this time range matches the filters.</p>
              <button type="button" className="btn" onClick={() => update(Object.fromEntries(EVENT_FILTER_KEYS.map((k) => [k, null])))}>
                Clear filters
              </button>
            </div>
          ) : (
            <div className="empty onboarding" data-testid="events-empty">
              <h2>No guardrail events yet</h2>
              <p className="muted">
                Events appear here when a <strong>GuardrailPolicy</strong> applies to your traffic and one of its rules fails —
                one event per failed rule, linked to the trace and span it checked. Policies in <code>shadow</code> mode record
                events without blocking anything, a safe way to try a rule on production traffic.
              </p>
              <div className="code-card">
                <div className="code-tabs">
                  <span className="muted small code-title">guardrailpolicy.yaml</span>
                </div>
                <pre className="code">{POLICY_EXAMPLE}</pre>
              </div>
              <p className="muted small">
                Apply it with <code>kubectl apply -f</code> (or <code>otelguard apply -f</code> locally), then check text through{" "}
                <code>POST /api/v1/guard</code> or the gateway.
              </p>
            </div>
          )
        }
      />
      {rows.length > 0 && (
        <div className="table-foot">
          <span className="muted small" data-testid="event-count">
            {rows.length} event{rows.length === 1 ? "" : "s"}
            {query.hasNextPage ? " loaded" : ""}
          </span>
          {query.hasNextPage && (
            <button type="button" className="btn" onClick={() => query.fetchNextPage()} disabled={query.isFetchingNextPage}>
              {query.isFetchingNextPage ? "Loading…" : "Load more"}
            </button>
          )}
        </div>
      )}
    </div>
  );
}
