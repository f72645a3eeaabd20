/** Column visibility for data tables, kept per table in localStorage (filters stay in the URL: a shared link
 * carries what is shown, not how a person likes their table laid out).
 *
 * Only the choices that differ from a column's default are stored, so a column added in a later release
 * appears with its default instead of being hidden by an old saved layout. Unknown ids and malformed
 * values are ignored; a table always keeps at least one visible column. */
import { useCallback, useMemo, useState } from "react";

export interface ColumnOption {
  id: string;
  label: string;
  /** false: always shown (e.g. the row's name or a selection checkbox); default true. */
  hideable?: boolean;
  /** Hidden until the person turns it on. */
  defaultHidden?: boolean;
}

export type Visibility = Record<string, boolean>;

type Store = Pick<Storage, "getItem" | "setItem" | "removeItem">;

export const storageKey = (table: string): string => `otelguard.columns.${table}`;

export function defaultVisibility(columns: readonly ColumnOption[]): Visibility {
  return Object.fromEntries(columns.map((c) => [c.id, !c.defaultHidden]));
}

/** The saved layout applied over the defaults; anything unreadable falls back to the defaults. */
export function parseVisibility(raw: string | null, columns: readonly ColumnOption[]): Visibility {
  const vis = defaultVisibility(columns);
  if (!raw) return vis;
  let saved: unknown;
  try {
    saved = JSON.parse(raw);
  } catch {
    return vis;
  }
  if (typeof saved !== "object" || saved === null || Array.isArray(saved)) return vis;
  for (const c of columns) {
    const v = (saved as Record<string, unknown>)[c.id];
    if (typeof v === "boolean" && c.hideable !== false) vis[c.id] = v;
  }
  return ensureOneVisible(vis, columns);
}

/** What to store: only the columns whose visibility differs from their default (null: nothing). */
export function serializeVisibility(vis: Visibility, columns: readonly ColumnOption[]): string | null {
  const diff: Visibility = {};
  for (const c of columns) {
    const shown = vis[c.id] ?? !c.defaultHidden;
    if (shown === Boolean(c.defaultHidden)) diff[c.id] = shown;
  }
  return Object.keys(diff).length ? JSON.stringify(diff) : null;
}

/** Flip one column; refuses to hide an always-shown column or the last visible one. */
export function toggleColumn(vis: Visibility, id: string, columns: readonly ColumnOption[]): Visibility {
  const col = columns.find((c) => c.id === id);
  if (!col || col.hideable === false) return vis;
  const next = { ...vis, [id]: !(vis[id] ?? !col.defaultHidden) };
  return columns.some((c) => next[c.id]) ? next : vis;
}

export function isDefaultVisibility(vis: Visibility, columns: readonly ColumnOption[]): boolean {
  return serializeVisibility(vis, columns) === null;
}

function ensureOneVisible(vis: Visibility, columns: readonly ColumnOption[]): Visibility {
  return columns.some((c) => vis[c.id]) ? vis : defaultVisibility(columns);
}

export function loadVisibility(store: Store | null, table: string, columns: readonly ColumnOption[]): Visibility {
  let raw: string | null = null;
  try {
    raw = store?.getItem(storageKey(table)) ?? null;
  } catch {
    /* storage disabled (privacy mode): defaults */
  }
  return parseVisibility(raw, columns);
}

export function saveVisibility(store: Store | null, table: string, vis: Visibility, columns: readonly ColumnOption[]): void {
  const value = serializeVisibility(vis, columns);
  try {
    if (value === null) store?.removeItem(storageKey(table));
    else store?.setItem(storageKey(table), value);
  } catch {
    /* quota or disabled storage: the choice lasts for this page view only */
  }
}

function browserStore(): Store | null {
  try {
    return typeof window !== "undefined" ? window.localStorage : null;
  } catch {
    return null;
  }
}

/** [visibility, toggle(id), reset()] for one table, persisted in localStorage. */
export function useColumnVisibility(
  table: string,
  columns: readonly ColumnOption[],
): [Visibility, (id: string) => void, () => void] {
  const [vis, setVis] = useState<Visibility>(() => loadVisibility(browserStore(), table, columns));
  const toggle = useCallback(
    (id: string) =>
      setVis((prev) => {
        const next = toggleColumn(prev, id, columns);
        saveVisibility(browserStore(), table, next, columns);
        return next;
      }),
    [table, columns],
  );
  const reset = useCallback(() => {
    const next = defaultVisibility(columns);
    saveVisibility(browserStore(), table, next, columns);
    setVis(next);
  }, [table, columns]);
  return useMemo(() => [vis, toggle, reset], [vis, toggle, reset]);
}
