/** One prompt: labels → versions, the version timeline (generation, git revision), the selected version's
 * template and model config, a side-by-side diff of two versions, a rendered preview from a variable form,
 * and usage per version with regression badges on label moves. Read-only: the write path is git. */
import { useMutation, useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState, type FormEvent, type ReactNode } from "react";
import { Link, useParams } from "react-router";
import { ApiDetailError, ApiError, apiGet, apiPost, type Params } from "../lib/api";
import { bucketMs } from "../lib/chart";
import { formatCost, formatDuration, formatPercent, formatRelative, formatTimestamp, formatTokens } from "../lib/format";
import { costTick, gridFor, sum, windowFor, type MetricResult } from "../lib/metrics";
import {
  compileProblem,
  describeFinding,
  diffCounts,
  diffPair,
  emptyRequired,
  formatChange,
  formFor,
  formToVariables,
  highlightTemplate,
  inlineChange,
  latestMoves,
  orderedLabels,
  parseUnifiedDiff,
  provenance,
  shortHash,
  sideBySide,
  toNs,
  versionSeries,
  type CompileProblem,
  type CompileResult,
  type DiffCell,
  type FieldChange,
  type LabelMove,
  type PromptDiff,
  type PromptMessage,
  type PromptRegressions,
  type PromptSummary,
  type PromptUsage,
  type PromptVersionBody,
  type Timeline,
  type TimelineItem,
  type VariableForm,
} from "../lib/prompts";
import { useUrlState } from "../lib/useUrlState";
import { ChartCard, TimeChart } from "../components/Chart";
import { CopyButton } from "../components/CopyButton";
import { IconAlert, IconArrowLeft, IconDiff, IconFolder } from "../components/Icons";
import { Skeleton } from "../components/Skeleton";
import { LabelChip } from "./Prompts";
import "../prompts.css";

type Tab = "template" | "preview" | "diff" | "usage";
const TABS: { id: Tab; label: string }[] = [
  { id: "template", label: "Template" },
  { id: "preview", label: "Preview" },
  { id: "diff", label: "Diff" },
  { id: "usage", label: "Usage" },
];
const USAGE_RANGES = [
  { id: "24h", label: "Last 24 hours", ms: 86_400_000, bucket: "1h" },
  { id: "7d", label: "Last 7 days", ms: 7 * 86_400_000, bucket: "1h" },
  { id: "30d", label: "Last 30 days", ms: 30 * 86_400_000, bucket: "1d" },
] as const;

const fmtCount = (v: number) => Math.round(v).toLocaleString("en-US");
const versionColor = (v: number) => `var(--series-${((v - 1) % 7) + 1})`;
const when = (iso: string | number | null | undefined) => {
  const ns = toNs(iso);
  return ns === null ? "–" : <span title={formatTimestamp(ns)}>{formatRelative(ns)}</span>;
};

