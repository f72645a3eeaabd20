/** "Columns" menu: a checkbox per hideable column and a reset; the caller persists the choice (lib/columns). */
import { useEffect, useRef, useState } from "react";
import { isDefaultVisibility, type ColumnOption, type Visibility } from "../lib/columns";

const IconColumns = () => (
  <svg width="16" height="16" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth={1.8} strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
    <rect x="3" y="4" width="18" height="16" rx="2" />
    <path d="M9 4v16" />
    <path d="M15 4v16" />
  </svg>
);

export interface ColumnChooserProps {
  columns: readonly ColumnOption[];
  visibility: Visibility;
  onToggle: (id: string) => void;
  onReset: () => void;
}

export function ColumnChooser({ columns, visibility, onToggle, onReset }: ColumnChooserProps) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    document.addEventListener("mousedown", onDown);
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("mousedown", onDown);
      document.removeEventListener("keydown", onKey);
    };
  }, [open]);
  const hideable = columns.filter((c) => c.hideable !== false);
  // The badge counts hidden columns once the layout is the person's own (default-hidden ones don't count).
  const customized = !isDefaultVisibility(visibility, columns);
  const hidden = customized ? hideable.filter((c) => !visibility[c.id]).length : 0;
  return (
    <div className="popover-anchor" ref={ref}>
      <button
        type="button"
        className={`btn${customized ? " btn-active" : ""}`}
        aria-haspopup="true"
        aria-expanded={open}
        onClick={() => setOpen((o) => !o)}
      >
        <IconColumns />
        <span>Columns</span>
        {hidden > 0 && (
          <span className="count-badge" title={`${hidden} column${hidden === 1 ? "" : "s"} hidden`} data-testid="hidden-columns">
            {hidden}
          </span>
        )}
      </button>
      {open && (
        <div className="popover column-menu" role="group" aria-label="Visible columns">
          <div className="popover-head">Show columns</div>
          {hideable.map((c) => (
            <label key={c.id} className="menu-check">
              <input type="checkbox" checked={Boolean(visibility[c.id])} onChange={() => onToggle(c.id)} />
              <span>{c.label}</span>
            </label>
          ))}
          <div className="popover-foot">
            <button type="button" className="btn btn-ghost btn-sm" onClick={onReset} disabled={isDefaultVisibility(visibility, columns)}>
              Reset to default
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
