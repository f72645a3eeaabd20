import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { createColumnHelper } from "@tanstack/react-table";
import { useCallback, useEffect, useMemo, useState } from "react";
import { Link, useNavigate } from "react-router";
import { apiGet, type Page, type TraceSummary } from "../lib/api";
import { getApiKey, maskKey } from "../lib/auth";
import { formatCost, formatDuration, formatRelative, formatTimestamp, formatTokens, shortId } from "../lib/format";
import { envSnippet, otlpEndpoint, pythonSnippet } from "../lib/snippet";
import { DEFAULT_RANGE, isRangeId, RANGE_PRESETS, rangeStart, type RangeId } from "../lib/timeRange";
import { useUrlState } from "../lib/useUrlState";
import { useColumnVisibility, type ColumnOption } from "../lib/columns";
import { ColumnChooser } from "../components/ColumnChooser";
import { CopyButton } from "../components/CopyButton";
import { DataTable, type ColumnMeta } from "../components/DataTable";
import { IconDiff, IconRefresh, IconSearch, IconX } from "../components/Icons";
import "../sessions-compare.css";

const PAGE_SIZE = 50;
const col = createColumnHelper<TraceSummary>();

/** The column chooser's entries (ids are the table's column ids); the name and the checkbox always show. */
export const TRACE_COLUMNS: ColumnOption[] = [
  { id: "select", label: "Select", hideable: false },
  { id: "start_time", label: "Time" },
  { id: "name", label: "Name", hideable: false },
  { id: "trace_id", label: "Trace ID", defaultHidden: true },
  { id: "user_id", label: "User" },
  { id: "session_id", label: "Session" },
  { id: "models", label: "Models" },
  { id: "latency_ms", label: "Latency" },
  { id: "total_tokens", label: "Tokens" },
  { id: "total_cost", label: "Cost" },
  { id: "span_count", label: "Spans" },
  { id: "error_count", label: "Errors" },
];

/** Up to two selected trace ids for Compare: picking a third drops the oldest pick. */
function useCompareSelection(): [string[], (id: string) => void, () => void] {
  const [selected, setSelected] = useState<string[]>([]);
  const toggle = useCallback(
    (id: string) => setSelected((prev) => (prev.includes(id) ? prev.filter((x) => x !== id) : [...prev, id].slice(-2))),
    [],
  );
  return [selected, toggle, useCallback(() => setSelected([]), [])];
}

function FilterChip({ label, value, onClear }: { label: string; value: string; onClear: () => void }) {
  return (
    <span className="chip">
      <span className="muted">{label}</span> {value}
      <button type="button" className="icon-btn" aria-label={`Clear ${label} filter`} onClick={onClear}>
        <IconX width={12} height={12} />
      </button>
    </span>
  );
}

export function GettingStarted() {
  const endpoint = otlpEndpoint();
  const key = getApiKey() ?? "<your-api-key>";
  const [tab, setTab] = useState<"python" | "env">("python");
  const code = tab === "python" ? pythonSnippet(endpoint, key) : envSnippet(endpoint, key);
  const shown = code.split(key).join(maskKey(key));
  return (
    <div className="empty onboarding" data-testid="onboarding">
      <h2>Send your first trace</h2>
      <p className="muted">
        OTelGuard receives OpenTelemetry traces over OTLP/HTTP at <code>{endpoint}/v1/traces</code> (gRPC on port
        4317). Any OTel SDK, OpenLLMetry or OpenInference instrumentation works unchanged — point it here and add your
        API key as a header.
      </p>
      <div className="code-card">
        <div className="code-tabs">
          <button type="button" className={tab === "python" ? "active" : ""} onClick={() => setTab("python")}>
            Python SDK
          </button>
          <button type="button" className={tab === "env" ? "active" : ""} onClick={() => setTab("env")}>
            Environment variables
          </button>
          <span className="spacer" />
          <CopyButton text={code} label="Copy snippet" />
        </div>
        <pre className="code">{shown}</pre>
      </div>
      <p className="muted small">Traces appear here within a few seconds of being sent.</p>
    </div>
  );
}

