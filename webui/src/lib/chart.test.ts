import { describe, expect, it } from "vitest";
import {
  alignToGrid,
  areaPath,
  bucketGrid,
  linePath,
  linearScale,
  nearestIndex,
  niceStep,
  niceTicks,
  stack,
  tickDecimals,
  visibleEdge,
  timeTicks,
  topNWithOther,
} from "./chart";
import { colorMap, combinePercentile, costTick, groupedOnGrid, OTHER_KEY, overviewRange, totalOnGrid, windowFor, type MetricResult } from "./metrics";

describe("linearScale", () => {
  it("maps the domain onto the range, inverted axes too", () => {
    const y = linearScale([0, 100], [200, 0]);
    expect(y(0)).toBe(200);
    expect(y(100)).toBe(0);
    expect(y(25)).toBe(150);
    expect(y.domain).toEqual([0, 100]);
  });
  it("puts everything in the middle of a zero-width domain", () => {
    expect(linearScale([5, 5], [0, 10])(5)).toBe(5);
  });
});

describe("niceTicks", () => {
  it("uses 1/2/2.5/5 steps and covers the max", () => {
    expect(niceStep(100, 5)).toBe(20);
    expect(niceStep(7, 5)).toBe(2);
    expect(niceStep(0.12, 4)).toBeCloseTo(0.05);
    expect(niceTicks(0, 95)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 5, 5)).toEqual([0, 1, 2, 3, 4, 5]);
  });
  it("handles no data, tiny values and float drift", () => {
    expect(niceTicks(0, 0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    const t = niceTicks(0, 0.0031, 4);
    expect(t[0]).toBe(0);
    expect(t.at(-1)!).toBeGreaterThanOrEqual(0.0031);
    expect(t).toEqual([0, 0.001, 0.002, 0.003, 0.004]);
  });
  it("keeps counts whole with minStep", () => {
    expect(niceTicks(0, 1, 4, 1)).toEqual([0, 1]);
    expect(niceTicks(0, 3, 4, 1)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(0, 0, 4, 1)).toEqual([0, 1, 2, 3, 4]);
  });
  it("starts at 0 for positive data and below min for negative", () => {
    expect(niceTicks(40, 95)[0]).toBe(0);
    expect(niceTicks(-3, 7)[0]).toBeLessThanOrEqual(-3);
  });
});

describe("timeTicks", () => {
  const H = 3_600_000;
  it("picks round steps aligned to local time", () => {
    const start = Date.UTC(2026, 0, 1, 10, 7);
    const { ticks, step } = timeTicks(start, start + 24 * H, 6, 0);
    expect(step).toBe(6 * H);
    expect(ticks[0]).toBe(Date.UTC(2026, 0, 1, 12));
    expect(ticks.every((t) => t % (6 * H) === 0)).toBe(true);
    // In a +2h zone 10:07 UTC is 12:07 local: the first tick is local 18:00, i.e. 16:00 UTC.
    const local = timeTicks(start, start + 24 * H, 6, 2 * H);
    expect(local.ticks[0]).toBe(Date.UTC(2026, 0, 1, 16));
    expect((local.ticks[0]! + 2 * H) % (6 * H)).toBe(0);
  });
  it("uses minutes for an hour and days for a week", () => {
    const start = Date.UTC(2026, 0, 1, 10, 0);
    expect(timeTicks(start, start + H, 6, 0).step).toBe(10 * 60_000);
    expect(timeTicks(start, start + 7 * 24 * H, 6, 0).step).toBe(2 * 24 * H);
  });
});

describe("grid and alignment", () => {
  it("builds epoch-aligned buckets and fills gaps", () => {
    const grid = bucketGrid(1_000, 10_000, 3_000);
    expect(grid).toEqual([0, 3_000, 6_000, 9_000]);
    expect(alignToGrid(grid, [{ time: 3_000, value: 2 }, { time: 9_000, value: 5 }], 0)).toEqual([0, 2, 0, 5]);
    expect(alignToGrid(grid, [{ time: 3_000, value: 2 }], null)).toEqual([null, 2, null, null]);
    // Off-grid points are dropped; duplicates add up.
    expect(alignToGrid(grid, [{ time: 4_000, value: 9 }, { time: 0, value: 1 }, { time: 0, value: 2 }], 0)).toEqual([3, 0, 0, 0]);
  });
  it("finds the nearest bucket", () => {
    const grid = [0, 10, 20, 30];
    expect(nearestIndex(grid, -5)).toBe(0);
    expect(nearestIndex(grid, 14)).toBe(1);
    expect(nearestIndex(grid, 16)).toBe(2);
    expect(nearestIndex(grid, 99)).toBe(3);
    expect(nearestIndex([], 1)).toBe(-1);
  });
});

describe("stacking and top-N", () => {
  it("stacks bands, nulls as zero", () => {
    expect(stack([[1, 2, null], [3, null, 4]])).toEqual([
      [[0, 1], [0, 2], [0, 0]],
      [[1, 4], [2, 2], [0, 4]],
    ]);
    expect(stack([])).toEqual([]);
  });
  it("keeps the largest n and sums the rest into other", () => {
    const s = [
      { key: "a", values: [1, 1] },
      { key: "b", values: [5, 5] },
      { key: "c", values: [2, null] },
      { key: "d", values: [0, 3] },
    ];
    expect(topNWithOther(s, 2)).toEqual([
      { key: "b", values: [5, 5] },
      { key: "d", values: [0, 3] },
      { key: "other", values: [3, 1] },
    ]);
    expect(topNWithOther(s, 10).map((x) => x.key)).toEqual(["b", "d", "a", "c"]);
  });
});

describe("tick labels", () => {
  it("knows how many decimals tell ticks apart", () => {
    expect(tickDecimals([0, 0.005, 0.01, 0.015])).toBe(3);
    expect(tickDecimals([0, 2.5, 5])).toBe(1);
    expect(tickDecimals([0, 2000, 4000])).toBe(0);
    expect(tickDecimals([0, 0.0000002])).toBe(7);
  });
  it("hides the top edge along empty stretches", () => {
    expect(visibleEdge([0, 0, 0, 2, 0, 0], [9, 9, 9, 5, 9, 9])).toEqual([null, null, 9, 5, 9, null]);
  });
});

describe("paths", () => {
  it("breaks lines at nulls", () => {
    expect(linePath([0, 10, 20, 30], [5, null, 7, 8])).toBe("M0,5M20,7L30,8");
    expect(linePath([], [])).toBe("");
  });
  it("closes areas along the lower edge", () => {
    expect(areaPath([0, 10], [1, 2], [9, 9])).toBe("M0,1L10,2L10,9L0,9Z");
  });
});

describe("metrics helpers", () => {
  const H = 3_600_000;
  const result: MetricResult = {
    metric: "cost", agg: "sum", bucket: "1h", scope: "traces", group_by: ["model"], start_time: 0, end_time: 3 * H * 1e6, truncated: false,
    series: [
      { dimensions: { model: "gpt-4o" }, points: [{ time: 0, value: 1 }, { time: H * 1e6, value: 2 }] },
      { dimensions: { model: "" }, points: [{ time: 2 * H * 1e6, value: 4 }] },
      { dimensions: { model: "tiny" }, points: [{ time: 0, value: 0.5 }] },
    ],
  };
  const grid = [0, H, 2 * H];
  it("sums series onto the grid", () => {
    expect(totalOnGrid(result, grid)).toEqual([1.5, 2, 4]);
    expect(totalOnGrid(undefined, grid)).toEqual([0, 0, 0]);
  });
  it("labels groups and folds the tail into Other", () => {
    const g = groupedOnGrid(result, grid, "model", 2);
    expect(g.map((s) => s.label)).toEqual(["(no model)", "gpt-4o", "Other"]);
    expect(g[2]!.key).toBe(OTHER_KEY);
    expect(g[2]!.values).toEqual([0.5, 0, 0]);
  });
  it("formats cost ticks and shares colours", () => {
    expect([0, 0.005, 0.01].map((v) => costTick(v, [0, 0.005, 0.01]))).toEqual(["$0.000", "$0.005", "$0.010"]);
    expect(costTick(20, [0, 10, 20])).toBe("$20.00");
    const m = colorMap([{ key: "b" }, { key: OTHER_KEY }], [{ key: "a" }, { key: "b" }]);
    expect(m.get("b")).toBe("var(--series-1)");
    expect(m.get("a")).toBe("var(--series-2)");
    expect(m.get(OTHER_KEY)).toBe("var(--series-8)");
  });
  it("combines percentiles", () => {
    expect(combinePercentile([])).toEqual({ value: null, exact: true });
    expect(combinePercentile([{ value: 120, weight: 5 }, { value: 999, weight: 0 }])).toEqual({ value: 120, exact: true });
    expect(combinePercentile([{ value: 100, weight: 1 }, { value: 200, weight: 3 }])).toEqual({ value: 175, exact: false });
  });
  it("resolves ranges and windows", () => {
    expect(overviewRange("7d").bucket).toBe("1h");
    expect(overviewRange("bogus").id).toBe("24h");
    const w = windowFor(H, Date.UTC(2026, 0, 1, 10, 0, 30));
    expect(w.end).toBe(Date.UTC(2026, 0, 1, 10, 1));
    expect(w.end - w.start).toBe(H);
  });
});
