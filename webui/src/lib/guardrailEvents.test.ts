import { describe, expect, it } from "vitest";
import { buildQuery } from "./api";
import { activeEventFilters, eventQueryParams } from "./guardrailEvents";

describe("guardrail event filters", () => {
  const now = Date.UTC(2026, 0, 8, 12, 0, 30);
  it("maps the URL to API params", () => {
    const p = eventQueryParams(new URLSearchParams("range=24h&policy=pii-policy&stage=input&shadow=true&verdict=block"), now);
    expect(p.rangeId).toBe("24h");
    expect(p.start).toBe("2026-01-07T12:00:00.000Z");
    const { rangeId: _r, ...api } = p;
    expect(buildQuery(api)).toBe("?start=2026-01-07T12%3A00%3A00.000Z&policy=pii-policy&stage=input&verdict=block&shadow=true");
  });
  it("defaults to 7 days, drops bad enum values, all time has no start", () => {
    const p = eventQueryParams(new URLSearchParams("stage=bogus&verdict=&validator= pii "), now);
    expect(p.rangeId).toBe("7d");
    expect(p.stage).toBeNull();
    expect(p.validator).toBe("pii");
    expect(eventQueryParams(new URLSearchParams("range=all"), now).start).toBeNull();
  });
  it("counts active filters", () => {
    expect(activeEventFilters(new URLSearchParams("range=24h"))).toBe(0);
    expect(activeEventFilters(new URLSearchParams("policy=a&shadow=false&trace_id="))).toBe(2);
  });
});
