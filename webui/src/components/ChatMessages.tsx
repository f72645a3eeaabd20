/** Input/output of a span: chat bubbles for message lists, a JSON tree for other JSON, text otherwise. */
import { parsePayload, type ChatMessage, type MessagePart } from "../lib/messages";
import { CopyButton } from "./CopyButton";
import { JsonViewer } from "./JsonViewer";

function Part({ part }: { part: MessagePart }) {
  switch (part.type) {
    case "text":
      return <div className="msg-text">{part.text}</div>;
    case "tool_call":
      return (
        <div className="msg-tool">
          <div className="msg-tool-head">
            Tool call <code>{part.name}</code>
            {part.id && <span className="muted"> · {part.id}</span>}
          </div>
          <JsonViewer value={part.arguments ?? {}} defaultOpen={2} />
        </div>
      );
    case "tool_result":
      return (
        <div className="msg-tool">
          <div className="msg-tool-head">Tool result{part.id && <span className="muted"> · {part.id}</span>}</div>
          {typeof part.result === "string" ? (
            <div className="msg-text">{part.result}</div>
          ) : (
            <JsonViewer value={part.result} defaultOpen={2} />
          )}
        </div>
      );
    default:
      return <JsonViewer value={part.value} defaultOpen={1} />;
  }
}

export function Message({ message }: { message: ChatMessage }) {
  const role = message.role.toLowerCase();
  const cls = ["system", "user", "assistant", "tool"].includes(role) ? role : "other";
  return (
    <div className={`msg msg-${cls}`} data-role={role}>
      <div className="msg-role">
        {message.role}
        {message.name && <span className="muted"> · {message.name}</span>}
      </div>
      {message.parts.length === 0 ? <div className="msg-text muted">(empty)</div> : message.parts.map((p, i) => <Part key={i} part={p} />)}
    </div>
  );
}

export function PayloadView({ title, text, truncated }: { title: string; text: string; truncated?: boolean }) {
  const payload = parsePayload(text);
  return (
    <section className="payload" aria-label={title}>
      <header className="section-head">
        <h4>{title}</h4>
        {truncated && <span className="pill pill-warn">truncated</span>}
        <span className="spacer" />
        {payload.kind !== "empty" && <CopyButton text={text} label={`Copy ${title.toLowerCase()}`} compact />}
      </header>
      {payload.kind === "empty" && <div className="muted small">No {title.toLowerCase()} recorded.</div>}
      {payload.kind === "text" && <pre className="payload-text">{payload.text}</pre>}
      {payload.kind === "json" && <JsonViewer value={payload.value} defaultOpen={2} />}
      {payload.kind === "messages" && (
        <div className="messages">
          {payload.messages.map((m, i) => (
            <Message key={i} message={m} />
          ))}
        </div>
      )}
    </section>
  );
}
