/** Toasts: transient error/success notes in the corner. `toast()` works outside React too (query cache). */
import { useEffect, useState } from "react";
import { IconAlert, IconCheck, IconX } from "./Icons";

export interface ToastItem {
  id: number;
  kind: "error" | "success";
  title: string;
  detail?: string;
}

let nextId = 1;
let items: ToastItem[] = [];
const listeners = new Set<(items: ToastItem[]) => void>();
const emit = () => listeners.forEach((fn) => fn(items));

export function toast(kind: ToastItem["kind"], title: string, detail?: string): void {
  // The same message twice in a row (e.g. several failing queries) shows once.
  if (items.some((t) => t.title === title && t.detail === detail)) return;
  const item = { id: nextId++, kind, title, detail };
  items = [...items, item].slice(-4);
  emit();
  setTimeout(() => dismiss(item.id), kind === "error" ? 7000 : 2500);
}

export function dismiss(id: number): void {
  items = items.filter((t) => t.id !== id);
  emit();
}

export function Toaster() {
  const [list, setList] = useState(items);
  useEffect(() => {
    listeners.add(setList);
    return () => void listeners.delete(setList);
  }, []);
  return (
    <div className="toaster" role="region" aria-label="Notifications">
      {list.map((t) => (
        <div key={t.id} className={`toast toast-${t.kind}`} role={t.kind === "error" ? "alert" : "status"}>
          <span className="toast-icon">{t.kind === "error" ? <IconAlert /> : <IconCheck />}</span>
          <div className="toast-body">
            <div className="toast-title">{t.title}</div>
            {t.detail && <div className="toast-detail">{t.detail}</div>}
          </div>
          <button className="icon-btn" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
            <IconX />
          </button>
        </div>
      ))}
    </div>
  );
}
