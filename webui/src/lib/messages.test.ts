import { describe, expect, it } from "vitest";
import { parsePayload } from "./messages";

describe("parsePayload", () => {
  it("reads the OTel GenAI parts format", () => {
    const p = parsePayload(
      JSON.stringify([
        { role: "system", parts: [{ type: "text", content: "Be brief." }] },
        { role: "user", parts: [{ type: "text", content: "Where is my order?" }] },
        { role: "assistant", parts: [{ type: "tool_call", id: "c1", name: "lookup_order", arguments: { id: 42 } }] },
        { role: "tool", parts: [{ type: "tool_call_response", id: "c1", response: "shipped" }] },
      ]),
    );
    expect(p.kind).toBe("messages");
    if (p.kind !== "messages") return;
    expect(p.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool"]);
    expect(p.messages[1]!.parts).toEqual([{ type: "text", text: "Where is my order?" }]);
    expect(p.messages[2]!.parts[0]).toEqual({ type: "tool_call", id: "c1", name: "lookup_order", arguments: { id: 42 } });
    expect(p.messages[3]!.parts[0]).toEqual({ type: "tool_result", id: "c1", result: "shipped" });
  });

  it("reads plain {role, content} and OpenAI tool calls", () => {
    const p = parsePayload(
      JSON.stringify([
        { role: "user", content: "hi" },
        { role: "assistant", content: null, tool_calls: [{ id: "t", function: { name: "f", arguments: '{"x":1}' } }] },
        { role: "user", content: [{ type: "text", text: "and this" }] },
      ]),
    );
    expect(p.kind).toBe("messages");
    if (p.kind !== "messages") return;
    expect(p.messages[0]!.parts).toEqual([{ type: "text", text: "hi" }]);
    expect(p.messages[1]!.parts).toEqual([{ type: "tool_call", id: "t", name: "f", arguments: { x: 1 } }]);
    expect(p.messages[2]!.parts).toEqual([{ type: "text", text: "and this" }]);
  });

  it("reads {messages: [...]} and a single message", () => {
    expect(parsePayload('{"messages":[{"role":"user","content":"q"}],"model":"m"}').kind).toBe("messages");
    const one = parsePayload('{"role":"assistant","content":"a"}');
    expect(one.kind === "messages" && one.messages.length).toBe(1);
  });

  it("falls back to JSON, text and empty", () => {
    expect(parsePayload('{"query":"x"}')).toEqual({ kind: "json", value: { query: "x" } });
    expect(parsePayload("[1,2]")).toEqual({ kind: "json", value: [1, 2] });
    expect(parsePayload('[{"role":"user"},{"nope":1}]').kind).toBe("json");
    expect(parsePayload("plain words")).toEqual({ kind: "text", text: "plain words" });
    expect(parsePayload('"a json string"')).toEqual({ kind: "text", text: "a json string" });
    expect(parsePayload("")).toEqual({ kind: "empty" });
    expect(parsePayload(null)).toEqual({ kind: "empty" });
    expect(parsePayload("[]")).toEqual({ kind: "json", value: [] });
  });
});