export function Traces() {
  const navigate = useNavigate();
  const [params, update] = useUrlState();
  const search = params.get("q") ?? "";
  const rangeParam = params.get("range");
  const range: RangeId = isRangeId(rangeParam) ? rangeParam : DEFAULT_RANGE;
  const sort = params.get("sort") ?? "start_time";
  const order = params.get("order") === "asc" ? "asc" : "desc";
  const userId = params.get("user_id") ?? "";
  const sessionId = params.get("session_id") ?? "";
  const errorsOnly = params.get("errors") === "1";

  // Router navigations run in a transition: the checkbox keeps its own state so it flips at once.
  const [errorsChecked, setErrorsChecked] = useState(errorsOnly);
  useEffect(() => setErrorsChecked(errorsOnly), [errorsOnly]);
  const [draft, setDraft] = useState(search);
  useEffect(() => setDraft(search), [search]);
  useEffect(() => {
    if (draft.trim() === search) return;
    const t = setTimeout(() => update({ q: draft.trim() || null }), 350);
    return () => clearTimeout(t);
  }, [draft, search, update]);

  const [visibility, toggleColumn, resetColumns] = useColumnVisibility("traces", TRACE_COLUMNS);
  const [selected, toggleSelected, clearSelected] = useCompareSelection();
  const filters = { search, range, sort, order, userId, sessionId, errorsOnly };
  const query = useInfiniteQuery({
    queryKey: ["traces", filters],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      apiGet<Page<TraceSummary>>("/traces", {
        limit: PAGE_SIZE,
        cursor: pageParam,
        search: search || null,
        start: rangeStart(range),
        sort,
        order,
        user_id: userId || null,
        session_id: sessionId || null,
        has_error: errorsOnly ? true : null,
      }),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const rows = useMemo(() => query.data?.pages.flatMap((p) => p.items) ?? [], [query.data]);
  const filtered = Boolean(search || userId || sessionId || errorsOnly);
  const anyTrace = useQuery({
    queryKey: ["traces", "any"],
    queryFn: () => apiGet<Page<TraceSummary>>("/traces", { limit: 1 }),
    enabled: query.isSuccess && rows.length === 0,
  });

  const columns = useMemo(
    () => [
      col.display({
        id: "select",
        header: () => <span className="sr-only">Select for compare</span>,
        meta: { width: 36 } satisfies ColumnMeta,
        cell: (c) => (
          <input
            type="checkbox"
            className="row-check"
            checked={selected.includes(c.row.original.trace_id)}
            aria-label={`Select ${c.row.original.name || c.row.original.trace_id} for compare`}
            onClick={(e) => e.stopPropagation()}
            onChange={() => toggleSelected(c.row.original.trace_id)}
          />
        ),
      }),
      col.accessor("start_time", {
        header: "Time",
        meta: { sortKey: "start_time", width: 150 } satisfies ColumnMeta,
        cell: (c) => (
          <span className="nowrap" title={formatRelative(c.getValue())}>
            {formatTimestamp(c.getValue())}
          </span>
        ),
      }),
      col.accessor("name", {
        header: "Name",
        meta: { sortKey: "name" } satisfies ColumnMeta,
        cell: (c) => (
          <div className="cell-name">
            <Link to={`/traces/${c.row.original.trace_id}`} className="trace-link" onClick={(e) => e.stopPropagation()}>
              {c.getValue() || <span className="muted">(unnamed)</span>}
            </Link>
            {c.row.original.tags.slice(0, 3).map((t) => (
              <span key={t} className="pill">
                {t}
              </span>
            ))}
          </div>
        ),
      }),
      col.accessor("trace_id", {
        header: "Trace ID",
        meta: { sortKey: "trace_id" } satisfies ColumnMeta,
        cell: (c) => (
          <span className="mono faint" title={c.getValue()}>
            {shortId(c.getValue(), 8, 4)}
          </span>
        ),
      }),
      col.accessor("user_id", {
        header: "User",
        meta: { sortKey: "user_id" } satisfies ColumnMeta,
        cell: (c) =>
          c.getValue() ? (
            <button
              type="button"
              className="link-btn"
              title={`Only traces of ${c.getValue()}`}
              onClick={(e) => {
                e.stopPropagation();
                update({ user_id: c.getValue() });
              }}
            >
              {c.getValue()}
            </button>
          ) : (
            <span className="faint">–</span>
          ),
      }),
      col.accessor("session_id", {
        header: "Session",
        meta: { sortKey: "session_id" } satisfies ColumnMeta,
        cell: (c) =>
          c.getValue() ? (
            <button
              type="button"
              className="link-btn mono"
              title={`Only traces of session ${c.getValue()}`}
              onClick={(e) => {
                e.stopPropagation();
                update({ session_id: c.getValue() });
              }}
            >
              {shortId(c.getValue(), 10, 4)}
            </button>
          ) : (
            <span className="faint">–</span>
          ),
      }),
      col.accessor("models", {
        header: "Models",
        cell: (c) =>
          c.getValue().length ? (
            <div className="pills">
              {c.getValue().slice(0, 2).map((m) => (
                <span key={m} className="pill pill-model" title={m}>
                  {m}
                </span>
              ))}
              {c.getValue().length > 2 && <span className="muted small">+{c.getValue().length - 2}</span>}
            </div>
          ) : (
            <span className="faint">–</span>
          ),
      }),
      col.accessor("latency_ms", {
        header: "Latency",
        meta: { sortKey: "latency", align: "right" } satisfies ColumnMeta,
        cell: (c) => formatDuration(c.getValue()),
      }),
      col.accessor("total_tokens", {
        header: "Tokens",
        meta: { sortKey: "total_tokens", align: "right" } satisfies ColumnMeta,
        cell: (c) => (
          <span title={`${c.row.original.input_tokens} in · ${c.row.original.output_tokens} out`}>
            {c.getValue() ? formatTokens(c.getValue()) : <span className="faint">–</span>}
          </span>
        ),
      }),
      col.accessor("total_cost", {
        header: "Cost",
        meta: { sortKey: "cost", align: "right" } satisfies ColumnMeta,
        cell: (c) => (c.getValue() ? formatCost(c.getValue()) : <span className="faint">–</span>),
      }),
      col.accessor("span_count", {
        header: "Spans",
        meta: { sortKey: "span_count", align: "right" } satisfies ColumnMeta,
        cell: (c) => c.getValue(),
      }),
      col.accessor("error_count", {
        header: "Errors",
        meta: { sortKey: "error_count", align: "right" } satisfies ColumnMeta,
        cell: (c) =>
          c.getValue() > 0 ? <span className="badge-error">{c.getValue()}</span> : <span className="faint">0</span>,
      }),
    ],
    [update, selected, toggleSelected],
  );

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Traces</h1>
          <p className="muted">Every request your LLM application served, newest first.</p>
        </div>
      </header>

      <div className="toolbar traces-toolbar">
        <label className="search">
          <IconSearch />
          <input
            type="search"
            placeholder="Search inputs and outputs…"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => e.key === "Enter" && update({ q: draft.trim() || null })}
            aria-label="Search traces"
          />
        </label>
        <div className="segmented" role="group" aria-label="Time range">
          {RANGE_PRESETS.map((p) => (
            <button
              key={p.id}
              type="button"
              title={p.label}
              className={p.id === range ? "active" : ""}
              aria-pressed={p.id === range}
              onClick={() => update({ range: p.id === DEFAULT_RANGE ? null : p.id })}
            >
              {p.short}
            </button>
          ))}
        </div>
        <label className="toggle">
          <input
            type="checkbox"
            checked={errorsChecked}
            onChange={(e) => {
              setErrorsChecked(e.target.checked);
              update({ errors: e.target.checked ? "1" : null });
            }}
          />
          <span>Errors only</span>
        </label>
        <span className="spacer" />
        {selected.length > 0 && (
          <span className="selection-note" data-testid="compare-selection">
            {selected.length === 1 ? "1 of 2 selected" : "2 selected"}
            <button type="button" className="icon-btn" aria-label="Clear selection" title="Clear selection" onClick={clearSelected}>
              <IconX width={12} height={12} />
            </button>
          </span>
        )}
        <button
          type="button"
          className={`btn${selected.length === 2 ? " btn-primary" : ""}`}
          disabled={selected.length !== 2}
          title={selected.length === 2 ? "Compare the two selected traces" : "Tick two traces to compare them side by side"}
          onClick={() => navigate(`/compare?a=${encodeURIComponent(selected[0]!)}&b=${encodeURIComponent(selected[1]!)}`)}
        >
          <IconDiff />
          <span>Compare</span>
        </button>
        <ColumnChooser columns={TRACE_COLUMNS} visibility={visibility} onToggle={toggleColumn} onReset={resetColumns} />
        <button
          type="button"
          className="btn btn-ghost"
          onClick={() => query.refetch()}
          aria-label="Refresh"
          title="Refresh"
          disabled={query.isFetching}
        >
          <IconRefresh className={query.isFetching ? "spin" : undefined} />
        </button>
      </div>

      {(userId || sessionId) && (
        <div className="chips">
          {userId && <FilterChip label="User" value={userId} onClear={() => update({ user_id: null })} />}
          {sessionId && <FilterChip label="Session" value={sessionId} onClear={() => update({ session_id: null })} />}
        </div>
      )}

      <DataTable
        label="Traces"
        data={rows}
        columns={columns}
        sort={sort}
        order={order}
        onSort={(s, o) => update({ sort: s === "start_time" ? null : s, order: o === "desc" ? null : o })}
        onRowClick={(t) => navigate(`/traces/${t.trace_id}`)}
        rowClassName={(t) => `${t.error_count > 0 ? "row-error" : ""}${selected.includes(t.trace_id) ? " row-selected" : ""}`}
        columnVisibility={visibility}
        loading={query.isPending}
        empty={
          query.isError ? (
            <div className="empty">
              <h3>Could not load traces</h3>
              <p className="muted">{query.error.message}</p>
            </div>
          ) : anyTrace.data && anyTrace.data.items.length === 0 ? (
            <GettingStarted />
          ) : (
            <div className="empty">
              <h3>No traces match</h3>
              <p className="muted">
                {filtered ? "Try another search or clear the filters." : "Nothing in this time range — try a longer one."}
              </p>
              <button
                type="button"
                className="btn"
                onClick={() => update({ q: null, user_id: null, session_id: null, errors: null, range: "all" })}
              >
                Clear filters
              </button>
            </div>
          )
        }
      />

      {rows.length > 0 && (
        <div className="table-foot">
          <span className="muted small" data-testid="trace-count">
            {rows.length} trace{rows.length === 1 ? "" : "s"}
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
