/** Score values as the trace page shows them: the `/api/v1/scores` item, numbers with 2-3 decimals,
 * booleans as pass/fail, source and evaluator labels, and a trace's scores grouped by span. Kept apart from
 * `scores.ts` (the scores page's helpers, which re-exports this) so the eagerly loaded trace page does not
 * carry the lazily loaded scores page's code. */

export interface Score {
  id: string;
  trace_id: string;
  span_id: string;
  session_id: string;
  name: string;
  value: number;
  string_value: string;
  data_type: string;
  source: string;
  comment: string;
  evaluator_name: string;
  evaluator_version: string;
  timestamp: number; // ns
}

/** A score number with 2-3 decimals: 0.873, 12.35, 1,204; integers stay whole. */
export function formatScoreNumber(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return "–";
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  const abs = Math.abs(v);
  const digits = abs >= 1000 ? 0 : abs >= 10 ? 2 : 3;
  return Number(v.toFixed(digits)).toLocaleString("en-US", { maximumFractionDigits: digits });
}

export function formatShare(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return "–";
  const pct = v * 100;
  return `${pct > 0 && pct < 10 && !Number.isInteger(pct) ? pct.toFixed(1) : Math.round(pct)}%`;
}

export type ValueTone = "pass" | "fail" | "category" | "number";

/** How one score's value reads: booleans as pass/fail, categories by their label, numbers rounded. */
export function scoreValue(s: Pick<Score, "data_type" | "value" | "string_value">): { text: string; tone: ValueTone; title: string } {
  if (s.data_type === "boolean") {
    const pass = s.value !== 0;
    return { text: pass ? "pass" : "fail", tone: pass ? "pass" : "fail", title: pass ? "true" : "false" };
  }
  if (s.data_type === "categorical") {
    const label = s.string_value || formatScoreNumber(s.value);
    return { text: label, tone: "category", title: label };
  }
  return { text: formatScoreNumber(s.value), tone: "number", title: String(s.value) };
}

export function sourceLabel(source: string): string {
  return { evaluator: "Evaluator", api: "API", feedback: "Feedback", annotation: "Annotation" }[source] ?? source;
}

/** "default/mentions-refund · v2" (or just the name, or ""). */
export function evaluatorLabel(s: Pick<Score, "evaluator_name" | "evaluator_version">): string {
  if (!s.evaluator_name) return "";
  return s.evaluator_version ? `${s.evaluator_name} · v${s.evaluator_version}` : s.evaluator_name;
}

/** A trace's scores by span id (trace-level scores under ""), each list by name, newest first. */
export function scoresBySpan(items: Score[]): Map<string, Score[]> {
  const out = new Map<string, Score[]>();
  for (const s of items) {
    const list = out.get(s.span_id);
    if (list) list.push(s);
    else out.set(s.span_id, [s]);
  }
  for (const list of out.values()) list.sort((a, b) => a.name.localeCompare(b.name) || b.timestamp - a.timestamp);
  return out;
}

/** The waterfall marker of a span's scores: count, whether any boolean failed, and a tooltip line. */
export function scoreMarker(list: Score[]): { count: number; failed: number; title: string } {
  const failed = list.filter((s) => s.data_type === "boolean" && s.value === 0).length;
  const parts = list.slice(0, 6).map((s) => `${s.name}: ${scoreValue(s).text}`);
  if (list.length > 6) parts.push(`+${list.length - 6} more`);
  return { count: list.length, failed, title: `${list.length} score${list.length === 1 ? "" : "s"} — ${parts.join(", ")}` };
}
