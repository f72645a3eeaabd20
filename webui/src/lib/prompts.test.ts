import { describe, expect, it } from "vitest";
import type { MetricResult } from "./metrics";
import {
  ambiguousNames,
  compileProblem,
  describeFinding,
  diffCounts,
  diffPair,
  emptyRequired,
  facets,
  formatChange,
  formFor,
  formToVariables,
  highlightTemplate,
  inlineChange,
  latestMoves,
  orderedLabels,
  parseUnifiedDiff,
  provenance,
  shortHash,
  sideBySide,
  sortPrompts,
  toNs,
  versionSeries,
  type LabelMove,
  type PromptSummary,
} from "./prompts";

// What difflib.unified_diff writes for the server's diff_versions (context 3).
const UNIFIED = [
  "--- v1/template",
  "+++ v2/template",
  "@@ -1,5 +1,6 @@",
  " You are a support agent.",
  "-Answer in English.",
  "-Be brief.",
  "+Answer in {{ language }}.",
  " Ticket: {{ ticket }}",
  "+Sign as {{ agent }}.",
  "+Thank the customer.",
  " Done.",
  "-Bye.",
  "\\ No newline at end of file",
  "",
].join("\n");

describe("parseUnifiedDiff", () => {
  it("reads hunks, drops file headers and no-newline markers", () => {
    const hunks = parseUnifiedDiff(UNIFIED);
    expect(hunks).toHaveLength(1);
    expect(hunks[0]!.oldStart).toBe(1);
    expect(hunks[0]!.newStart).toBe(1);
    expect(hunks[0]!.lines.map((l) => l.op).join("")).toBe(" --+ ++ -");
    expect(diffCounts(hunks)).toEqual({ added: 3, removed: 3 });
  });
  it("reads several hunks with their start lines", () => {
    const hunks = parseUnifiedDiff("--- a\n+++ b\n@@ -2 +2 @@\n-x\n+y\n@@ -40,2 +40,3 @@\n a\n+b\n c\n");
    expect(hunks.map((h) => [h.oldStart, h.newStart])).toEqual([
      [2, 2],
      [40, 40],
    ]);
  });
  it("is empty for an empty diff", () => {
    expect(parseUnifiedDiff("")).toEqual([]);
  });
});

describe("sideBySide", () => {
  const rows = sideBySide(parseUnifiedDiff(UNIFIED));
  const lines = rows.filter((r) => r.type === "line");
  it("starts each hunk with its header row", () => {
    expect(rows[0]).toEqual({ type: "hunk", header: "@@ -1,5 +1,6 @@" });
  });
  it("pairs removed lines with the added lines that follow, row by row", () => {
    const second = lines[1]!;
    expect(second.left).toEqual({ no: 2, text: "Answer in English.", kind: "removed" });
    expect(second.right).toEqual({ no: 2, text: "Answer in {{ language }}.", kind: "added" });
    // Two removed, one added: the second removed line faces a blank cell.
    expect(lines[2]!.left?.text).toBe("Be brief.");
    expect(lines[2]!.right).toBeNull();
  });
  it("keeps both sides' line numbers in step across context", () => {
    const ctx = lines[3]!;
    expect(ctx.left).toEqual({ no: 4, text: "Ticket: {{ ticket }}", kind: "context" });
    expect(ctx.right).toEqual({ no: 3, text: "Ticket: {{ ticket }}", kind: "context" });
  });
  it("puts pure additions against blank left cells", () => {
    expect(lines[4]!.left).toBeNull();
    expect(lines[4]!.right).toMatchObject({ no: 4, kind: "added" });
    expect(lines[5]!.right).toMatchObject({ no: 5, text: "Thank the customer." });
    expect(lines.at(-1)!.left).toMatchObject({ no: 6, text: "Bye.", kind: "removed" });
    expect(lines.at(-1)!.right).toBeNull();
  });
  it("a removal after an addition starts a new change block", () => {
    const r = sideBySide(parseUnifiedDiff("@@ -1,2 +1,2 @@\n+new\n-old\n same\n")).filter((x) => x.type === "line");
    expect(r[0]).toMatchObject({ left: null, right: { text: "new" } });
    expect(r[1]).toMatchObject({ left: { text: "old" }, right: null });
  });
});

describe("inlineChange", () => {
  it("marks whole changed words only", () => {
    const a = "Answer in English please.";
    const b = "Answer in French please.";
    const c = inlineChange(a, b);
    expect(a.slice(c.prefix, c.suffixA)).toBe("English");
    expect(b.slice(c.prefix, c.suffixB)).toBe("French");
  });
  it("widens to word boundaries when words share letters", () => {
    const c = inlineChange("be brief", "be briefer");
    expect("be briefer".slice(c.prefix, c.suffixB)).toBe("briefer");
  });
  it("handles identical and empty lines", () => {
    const same = inlineChange("abc", "abc");
    expect(same.prefix).toBe(3);
    expect(same.suffixA).toBe(3);
    const e = inlineChange("", "x");
    expect([e.prefix, e.suffixA, e.suffixB]).toEqual([0, 0, 1]);
  });
});

