/** `/api/v1/prompts` shapes and the logic of the prompt pages: side-by-side diff rows from a unified diff,
 * the preview's variable form, template highlighting, per-version series and the list's sorting. */
import { alignToGrid } from "./chart";
import { NS_PER_MS, type MetricResult } from "./metrics";

// ---------- API shapes (src/otelguard/webui/routers/prompts.py) ----------

export interface PromptSummary {
  namespace: string;
  name: string;
  type: "text" | "chat";
  description: string | null;
  currentVersion: number;
  latestVersion: number | null;
  labels: Record<string, number>;
  tags: string[];
  folder: string | null;
  metadataLabels: Record<string, string>;
  updatedAt: string;
}

export interface PromptVariable {
  name: string;
  required?: boolean;
  default?: string | null;
  description?: string | null;
}

export interface PromptMessage {
  role: string;
  content: string;
}

export interface PromptVersionBody {
  namespace: string;
  name: string;
  version: number;
  hash: string;
  type: "text" | "chat";
  template?: string;
  messages?: PromptMessage[];
  variables: PromptVariable[];
  modelConfig: Record<string, unknown> | null;
  labels: string[];
  tags: string[];
  folder: string | null;
  createdAt: string;
  createdBy: string | null;
  createdGeneration: number | null;
  gitRevision: string | null;
}

export interface TimelineItem {
  version: number;
  hash: string;
  createdAt: string;
  createdBy: string | null;
  createdGeneration: number | null;
  gitRevision: string | null;
  labels: string[];
}

export interface Timeline {
  namespace: string;
  name: string;
  labels: Record<string, number>;
  items: TimelineItem[]; // newest first
}

export interface FieldChange {
  path?: string;
  name?: string;
  op: "added" | "removed" | "changed";
  from?: unknown;
  to?: unknown;
}

export interface PromptDiff {
  namespace: string;
  name: string;
  from: { version: number; hash: string };
  to: { version: number; hash: string };
  kind: { from: string; to: string };
  text: { part: string; diff: string }[];
  modelConfig: FieldChange[];
  variables: FieldChange[];
  identical: boolean;
}

export interface CompileResult {
  name: string;
  namespace: string;
  version: number;
  hash: string;
  type: "text" | "chat";
  includes: unknown[];
  text?: string;
  messages?: PromptMessage[];
}

export interface VersionUsage {
  version: number;
  spans: number;
  traces: number;
  latency_ms_p50: number | null;
  latency_ms_p95: number | null;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cost_usd: number;
  error_rate: number;
  guardrail_hits: number;
  score_averages: Record<string, number>;
  first_seen: string | number | null;
  last_seen: string | number | null;
}

export interface PromptUsage {
  name: string;
  from: string | number | null;
  to: string | number | null;
  versions: VersionUsage[];
}

export interface RegressionFinding {
  metric: string;
  baseline: number | null;
  candidate: number | null;
  change: number | null;
  threshold: number | null;
}

export interface LabelMove {
  label: string;
  from_version: number | null;
  to_version: number;
  moved_at: string | number | null;
  status: "regression" | "ok" | "insufficient_data";
  baseline: Record<string, unknown>;
  candidate: Record<string, unknown>;
  regressions: RegressionFinding[];
}

export interface PromptRegressions {
  name: string;
  moves: LabelMove[];
}

// ---------- small formatting helpers ----------

/** "sha256:0123abcd…" → "0123abcd" (the hash algorithm prefix says nothing to a reader). */
export function shortHash(hash: string, n = 8): string {
  return hash.replace(/^[a-z0-9]+:/i, "").slice(0, n);
}

/** ISO timestamp, epoch ns/ms/s or null → epoch ns (what lib/format's time helpers take). */
export function toNs(t: string | number | null | undefined): number | null {
  if (t === null || t === undefined || t === "") return null;
  if (typeof t === "number") {
    if (t > 1e17) return t; // ns
    if (t > 1e14) return t * 1e3; // µs
    if (t > 1e11) return t * 1e6; // ms
    return t * 1e9; // s
  }
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? null : ms * NS_PER_MS;
}

/** Who/what made a version: "generation 4 · git 1a2b3c4" (parts that are known). */
export function provenance(v: { createdBy?: string | null; createdGeneration: number | null; gitRevision: string | null }, actor = true): string {
  const parts: string[] = [];
  if (v.createdGeneration != null) parts.push(`generation ${v.createdGeneration}`);
  if (v.gitRevision) parts.push(`git ${v.gitRevision.length > 12 ? v.gitRevision.slice(0, 7) : v.gitRevision}`);
  if (actor && v.createdBy && v.createdBy !== "system") parts.push(`by ${v.createdBy}`);
  return parts.join(" · ");
}