export function PromptDetail() {
  const { name = "" } = useParams();
  const [params, update] = useUrlState();
  const namespace = params.get("namespace") ?? undefined;
  const ns: Params = namespace ? { namespace } : {};
  const path = `/prompts/${encodeURIComponent(name)}`;
  const tab = (TABS.find((t) => t.id === params.get("tab"))?.id ?? "template") as Tab;

  const timeline = useQuery({ queryKey: ["prompt", name, namespace, "versions"], queryFn: () => apiGet<Timeline>(`${path}/versions`, ns) });
  const regressions = useQuery({
    queryKey: ["prompt", name, namespace, "regressions"],
    queryFn: () => apiGet<PromptRegressions>(`${path}/regressions`, ns),
    enabled: timeline.isSuccess,
  });
  const items = timeline.data?.items ?? [];
  const labels = timeline.data?.labels ?? {};
  const requested = Number(params.get("v"));
  const selected = items.some((i) => i.version === requested) ? requested : (labels.production ?? items[0]?.version ?? 0);
  const version = useQuery({
    queryKey: ["prompt", name, namespace, "version", selected],
    queryFn: () => apiGet<PromptVersionBody>(path, { ...ns, version: selected }),
    enabled: selected > 0,
  });
  const moves = useMemo(() => latestMoves(regressions.data?.moves ?? []), [regressions.data]);
  // The version body has no description (it is not versioned content): the list entry has it.
  const summary = useQuery({
    queryKey: ["prompts", "named", name],
    queryFn: () => apiGet<{ items: PromptSummary[] }>("/prompts", { name, limit: 1000 }),
    select: (d) => d.items.find((p) => p.name === name && (!namespace || p.namespace === namespace)),
  });

  const select = (v: number) => update({ v: String(v) });
  const compare = (a: number, b: number) => {
    const pair = diffPair(a, b);
    if (pair) update({ tab: "diff", from: String(pair.from), to: String(pair.to) });
  };

  if (timeline.error) {
    const status = timeline.error instanceof ApiError ? timeline.error.status : 0;
    return (
      <div className="page">
        <Link to="/prompts" className="back">
          <IconArrowLeft /> Prompts
        </Link>
        <div className="card empty" data-testid="prompt-error">
          <h3>{status === 404 ? `No prompt named “${name}”` : "This prompt could not be loaded"}</h3>
          <p className="muted">{status === 404 ? "It may have been deleted from git, or the name is misspelled." : timeline.error.message}</p>
          <Link to="/prompts" className="btn">
            All prompts
          </Link>
        </div>
      </div>
    );
  }

  const body = version.data;
  return (
    <div className="page page-prompt">
      <Link to="/prompts" className="back">
        <IconArrowLeft /> Prompts
      </Link>
      <header className="prompt-head">
        <div className="prompt-head-main">
          {body?.folder && (
            <div className="prompt-folder">
              <IconFolder width={13} height={13} />
              <Link to={`/prompts?folder=${encodeURIComponent(body.folder)}`}>{body.folder}</Link>
            </div>
          )}
          <div className="prompt-title">
            <h1>{name}</h1>
            {body && <span className={`pill pill-type pill-${body.type}`}>{body.type}</span>}
            {namespace && <span className="pill pill-mono">{namespace}</span>}
          </div>
          {summary.data?.description && <p className="muted prompt-desc-lead">{summary.data.description}</p>}
          {body && body.tags.length > 0 && (
            <div className="pills prompt-tags">
              {body.tags.map((t) => (
                <Link key={t} to={`/prompts?tag=${encodeURIComponent(t)}`} className="pill pill-tag">
                  {t}
                </Link>
              ))}
            </div>
          )}
        </div>
        <div className="prompt-labels" aria-label="Labels" data-testid="prompt-labels">
          <div className="stat-label">Labels</div>
          <div className="label-rows">
            {timeline.isPending ? (
              <Skeleton width={180} height={22} />
            ) : orderedLabels(labels).length === 0 ? (
              <span className="faint small">No labels: set spec.labels to release a version</span>
            ) : (
              orderedLabels(labels).map(([l, v]) => (
                <span key={l} className="label-row">
                  <LabelChip label={l} version={v} onClick={() => select(v)} active={v === selected} />
                  <RegressionBadge move={moves.get(l)} detailed />
                </span>
              ))
            )}
          </div>
        </div>
      </header>

      <div className="prompt-layout">
        <VersionTimeline items={items} loading={timeline.isPending} selected={selected} onSelect={select} onCompare={compare} regressions={regressions.data?.moves ?? []} />
        <section className="prompt-main">
          <div className="tabs" role="tablist" aria-label="Prompt views">
            {TABS.map((t) => (
              <button
                key={t.id}
                type="button"
                role="tab"
                aria-selected={t.id === tab}
                className={`tab${t.id === tab ? " active" : ""}`}
                onClick={() => update({ tab: t.id === "template" ? null : t.id })}
              >
                {t.label}
              </button>
            ))}
          </div>
          {tab === "template" && <TemplateView body={body} loading={version.isPending} />}
          {tab === "preview" && <PreviewView body={body} loading={version.isPending} path={path} ns={ns} />}
          {tab === "diff" && <DiffView items={items} path={path} ns={ns} selected={selected} from={Number(params.get("from"))} to={Number(params.get("to"))} onPick={(f, t) => update({ from: String(f), to: String(t) })} />}
          {tab === "usage" && <UsageView name={name} path={path} ns={ns} labels={labels} moves={regressions.data?.moves} movesError={regressions.isError} />}
        </section>
      </div>
    </div>
  );
}

// ---------- labels and regressions ----------

function RegressionBadge({ move, detailed = false }: { move: LabelMove | undefined; detailed?: boolean }) {
  if (!move || move.from_version == null) return null; // a new label has no baseline to compare with
  const findings = move.regressions.map(describeFinding).join(", ");
  const from = `v${move.from_version} → `;
  if (move.status === "regression")
    return (
      <span className="reg-badge reg-bad" title={`${move.label} moved ${from}v${move.to_version}: ${findings || "worse than the previous version"}`} data-testid={detailed ? `regression-${move.label}` : undefined}>
        <IconAlert width={12} height={12} /> Regression{detailed && findings ? `: ${findings}` : ""}
      </span>
    );
  if (move.status === "ok")
    return (
      <span className="reg-badge reg-ok" title={`${move.label} moved ${from}v${move.to_version}: no regression against the previous version`}>
        Healthy
      </span>
    );
  return (
    <span className="reg-badge reg-wait" title={`${move.label} moved ${from}v${move.to_version}: not enough traces yet to compare`}>
      Gathering data
    </span>
  );
}

