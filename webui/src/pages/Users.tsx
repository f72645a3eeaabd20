import { createColumnHelper } from "@tanstack/react-table";
import { useNavigate } from "react-router";
import type { UserSummary } from "../lib/api";
import { formatCost, formatPercent, formatRelative, formatTimestamp, formatTokens } from "../lib/format";
import { type ColumnMeta } from "../components/DataTable";
import { ListPage } from "../components/ListPage";

const col = createColumnHelper<UserSummary>();

const COLUMNS = [
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
];

export function Users() {
  const navigate = useNavigate();
  return (
    <ListPage
      title="Users"
      description="Who uses your application, what it costs and how often it fails for them."
      path="/users"
      defaultSort="last_seen"
      columns={COLUMNS}
      onRowClick={(u) => navigate(`/users/${encodeURIComponent(u.user_id)}`)}
      empty={
        <div className="empty">
          <h3>No users yet</h3>
          <p className="muted">
            Set <code>user.id</code> on your spans to see per-user usage here.
          </p>
        </div>
      }
    />
  );
}
