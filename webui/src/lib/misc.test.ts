import { describe, expect, it } from "vitest";
import { buildQuery } from "./api";
import { otlpEndpoint, pythonSnippet } from "./snippet";
import { isRangeId, rangeStart } from "./timeRange";

describe("buildQuery", () => {
  it("drops empty values", () => {
    expect(buildQuery({ limit: 50, cursor: null, search: "", has_error: true, sort: undefined })).toBe(
      "?limit=50&has_error=true",
    );
    expect(buildQuery({})).toBe("");
  });
  it("encodes", () => {
    expect(buildQuery({ search: "a&b c" })).toBe("?search=a%26b+c");
  });
});

describe("time ranges", () => {
  it("computes ISO starts", () => {
    const now = Date.UTC(2026, 0, 2, 12, 0, 0);
    expect(rangeStart("1h", now)).toBe("2026-01-02T11:00:00.000Z");
    expect(rangeStart("7d", now)).toBe("2025-12-26T12:00:00.000Z");
    expect(rangeStart("all", now)).toBeNull();
  });
  it("validates ids", () => {
    expect(isRangeId("24h")).toBe(true);
    expect(isRangeId("2y")).toBe(false);
    expect(isRangeId(null)).toBe(false);
  });
});

describe("snippet", () => {
  it("points at this host on port 4318", () => {
    expect(otlpEndpoint({ protocol: "http:", hostname: "otelguard.internal" })).toBe("http://otelguard.internal:4318");
    expect(otlpEndpoint({ protocol: "https:", hostname: "::1" })).toBe("https://[::1]:4318");
    const code = pythonSnippet("http://h:4318", "k-123");
    expect(code).toContain('endpoint="http://h:4318/v1/traces"');
    expect(code).toContain("Bearer k-123");
  });
});
