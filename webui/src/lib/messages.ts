/** Recognise chat messages in a span's input/output text: OTel GenAI `[{role, parts:[{type:"text", content}]}]`,
 * OpenAI-style `[{role, content}]` (content a string or a list of parts), `{messages:[...]}` and a single
 * `{role, ...}` message. Anything else is shown as JSON or text. */

export type MessagePart =
  | { type: "text"; text: string }
  | { type: "tool_call"; name: string; id?: string; arguments: unknown }
  | { type: "tool_result"; id?: string; result: unknown }
  | { type: "other"; value: unknown };

export interface ChatMessage {
  role: string;
  name?: string;
  parts: MessagePart[];
}

export type Payload =
  | { kind: "empty" }
  | { kind: "messages"; messages: ChatMessage[] }
  | { kind: "json"; value: unknown }
  | { kind: "text"; text: string };

export function parsePayload(text: string | null | undefined): Payload {
  if (text == null || text.trim() === "") return { kind: "empty" };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "text", text };
  }
  if (typeof value === "string") return { kind: "text", text: value };
  const messages = toMessages(value);
  if (messages) return { kind: "messages", messages };
  return { kind: "json", value };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function toMessages(value: unknown): ChatMessage[] | null {
  if (isObject(value) && Array.isArray(value.messages)) return toMessages(value.messages);
  if (isObject(value) && typeof value.role === "string") return toMessages([value]);
  if (!Array.isArray(value) || value.length === 0) return null;
  const out: ChatMessage[] = [];
  for (const item of value) {
    if (!isObject(item) || typeof item.role !== "string") return null;
    const msg: ChatMessage = { role: item.role, parts: [] };
    if (typeof item.name === "string") msg.name = item.name;
    if (Array.isArray(item.parts)) msg.parts.push(...item.parts.map(toPart));
    if (typeof item.content === "string") msg.parts.push({ type: "text", text: item.content });
    else if (Array.isArray(item.content)) msg.parts.push(...item.content.map(toPart));
    else if (item.content != null && !Array.isArray(item.parts)) msg.parts.push({ type: "other", value: item.content });
    if (Array.isArray(item.tool_calls)) {
      for (const call of item.tool_calls) {
        const fn = isObject(call) && isObject(call.function) ? call.function : call;
        msg.parts.push({
          type: "tool_call",
          name: isObject(fn) && typeof fn.name === "string" ? fn.name : "tool",
          id: isObject(call) && typeof call.id === "string" ? call.id : undefined,
          arguments: isObject(fn) ? parseMaybeJson(fn.arguments) : fn,
        });
      }
    }
    out.push(msg);
  }
  return out;
}

function toPart(part: unknown): MessagePart {
  if (typeof part === "string") return { type: "text", text: part };
  if (!isObject(part)) return { type: "other", value: part };
  const type = typeof part.type === "string" ? part.type : "";
  if (type === "text" || type === "input_text" || type === "output_text" || (type === "" && "text" in part)) {
    const text = typeof part.content === "string" ? part.content : typeof part.text === "string" ? part.text : "";
    return { type: "text", text };
  }
  if (type === "tool_call" || type === "function_call" || type === "tool_use") {
    return {
      type: "tool_call",
      name: typeof part.name === "string" ? part.name : "tool",
      id: typeof part.id === "string" ? part.id : undefined,
      arguments: parseMaybeJson(part.arguments ?? part.input),
    };
  }
  if (type === "tool_call_response" || type === "tool_result") {
    return {
      type: "tool_result",
      id: typeof part.id === "string" ? part.id : typeof part.tool_use_id === "string" ? part.tool_use_id : undefined,
      result: parseMaybeJson(part.response ?? part.result ?? part.content),
    };
  }
  return { type: "other", value: part };
}

function parseMaybeJson(v: unknown): unknown {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}
