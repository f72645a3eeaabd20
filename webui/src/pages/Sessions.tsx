import { createColumnHelper } from "@tanstack/react-table";
import { Link, useNavigate } from "react-router";
import type { SessionSummary } from "../lib/api";
import { formatCost, formatDuration, formatRelative, formatTimestamp, formatTokens } from "../lib/format";
import { type ColumnMeta } from "../components/DataTable";
import { ListPage } from "../components/ListPage";

const col = createColumnHelper<SessionSummary>();
export const sessionPath = (id: string) => `/sessions/${encodeURIComponent(id)}`;

const COLUMNS = [
  col.accessor("session_id", {
    header: "Session",
    meta: { sortKey: "session_id" } satisfies ColumnMeta,
    cell: (c) => (
      <Link to={sessionPath(c.getValue())} className="trace-link mono" onClick={(e) => e.stopPropagation()}>
        {c.getValue()}
      </Link>
    ),
  }),
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
];

export function Sessions() {
  const navigate = useNavigate();
  return (
    <ListPage
      title="Sessions"
      description="Conversations: traces grouped by session id. Open one to read it turn by turn."
      path="/sessions"
      defaultSort="last_time"
      columns={COLUMNS}
      onRowClick={(s) => navigate(sessionPath(s.session_id))}
      empty={
        <div className="empty">
          <h3>No sessions yet</h3>
          <p className="muted">
            Set <code>session.id</code> or <code>gen_ai.conversation.id</code> on your spans to group traces into sessions.
          </p>
        </div>
      }
    />
  );
}