// ---------- version timeline ----------

function VersionTimeline({
  items,
  loading,
  selected,
  onSelect,
  onCompare,
  regressions,
}: {
  items: TimelineItem[];
  loading: boolean;
  selected: number;
  onSelect: (v: number) => void;
  onCompare: (a: number, b: number) => void;
  regressions: LabelMove[];
}) {
  return (
    <aside className="card timeline" aria-label="Version timeline">
      <header className="timeline-head">
        <h3>Versions</h3>
        {!loading && <span className="faint small">{items.length}</span>}
      </header>
      {loading ? (
        <div className="timeline-skeleton">
          {[0, 1, 2].map((i) => (
            <Skeleton key={i} height={40} />
          ))}
        </div>
      ) : (
        <ol className="timeline-list">
          {items.map((it) => {
            const active = it.version === selected;
            const moved = regressions.filter((m) => m.to_version === it.version);
            return (
              <li key={it.version} className={`timeline-item${active ? " active" : ""}`} data-testid={`version-${it.version}`}>
                <span className="timeline-dot" style={{ borderColor: versionColor(it.version) }} />
                <button type="button" className="timeline-body" onClick={() => onSelect(it.version)} aria-current={active ? "true" : undefined} aria-label={`Version ${it.version}`}>
                  <span className="timeline-row">
                    <span className="version-tag">v{it.version}</span>
                    {it.labels.map((l) => (
                      <LabelChip key={l} label={l} />
                    ))}
                    <span className="spacer" />
                    <span className="faint small nowrap">{when(it.createdAt)}</span>
                  </span>
                  <span className="timeline-meta">
                    {provenance(it, false) || "created"} · <span className="mono">#{shortHash(it.hash)}</span>
                  </span>
                  {moved.map((m) => (
                    <span key={`${m.label}-${m.from_version}`} className="timeline-move">
                      <span className="move-arrow">↳</span>
                      <strong>{m.label}</strong>
                      {m.from_version != null ? `moved from v${m.from_version}` : "set here"}
                      <RegressionBadge move={m} />
                    </span>
                  ))}
                </button>
                {!active && selected > 0 && (
                  <button type="button" className="btn btn-ghost btn-sm timeline-compare" onClick={() => onCompare(it.version, selected)} title={`Diff v${it.version} against v${selected}`}>
                    <IconDiff width={13} height={13} /> Diff with v{selected}
                  </button>
                )}
              </li>
            );
          })}
        </ol>
      )}
    </aside>
  );
}

// ---------- template view ----------

function Highlighted({ source }: { source: string }) {
  return (
    <>
      {highlightTemplate(source).map((s, i) =>
        s.kind === "text" ? (
          s.text
        ) : (
          <span key={i} className={`tpl-${s.kind}`}>
            {s.text}
          </span>
        ),
      )}
    </>
  );
}

function TemplateCode({ source }: { source: string }) {
  const lines = source.replace(/\n$/, "").split("\n");
  return (
    <div className="template-code" data-testid="template-code">
      {lines.map((l, i) => (
        <div key={i} className="code-line">
          <span className="code-no">{i + 1}</span>
          <span className="code-text">{l ? <Highlighted source={l} /> : " "}</span>
        </div>
      ))}
    </div>
  );
}

function ChatTemplate({ messages, highlight = true }: { messages: PromptMessage[]; highlight?: boolean }) {
  return (
    <div className="messages">
      {messages.map((m, i) => {
        const role = ["system", "user", "assistant", "tool"].includes(m.role) ? m.role : "other";
        return (
          <div key={i} className={`msg msg-${role}`} data-role={m.role}>
            <div className="msg-role">{m.role}</div>
            <div className="msg-text">{highlight ? <Highlighted source={m.content} /> : m.content}</div>
          </div>
        );
      })}
    </div>
  );
}

