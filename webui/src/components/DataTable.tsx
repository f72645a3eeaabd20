/** A table on TanStack Table with server-side sorting: clicking a sortable header calls `onSort` with the
 * column's API sort key; the caller keeps sort/order in the URL. `columnVisibility` (column id → shown)
 * hides columns, e.g. from a column chooser. */
import { flexRender, getCoreRowModel, useReactTable, type ColumnDef, type VisibilityState } from "@tanstack/react-table";
import type { ReactNode } from "react";
import { IconSort, IconSortDown, IconSortUp } from "./Icons";
import { TableSkeleton } from "./Skeleton";

export interface ColumnMeta {
  /** The API's `sort` value for this column; absent: not sortable. */
  sortKey?: string;
  align?: "right";
  width?: number | string;
}

export interface DataTableProps<T> {
  data: T[];
  columns: ColumnDef<T, any>[];
  sort: string;
  order: "asc" | "desc";
  onSort: (sortKey: string, order: "asc" | "desc") => void;
  onRowClick?: (row: T) => void;
  loading: boolean;
  empty?: ReactNode;
  rowClassName?: (row: T) => string;
  label: string;
  columnVisibility?: VisibilityState;
}

export function DataTable<T>(props: DataTableProps<T>) {
  const { data, columns, sort, order, onSort, onRowClick, loading, empty, rowClassName, label, columnVisibility } = props;
  const table = useReactTable({
    data,
    columns,
    getCoreRowModel: getCoreRowModel(),
    manualSorting: true,
    state: { columnVisibility: columnVisibility ?? {} },
  });
  return (
    <div className="table-wrap">
      <table className="table" aria-label={label}>
        <thead>
          {table.getHeaderGroups().map((hg) => (
            <tr key={hg.id}>
              {hg.headers.map((h) => {
                const meta = (h.column.columnDef.meta ?? {}) as ColumnMeta;
                const active = meta.sortKey !== undefined && meta.sortKey === sort;
                const content = flexRender(h.column.columnDef.header, h.getContext());
                return (
                  <th
                    key={h.id}
                    data-column={h.column.id}
                    className={meta.align === "right" ? "num" : undefined}
                    style={meta.width !== undefined ? { width: meta.width } : undefined}
                    aria-sort={active ? (order === "asc" ? "ascending" : "descending") : undefined}
                  >
                    {meta.sortKey ? (
                      <button
                        type="button"
                        className={`th-sort${active ? " active" : ""}`}
                        onClick={() => onSort(meta.sortKey!, active && order === "desc" ? "asc" : "desc")}
                      >
                        {content}
                        {active ? order === "asc" ? <IconSortUp width={13} /> : <IconSortDown width={13} /> : <IconSort width={13} className="faint" />}
                      </button>
                    ) : (
                      content
                    )}
                  </th>
                );
              })}
            </tr>
          ))}
        </thead>
        {loading ? (
          <TableSkeleton columns={table.getVisibleLeafColumns().length} />
        ) : (
          <tbody>
            {table.getRowModel().rows.map((row) => (
              <tr
                key={row.id}
                className={`${onRowClick ? "clickable " : ""}${rowClassName?.(row.original) ?? ""}`}
                onClick={onRowClick ? () => onRowClick(row.original) : undefined}
              >
                {row.getVisibleCells().map((cell) => {
                  const meta = (cell.column.columnDef.meta ?? {}) as ColumnMeta;
                  return (
                    <td key={cell.id} className={meta.align === "right" ? "num" : undefined}>
                      {flexRender(cell.column.columnDef.cell, cell.getContext())}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        )}
      </table>
      {!loading && data.length === 0 && empty}
    </div>
  );
}
