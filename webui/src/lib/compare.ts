/** Comparing two traces: totals, line diffs of inputs/outputs, attribute diffs and span matching. Pure
 * functions, unit-tested; the Compare page only lays them out.
 *
 * Diffs use a longest-common-subsequence over lines (after trimming the common head and tail). Its table
 * is capped at `LCS_BUDGET` cells: past it, the differing middle is shown as removed-then-added, which is
 * still correct, only less fine-grained. */
import { parsePayload, type ChatMessage } from "./messages";

export const LCS_BUDGET = 4_000_000;

// ---------- alignment ----------

/** Pairs of indexes into `a` and `b` in order: both set = equal items, one set = only on that side. */
export type Aligned = [number | null, number | null][];

/** Align two sequences on equal keys (LCS); null when the table would exceed `budget` cells. */
export function alignLcs<T>(a: readonly T[], b: readonly T[], key: (x: T) => string, budget = LCS_BUDGET): Aligned | null {
  const ka = a.map(key);
  const kb = b.map(key);
  let head = 0;
  while (head < ka.length && head < kb.length && ka[head] === kb[head]) head++;
  let tail = 0;
  while (tail < ka.length - head && tail < kb.length - head && ka[ka.length - 1 - tail] === kb[kb.length - 1 - tail]) tail++;
  const n = ka.length - head - tail;
  const m = kb.length - head - tail;
  const out: Aligned = [];
  for (let i = 0; i < head; i++) out.push([i, i]);
  if (n > 0 && m > 0) {
    if ((n + 1) * (m + 1) > budget) return null;
    // dp[i][j]: LCS length of a[head+i..] and b[head+j..] (suffixes), so the walk below goes forward.
    const w = m + 1;
    const dp = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        dp[i * w + j] =
          ka[head + i] === kb[head + j] ? dp[(i + 1) * w + j + 1]! + 1 : Math.max(dp[(i + 1) * w + j]!, dp[i * w + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (ka[head + i] === kb[head + j]) {
        out.push([head + i++, head + j++]);
      } else if (dp[(i + 1) * w + j]! >= dp[i * w + j + 1]!) {
        out.push([head + i++, null]);
      } else {
        out.push([null, head + j++]);
      }
    }
    for (; i < n; i++) out.push([head + i, null]);
    for (; j < m; j++) out.push([null, head + j]);
  } else {
    for (let i = 0; i < n; i++) out.push([head + i, null]);
    for (let j = 0; j < m; j++) out.push([null, head + j]);
  }
  for (let t = 0; t < tail; t++) out.push([ka.length - tail + t, kb.length - tail + t]);
  return out;
}

// ---------- line diff ----------

export interface DiffLine {
  op: "equal" | "del" | "add";
  text: string;
  /** 1-based line numbers on each side. */
  a?: number;
  b?: number;
}

export function splitLines(text: string): string[] {
  if (text === "") return [];
  return text.replace(/\r\n?/g, "\n").split("\n");
}

export function diffLines(a: string, b: string, budget = LCS_BUDGET): DiffLine[] {
  const la = splitLines(a);
  const lb = splitLines(b);
  const aligned = alignLcs(la, lb, (x) => x, budget) ?? coarse(la, lb);
  return aligned.map(([i, j]) =>
    i !== null && j !== null
      ? { op: "equal", text: la[i]!, a: i + 1, b: j + 1 }
      : i !== null
        ? { op: "del", text: la[i]!, a: i + 1 }
        : { op: "add", text: lb[j!]!, b: j! + 1 },
  );
}

/** Over budget: the common head and tail still match, the middle is replaced wholesale. */
function coarse(a: readonly string[], b: readonly string[]): Aligned {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const out: Aligned = [];
  for (let i = 0; i < head; i++) out.push([i, i]);
  for (let i = head; i < a.length - tail; i++) out.push([i, null]);
  for (let j = head; j < b.length - tail; j++) out.push([null, j]);
  for (let t = tail; t > 0; t--) out.push([a.length - t, b.length - t]);
  return out;
}

export function diffStats(lines: readonly DiffLine[]): { added: number; removed: number; same: boolean } {
  let added = 0;
  let removed = 0;
  for (const l of lines) {
    if (l.op === "add") added++;
    else if (l.op === "del") removed++;
  }
  return { added, removed, same: added === 0 && removed === 0 };
}

export interface SplitCell {
  n: number;
  text: string;
  op: "equal" | "del" | "add";
}

/** Side-by-side rows: equal lines face each other, a run of removals is paired with the adds after it. */
export function splitRows(lines: readonly DiffLine[]): [SplitCell | null, SplitCell | null][] {
  const rows: [SplitCell | null, SplitCell | null][] = [];
  let k = 0;
  while (k < lines.length) {
    const l = lines[k]!;
    if (l.op === "equal") {
      rows.push([{ n: l.a!, text: l.text, op: "equal" }, { n: l.b!, text: l.text, op: "equal" }]);
      k++;
      continue;
    }
    const dels: DiffLine[] = [];
    const adds: DiffLine[] = [];
    while (k < lines.length && lines[k]!.op === "del") dels.push(lines[k++]!);
    while (k < lines.length && lines[k]!.op === "add") adds.push(lines[k++]!);
    for (let r = 0; r < Math.max(dels.length, adds.length); r++) {
      const d = dels[r];
      const a = adds[r];
      rows.push([d ? { n: d.a!, text: d.text, op: "del" } : null, a ? { n: a.b!, text: a.text, op: "add" } : null]);
    }
  }
  return rows;
}

// ---------- payloads as readable lines ----------

function messageLines(m: ChatMessage): string[] {
  const out = [`[${m.role}${m.name ? ` · ${m.name}` : ""}]`];
  for (const p of m.parts) {
    if (p.type === "text") out.push(...splitLines(p.text));
    else if (p.type === "tool_call") out.push(`→ ${p.name}(${JSON.stringify(p.arguments)})`);
    else if (p.type === "tool_result") out.push(`← ${typeof p.result === "string" ? p.result : JSON.stringify(p.result)}`);
    else out.push(JSON.stringify(p.value));
  }
  return out;
}

/** A payload as the lines a person compares: chat messages as "[role]" + text, JSON pretty-printed
 * with sorted keys (key order is not a difference), text as is. */
export function payloadText(text: string | null | undefined): string {
  const p = parsePayload(text);
  switch (p.kind) {
    case "empty":
      return "";
    case "text":
      return p.text;
    case "json":
      return JSON.stringify(sortKeys(p.value), null, 2);
    case "messages":
      return p.messages.map((m) => messageLines(m).join("\n")).join("\n\n");
  }
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

// ---------- attributes ----------

export interface AttrChange {
  key: string;
  kind: "added" | "removed" | "changed" | "same";
  a?: string;
  b?: string;
}

/** Every key of either side, sorted; "added" = only in B, "removed" = only in A. */
export function diffAttributes(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): AttrChange[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.map((key) => {
    const inA = Object.prototype.hasOwnProperty.call(a, key);
    const inB = Object.prototype.hasOwnProperty.call(b, key);
    if (inA && !inB) return { key, kind: "removed", a: a[key] };
    if (!inA && inB) return { key, kind: "added", b: b[key] };
    return { key, kind: a[key] === b[key] ? "same" : "changed", a: a[key], b: b[key] };
  });
}

export function attrStats(changes: readonly AttrChange[]): Record<AttrChange["kind"], number> {
  const out = { added: 0, removed: 0, changed: 0, same: 0 };
  for (const c of changes) out[c.kind]++;
  return out;
}

// ---------- spans ----------

export interface CompareSpan {
  span_id: string;
  name: string;
  kind: string;
  status_code: string;
  input: string;
  output: string;
  attributes: Record<string, string>;
  children: CompareSpan[];
}

/** Depth-first, in the order the API gives children (by start time). */
export function treeOrder<S extends { children: readonly unknown[] }>(roots: readonly S[]): S[] {
  const out: S[] = [];
  const visit = (nodes: readonly S[]) => {
    for (const s of nodes) {
      out.push(s);
      visit(s.children as S[]);
    }
  };
  visit(roots);
  return out;
}

export const spanKey = (s: { name: string; kind: string }): string => `${s.kind}\u0000${s.name}`;

export interface SpanPair<S> {
  a: S | null;
  b: S | null;
}

/** Spans of A and B matched by name+kind in tree order (LCS over the two sequences, so an extra span on
 * one side does not shift every later match); the k-th occurrence of a key pairs with the k-th when the
 * traces are too large for the LCS. */
export function matchSpans<S extends CompareSpan>(a: readonly S[], b: readonly S[], budget = LCS_BUDGET): SpanPair<S>[] {
  const fa = treeOrder(a);
  const fb = treeOrder(b);
  const aligned = alignLcs(fa, fb, spanKey, budget);
  if (aligned) return aligned.map(([i, j]) => ({ a: i === null ? null : fa[i]!, b: j === null ? null : fb[j]! }));
  const pool = new Map<string, S[]>();
  for (const s of fb) pool.set(spanKey(s), [...(pool.get(spanKey(s)) ?? []), s]);
  const used = new Set<S>();
  const pairs: SpanPair<S>[] = fa.map((s) => {
    const match = pool.get(spanKey(s))?.shift() ?? null;
    if (match) used.add(match);
    return { a: s, b: match };
  });
  for (const s of fb) if (!used.has(s)) pairs.push({ a: null, b: s });
  return pairs;
}

export type PairStatus = "same" | "changed" | "only-a" | "only-b";

/** "changed" when the status, the input or output text (as compared) or any attribute differs. */
export function pairStatus(p: SpanPair<CompareSpan>): PairStatus {
  if (!p.a) return "only-b";
  if (!p.b) return "only-a";
  const same =
    p.a.status_code === p.b.status_code &&
    payloadText(p.a.input) === payloadText(p.b.input) &&
    payloadText(p.a.output) === payloadText(p.b.output) &&
    diffAttributes(p.a.attributes, p.b.attributes).every((c) => c.kind === "same");
  return same ? "same" : "changed";
}

/** The trace's input: the root's, else the first span's (in tree order) that has one; the output: the
 * root's, else the last span's that has one. */
export function traceIO(roots: readonly CompareSpan[]): { input: string; output: string } {
  const all = treeOrder(roots);
  const root = roots[0];
  const input = root?.input || all.find((s) => s.input)?.input || "";
  const output = root?.output || [...all].reverse().find((s) => s.output)?.output || "";
  return { input, output };
}

// ---------- totals ----------

export interface TraceTotals {
  latency_ms: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  total_cost: number;
  span_count: number;
  error_count: number;
  span_counts_by_kind: Record<string, number>;
}

export interface TotalRow {
  id: string;
  label: string;
  a: number;
  b: number;
  /** b − a */
  delta: number;
  /** (b − a) / a; null when a is 0. */
  ratio: number | null;
  /** True when a larger value is worse (latency, cost, errors): the UI colours the change. */
  lowerIsBetter: boolean;
}

export function compareTotals(a: TraceTotals, b: TraceTotals): TotalRow[] {
  const row = (id: string, label: string, va: number, vb: number, lowerIsBetter = true): TotalRow => ({
    id,
    label,
    a: va,
    b: vb,
    delta: vb - va,
    ratio: va === 0 ? null : (vb - va) / va,
    lowerIsBetter,
  });
  const rows = [
    row("latency", "Latency", a.latency_ms, b.latency_ms),
    row("total_tokens", "Tokens", a.total_tokens, b.total_tokens),
    row("input_tokens", "Input tokens", a.input_tokens, b.input_tokens),
    row("output_tokens", "Output tokens", a.output_tokens, b.output_tokens),
    row("cost", "Cost", a.total_cost, b.total_cost),
    row("spans", "Spans", a.span_count, b.span_count, false),
    row("errors", "Errors", a.error_count, b.error_count),
  ];
  const kinds = [...new Set([...Object.keys(a.span_counts_by_kind), ...Object.keys(b.span_counts_by_kind)])].sort();
  for (const k of kinds) {
    rows.push(row(`kind:${k}`, `${k} spans`, a.span_counts_by_kind[k] ?? 0, b.span_counts_by_kind[k] ?? 0, false));
  }
  return rows;
}
