import { useInfiniteQuery } from "@tanstack/react-query";
import { createColumnHelper } from "@tanstack/react-table";
import { useMemo } from "react";
import { useNavigate } from "react-router";
import { apiGet, type Page, type UserSummary } from "../lib/api";
import { formatCost, formatPercent, formatRelative, formatTimestamp, formatTokens } from "../lib/format";
import { useUrlState } from "../lib/useUrlState";
import { DataTable, type ColumnMeta } from "../components/DataTable";

const col = createColumnHelper<UserSummary>();

export function Users() {
  const navigate = useNavigate();
  const [params, update] = useUrlState();
  const sort = params.get("sort") ?? "last_seen";
  const order = params.get("order") === "asc" ? "asc" : "desc";
  const query = useInfiniteQuery({
    queryKey: ["users", sort, order],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) => apiGet<Page<UserSummary>>("/users", { limit: 50, cursor: pageParam, sort, order }),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const rows = useMemo(() => query.data?.pages.flatMap((p) => p.items) ?? [], [query.data]);
  const columns = useMemo(
    () => [
      col.accessor("user_id", { header: "User", meta: { sortKey: "user_id" } satisfies ColumnMeta, cell: (c) => <strong className="strong">{c.getValue()}</strong> }),
      col.accessor("trace_count", { header: "Traces", meta: { sortKey: "trace_count", align: "right" } satisfies ColumnMeta }),
      col.accessor("session_count", { header: "Sessions", meta: { align: "right" } satisfies ColumnMeta }),
      col.accessor("total_tokens", { header: "Tokens", meta: { sortKey: "total_tokens", align: "right" } satisfies ColumnMeta, cell: (c) => formatTokens(c.getValue()) }),
      col.accessor("total_cost", { header: "Cost", meta: { sortKey: "cost", align: "right" } satisfies ColumnMeta, cell: (c) => formatCost(c.getValue()) }),
      col.accessor("error_rate", {
        header: "Error rate",
        meta: { sortKey: "error_count", align: "right" } satisfies ColumnMeta,
        cell: (c) => <span className={c.getValue() > 0 ? "text-error" : "faint"}>{formatPercent(c.getValue())}</span>,
      }),
      col.accessor("guardrail_hits", { header: "Guardrail hits", meta: { align: "right" } satisfies ColumnMeta }),
      col.accessor("last_seen", {
        header: "Last seen",
        meta: { sortKey: "last_seen", align: "right" } satisfies ColumnMeta,
        cell: (c) => <span title={formatTimestamp(c.getValue())}>{formatRelative(c.getValue())}</span>,
      }),
    ],
    [],
  );
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Users</h1>
          <p className="muted">Who uses your application, what it costs and how often it fails for them.</p>
        </div>
      </header>
      <DataTable
        label="Users"
        data={rows}
        columns={columns}
        sort={sort}
        order={order}
        onSort={(s, o) => update({ sort: s, order: o })}
        onRowClick={(u) => navigate(`/users/${encodeURIComponent(u.user_id)}`)}
        loading={query.isPending}
        empty={
          <div className="empty">
            <h3>No users yet</h3>
            <p className="muted">
              Set <code>user.id</code> on your spans to see per-user usage here.
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
