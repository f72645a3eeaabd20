import { describe, expect, it } from "vitest";
import { allSpans, axisTicks, barPosition, flattenTree, MIN_BAR_PERCENT, traceWindow, type TreeSpan } from "./waterfall";

const ms = 1_000_000;
function span(id: string, start: number, end: number, children: TreeSpan[] = []): TreeSpan {
  return { span_id: id, start_time: 1e18 + start * ms, end_time: 1e18 + end * ms, children };
}

// root 0–1000 ms; a 100–600 with a child a1 200–300; b 700–1000 (listed before a: order comes from start time)
const tree = [span("root", 0, 1000, [span("b", 700, 1000), span("a", 100, 600, [span("a1", 200, 300)])])];

describe("traceWindow", () => {
  it("spans every node", () => {
    const w = traceWindow(tree);
    expect((w.end - w.start) / ms).toBe(1000);
  });
  it("includes children that outlive their parent", () => {
    const w = traceWindow([span("p", 0, 100, [span("c", 50, 400)])]);
    expect((w.end - w.start) / ms).toBe(400);
  });
  it("never returns an empty window", () => {
    const w = traceWindow([span("x", 5, 5)]);
    expect(w.end).toBeGreaterThan(w.start);
    expect(traceWindow([])).toEqual({ start: 0, end: 1 });
  });
});

describe("flattenTree", () => {
  it("is depth-first with children ordered by start", () => {
    const rows = flattenTree(tree);
    expect(rows.map((r) => [r.span.span_id, r.depth])).toEqual([
      ["root", 0],
      ["a", 1],
      ["a1", 2],
      ["b", 1],
    ]);
    expect(rows.map((r) => r.hasChildren)).toEqual([true, true, false, false]);
  });
  it("positions bars to scale", () => {
    const rows = flattenTree(tree);
    const a = rows.find((r) => r.span.span_id === "a")!;
    expect(a.left).toBeCloseTo(10);
    expect(a.width).toBeCloseTo(50);
    const b = rows.find((r) => r.span.span_id === "b")!;
    expect(b.left + b.width).toBeCloseTo(100);
  });
  it("skips the children of collapsed spans", () => {
    const rows = flattenTree(tree, new Set(["a"]));
    expect(rows.map((r) => r.span.span_id)).toEqual(["root", "a", "b"]);
    expect(rows[1]!.collapsed).toBe(true);
  });
  it("lists every span", () => {
    expect(allSpans(tree).map((s) => s.span_id)).toEqual(["root", "b", "a", "a1"]);
  });
});

describe("barPosition", () => {
  const win = { start: 0, end: 1000 * ms };
  it("gives zero-length spans a visible minimum width", () => {
    const p = barPosition({ span_id: "z", start_time: 500 * ms, end_time: 500 * ms, children: [] }, win);
    expect(p.left).toBe(50);
    expect(p.width).toBe(MIN_BAR_PERCENT);
  });
  it("never overflows the track", () => {
    const p = barPosition({ span_id: "z", start_time: 1000 * ms, end_time: 1000 * ms, children: [] }, win);
    expect(p.left + p.width).toBeLessThanOrEqual(100);
    const q = barPosition({ span_id: "w", start_time: -5 * ms, end_time: 2000 * ms, children: [] }, win);
    expect(q).toEqual({ left: 0, width: 100 });
  });
  it("handles an end before the start", () => {
    const p = barPosition({ span_id: "n", start_time: 300 * ms, end_time: 200 * ms, children: [] }, win);
    expect(p.width).toBe(MIN_BAR_PERCENT);
  });
});

describe("axisTicks", () => {
  it("uses 1-2-5 steps", () => {
    expect(axisTicks(1000, 5)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(axisTicks(1000, 4)).toEqual([0, 500, 1000]);
    expect(axisTicks(37, 4)).toEqual([0, 10, 20, 30]);
    expect(axisTicks(0.8, 4)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
  });
  it("copes with an empty duration", () => {
    expect(axisTicks(0)).toEqual([0]);
  });
});
