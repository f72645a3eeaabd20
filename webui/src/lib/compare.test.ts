import { describe, expect, it } from "vitest";
import {
  alignLcs,
  compareTotals,
  diffAttributes,
  diffLines,
  diffStats,
  matchSpans,
  pairStatus,
  payloadText,
  splitRows,
  traceIO,
  type CompareSpan,
  type DiffLine,
  type TraceTotals,
} from "./compare";

/** The diff rendered as a unified patch, for readable expectations. */
const unified = (d: DiffLine[]) => d.map((l) => `${l.op === "equal" ? " " : l.op === "del" ? "-" : "+"}${l.text}`);

describe("diffLines", () => {
  it("finds the changed line between equal ones", () => {
    const d = diffLines("a\nb\nc\nd", "a\nB\nc\nd");
    expect(unified(d)).toEqual([" a", "-b", "+B", " c", " d"]);
    expect(diffStats(d)).toEqual({ added: 1, removed: 1, same: false });
  });
  it("numbers lines on each side", () => {
    const d = diffLines("x\ny", "w\nx\ny");
    expect(d).toEqual([
      { op: "add", text: "w", b: 1 },
      { op: "equal", text: "x", a: 1, b: 2 },
      { op: "equal", text: "y", a: 2, b: 3 },
    ]);
  });
  it("handles insertions in the middle without misaligning the rest", () => {
    const a = ["one", "two", "three", "four", "five"].join("\n");
    const b = ["one", "two", "2.5", "three", "four", "five"].join("\n");
    expect(unified(diffLines(a, b))).toEqual([" one", " two", "+2.5", " three", " four", " five"]);
  });
  it("treats empty text as no lines and identical text as same", () => {
    expect(diffLines("", "")).toEqual([]);
    expect(unified(diffLines("", "new"))).toEqual(["+new"]);
    expect(unified(diffLines("old", ""))).toEqual(["-old"]);
    expect(diffStats(diffLines("p\nq", "p\nq")).same).toBe(true);
    expect(unified(diffLines("a\r\nb", "a\nb"))).toEqual([" a", " b"]);
  });
  it("is a minimal diff (LCS) on interleaved changes", () => {
    const d = diffLines("a\nb\nc\nd\ne", "b\nx\nd\ne\nf");
    expect(diffStats(d)).toEqual({ added: 2, removed: 2, same: false });
    expect(d.filter((l) => l.op === "equal").map((l) => l.text)).toEqual(["b", "d", "e"]);
  });
  it("falls back to a coarse but correct diff over budget", () => {
    const a = ["h", "1", "2", "3", "t"].join("\n");
    const b = ["h", "x", "2", "y", "t"].join("\n");
    const d = diffLines(a, b, 4);
    expect(unified(d)).toEqual([" h", "-1", "-2", "-3", "+x", "+2", "+y", " t"]);
  });
});

describe("alignLcs", () => {
  it("returns null over budget and aligns within it", () => {
    expect(alignLcs(["a", "b"], ["c", "d"], (x) => x, 2)).toBeNull();
    expect(alignLcs(["a", "b"], ["b"], (x) => x)).toEqual([
      [0, null],
      [1, 0],
    ]);
  });
});

describe("splitRows", () => {
  it("pairs removals with the additions after them", () => {
    const rows = splitRows(diffLines("a\nb\nc\nz", "a\nB\nC\nD\nz"));
    expect(rows.map(([l, r]) => [l?.text ?? null, r?.text ?? null])).toEqual([
      ["a", "a"],
      ["b", "B"],
      ["c", "C"],
      [null, "D"],
      ["z", "z"],
    ]);
    expect(rows[1]![0]).toEqual({ n: 2, text: "b", op: "del" });
    expect(rows[3]![1]).toEqual({ n: 4, text: "D", op: "add" });
  });
});

describe("payloadText", () => {
  it("renders chat messages as role headers and text", () => {
    const text = JSON.stringify([
      { role: "system", content: "Be brief." },
      { role: "user", parts: [{ type: "text", content: "Hi\nthere" }] },
    ]);
    expect(payloadText(text)).toBe("[system]\nBe brief.\n\n[user]\nHi\nthere");
  });
  it("pretty-prints JSON with sorted keys, so key order is no difference", () => {
    expect(payloadText('{"b":1,"a":{"d":2,"c":3}}')).toBe(payloadText('{"a":{"c":3,"d":2},"b":1}'));
    expect(payloadText('{"b":1,"a":2}')).toBe('{\n  "a": 2,\n  "b": 1\n}');
  });
  it("keeps text and empties", () => {
    expect(payloadText("plain words")).toBe("plain words");
    expect(payloadText("")).toBe("");
    expect(payloadText(null)).toBe("");
  });
  it("shows tool calls", () => {
    const text = JSON.stringify([
      { role: "assistant", tool_calls: [{ id: "1", function: { name: "lookup", arguments: '{"id":7}' } }] },
    ]);
    expect(payloadText(text)).toBe('[assistant]\n→ lookup({"id":7})');
  });
});

