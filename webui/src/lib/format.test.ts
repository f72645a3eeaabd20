import { describe, expect, it } from "vitest";
import { formatCost, formatDuration, formatPercent, formatRelative, formatTokens, shortId } from "./format";

describe("formatDuration", () => {
  it.each([
    [0, "0 ms"],
    [0.25, "250 µs"],
    [3.456, "3.46 ms"],
    [5, "5 ms"],
    [12.4, "12 ms"],
    [999.6, "1000 ms"],
    [1234, "1.23 s"],
    [2000, "2 s"],
    [15_250, "15.3 s"],
    [65_000, "1m 5s"],
    [3_720_000, "1h 2m"],
  ])("%s ms → %s", (ms, out) => expect(formatDuration(ms)).toBe(out));
  it("guards bad input", () => {
    expect(formatDuration(-1)).toBe("–");
    expect(formatDuration(Number.NaN)).toBe("–");
    expect(formatDuration(null)).toBe("–");
  });
});

describe("formatCost", () => {
  it.each([
    [0.45, "$0.45"],
    [12.3456, "$12.35"],
    [0.000375, "$0.00038"],
    [0.0045, "$0.0045"],
    [0.00000123, "$0.0000012"],
    [15234.2, "$15,234"],
  ])("%s → %s", (usd, out) => expect(formatCost(usd)).toBe(out));
  it("shows zero as a dash unless asked", () => {
    expect(formatCost(0)).toBe("–");
    expect(formatCost(0, false)).toBe("$0.00");
  });
});

describe("formatTokens", () => {
  it.each([
    [0, "0"],
    [950, "950"],
    [1500, "1,500"],
    [12_345, "12.3k"],
    [250_000, "250k"],
    [3_450_000, "3.45M"],
  ])("%s → %s", (n, out) => expect(formatTokens(n)).toBe(out));
});

describe("misc", () => {
  it("formats percentages", () => {
    expect(formatPercent(0)).toBe("0%");
    expect(formatPercent(0.004)).toBe("0.4%");
    expect(formatPercent(0.256)).toBe("26%");
  });
  it("formats relative times from ns", () => {
    const now = 1_700_000_000_000;
    expect(formatRelative((now - 10_000) * 1e6, now)).toBe("just now");
    expect(formatRelative((now - 5 * 60_000) * 1e6, now)).toBe("5 min ago");
    expect(formatRelative((now - 3 * 3_600_000) * 1e6, now)).toBe("3 h ago");
    expect(formatRelative((now - 2 * 86_400_000) * 1e6, now)).toBe("2 d ago");
  });
  it("shortens ids", () => {
    expect(shortId("0123456789abcdef0123456789abcdef")).toBe("01234567…cdef");
    expect(shortId("short")).toBe("short");
  });
});
