import { describe, expect, it } from "vitest";
import {
  breakdownRows,
  categoryBars,
  categoryOnGrid,
  dimensionMeans,
  evaluatorLabel,
  formatEdge,
  formatScoreNumber,
  donutSlices,
  formatShare,
  histogramTicks,
  passFailOnGrid,
  pickerNames,
  scoreBucket,
  scoreGrid,
  scoreMarker,
  scoreRange,
  scoresBySpan,
  scoreValue,
  selectedName,
  statOnGrid,
  type Score,
  type ScoreAggregate,
  type ScoreSeries,
} from "./scores";

const H = 3_600_000;
const D = 24 * H;
const NS = 1e6;

function score(over: Partial<Score>): Score {
  return {
    id: "s",
    trace_id: "t".repeat(32),
    span_id: "",
    session_id: "",
    name: "relevance",
    value: 0.5,
    string_value: "",
    data_type: "numeric",
    source: "evaluator",
    comment: "",
    evaluator_name: "",
    evaluator_version: "",
    timestamp: 0,
    ...over,
  };
}

describe("score values", () => {
  it("formats numbers with 2-3 decimals and keeps integers whole", () => {
    expect(formatScoreNumber(0.87345)).toBe("0.873");
    expect(formatScoreNumber(0.5)).toBe("0.5");
    expect(formatScoreNumber(12.3456)).toBe("12.35");
    expect(formatScoreNumber(4)).toBe("4");
    expect(formatScoreNumber(1204.6)).toBe("1,205");
    expect(formatScoreNumber(-0.25)).toBe("-0.25");
    expect(formatScoreNumber(null)).toBe("–");
    expect(formatScoreNumber(Number.NaN)).toBe("–");
  });
  it("reads booleans as pass/fail, categories by label", () => {
    expect(scoreValue(score({ data_type: "boolean", value: 1, string_value: "true" }))).toEqual({ text: "pass", tone: "pass", title: "true" });
    expect(scoreValue(score({ data_type: "boolean", value: 0 })).tone).toBe("fail");
    expect(scoreValue(score({ data_type: "categorical", value: 2, string_value: "polite" })).text).toBe("polite");
    expect(scoreValue(score({ data_type: "numeric", value: 0.91234 })).text).toBe("0.912");
  });
  it("shares and evaluator labels", () => {
    expect(formatShare(0.5)).toBe("50%");
    expect(formatShare(0.0333)).toBe("3.3%");
    expect(formatShare(1)).toBe("100%");
    expect(formatShare(null)).toBe("–");
    expect(evaluatorLabel(score({ evaluator_name: "default/judge", evaluator_version: "2" }))).toBe("default/judge · v2");
    expect(evaluatorLabel(score({ evaluator_name: "x" }))).toBe("x");
    expect(evaluatorLabel(score({}))).toBe("");
  });
});

describe("scores of a trace", () => {
  const items = [
    score({ id: "a", span_id: "s1", name: "b", timestamp: 1 }),
    score({ id: "b", span_id: "s1", name: "a", timestamp: 1 }),
    score({ id: "c", span_id: "s1", name: "a", timestamp: 5 }),
    score({ id: "d", span_id: "", name: "feedback", data_type: "boolean", value: 0 }),
  ];
  it("groups by span, trace-level under '', by name then newest first", () => {
    const by = scoresBySpan(items);
    expect(by.get("s1")!.map((s) => s.id)).toEqual(["c", "b", "a"]);
    expect(by.get("")!.map((s) => s.id)).toEqual(["d"]);
    expect(by.has("s2")).toBe(false);
  });
  it("marks failures and summarises in the tooltip", () => {
    const m = scoreMarker([score({ data_type: "boolean", value: 0, name: "ok" }), score({ value: 0.25 })]);
    expect(m.count).toBe(2);
    expect(m.failed).toBe(1);
    expect(m.title).toBe("2 scores — ok: fail, relevance: 0.25");
    const many = scoreMarker(Array.from({ length: 8 }, (_, i) => score({ name: `n${i}` })));
    expect(many.title.endsWith("+2 more")).toBe(true);
  });
});

describe("ranges, buckets and names", () => {
  it("falls back to defaults", () => {
    expect(scoreRange("bogus").id).toBe("7d");
    expect(scoreRange("30d").id).toBe("30d");
    expect(scoreBucket(scoreRange("7d"), "1h")).toBe("1h");
    expect(scoreBucket(scoreRange("7d"), null)).toBe("1d");
    expect(scoreBucket(scoreRange("24h"), "1w")).toBe("1h");
    expect(scoreBucket(scoreRange("90d"), null)).toBe("1w");
  });
  it("merges seen names with configured ones", () => {
    const seen = [{ name: "z", data_type: "numeric", count: 9, last_seen: 1, sources: ["api"] }];
    const names = pickerNames(seen, [
      { name: "z", data_type: "numeric", min_value: null, max_value: null, categories: [], description: "" },
      { name: "b", data_type: "boolean", min_value: null, max_value: null, categories: [], description: "" },
      { name: "a", data_type: "categorical", min_value: null, max_value: null, categories: ["x"], description: "" },
    ]);
    expect(names.map((n) => `${n.name}:${n.count}`)).toEqual(["z:9", "a:0", "b:0"]);
    expect(selectedName(names, "b")).toBe("b");
    expect(selectedName(names, "unknown")).toBe("unknown");
    expect(selectedName(names, null)).toBe("z");
    expect(selectedName(names, "")).toBe("z");
    expect(selectedName([], "x")).toBe("x");
    expect(selectedName([], null)).toBe(null);
  });
});