/** Label chip tone: production green, staging amber, anything else the accent. */
export function labelTone(label: string): "prod" | "staging" | "other" {
  if (label === "production" || label === "prod") return "prod";
  if (label === "staging" || label === "stage") return "staging";
  return "other";
}

/** Labels as ordered [label, version] pairs: production first, then staging, then by name. */
export function orderedLabels(labels: Record<string, number>): [string, number][] {
  const rank = (l: string) => ({ prod: 0, staging: 1, other: 2 })[labelTone(l)];
  return Object.entries(labels).sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
}

// ---------- list: facets and sorting ----------

export type PromptSort = "name" | "latest" | "updated";

export function sortPrompts(items: PromptSummary[], sort: string, order: "asc" | "desc"): PromptSummary[] {
  const dir = order === "asc" ? 1 : -1;
  const key = (p: PromptSummary): number | string =>
    sort === "latest" ? (p.latestVersion ?? 0) : sort === "updated" ? Date.parse(p.updatedAt) || 0 : p.name;
  return [...items].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    const c = typeof ka === "string" ? ka.localeCompare(kb as string) : ka - (kb as number);
    return c * dir || a.name.localeCompare(b.name) || a.namespace.localeCompare(b.namespace);
  });
}

/** Filter options seen across all prompts: folders (with their parents), tags and label names. */
export function facets(items: PromptSummary[]): { folders: string[]; tags: string[]; labels: string[] } {
  const folders = new Set<string>();
  const tags = new Set<string>();
  const labels = new Set<string>();
  for (const p of items) {
    if (p.folder) {
      const parts = p.folder.split("/");
      for (let i = 1; i <= parts.length; i++) folders.add(parts.slice(0, i).join("/"));
    }
    for (const t of p.tags) tags.add(t);
    for (const l of Object.keys(p.labels)) labels.add(l);
  }
  const sorted = (s: Set<string>) => [...s].sort((a, b) => a.localeCompare(b));
  return { folders: sorted(folders), tags: sorted(tags), labels: orderedLabels(Object.fromEntries([...labels].map((l) => [l, 0]))).map(([l]) => l) };
}

/** Names that exist in more than one namespace: their links and API calls need `?namespace=`. */
export function ambiguousNames(items: PromptSummary[]): Set<string> {
  const seen = new Map<string, number>();
  for (const p of items) seen.set(p.name, (seen.get(p.name) ?? 0) + 1);
  return new Set([...seen].filter(([, n]) => n > 1).map(([name]) => name));
}

// ---------- template highlighting ----------

export interface TemplateSegment {
  kind: "text" | "expr" | "tag" | "comment";
  text: string;
}

/** Splits a Jinja template into plain text, `{{ expressions }}`, `{% tags %}` and `{# comments #}`. An
 * unclosed delimiter leaves the rest as text (the server reports the syntax error, not the viewer). */
export function highlightTemplate(source: string): TemplateSegment[] {
  const out: TemplateSegment[] = [];
  const re = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}|\{#[\s\S]*?#\}/g;
  let last = 0;
  for (const m of source.matchAll(re)) {
    const at = m.index ?? 0;
    if (at > last) out.push({ kind: "text", text: source.slice(last, at) });
    const kind = m[0].startsWith("{{") ? "expr" : m[0].startsWith("{%") ? "tag" : "comment";
    out.push({ kind, text: m[0] });
    last = at + m[0].length;
  }
  if (last < source.length) out.push({ kind: "text", text: source.slice(last) });
  return out;
}

// ---------- side-by-side diff ----------

export interface DiffLine {
  op: " " | "-" | "+";
  text: string;
}

export interface Hunk {
  header: string;
  oldStart: number;
  newStart: number;
  lines: DiffLine[];
}

