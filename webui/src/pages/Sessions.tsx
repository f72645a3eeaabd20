import { useInfiniteQuery } from "@tanstack/react-query";
import { createColumnHelper } from "@tanstack/react-table";
import { useMemo } from "react";
import { useNavigate } from "react-router";
import { apiGet, type Page, type SessionSummary } from "../lib/api";
import { formatCost, formatDuration, formatRelative, formatTimestamp, formatTokens } from "../lib/format";
import { useUrlState } from "../lib/useUrlState";
import { DataTable, type ColumnMeta } from "../components/DataTable";

const col = createColumnHelper<SessionSummary>();

export function Sessions() {
  const navigate = useNavigate();
  const [params, update] = useUrlState();
  const sort = params.get("sort") ?? "last_time";
  const order = params.get("order") === "asc" ? "asc" : "desc";
  const query = useInfiniteQuery({
    queryKey: ["sessions", sort, order],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) => apiGet<Page<SessionSummary>>("/sessions", { limit: 50, cursor: pageParam, sort, order }),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const rows = useMemo(() => query.data?.pages.flatMap((p) => p.items) ?? [], [query.data]);
  const columns = useMemo(
    () => [
      col.accessor("session_id", { header: "Session", meta: { sortKey: "session_id" } satisfies ColumnMeta, cell: (c) => <span className="mono">{c.getValue()}</span> }),
      col.accessor("user_ids", {
        header: "Users",
        cell: (c) => (
          <span className="pills">
            {c.getValue().slice(0, 3).map((u) => (
              <span key={u} className="pill">
                {u}
              </span>
            ))}
            {c.row.original.user_count > 3 && <span className="muted small">+{c.row.original.user_count - 3}</span>}
          </span>
        ),
      }),
      col.accessor("trace_count", { header: "Traces", meta: { sortKey: "trace_count", align: "right" } satisfies ColumnMeta }),
      col.accessor("duration_ms", { header: "Duration", meta: { sortKey: "duration", align: "right" } satisfies ColumnMeta, cell: (c) => formatDuration(c.getValue()) }),
      col.accessor("total_tokens", { header: "Tokens", meta: { sortKey: "total_tokens", align: "right" } satisfies ColumnMeta, cell: (c) => formatTokens(c.getValue()) }),
      col.accessor("total_cost", { header: "Cost", meta: { sortKey: "cost", align: "right" } satisfies ColumnMeta, cell: (c) => formatCost(c.getValue()) }),
      col.accessor("error_count", {
        header: "Errors",
        meta: { align: "right" } satisfies ColumnMeta,
        cell: (c) => (c.getValue() > 0 ? <span className="badge-error">{c.getValue()}</span> : <span className="faint">0</span>),
      }),
      col.accessor("last_time", {
        header: "Last activity",
        meta: { sortKey: "last_time", align: "right" } satisfies ColumnMeta,
        cell: (c) => <span title={formatTimestamp(c.getValue())}>{formatRelative(c.getValue())}</span>,
      }),
    ],
    [],
  );
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Sessions</h1>
          <p className="muted">Conversations: traces grouped by session id. Open one to see its traces.</p>
        </div>
      </header>
      <DataTable
        label="Sessions"
        data={rows}
        columns={columns}
        sort={sort}
        order={order}
        onSort={(s, o) => update({ sort: s, order: o })}
        onRowClick={(s) => navigate(`/traces?session_id=${encodeURIComponent(s.session_id)}&range=all&sort=start_time&order=asc`)}
        loading={query.isPending}
        empty={
          <div className="empty">
            <h3>No sessions yet</h3>
            <p className="muted">
              Set <code>session.id</code> or <code>gen_ai.conversation.id</code> on your spans to group traces into sessions.
            </p>
          </div>
        }
      />
      {query.hasNextPage && (
        <div className="table-foot">
          <span />
          <button type="button" className="btn" onClick={() => query.fetchNextPage()} disabled={query.isFetchingNextPage}>
            {query.isFetchingNextPage ? "Loading…" : "Load more"}
          </button>
        </div>
      )}
    </div>
  );
}
