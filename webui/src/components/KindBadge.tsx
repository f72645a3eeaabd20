import { KIND_ICONS } from "./Icons";

const LABELS: Record<string, string> = {
  llm: "LLM",
  tool: "Tool",
  agent: "Agent",
  chain: "Chain",
  retriever: "Retriever",
  embedding: "Embedding",
  guardrail: "Guardrail",
  evaluator: "Evaluator",
  other: "Span",
};

export function kindOf(kind: string): string {
  return kind in LABELS ? kind : "other";
}

export function KindBadge({ kind, iconOnly = false }: { kind: string; iconOnly?: boolean }) {
  const k = kindOf(kind);
  const Icon = KIND_ICONS[k] ?? KIND_ICONS.other!;
  return (
    <span className={`kind kind-${k}${iconOnly ? " kind-icon-only" : ""}`} title={LABELS[k]} data-kind={k}>
      <Icon width={12} height={12} />
      {!iconOnly && <span>{LABELS[k]}</span>}
    </span>
  );
}