/** A unified diff (as difflib writes it) → hunks; file headers and "\ No newline" markers are dropped. */
export function parseUnifiedDiff(diff: string): Hunk[] {
  const hunks: Hunk[] = [];
  let current: Hunk | null = null;
  const lines = diff.split("\n");
  if (lines.at(-1) === "") lines.pop();
  for (const line of lines) {
    const head = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (head) {
      current = { header: line, oldStart: Number(head[1]), newStart: Number(head[2]), lines: [] };
      hunks.push(current);
      continue;
    }
    if (!current) continue; // ---/+++ file headers before the first hunk
    if (line.startsWith("\\")) continue;
    const op = line[0];
    if (op === "-" || op === "+" || op === " ") current.lines.push({ op, text: line.slice(1) });
    else if (line === "") current.lines.push({ op: " ", text: "" });
  }
  return hunks;
}

export interface DiffCell {
  no: number;
  text: string;
  kind: "context" | "removed" | "added";
}

export type SideBySideRow =
  | { type: "hunk"; header: string }
  | { type: "line"; left: DiffCell | null; right: DiffCell | null };

/** Rows of a two-column diff: context on both sides; within a change, removed lines pair with the added
 * lines that follow them row by row, and the longer run continues against blank cells. */
export function sideBySide(hunks: Hunk[]): SideBySideRow[] {
  const rows: SideBySideRow[] = [];
  for (const h of hunks) {
    rows.push({ type: "hunk", header: h.header });
    let oldNo = h.oldStart;
    let newNo = h.newStart;
    let removed: DiffCell[] = [];
    let added: DiffCell[] = [];
    const flush = () => {
      for (let i = 0; i < Math.max(removed.length, added.length); i++)
        rows.push({ type: "line", left: removed[i] ?? null, right: added[i] ?? null });
      removed = [];
      added = [];
    };
    for (const l of h.lines) {
      if (l.op === "-") {
        if (added.length) flush(); // a "-" after "+" starts a new change block
        removed.push({ no: oldNo++, text: l.text, kind: "removed" });
      } else if (l.op === "+") {
        added.push({ no: newNo++, text: l.text, kind: "added" });
      } else {
        flush();
        rows.push({ type: "line", left: { no: oldNo++, text: l.text, kind: "context" }, right: { no: newNo++, text: l.text, kind: "context" } });
      }
    }
    flush();
  }
  return rows;
}

export function diffCounts(hunks: Hunk[]): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const h of hunks)
    for (const l of h.lines) {
      if (l.op === "+") added++;
      else if (l.op === "-") removed++;
    }
  return { added, removed };
}

/** The changed middle of two paired lines (common prefix and suffix left out), for word-level marks. */
export function inlineChange(a: string, b: string): { prefix: number; suffixA: number; suffixB: number } {
  let p = 0;
  const max = Math.min(a.length, b.length);
  while (p < max && a[p] === b[p]) p++;
  let s = 0;
  while (s < max - p && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
  // Don't split inside a word: widen to word boundaries so the mark reads as whole words.
  while (p > 0 && /\w/.test(a[p - 1]!) && (/\w/.test(a[p] ?? "") || /\w/.test(b[p] ?? ""))) p--;
  while (s > 0 && /\w/.test(a[a.length - s]!) && (/\w/.test(a[a.length - s - 1] ?? "") || /\w/.test(b[b.length - s - 1] ?? ""))) s--;
  return { prefix: p, suffixA: a.length - s, suffixB: b.length - s };
}

/** The (from, to) pair for a diff of `a` and `b`: older first; null when they are the same version. */
export function diffPair(a: number, b: number): { from: number; to: number } | null {
  if (a === b) return null;
  return { from: Math.min(a, b), to: Math.max(a, b) };
}

// ---------- preview: the variable form ----------

export type VariableForm = Record<string, string>;

/** Form state for a version's variables; values typed for same-named variables of another version stay. */
export function formFor(variables: PromptVariable[], previous: VariableForm = {}): VariableForm {
  return Object.fromEntries(variables.map((v) => [v.name, previous[v.name] ?? ""]));
}

/** The form → the compile request's `variables`. Empty fields are left out (defaults apply; a missing
 * required variable is the server's 422 to report). Values that are JSON arrays or objects are sent parsed
 * so loops and attribute access work; anything else is a string. */
export function formToVariables(form: VariableForm): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(form)) {
    if (raw === "") continue;
    const t = raw.trim();
    if ((t.startsWith("[") && t.endsWith("]")) || (t.startsWith("{") && t.endsWith("}"))) {
      try {
        out[name] = JSON.parse(t);
        continue;
      } catch {
        /* not JSON: a string with brackets */
      }
    }
    out[name] = raw;
  }
  return out;
}

/** Required variables that are still empty (shown before sending; the server has the last word). */
export function emptyRequired(variables: PromptVariable[], form: VariableForm): string[] {
  return variables.filter((v) => v.required && (form[v.name] ?? "") === "").map((v) => v.name);
}

