/** The read API client: every call carries the signed-in key; errors become `ApiError`. */
import { getApiKey } from "./auth";

export interface TraceSummary {
  trace_id: string;
  name: string;
  start_time: number;
  end_time: number;
  latency_ms: number;
  user_id: string;
  session_id: string;
  models: string[];
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  total_cost: number;
  span_count: number;
  error_count: number;
  tags: string[];
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface SpanNode {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  name: string;
  kind: string;
  otel_kind: string;
  start_time: number;
  end_time: number;
  latency_ms: number;
  status_code: string;
  status_message: string;
  service_name: string;
  scope_name: string;
  provider: string;
  model: string;
  request_model: string;
  usage: Record<string, number>;
  cost: Record<string, number>;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  total_cost: number;
  cost_source: string;
  user_id: string;
  session_id: string;
  tags: string[];
  prompt_name: string;
  prompt_version: number;
  input: string;
  output: string;
  input_size: number;
  output_size: number;
  input_truncated: boolean;
  output_truncated: boolean;
  error_type: string;
  error_message: string;
  attributes: Record<string, string>;
  resource_attributes: Record<string, string>;
  events: unknown[];
  children: SpanNode[];
}

export interface TraceDetail extends TraceSummary {
  span_counts_by_kind: Record<string, number>;
  spans_truncated: boolean;
  spans: SpanNode[];
}

export interface SessionSummary {
  session_id: string;
  trace_count: number;
  first_time: number;
  last_time: number;
  duration_ms: number;
  total_cost: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  error_count: number;
  user_count: number;
  user_ids: string[];
}

export interface UserSummary {
  user_id: string;
  trace_count: number;
  session_count: number;
  total_cost: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  error_count: number;
  error_rate: number;
  guardrail_hits: number;
  first_seen: number;
  last_seen: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export type Params = Record<string, string | number | boolean | null | undefined>;

export function buildQuery(params: Params): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === "") continue;
    qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `?${s}` : "";
}

export async function apiGet<T>(path: string, params: Params = {}, key = getApiKey()): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}${buildQuery(params)}`, {
      headers: key ? { authorization: `Bearer ${key}`, accept: "application/json" } : {},
    });
  } catch {
    throw new ApiError(0, "Cannot reach the OTelGuard API. Is the server running?");
  }
  if (!res.ok) {
    let detail = res.statusText || `HTTP ${res.status}`;
    try {
      const body: unknown = await res.json();
      if (body && typeof body === "object" && "detail" in body) {
        const d = (body as { detail: unknown }).detail;
        detail = typeof d === "string" ? d : JSON.stringify(d);
      }
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, detail);
  }
  return (await res.json()) as T;
}

/** An `ApiError` that keeps the response's `detail` as sent (e.g. the prompt compiler's structured 422). */
export class ApiDetailError extends ApiError {
  constructor(
    status: number,
    message: string,
    readonly detail: unknown,
  ) {
    super(status, message);
  }
}

export async function apiPost<T>(path: string, body: unknown, params: Params = {}, key = getApiKey()): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}${buildQuery(params)}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "Cannot reach the OTelGuard API. Is the server running?");
  }
  if (!res.ok) {
    let detail: unknown = res.statusText || `HTTP ${res.status}`;
    try {
      const parsed: unknown = await res.json();
      if (parsed && typeof parsed === "object" && "detail" in parsed) detail = (parsed as { detail: unknown }).detail;
    } catch {
      /* not JSON */
    }
    const message =
      typeof detail === "string"
        ? detail
        : detail && typeof detail === "object" && "message" in detail
          ? String((detail as { message: unknown }).message)
          : JSON.stringify(detail);
    throw new ApiDetailError(res.status, message, detail);
  }
  return (await res.json()) as T;
}