describe("diffPair", () => {
  it("orders older first and refuses a version against itself", () => {
    expect(diffPair(3, 1)).toEqual({ from: 1, to: 3 });
    expect(diffPair(1, 2)).toEqual({ from: 1, to: 2 });
    expect(diffPair(2, 2)).toBeNull();
  });
});

describe("variable form", () => {
  const vars = [{ name: "product", required: true }, { name: "language", default: "English" }, { name: "items" }];
  it("starts empty and keeps values of same-named variables across versions", () => {
    expect(formFor(vars)).toEqual({ product: "", language: "", items: "" });
    expect(formFor([{ name: "product" }, { name: "tone" }], { product: "Acme", language: "German" })).toEqual({ product: "Acme", tone: "" });
  });
  it("leaves empty fields out so defaults apply", () => {
    expect(formToVariables({ product: "Acme", language: "" })).toEqual({ product: "Acme" });
  });
  it("passes JSON lists and objects parsed, anything else as text", () => {
    expect(formToVariables({ items: '["a", "b"]', user: '{"name": "Ann"}', raw: "[not json]", n: "42" })).toEqual({
      items: ["a", "b"],
      user: { name: "Ann" },
      raw: "[not json]",
      n: "42",
    });
  });
  it("keeps whitespace of text values", () => {
    expect(formToVariables({ ticket: "  line one\nline two " })).toEqual({ ticket: "  line one\nline two " });
  });
  it("lists required variables still empty", () => {
    expect(emptyRequired(vars, { product: "", language: "" })).toEqual(["product"]);
    expect(emptyRequired(vars, { product: "x" })).toEqual([]);
  });
});

describe("compileProblem", () => {
  it("reads the engine's structured 422", () => {
    const p = compileProblem({ reason: "MissingVariables", message: "missing variable(s): product, ticket", missing: ["product", "ticket"], line: null, column: null, where: null });
    expect(p).toEqual({ reason: "MissingVariables", message: "missing variable(s): product, ticket", missing: ["product", "ticket"], line: null, column: null });
  });
  it("reads syntax errors with a position", () => {
    expect(compileProblem({ reason: "TemplateSyntaxError", message: "unexpected '}'", line: 3, column: 7 })).toMatchObject({ line: 3, column: 7, missing: [] });
  });
  it("reads FastAPI validation lists and plain strings", () => {
    expect(compileProblem([{ loc: ["body", "version"], msg: "Input should be greater than or equal to 1" }]).message).toBe("Input should be greater than or equal to 1");
    expect(compileProblem("prompt 'x' has no version 9").message).toBe("prompt 'x' has no version 9");
    expect(compileProblem(null).message).toMatch(/could not be rendered/);
  });
});

describe("highlightTemplate", () => {
  it("splits expressions, tags and comments from text", () => {
    const segs = highlightTemplate("Hi {{ name }}!{% if vip %} VIP{% endif %}{# note #}");
    expect(segs.map((s) => [s.kind, s.text])).toEqual([
      ["text", "Hi "],
      ["expr", "{{ name }}"],
      ["text", "!"],
      ["tag", "{% if vip %}"],
      ["text", " VIP"],
      ["tag", "{% endif %}"],
      ["comment", "{# note #}"],
    ]);
  });
  it("leaves an unclosed delimiter as text", () => {
    expect(highlightTemplate("a {{ b")).toEqual([{ kind: "text", text: "a {{ b" }]);
  });
});

function summary(name: string, over: Partial<PromptSummary> = {}): PromptSummary {
  return {
    namespace: "default", name, type: "text", description: null, currentVersion: 1, latestVersion: 1, labels: {},
    tags: [], folder: null, metadataLabels: {}, updatedAt: "2026-01-01T00:00:00Z", ...over,
  }; // prettier-ignore
}

describe("list helpers", () => {
  const items = [
    summary("beta", { latestVersion: 3, updatedAt: "2026-01-03T00:00:00Z", folder: "support/triage", tags: ["b", "a"], labels: { staging: 3, production: 2 } }),
    summary("alpha", { latestVersion: 7, updatedAt: "2026-01-01T00:00:00Z", folder: "support", labels: { canary: 7 } }),
    summary("gamma", { latestVersion: 1, updatedAt: "2026-01-02T00:00:00Z", namespace: "a" }),
    summary("gamma", { latestVersion: 1, updatedAt: "2026-01-02T00:00:00Z", namespace: "b" }),
  ];
  it("sorts by name, latest version and update time", () => {
    expect(sortPrompts(items, "name", "asc").map((p) => p.name)).toEqual(["alpha", "beta", "gamma", "gamma"]);
    expect(sortPrompts(items, "latest", "desc").map((p) => p.name)).toEqual(["alpha", "beta", "gamma", "gamma"]);
    expect(sortPrompts(items, "updated", "desc").map((p) => p.name)).toEqual(["beta", "gamma", "gamma", "alpha"]);
    expect(sortPrompts(items, "updated", "asc")[0]!.name).toBe("alpha");
  });
  it("collects folders with their parents, tags and labels (production first)", () => {
    expect(facets(items)).toEqual({ folders: ["support", "support/triage"], tags: ["a", "b"], labels: ["production", "staging", "canary"] });
  });
  it("finds names present in more than one namespace", () => {
    expect([...ambiguousNames(items)]).toEqual(["gamma"]);
  });
  it("orders labels production, staging, then by name", () => {
    expect(orderedLabels({ zeta: 1, staging: 2, alpha: 3, production: 4 }).map(([l]) => l)).toEqual(["production", "staging", "alpha", "zeta"]);
  });
});

