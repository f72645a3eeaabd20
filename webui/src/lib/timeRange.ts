/** Time-range presets of the traces page; `start` is computed when the query runs. */

export const RANGE_PRESETS = [
  { id: "15m", label: "Last 15 minutes", short: "15m", ms: 15 * 60_000 },
  { id: "1h", label: "Last hour", short: "1h", ms: 3_600_000 },
  { id: "24h", label: "Last 24 hours", short: "24h", ms: 86_400_000 },
  { id: "7d", label: "Last 7 days", short: "7d", ms: 7 * 86_400_000 },
  { id: "30d", label: "Last 30 days", short: "30d", ms: 30 * 86_400_000 },
  { id: "all", label: "All time", short: "All", ms: null },
] as const;

export type RangeId = (typeof RANGE_PRESETS)[number]["id"];
export const DEFAULT_RANGE: RangeId = "7d";

export function isRangeId(v: string | null): v is RangeId {
  return RANGE_PRESETS.some((p) => p.id === v);
}

/** ISO start for the preset, or null for "all". */
export function rangeStart(id: RangeId, now: number = Date.now()): string | null {
  const preset = RANGE_PRESETS.find((p) => p.id === id);
  return preset?.ms == null ? null : new Date(now - preset.ms).toISOString();
}