export interface CompileProblem {
  message: string;
  reason: string | null;
  missing: string[];
  line: number | null;
  column: number | null;
}

/** A compile error's `detail` (the engine's dict, a FastAPI validation list, or a string) → one shape. */
export function compileProblem(detail: unknown): CompileProblem {
  const base: CompileProblem = { message: "The prompt could not be rendered.", reason: null, missing: [], line: null, column: null };
  if (typeof detail === "string") return { ...base, message: detail };
  if (Array.isArray(detail)) {
    const msgs = detail.map((d) => (d && typeof d === "object" && "msg" in d ? String((d as { msg: unknown }).msg) : String(d)));
    return { ...base, reason: "InvalidRequest", message: msgs.join("; ") || base.message };
  }
  if (detail && typeof detail === "object") {
    const d = detail as Record<string, unknown>;
    return {
      message: typeof d.message === "string" ? d.message : base.message,
      reason: typeof d.reason === "string" ? d.reason : null,
      missing: Array.isArray(d.missing) ? d.missing.map(String) : [],
      line: typeof d.line === "number" ? d.line : null,
      column: typeof d.column === "number" ? d.column : null,
    };
  }
  return base;
}

// ---------- usage and regressions ----------

/** One series per version of `name` from a metric grouped by `prompt_version` (`name@vN`), oldest first. */
export function versionSeries(result: MetricResult | undefined, name: string, grid: number[], fill: number | null = 0): { key: string; label: string; version: number; values: (number | null)[] }[] {
  const prefix = `${name}@v`;
  return (result?.series ?? [])
    .map((s) => ({ dim: s.dimensions.prompt_version ?? "", points: s.points }))
    .filter((s) => s.dim.startsWith(prefix) && /^\d+$/.test(s.dim.slice(prefix.length)))
    .map((s) => {
      const version = Number(s.dim.slice(prefix.length));
      return {
        key: `v${version}`,
        label: `v${version}`,
        version,
        values: alignToGrid(grid, s.points.map((p) => ({ time: Math.round(p.time / NS_PER_MS), value: p.value })), fill),
      };
    })
    .sort((a, b) => a.version - b.version);
}

/** The most recent move of each label (for badges on the label chips). */
export function latestMoves(moves: LabelMove[]): Map<string, LabelMove> {
  const out = new Map<string, LabelMove>();
  for (const m of moves) {
    const prev = out.get(m.label);
    if (!prev || (toNs(m.moved_at) ?? 0) >= (toNs(prev.moved_at) ?? 0)) out.set(m.label, m);
  }
  return out;
}

const METRIC_NAMES: Record<string, string> = {
  latency_ms_p50: "p50 latency",
  latency_ms_p95: "p95 latency",
  cost_usd: "cost",
  cost_usd_mean: "mean cost",
  error_rate: "error rate",
  guardrail_hits: "guardrail hits",
  guardrail_hit_rate: "guardrail hit rate",
  total_tokens: "tokens",
};
// Rates change in absolute percentage points; everything else relatively (prompts/regression.py).
const ABSOLUTE = new Set(["error_rate", "guardrail_hit_rate"]);

/** A change or threshold of `metric` in its unit: "+42%" (relative) or "+10 pp" (rates). */
export function formatChange(metric: string, value: number, signed = true): string {
  const n = Math.round(value * 100);
  const sign = signed && n >= 0 ? "+" : "";
  return `${sign}${n}${ABSOLUTE.has(metric) ? " pp" : "%"}`;
}

/** "p95 latency +42%" — a finding in words (score metrics keep their name). */
export function describeFinding(f: RegressionFinding): string {
  const name = METRIC_NAMES[f.metric] ?? f.metric.replace(/^score[._:]/, "score ").replace(/_/g, " ");
  return f.change == null ? name : `${name} ${formatChange(f.metric, f.change)}`;
}

// ---------- empty state ----------

export const PROMPT_YAML_EXAMPLE = `apiVersion: otelguard.io/v1alpha1
kind: Prompt
metadata:
  name: support-triage
spec:
  template: |
    Classify this ticket for {{ product }}: {{ ticket }}
  variables:
    - {name: product, required: true}
    - {name: ticket, required: true}
  modelConfig: {provider: openai, model: gpt-4o-mini}
  labels: {production: 1, staging: latest}
  folder: support
`;