describe("formatting", () => {
  it("shortens hashes without the algorithm prefix", () => {
    expect(shortHash("sha256:0123456789abcdef")).toBe("01234567");
    expect(shortHash("abcdef0123", 4)).toBe("abcd");
  });
  it("converts timestamps of any unit to ns", () => {
    expect(toNs("2026-01-01T00:00:00Z")).toBe(Date.UTC(2026, 0, 1) * 1e6);
    expect(toNs(Date.UTC(2026, 0, 1))).toBe(Date.UTC(2026, 0, 1) * 1e6);
    expect(toNs(Date.UTC(2026, 0, 1) * 1e6)).toBe(Date.UTC(2026, 0, 1) * 1e6);
    expect(toNs(Date.UTC(2026, 0, 1) / 1000)).toBe(Date.UTC(2026, 0, 1) * 1e6);
    expect(toNs(null)).toBeNull();
    expect(toNs("not a date")).toBeNull();
  });
  it("says who made a version", () => {
    expect(provenance({ createdBy: "operator", createdGeneration: 4, gitRevision: "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b" })).toBe("generation 4 · git 1a2b3c4 · by operator");
    expect(provenance({ createdBy: "system", createdGeneration: null, gitRevision: "v1.2" })).toBe("git v1.2");
    expect(provenance({ createdGeneration: null, gitRevision: null })).toBe("");
    expect(provenance({ createdBy: "otelguard-local", createdGeneration: 2, gitRevision: null }, false)).toBe("generation 2");
  });
  it("describes regression findings", () => {
    expect(describeFinding({ metric: "latency_ms_p95", baseline: 100, candidate: 142, change: 0.42, threshold: 0.2 })).toBe("p95 latency +42%");
    expect(describeFinding({ metric: "score:helpfulness", baseline: 0.9, candidate: 0.7, change: -0.22, threshold: 0.1 })).toBe("score helpfulness -22%");
    expect(describeFinding({ metric: "error_rate", baseline: 0.02, candidate: 0.12, change: 0.1, threshold: 0.05 })).toBe("error rate +10 pp");
    expect(describeFinding({ metric: "cost_usd_mean", baseline: 1, candidate: 1.5, change: 0.5, threshold: 0.2 })).toBe("mean cost +50%");
    expect(describeFinding({ metric: "error_rate", baseline: 0, candidate: 0.1, change: null, threshold: null })).toBe("error rate");
    expect(formatChange("guardrail_hit_rate", 0.05, false)).toBe("5 pp");
    expect(formatChange("latency_ms_p95", 0.2, false)).toBe("20%");
  });
});

describe("usage", () => {
  it("keeps only this prompt's versions, aligned to the grid, oldest first", () => {
    const H = 3_600_000;
    const result: MetricResult = {
      metric: "requests", agg: "count", bucket: "1h", scope: "generations", group_by: ["prompt_version"], start_time: 0, end_time: 0, truncated: false,
      series: [
        { dimensions: { prompt_version: "triage@v2" }, points: [{ time: 2 * H * 1e6, value: 5 }] },
        { dimensions: { prompt_version: "triage@v1" }, points: [{ time: 0, value: 3 }, { time: H * 1e6, value: 1 }] },
        { dimensions: { prompt_version: "triage-v2@v1" }, points: [{ time: 0, value: 9 }] },
        { dimensions: { prompt_version: "other@v1" }, points: [{ time: 0, value: 9 }] },
        { dimensions: { prompt_version: "" }, points: [{ time: 0, value: 9 }] },
      ],
    }; // prettier-ignore
    const s = versionSeries(result, "triage", [0, H, 2 * H]);
    expect(s.map((x) => x.key)).toEqual(["v1", "v2"]);
    expect(s[0]!.values).toEqual([3, 1, 0]);
    expect(s[1]!.values).toEqual([0, 0, 5]);
    expect(versionSeries(result, "triage", [0, H, 2 * H], null)[1]!.values).toEqual([null, null, 5]);
    expect(versionSeries(undefined, "triage", [0])).toEqual([]);
  });
  it("keeps the latest move per label", () => {
    const move = (label: string, to: number, at: string): LabelMove => ({ label, from_version: to - 1, to_version: to, moved_at: at, status: "ok", baseline: {}, candidate: {}, regressions: [] });
    const m = latestMoves([move("production", 2, "2026-01-01T00:00:00Z"), move("production", 3, "2026-01-05T00:00:00Z"), move("staging", 4, "2026-01-02T00:00:00Z")]);
    expect(m.get("production")!.to_version).toBe(3);
    expect(m.get("staging")!.to_version).toBe(4);
  });
});
