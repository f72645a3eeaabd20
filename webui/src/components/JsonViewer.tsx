/** A collapsible JSON tree: objects and arrays fold; long strings wrap; values that are JSON text are
 * shown parsed (attributes often hold JSON-encoded strings). */
import { useState } from "react";
import { IconChevron } from "./Icons";

function parseNested(v: unknown): unknown {
  if (typeof v === "string" && v.length > 1 && (v[0] === "{" || v[0] === "[")) {
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  }
  return v;
}

function Scalar({ value }: { value: unknown }) {
  if (value === null) return <span className="json-null">null</span>;
  if (typeof value === "string") return <span className="json-string">"{value}"</span>;
  if (typeof value === "number") return <span className="json-number">{String(value)}</span>;
  if (typeof value === "boolean") return <span className="json-bool">{String(value)}</span>;
  return <span>{String(value)}</span>;
}

function Node({ name, value, depth, defaultOpen }: { name?: string; value: unknown; depth: number; defaultOpen: number }) {
  const v = parseNested(value);
  const isArr = Array.isArray(v);
  const isObj = typeof v === "object" && v !== null;
  const [open, setOpen] = useState(depth < defaultOpen);
  const label = name !== undefined && <span className="json-key">{name}</span>;
  if (!isObj) {
    return (
      <div className="json-row" style={{ paddingLeft: depth * 14 + 16 }}>
        {label}
        {label && <span className="json-punct">: </span>}
        <Scalar value={v} />
      </div>
    );
  }
  const entries: [string, unknown][] = isArr ? (v as unknown[]).map((x, i) => [String(i), x]) : Object.entries(v);
  const summary = isArr ? `[${entries.length}]` : `{${entries.length}}`;
  return (
    <div>
      <button
        type="button"
        className="json-row json-toggle"
        style={{ paddingLeft: depth * 14 }}
        aria-expanded={open}
        onClick={() => setOpen(!open)}
      >
        <IconChevron width={12} height={12} className={open ? "chev open" : "chev"} />
        {label}
        {label && <span className="json-punct">: </span>}
        <span className="json-summary">{summary}</span>
      </button>
      {open && entries.map(([k, x]) => <Node key={k} name={k} value={x} depth={depth + 1} defaultOpen={defaultOpen} />)}
    </div>
  );
}

export function JsonViewer({ value, defaultOpen = 1 }: { value: unknown; defaultOpen?: number }) {
  return (
    <div className="json-viewer">
      <Node value={value} depth={0} defaultOpen={defaultOpen} />
    </div>
  );
}

/** A key/value table of flat attributes, with JSON values expandable. */
export function AttributeTable({ attributes }: { attributes: Record<string, string> }) {
  const keys = Object.keys(attributes).sort();
  if (keys.length === 0) return <div className="muted small">No attributes.</div>;
  return (
    <div className="json-viewer">
      {keys.map((k) => (
        <Node key={k} name={k} value={attributes[k]} depth={0} defaultOpen={0} />
      ))}
    </div>
  );
}
