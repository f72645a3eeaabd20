/** The guardrail events page: API item shape and URL filter state → `/api/v1/guardrail-events` params. */

export interface GuardrailEvent {
  id: string;
  trace_id: string;
  span_id: string;
  timestamp: number; // ns
  policy: string;
  policy_version: string;
  rule: string;
  validator: string;
  stage: string;
  action: string;
  verdict: string;
  findings: Record<string, unknown>[];
  latency_us: number;
  shadow: boolean;
}

export const EVENT_RANGES = [
  { id: "24h", short: "24h", label: "Last 24 hours", ms: 86_400_000 },
  { id: "7d", short: "7d", label: "Last 7 days", ms: 7 * 86_400_000 },
  { id: "30d", short: "30d", label: "Last 30 days", ms: 30 * 86_400_000 },
  { id: "all", short: "All", label: "All time", ms: null },
] as const;

/** URL keys that are filters (the range is not: it always has a value). */
export const EVENT_FILTER_KEYS = ["policy", "validator", "action", "stage", "verdict", "shadow", "trace_id"] as const;

const ENUMS: Record<string, readonly string[]> = {
  stage: ["input", "output", "ingest"],
  verdict: ["pass", "flag", "block"],
  shadow: ["true", "false"],
};

/** API params from the URL; unknown enum values are dropped rather than sent (the API would 422). */
export function eventQueryParams(url: URLSearchParams, now: number = Date.now()) {
  const range = EVENT_RANGES.find((r) => r.id === url.get("range")) ?? EVENT_RANGES[1];
  const out: Record<string, string | null> & { rangeId: string } = {
    rangeId: range.id,
    start: range.ms === null ? null : new Date(Math.floor(now / 60_000) * 60_000 - range.ms).toISOString(),
  };
  for (const k of EVENT_FILTER_KEYS) {
    const v = url.get(k)?.trim() ?? "";
    out[k] = v && (!ENUMS[k] || ENUMS[k].includes(v)) ? v : null;
  }
  const { rangeId, ...params } = out;
  return Object.assign(params, { rangeId }) as typeof out;
}

export function activeEventFilters(url: URLSearchParams): number {
  return EVENT_FILTER_KEYS.filter((k) => (url.get(k) ?? "").trim() !== "").length;
}
