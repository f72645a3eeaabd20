import { useState } from "react";
import { IconCheck, IconCopy } from "./Icons";
import { toast } from "./Toast";

async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain-http hosts other than localhost have no async clipboard: fall back to a hidden textarea.
  const el = document.createElement("textarea");
  el.value = text;
  el.setAttribute("readonly", "");
  el.style.position = "fixed";
  el.style.opacity = "0";
  document.body.appendChild(el);
  el.select();
  const ok = document.execCommand("copy");
  el.remove();
  if (!ok) throw new Error("copy failed");
}

export function CopyButton({ text, label = "Copy", compact = false }: { text: string; label?: string; compact?: boolean }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className={compact ? "icon-btn copy-btn" : "btn btn-ghost btn-sm copy-btn"}
      title={label}
      aria-label={label}
      onClick={(e) => {
        e.stopPropagation();
        copyText(text).then(
          () => {
            setCopied(true);
            setTimeout(() => setCopied(false), 1200);
          },
          () => toast("error", "Could not copy to the clipboard"),
        );
      }}
    >
      {copied ? <IconCheck /> : <IconCopy />}
      {!compact && <span>{copied ? "Copied" : label}</span>}
    </button>
  );
}