function configValue(v: unknown): string {
  if (v === null || v === undefined) return "–";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

function TemplateView({ body, loading }: { body: PromptVersionBody | undefined; loading: boolean }) {
  if (loading || !body) return <PanelSkeleton />;
  const config = Object.entries(body.modelConfig ?? {});
  const source = body.template ?? (body.messages ?? []).map((m) => `# ${m.role}\n${m.content}`).join("\n\n");
  return (
    <div className="template-grid">
      <section className="card panel" aria-label="Template">
        <header className="panel-head">
          <h3>
            Version {body.version}
            {body.labels.map((l) => (
              <LabelChip key={l} label={l} />
            ))}
          </h3>
          <span className="spacer" />
          <CopyButton text={source} label="Copy template" />
        </header>
        <p className="panel-sub muted small">
          Created {when(body.createdAt)}
          {provenance(body) ? ` · ${provenance(body)}` : ""} · <span className="mono" title={body.hash}>#{shortHash(body.hash, 12)}</span>
        </p>
        {body.template !== undefined ? <TemplateCode source={body.template} /> : <ChatTemplate messages={body.messages ?? []} />}
      </section>
      <div className="side-stack">
        <section className="card panel" aria-label="Model config">
          <header className="panel-head">
            <h3>Model</h3>
          </header>
          {config.length === 0 ? (
            <p className="muted small">No model config in this version.</p>
          ) : (
            <dl className="kv">
              {config.map(([k, v]) => (
                <div key={k} className="kv-row">
                  <dt>{k}</dt>
                  <dd className={k === "model" ? "mono strong" : "mono"}>{configValue(v)}</dd>
                </div>
              ))}
            </dl>
          )}
        </section>
        <section className="card panel" aria-label="Variables">
          <header className="panel-head">
            <h3>Variables</h3>
            <span className="faint small">{body.variables.length}</span>
          </header>
          {body.variables.length === 0 ? (
            <p className="muted small">This version declares no variables.</p>
          ) : (
            <ul className="var-list">
              {body.variables.map((v) => (
                <li key={v.name}>
                  <div className="var-head">
                    <code className="tpl-expr">{v.name}</code>
                    {v.required ? <span className="pill pill-req">required</span> : v.default != null ? <span className="faint small">default “{v.default}”</span> : <span className="faint small">optional</span>}
                  </div>
                  {v.description && <div className="muted small">{v.description}</div>}
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </div>
  );
}

function PanelSkeleton() {
  return (
    <div className="card panel">
      <div className="timeline-skeleton">
        <Skeleton width="30%" height={18} />
        <Skeleton height={14} />
        <Skeleton height={14} />
        <Skeleton width="70%" height={14} />
      </div>
    </div>
  );
}

// ---------- preview ----------

type CompileOutcome = { ok: true; result: CompileResult } | { ok: false; problem: CompileProblem };

function PreviewView({ body, loading, path, ns }: { body: PromptVersionBody | undefined; loading: boolean; path: string; ns: Params }) {
  const [form, setForm] = useState<VariableForm>({});
  const variables = body?.variables ?? [];
  const versionKey = body ? `${body.name}@${body.version}` : "";
  useEffect(() => setForm((prev) => formFor(variables, prev)), [versionKey]); // eslint-disable-line react-hooks/exhaustive-deps
  const compile = useMutation({
    mutationFn: async (vars: Record<string, unknown>): Promise<CompileOutcome> => {
      try {
        return { ok: true, result: await apiPost<CompileResult>(`${path}/compile`, { variables: vars, version: body!.version }, ns) };
      } catch (e) {
        // A template the variables don't satisfy is the preview's answer, not a failure to toast.
        if (e instanceof ApiDetailError && e.status >= 400 && e.status < 500 && e.status !== 401) return { ok: false, problem: compileProblem(e.detail) };
        throw e;
      }
    },
  });
  useEffect(() => compile.reset(), [versionKey]); // eslint-disable-line react-hooks/exhaustive-deps
  if (loading || !body) return <PanelSkeleton />;

  const missing = compile.data?.ok === false ? compile.data.problem.missing : [];
  const pending = emptyRequired(variables, form);
  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    compile.mutate(formToVariables(form));
  };

  return (
    <div className="preview-grid">
      <form className="card panel" aria-label="Variables" onSubmit={submit} data-testid="preview-form">
        <header className="panel-head">
          <h3>Variables</h3>
          <span className="faint small">version {body.version}</span>
        </header>
        {variables.length === 0 && <p className="muted small">This version declares no variables: render it as it is.</p>}
        <div className="var-form">
          {variables.map((v) => (
            <label key={v.name} className={`var-field${missing.includes(v.name) ? " invalid" : ""}`}>
              <span className="var-label">
                <code>{v.name}</code>
                {v.required && <span className="req" aria-label="required">*</span>}
                {v.description && <span className="faint small">{v.description}</span>}
              </span>
              <textarea
                rows={(form[v.name] ?? "").split("\n").length > 2 ? 4 : 2}
                value={form[v.name] ?? ""}
                placeholder={v.default != null ? `Default: ${v.default}` : v.required ? "Required" : "Optional"}
                aria-invalid={missing.includes(v.name) || undefined}
                onChange={(e) => setForm({ ...form, [v.name]: e.target.value })}
                onKeyDown={(e) => {
                  if (e.key === "Enter" && (e.metaKey || e.ctrlKey)) submit();
                }}
              />
            </label>
          ))}
        </div>
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={compile.isPending}>
            {compile.isPending ? "Rendering…" : "Render preview"}
          </button>
          {variables.length > 0 && (
            <button type="button" className="btn btn-ghost" onClick={() => setForm(formFor(variables))}>
              Reset
            </button>
          )}
          <span className="spacer" />
          {pending.length > 0 && <span className="faint small nowrap">{pending.length} required left</span>}
        </div>
        <p className="faint small">JSON arrays and objects are passed as lists and mappings (for loops). Ctrl+Enter renders.</p>
      </form>
      <section className="card panel" aria-label="Rendered output" data-testid="preview-output">
        <header className="panel-head">
          <h3>Rendered</h3>
          <span className="spacer" />
          {compile.data?.ok && (
            <CopyButton text={compile.data.result.text ?? JSON.stringify(compile.data.result.messages ?? [], null, 2)} label="Copy output" />
          )}
        </header>
        {!compile.data && <div className="preview-empty muted">Fill in the variables and render to see exactly what the model receives.</div>}
        {compile.data?.ok === false && (
          <div className="error-box" role="alert" data-testid="preview-error">
            <IconAlert />
            <div>
              <div className="error-title">{compile.data.problem.missing.length ? "Missing variables" : "Cannot render this version"}</div>
              <div>{compile.data.problem.message}</div>
              {compile.data.problem.line != null && (
                <div className="muted small">
                  line {compile.data.problem.line}
                  {compile.data.problem.column != null ? `, column ${compile.data.problem.column}` : ""}
                </div>
              )}
            </div>
          </div>
        )}
        {compile.data?.ok && (
          <>
            {compile.data.result.text !== undefined ? (
              <pre className="payload-text rendered" data-testid="rendered-text">
                {compile.data.result.text}
              </pre>
            ) : (
              <div data-testid="rendered-messages">
                <ChatTemplate messages={compile.data.result.messages ?? []} highlight={false} />
              </div>
            )}
            <p className="faint small">
              v{compile.data.result.version} · #{shortHash(compile.data.result.hash)}
              {compile.data.result.includes.length > 0 ? ` · ${compile.data.result.includes.length} included prompt${compile.data.result.includes.length === 1 ? "" : "s"}` : ""}
            </p>
          </>
        )}
      </section>
    </div>
  );
}

// ---------- diff ----------

function Cell({ cell, other }: { cell: DiffCell | null; other: DiffCell | null }) {
  if (!cell) return <td className="diff-empty" colSpan={2} />;
  let text: ReactNode = cell.text || " ";
  if (cell.kind !== "context" && other && other.kind !== "context" && cell.text && other.text) {
    const a = cell.kind === "removed" ? cell.text : other.text;
    const b = cell.kind === "removed" ? other.text : cell.text;
    const c = inlineChange(a, b);
    const end = cell.kind === "removed" ? c.suffixA : c.suffixB;
    if (c.prefix < end)
      text = (
        <>
          {cell.text.slice(0, c.prefix)}
          <mark>{cell.text.slice(c.prefix, end)}</mark>
          {cell.text.slice(end)}
        </>
      );
  }
  return (
    <>
      <td className={`diff-no diff-${cell.kind}`}>{cell.no}</td>
      <td className={`diff-text diff-${cell.kind}`}>
        <span className="diff-sign">{cell.kind === "removed" ? "−" : cell.kind === "added" ? "+" : " "}</span>
        {text}
      </td>
    </>
  );
}

function SideBySide({ part, diff, from, to }: { part: string; diff: string; from: number; to: number }) {
  const hunks = useMemo(() => parseUnifiedDiff(diff), [diff]);
  const rows = useMemo(() => sideBySide(hunks), [hunks]);
  const counts = diffCounts(hunks);
  return (
    <section className="card diff-card" aria-label={`Diff of ${part}`}>
      <header className="diff-card-head">
        <code>{part}</code>
        <span className="diff-count add">+{counts.added}</span>
        <span className="diff-count del">−{counts.removed}</span>
      </header>
      <div className="diff-scroll">
        <table className="diff-table" data-testid="diff-table">
          <colgroup>
            <col className="diff-col-no" />
            <col />
            <col className="diff-col-no" />
            <col />
          </colgroup>
          <thead>
            <tr>
              <th colSpan={2}>v{from}</th>
              <th colSpan={2}>v{to}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) =>
              r.type === "hunk" ? (
                <tr key={i} className="diff-hunk">
                  <td colSpan={4}>{r.header}</td>
                </tr>
              ) : (
                <tr key={i}>
                  <Cell cell={r.left} other={r.right} />
                  <Cell cell={r.right} other={r.left} />
                </tr>
              ),
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Changes({ title, changes, keyName }: { title: string; changes: FieldChange[]; keyName: "path" | "name" }) {
  if (changes.length === 0) return null;
  return (
    <section className="card panel" aria-label={title}>
      <header className="panel-head">
        <h3>{title}</h3>
        <span className="faint small">
          {changes.length} change{changes.length === 1 ? "" : "s"}
        </span>
      </header>
      <table className="changes-table">
        <tbody>
          {changes.map((c) => (
            <tr key={String(c[keyName])}>
              <td>
                <span className={`op op-${c.op}`}>{c.op}</span>
              </td>
              <td className="mono strong">{c[keyName]}</td>
              <td className="mono change-from">{"from" in c ? configValue(c.from) : ""}</td>
              <td className="faint">{c.op === "changed" ? "→" : ""}</td>
              <td className="mono change-to">{"to" in c ? configValue(c.to) : ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function DiffView({ items, path, ns, selected, from, to, onPick }: { items: TimelineItem[]; path: string; ns: Params; selected: number; from: number; to: number; onPick: (from: number, to: number) => void }) {
  const versions = items.map((i) => i.version);
  // Default: the selected version against the one before it (or the next, for version 1).
  const fallback = diffPair(selected, versions.find((v) => v < selected) ?? versions.find((v) => v > selected) ?? selected);
  const pair = versions.includes(from) && versions.includes(to) && from !== to ? { from, to } : fallback;
  const diff = useQuery({
    queryKey: ["prompt", path, ns, "diff", pair?.from, pair?.to],
    queryFn: () => apiGet<PromptDiff>(`${path}/diff`, { ...ns, from: pair!.from, to: pair!.to }),
    enabled: pair !== null,
  });
  if (items.length === 0) return <PanelSkeleton />;
  if (!pair)
    return (
      <div className="card empty">
        <h3>Only one version so far</h3>
        <p className="muted">Edit the Prompt resource in git and the next reconcile stores version 2 — the diff shows here.</p>
      </div>
    );
  const picker = (value: number, onChange: (v: number) => void, label: string) => (
    <select aria-label={label} value={value} onChange={(e) => onChange(Number(e.target.value))}>
      {versions.map((v) => (
        <option key={v} value={v}>
          v{v}
          {items.find((i) => i.version === v)?.labels.length ? ` (${items.find((i) => i.version === v)!.labels.join(", ")})` : ""}
        </option>
      ))}
    </select>
  );
  const d = diff.data;
  const counts = d ? d.text.map((t) => diffCounts(parseUnifiedDiff(t.diff))).reduce((a, c) => ({ added: a.added + c.added, removed: a.removed + c.removed }), { added: 0, removed: 0 }) : null;
  return (
    <div className="diff-view" data-testid="diff-view">
      <div className="diff-toolbar card">
        <span className="muted">Compare</span>
        {/* Picking the version the other side shows swaps the sides rather than comparing a version with itself. */}
        <span className="select-inline">{picker(pair.from, (v) => onPick(v, v === pair.to ? pair.from : pair.to), "Older version")}</span>
        <span className="faint">→</span>
        <span className="select-inline">{picker(pair.to, (v) => onPick(v === pair.from ? pair.to : pair.from, v), "Newer version")}</span>
        <button type="button" className="btn btn-ghost btn-sm" onClick={() => onPick(pair.to, pair.from)} title="Swap sides">
          ⇄ Swap
        </button>
        <span className="spacer" />
        {counts && (
          <span className="diff-summary">
            <span className="diff-count add">+{counts.added}</span>
            <span className="diff-count del">−{counts.removed}</span>
            <span className="faint small">
              lines{d!.modelConfig.length ? ` · ${d!.modelConfig.length} model setting${d!.modelConfig.length === 1 ? "" : "s"}` : ""}
              {d!.variables.length ? ` · ${d!.variables.length} variable${d!.variables.length === 1 ? "" : "s"}` : ""}
            </span>
          </span>
        )}
      </div>
      {diff.isPending && <PanelSkeleton />}
      {diff.isError && (
        <div className="error-box">
          <IconAlert />
          <div>{diff.error.message}</div>
        </div>
      )}
      {d && (
        <>
          {d.kind.from !== d.kind.to && (
            <div className="card panel muted">
              The prompt changed from a {d.kind.from} prompt to a {d.kind.to} prompt.
            </div>
          )}
          {d.identical && (
            <div className="card empty">
              <h3>No differences</h3>
              <p className="muted">
                v{d.from.version} and v{d.to.version} have the same template, variables and model config.
              </p>
            </div>
          )}
          {d.text.map((t) => (
            <SideBySide key={t.part} part={t.part} diff={t.diff} from={d.from.version} to={d.to.version} />
          ))}
          <Changes title="Model config" changes={d.modelConfig} keyName="path" />
          <Changes title="Variables" changes={d.variables} keyName="name" />
        </>
      )}
    </div>
  );
}

// ---------- usage ----------

function UsageView({ name, path, ns, labels, moves, movesError }: { name: string; path: string; ns: Params; labels: Record<string, number>; moves: LabelMove[] | undefined; movesError: boolean }) {
  const [params, update] = useUrlState();
  const range = USAGE_RANGES.find((r) => r.id === params.get("range")) ?? USAGE_RANGES[0];
  const { start, end } = useMemo(() => windowFor(range.ms), [range.ms]);
  const iso = { from: new Date(start).toISOString(), to: new Date(end).toISOString() };
  const usage = useQuery({ queryKey: ["prompt", path, ns, "usage", iso.from], queryFn: () => apiGet<PromptUsage>(`${path}/usage`, { ...ns, ...iso }) });
  const metric = (m: string, agg: string) => ({
    queryKey: ["metrics", "prompt", m, agg, range.bucket, start],
    queryFn: () => apiGet<MetricResult>("/metrics", { metric: m, agg, scope: "generations", group_by: "prompt_version", bucket: range.bucket, start: iso.from, end: iso.to }),
  });
  const requests = useQuery(metric("requests", "count"));
  const latency = useQuery(metric("latency", "p95"));
  const cost = useQuery(metric("cost", "sum"));
  const grid = useMemo(() => gridFor(start, end, range.bucket), [start, end, range.bucket]);
  const step = bucketMs(range.bucket);
  const colored = (s: ReturnType<typeof versionSeries>) => s.map((x) => ({ ...x, color: versionColor(x.version) }));
  const reqSeries = useMemo(() => colored(versionSeries(requests.data, name, grid)), [requests.data, name, grid]);
  const latSeries = useMemo(() => colored(versionSeries(latency.data, name, grid, null)), [latency.data, name, grid]);
  const costSeries = useMemo(() => colored(versionSeries(cost.data, name, grid)), [cost.data, name, grid]);
  const rows = [...(usage.data?.versions ?? [])].sort((a, b) => b.version - a.version);
  const byVersion = new Map<number, string[]>();
  for (const [l, v] of Object.entries(labels)) byVersion.set(v, [...(byVersion.get(v) ?? []), l]);
  const scoreNames = [...new Set(rows.flatMap((r) => Object.keys(r.score_averages ?? {})))].sort();
  const noTraffic = requests.isSuccess && reqSeries.length === 0 && (usage.isError || rows.every((r) => r.spans === 0));

  return (
    <div className="usage-view">
      <div className="usage-toolbar">
        <p className="muted small">LLM calls made with this prompt, per version (spans carrying otelguard.prompt.name / .version).</p>
        <span className="spacer" />
        <div className="segmented" role="group" aria-label="Time range">
          {USAGE_RANGES.map((r) => (
            <button key={r.id} type="button" title={r.label} className={r.id === range.id ? "active" : ""} aria-pressed={r.id === range.id} onClick={() => update({ range: r.id === "24h" ? null : r.id })}>
              {r.id}
            </button>
          ))}
        </div>
      </div>

      {noTraffic ? (
        <div className="card empty onboarding" data-testid="usage-empty">
          <h2>No calls with this prompt in the {range.label.toLowerCase()}</h2>
          <p className="muted">Fetch the prompt with the SDK and render it inside its trace scope; every span started there is linked to the version.</p>
          <div className="code-card">
            <pre className="code">{`prompt = client.get_prompt("${name}", label="production")
with prompt.trace():   # spans carry otelguard.prompt.name / .version
    messages = prompt.compile(...)
    response = llm.chat(messages)`}</pre>
          </div>
        </div>
      ) : (
        <>
          <section className="card usage-table-card" aria-label="Usage per version">
            {usage.isError ? (
              <div className="panel muted small" data-testid="usage-unavailable">
                Per-version totals are not available from this server{usage.error instanceof ApiError && usage.error.status !== 404 ? `: ${usage.error.message}` : "."}
              </div>
            ) : (
              <div className="table-wrap flat">
                <table className="table" aria-label="Usage per version" data-testid="usage-table">
                  <thead>
                    <tr>
                      <th>Version</th>
                      <th className="num">Calls</th>
                      <th className="num">Traces</th>
                      <th className="num">p50</th>
                      <th className="num">p95</th>
                      <th className="num">Tokens</th>
                      <th className="num">Cost</th>
                      <th className="num">Errors</th>
                      <th className="num">Guardrail hits</th>
                      {scoreNames.map((s) => (
                        <th key={s} className="num">
                          {s}
                        </th>
                      ))}
                      <th className="num">Last seen</th>
                    </tr>
                  </thead>
                  <tbody>
                    {usage.isPending ? (
                      <tr>
                        <td colSpan={10 + scoreNames.length}>
                          <Skeleton />
                        </td>
                      </tr>
                    ) : (
                      rows.map((r) => (
                        <tr key={r.version} data-testid={`usage-v${r.version}`}>
                          <td>
                            <span className="pills">
                              <span className="swatch" style={{ background: versionColor(r.version) }} />
                              <span className="version-tag">v{r.version}</span>
                              {(byVersion.get(r.version) ?? []).map((l) => (
                                <LabelChip key={l} label={l} />
                              ))}
                            </span>
                          </td>
                          <td className="num">{fmtCount(r.spans)}</td>
                          <td className="num">{fmtCount(r.traces)}</td>
                          <td className="num">{formatDuration(r.latency_ms_p50)}</td>
                          <td className="num">{formatDuration(r.latency_ms_p95)}</td>
                          <td className="num">{formatTokens(r.total_tokens)}</td>
                          <td className="num">{formatCost(r.cost_usd)}</td>
                          <td className="num">
                            <span className={r.error_rate > 0 ? "text-error" : "faint"}>{formatPercent(r.error_rate)}</span>
                          </td>
                          <td className="num">{fmtCount(r.guardrail_hits)}</td>
                          {scoreNames.map((s) => (
                            <td key={s} className="num">
                              {r.score_averages?.[s] != null ? r.score_averages[s]!.toFixed(2) : "–"}
                            </td>
                          ))}
                          <td className="num">{when(r.last_seen)}</td>
                        </tr>
                      ))
                    )}
                  </tbody>
                </table>
              </div>
            )}
          </section>
          <div className="chart-grid">
            <ChartCard title="Calls per version" loading={requests.isPending} summary={`${fmtCount(sum(reqSeries.flatMap((s) => s.values)))} in the ${range.label.toLowerCase()}`}>
              <TimeChart label="prompt-requests" kind="bar" integer times={grid} bucketMs={step} formatValue={fmtCount} series={reqSeries} />
            </ChartCard>
            <ChartCard title="p95 latency per version" loading={latency.isPending}>
              <TimeChart label="prompt-latency" kind="line" times={grid} bucketMs={step} formatValue={(v) => formatDuration(v)} series={latSeries} />
            </ChartCard>
            <ChartCard title="Cost per version" loading={cost.isPending} summary={formatCost(sum(costSeries.flatMap((s) => s.values)), false)}>
              <TimeChart label="prompt-cost" kind="area" times={grid} bucketMs={step} formatValue={(v) => formatCost(v, false)} formatTick={costTick} series={costSeries} />
            </ChartCard>
            <LabelMoves moves={moves} error={movesError} />
          </div>
        </>
      )}
    </div>
  );
}

function LabelMoves({ moves, error }: { moves: LabelMove[] | undefined; error: boolean }) {
  const list = [...(moves ?? [])].sort((a, b) => (toNs(b.moved_at) ?? 0) - (toNs(a.moved_at) ?? 0));
  return (
    <section className="card chart-card" aria-label="Label moves">
      <header className="chart-card-head">
        <h3>Label moves</h3>
        <span className="chart-card-summary">new version vs the previous one</span>
      </header>
      {error ? (
        <p className="muted small">Regression checks are not available from this server.</p>
      ) : moves === undefined ? (
        <Skeleton height={60} />
      ) : list.length === 0 ? (
        <p className="muted small">No label has moved yet. When one does, its new version is compared with the previous version over its first traces.</p>
      ) : (
        <ul className="moves">
          {list.map((m, i) => (
            <li key={i} className="move">
              <div className="move-head">
                <LabelChip label={m.label} />
                <span className="mono">{m.from_version != null ? `v${m.from_version} → v${m.to_version}` : `set to v${m.to_version}`}</span>
                <RegressionBadge move={m} />
                <span className="spacer" />
                <span className="faint small">{when(m.moved_at)}</span>
              </div>
              {m.regressions.length > 0 && (
                <ul className="findings">
                  {m.regressions.map((f) => (
                    <li key={f.metric}>
                      {describeFinding(f)}
                      {f.threshold != null && <span className="faint"> (threshold {formatChange(f.metric, f.threshold, false)})</span>}
                    </li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