describe("diffAttributes", () => {
  it("classifies every key of either side, sorted", () => {
    const changes = diffAttributes({ a: "1", b: "2", c: "3" }, { b: "2", c: "4", d: "5" });
    expect(changes).toEqual([
      { key: "a", kind: "removed", a: "1" },
      { key: "b", kind: "same", a: "2", b: "2" },
      { key: "c", kind: "changed", a: "3", b: "4" },
      { key: "d", kind: "added", b: "5" },
    ]);
  });
  it("distinguishes an empty value from a missing key", () => {
    expect(diffAttributes({ k: "" }, {})).toEqual([{ key: "k", kind: "removed", a: "" }]);
    expect(diffAttributes({ constructor: "x" }, {})[0]!.kind).toBe("removed");
  });
});

let nextId = 0;
function sp(name: string, kind: string, children: CompareSpan[] = [], extra: Partial<CompareSpan> = {}): CompareSpan {
  return { span_id: `s${nextId++}`, name, kind, status_code: "unset", input: "", output: "", attributes: {}, children, ...extra };
}
const names = (pairs: ReturnType<typeof matchSpans>) =>
  pairs.map((p) => `${p.a?.name ?? "-"} | ${p.b?.name ?? "-"}`);

describe("matchSpans", () => {
  it("matches by name and kind in tree order", () => {
    const a = [sp("agent", "agent", [sp("chat", "llm"), sp("lookup", "tool")])];
    const b = [sp("agent", "agent", [sp("chat", "llm"), sp("lookup", "tool")])];
    expect(names(matchSpans(a, b))).toEqual(["agent | agent", "chat | chat", "lookup | lookup"]);
  });
  it("an extra span on one side does not shift later matches", () => {
    const a = [sp("agent", "agent", [sp("chat", "llm"), sp("lookup", "tool"), sp("chat", "llm")])];
    const b = [sp("agent", "agent", [sp("chat", "llm"), sp("retry", "tool"), sp("lookup", "tool"), sp("chat", "llm")])];
    expect(names(matchSpans(a, b))).toEqual(["agent | agent", "chat | chat", "- | retry", "lookup | lookup", "chat | chat"]);
  });
  it("the same name with another kind is not a match", () => {
    const pairs = matchSpans([sp("step", "tool")], [sp("step", "llm")]);
    expect(names(pairs)).toEqual(["step | -", "- | step"]);
  });
  it("pairs k-th occurrences when over the LCS budget", () => {
    const a = [sp("x", "llm"), sp("y", "tool"), sp("x", "llm")];
    const b = [sp("y", "tool"), sp("x", "llm"), sp("z", "llm")];
    const pairs = matchSpans(a, b, 1);
    expect(names(pairs)).toEqual(["x | x", "y | y", "x | -", "- | z"]);
  });
});

describe("pairStatus and traceIO", () => {
  it("flags changed inputs, outputs and attributes", () => {
    const base = sp("chat", "llm", [], { input: "q", output: "a", attributes: { m: "1" } });
    expect(pairStatus({ a: base, b: { ...base } })).toBe("same");
    expect(pairStatus({ a: base, b: { ...base, output: "other" } })).toBe("changed");
    expect(pairStatus({ a: base, b: { ...base, attributes: { m: "2" } } })).toBe("changed");
    expect(pairStatus({ a: base, b: { ...base, status_code: "error" } })).toBe("changed");
    expect(pairStatus({ a: base, b: { ...base, input: JSON.stringify("q") } })).toBe("same"); // same text
    expect(pairStatus({ a: base, b: null })).toBe("only-a");
    expect(pairStatus({ a: null, b: base })).toBe("only-b");
  });
  it("takes the root's input/output, else the first input and the last output below it", () => {
    const tree = [sp("root", "agent", [sp("c1", "llm", [], { input: "first", output: "mid" }), sp("c2", "llm", [], { input: "second", output: "last" })])];
    expect(traceIO(tree)).toEqual({ input: "first", output: "last" });
    const withRoot = [sp("root", "agent", tree[0]!.children, { input: "root in", output: "root out" })];
    expect(traceIO(withRoot)).toEqual({ input: "root in", output: "root out" });
    expect(traceIO([])).toEqual({ input: "", output: "" });
  });
});

describe("compareTotals", () => {
  const t = (over: Partial<TraceTotals>): TraceTotals => ({
    latency_ms: 1000,
    input_tokens: 100,
    output_tokens: 50,
    total_tokens: 150,
    total_cost: 0.01,
    span_count: 3,
    error_count: 0,
    span_counts_by_kind: { llm: 1, tool: 2 },
    ...over,
  });
  it("computes deltas and ratios, and rows per span kind of either trace", () => {
    const rows = compareTotals(t({}), t({ latency_ms: 1500, error_count: 1, span_counts_by_kind: { llm: 2, agent: 1 } }));
    const latency = rows.find((r) => r.id === "latency")!;
    expect([latency.delta, latency.ratio, latency.lowerIsBetter]).toEqual([500, 0.5, true]);
    const errors = rows.find((r) => r.id === "errors")!;
    expect([errors.delta, errors.ratio]).toEqual([1, null]); // from 0: no ratio
    expect(rows.filter((r) => r.id.startsWith("kind:")).map((r) => [r.id, r.a, r.b])).toEqual([
      ["kind:agent", 0, 1],
      ["kind:llm", 1, 2],
      ["kind:tool", 2, 0],
    ]);
  });
});
