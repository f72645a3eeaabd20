/** A listing page over one paged API route (sessions, users): heading, a server-sorted table with sort/order
 * in the URL, and "Load more" through the route's cursor. */
import { useInfiniteQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { useMemo, type ReactNode } from "react";
import { apiGet, type Page } from "../lib/api";
import { useUrlState } from "../lib/useUrlState";
import { DataTable } from "./DataTable";

export interface ListPageProps<T> {
  title: string;
  description: string;
  /** API path under /api/v1, also the query cache key. */
  path: string;
  defaultSort: string;
  columns: ColumnDef<T, any>[];
  onRowClick: (row: T) => void;
  empty: ReactNode;
}

export function ListPage<T>({ title, description, path, defaultSort, columns, onRowClick, empty }: ListPageProps<T>) {
  const [params, update] = useUrlState();
  const sort = params.get("sort") ?? defaultSort;
  const order = params.get("order") === "asc" ? "asc" : "desc";
  const query = useInfiniteQuery({
    queryKey: [path.replace(/^\//, ""), sort, order],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) => apiGet<Page<T>>(path, { limit: 50, cursor: pageParam, sort, order }),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const rows = useMemo(() => query.data?.pages.flatMap((p) => p.items) ?? [], [query.data]);
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>{title}</h1>
          <p className="muted">{description}</p>
        </div>
      </header>
      <DataTable
        label={title}
        data={rows}
        columns={columns}
        sort={sort}
        order={order}
        onSort={(s, o) => update({ sort: s, order: o })}
        onRowClick={onRowClick}
        loading={query.isPending}
        empty={
          query.isError ? (
            <div className="empty">
              <h3>Could not load {title.toLowerCase()}</h3>
              <p className="muted">{query.error.message}</p>
            </div>
          ) : (
            empty
          )
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
