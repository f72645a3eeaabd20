/** Display formatting for durations, money, token counts and timestamps (times from the API are ns). */

export function formatDuration(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return "–";
  if (ms === 0) return "0 ms";
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 10) return `${trim(ms.toFixed(2))} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 10) return `${trim(s.toFixed(2))} s`;
  if (s < 60) return `${trim(s.toFixed(1))} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s - m * 60)}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${m - h * 60}m`;
}

/** US dollars: tiny amounts keep 2 significant digits, others show cents. 0 shows as "–" when `dashZero`. */
export function formatCost(usd: number | null | undefined, dashZero = true): string {
  if (usd == null || !Number.isFinite(usd)) return "–";
  if (usd === 0) return dashZero ? "–" : "$0.00";
  const abs = Math.abs(usd);
  if (abs < 0.01) {
    const digits = Math.min(8, Math.max(4, 1 - Math.floor(Math.log10(abs))));
    return `$${trim(usd.toFixed(digits))}`;
  }
  if (abs < 1000) return `$${usd.toFixed(2)}`;
  return `$${Math.round(usd).toLocaleString("en-US")}`;
}

export function formatTokens(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return "–";
  if (n === 0) return "0";
  if (Math.abs(n) < 10_000) return Math.round(n).toLocaleString("en-US");
  if (Math.abs(n) < 1_000_000) return `${trim((n / 1000).toFixed(1))}k`;
  return `${trim((n / 1_000_000).toFixed(2))}M`;
}

export function formatPercent(rate: number): string {
  if (!Number.isFinite(rate)) return "–";
  if (rate === 0) return "0%";
  const pct = rate * 100;
  return pct < 1 ? `${pct.toFixed(1)}%` : `${Math.round(pct)}%`;
}

export function nsToDate(ns: number): Date {
  return new Date(Math.floor(ns / 1e6));
}

/** "Jun 5, 14:03:22" in the browser's zone (the year only when it is not the current one). */
export function formatTimestamp(ns: number, now: Date = new Date()): string {
  const d = nsToDate(ns);
  const sameYear = d.getFullYear() === now.getFullYear();
  return d.toLocaleString("en-US", {
    month: "short",
    day: "numeric",
    ...(sameYear ? {} : { year: "numeric" }),
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
  });
}

export function formatRelative(ns: number, now: number = Date.now()): string {
  const diff = Math.max(0, now - ns / 1e6) / 1000;
  if (diff < 45) return "just now";
  if (diff < 3600) return `${Math.round(diff / 60)} min ago`;
  if (diff < 86_400) return `${Math.round(diff / 3600)} h ago`;
  return `${Math.round(diff / 86_400)} d ago`;
}

/** "a3f9…2c1d": enough of an id to recognise it. */
export function shortId(id: string, head = 8, tail = 4): string {
  return id.length <= head + tail + 1 ? id : `${id.slice(0, head)}…${id.slice(-tail)}`;
}

function trim(s: string): string {
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}