describe("grids and series", () => {
  it("aligns the grid on epoch days, or on a returned point", () => {
    const start = Date.UTC(2026, 0, 1, 10);
    const end = start + 3 * D;
    expect(scoreGrid(start, end, D)).toEqual([Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 2), Date.UTC(2026, 0, 3), Date.UTC(2026, 0, 4)]);
    // A week bucket that starts on a Monday (2025-12-29): the grid follows the point.
    const monday = Date.UTC(2025, 11, 29);
    const grid = scoreGrid(start, start + 14 * D, 7 * D, [{ time: (monday + 7 * D) * NS }]);
    expect(grid[0]).toBe(monday);
    expect(grid).toHaveLength(3);
    expect(scoreGrid(end, start, D)).toEqual([]);
  });
  const t0 = Date.UTC(2026, 0, 1);
  const series: ScoreSeries = {
    dimension: null,
    total: { count: 6, mean: 0.5, categories: { polite: 4, rude: 1, terse: 1 } },
    points: [
      { time: t0 * NS, count: 4, mean: 0.25, p50: 0.2, p95: 0.4, categories: { polite: 3, rude: 1 } },
      { time: (t0 + 2 * D) * NS, count: 2, mean: 0.75, p50: 0.7, p95: 0.9, categories: { polite: 1, terse: 1 } },
    ],
  };
  const grid = [t0, t0 + D, t0 + 2 * D];
  it("puts statistics on the grid with gaps", () => {
    expect(statOnGrid(series, grid, "mean")).toEqual([0.25, null, 0.75]);
    expect(statOnGrid(series, grid, "p95")).toEqual([0.4, null, 0.9]);
    expect(statOnGrid(undefined, grid, "mean")).toEqual([null, null, null]);
  });
  it("pass and fail counts per bucket", () => {
    const b: ScoreSeries = {
      dimension: null,
      total: { count: 3 },
      points: [{ time: (t0 + D) * NS, count: 3, categories: { true: 2, false: 1 } }],
    };
    expect(passFailOnGrid(b, grid)).toEqual({ pass: [0, 2, 0], fail: [0, 1, 0] });
  });
  it("stacks categories, top n plus other", () => {
    const cats = categoryOnGrid(series, grid, 1);
    expect(cats.map((c) => c.label)).toEqual(["polite", "Other"]);
    expect(cats[0]!.values).toEqual([3, 0, 1]);
    expect(cats[1]!.values).toEqual([1, 0, 1]);
  });
  it("bars for boolean and categorical distributions", () => {
    expect(categoryBars({ count: 4, categories: { true: 3, false: 1 } }, "boolean")).toEqual([
      { label: "pass", count: 3, share: 0.75 },
      { label: "fail", count: 1, share: 0.25 },
    ]);
    expect(categoryBars(series.total, "categorical").map((b) => b.label)).toEqual(["polite", "rude", "terse"]);
    expect(categoryBars(undefined, "categorical")).toEqual([]);
  });
  it("breakdown rows and per-dimension means", () => {
    const agg: ScoreAggregate = {
      name: "q",
      data_type: "numeric",
      bucket: "1d",
      group_by: "model",
      start_time: 0,
      end_time: 0,
      truncated: false,
      series: [
        { dimension: "", total: { count: 1, mean: 0.1 }, points: [] },
        { dimension: "gpt-4o", total: { count: 3, mean: 0.9 }, points: [{ time: t0 * NS, count: 3, mean: 0.9 }] },
      ],
    };
    const rows = breakdownRows(agg);
    expect(rows.map((r) => [r.label, r.share])).toEqual([
      ["gpt-4o", 0.75],
      ["(no model)", 0.25],
    ]);
    const means = dimensionMeans(agg, grid, 1);
    expect(means).toEqual([{ key: "gpt-4o", label: "gpt-4o", values: [0.9, null, null] }]);
    expect(breakdownRows({ ...agg, group_by: "source", series: [{ dimension: "feedback", total: { count: 1 }, points: [] }] })[0]!.label).toBe("Feedback");
  });
  it("histogram bin edges", () => {
    const bins = [
      { lower: 0, upper: 0.25, count: 2 },
      { lower: 0.25, upper: 0.5, count: 8 },
      { lower: 0.5, upper: 0.75, count: 0 },
    ];
    expect(formatEdge(0.25, bins)).toBe("0.25");
    expect(formatEdge(1250, [{ lower: 0, upper: 100, count: 1 }])).toBe("1,250");
  });
  it("round histogram ticks inside the range", () => {
    expect(histogramTicks(0.21, 0.975)).toEqual([0.4, 0.6, 0.8]);
    expect(histogramTicks(0, 1)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(histogramTicks(3, 40)).toEqual([10, 20, 30, 40]);
    expect(histogramTicks(5, 5)).toEqual([5]);
  });
  it("donut slices fold the tail into other", () => {
    const bars = [
      { label: "a", count: 5, share: 0.5 },
      { label: "b", count: 3, share: 0.3 },
      { label: "c", count: 1, share: 0.1 },
      { label: "d", count: 1, share: 0.1 },
    ];
    const slices = donutSlices(bars, 2);
    expect(slices.map((s) => [s.key, s.count])).toEqual([
      ["a", 5],
      ["b", 3],
      ["__other__", 2],
    ]);
    expect(slices.map((s) => s.offset)).toEqual([0, 0.5, 0.8]);
    expect(donutSlices(bars).length).toBe(4);
  });
});
