/** The prompts list: every `Prompt` resource with its labels, latest version and folder. Read-only — the write
 * path is git, so the empty state shows a manifest to commit. */
import { useQuery } from "@tanstack/react-query";
import { createColumnHelper } from "@tanstack/react-table";
import { useEffect, useMemo, useState } from "react";
import { Link, useNavigate } from "react-router";
import { apiGet } from "../lib/api";
import { formatRelative, formatTimestamp } from "../lib/format";
import { ambiguousNames, facets, orderedLabels, PROMPT_YAML_EXAMPLE, sortPrompts, toNs, type PromptSummary } from "../lib/prompts";
import { useUrlState } from "../lib/useUrlState";
import { CopyButton } from "../components/CopyButton";
import { DataTable, type ColumnMeta } from "../components/DataTable";
import { IconFolder, IconSearch, IconX } from "../components/Icons";
import "../prompts.css";

const col = createColumnHelper<PromptSummary>();

export function promptPath(p: { name: string; namespace: string }, ambiguous: Set<string>): string {
  const base = `/prompts/${encodeURIComponent(p.name)}`;
  return ambiguous.has(p.name) ? `${base}?namespace=${encodeURIComponent(p.namespace)}` : base;
}

export function LabelChip({ label, version, onClick, active }: { label: string; version?: number; onClick?: () => void; active?: boolean }) {
  const tone = label === "production" || label === "prod" ? "prod" : label === "staging" || label === "stage" ? "staging" : "other";
  const body = (
    <>
      <span className="label-dot" />
      <span className="label-name">{label}</span>
      {version !== undefined && <span className="label-version">v{version}</span>}
    </>
  );
  const cls = `label-chip label-${tone}${active ? " active" : ""}`;
  return onClick ? (
    <button type="button" className={cls} onClick={onClick} title={version !== undefined ? `${label} → version ${version}` : label}>
      {body}
    </button>
  ) : (
    <span className={cls} title={version !== undefined ? `${label} → version ${version}` : label}>
      {body}
    </span>
  );
}

export function PromptsEmpty() {
  return (
    <div className="empty onboarding" data-testid="prompts-onboarding">
      <h2>No prompts yet</h2>
      <p className="muted">
        Prompts are managed as code: commit a <code>Prompt</code> resource to the git repository your cluster syncs (or the{" "}
        <code>--manifests</code> directory of <code>otelguard up</code>). Every change to its content becomes a new immutable
        version; labels such as <code>production</code> point at versions and your app fetches prompts by label.
      </p>
      <div className="code-card">
        <div className="code-tabs">
          <span className="code-title">prompts/support-triage.yaml</span>
          <span className="spacer" />
          <CopyButton text={PROMPT_YAML_EXAMPLE} label="Copy YAML" />
        </div>
        <pre className="code">{PROMPT_YAML_EXAMPLE}</pre>
      </div>
      <p className="muted small">
        Apply it with <code>kubectl apply -f</code> or <code>otelguard apply -f</code>; it shows up here once reconciled.
      </p>
    </div>
  );
}

export function Prompts() {
  const navigate = useNavigate();
  const [params, update] = useUrlState();
  const search = params.get("q") ?? "";
  const label = params.get("label") ?? "";
  const tag = params.get("tag") ?? "";
  const folder = params.get("folder") ?? "";
  const sort = params.get("sort") ?? "name";
  const order = params.get("order") === "desc" ? "desc" : "asc";

  const [draft, setDraft] = useState(search);
  useEffect(() => setDraft(search), [search]);
  useEffect(() => {
    if (draft.trim() === search) return;
    const t = setTimeout(() => update({ q: draft.trim() || null }), 300);
    return () => clearTimeout(t);
  }, [draft, search, update]);

  const filtered = Boolean(search || label || tag || folder);
  const all = useQuery({ queryKey: ["prompts", "all"], queryFn: () => apiGet<{ items: PromptSummary[] }>("/prompts", { limit: 1000 }) });
  const query = useQuery({
    queryKey: ["prompts", { search, label, tag, folder }],
    queryFn: () => apiGet<{ items: PromptSummary[] }>("/prompts", { name: search, label, tag, folder, limit: 1000 }),
    enabled: filtered,
  });
  const source = filtered ? query : all;
  const rows = useMemo(() => sortPrompts(source.data?.items ?? [], sort, order), [source.data, sort, order]);
  const options = useMemo(() => facets(all.data?.items ?? []), [all.data]);
  const ambiguous = useMemo(() => ambiguousNames(all.data?.items ?? []), [all.data]);
  const none = all.isSuccess && all.data.items.length === 0;

  const columns = useMemo(
    () => [
      col.accessor("name", {
        header: "Name",
        meta: { sortKey: "name" } satisfies ColumnMeta,
        cell: (c) => {
          const p = c.row.original;
          return (
            <div className="prompt-name-cell">
              <span className="prompt-name-line">
                <Link to={promptPath(p, ambiguous)} className="trace-link" onClick={(e) => e.stopPropagation()}>
                  {p.name}
                </Link>
                <span className={`pill pill-type pill-${p.type}`}>{p.type}</span>
                {ambiguous.has(p.name) && <span className="pill pill-mono">{p.namespace}</span>}
              </span>
              {p.description && (
                <span className="prompt-desc faint small" title={p.description}>
                  {p.description}
                </span>
              )}
            </div>
          );
        },
      }),
      col.accessor("folder", {
        header: "Folder",
        cell: (c) =>
          c.getValue() ? (
            <button
              type="button"
              className="folder-link"
              title={`Only prompts in ${c.getValue()}`}
              onClick={(e) => {
                e.stopPropagation();
                update({ folder: c.getValue() });
              }}
            >
              <IconFolder width={14} height={14} />
              {c.getValue()}
            </button>
          ) : (
            <span className="faint">–</span>
          ),
      }),
      col.accessor("tags", {
        header: "Tags",
        cell: (c) =>
          c.getValue().length ? (
            <span className="pills">
              {c.getValue().slice(0, 4).map((t) => (
                <button
                  key={t}
                  type="button"
                  className="pill pill-tag"
                  title={`Only prompts tagged ${t}`}
                  onClick={(e) => {
                    e.stopPropagation();
                    update({ tag: t });
                  }}
                >
                  {t}
                </button>
              ))}
              {c.getValue().length > 4 && <span className="faint small">+{c.getValue().length - 4}</span>}
            </span>
          ) : (
            <span className="faint">–</span>
          ),
      }),
      col.accessor("labels", {
        header: "Labels",
        cell: (c) => {
          const labels = orderedLabels(c.getValue());
          return labels.length ? (
            <span className="pills">
              {labels.map(([l, v]) => (
                <LabelChip key={l} label={l} version={v} />
              ))}
            </span>
          ) : (
            <span className="faint small">no labels</span>
          );
        },
      }),
      col.accessor("latestVersion", {
        header: "Latest",
        meta: { sortKey: "latest", align: "right" } satisfies ColumnMeta,
        cell: (c) => <span className="version-tag">v{c.getValue() ?? c.row.original.currentVersion}</span>,
      }),
      col.accessor("updatedAt", {
        header: "Updated",
        meta: { sortKey: "updated", align: "right" } satisfies ColumnMeta,
        cell: (c) => {
          const ns = toNs(c.getValue());
          return ns === null ? "–" : <span title={formatTimestamp(ns)}>{formatRelative(ns)}</span>;
        },
      }),
    ],
    [ambiguous, update],
  );

  const select = (name: string, value: string, values: string[], placeholder: string) => (
    <label className="select-inline">
      <select aria-label={`Filter by ${name}`} value={value} onChange={(e) => update({ [name]: e.target.value || null })}>
        <option value="">{placeholder}</option>
        {values.map((v) => (
          <option key={v} value={v}>
            {v}
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Prompts</h1>
          <p className="muted">Versioned prompt templates from git. Change them with a pull request; label moves release them.</p>
        </div>
      </header>

      {all.isError ? (
        <div className="card empty" data-testid="prompts-error">
          <h3>Prompts could not be loaded</h3>
          <p className="muted">{all.error.message}</p>
          <button type="button" className="btn" onClick={() => all.refetch()}>
            Try again
          </button>
        </div>
      ) : none ? (
        <div className="card">
          <PromptsEmpty />
        </div>
      ) : (
        <>
          <div className="toolbar">
            <div className="search">
              <IconSearch />
              <input type="search" placeholder="Filter by name…" aria-label="Filter prompts by name" value={draft} onChange={(e) => setDraft(e.target.value)} />
            </div>
            {select("label", label, options.labels, "Any label")}
            {select("folder", folder, options.folders, "Any folder")}
            {select("tag", tag, options.tags, "Any tag")}
            {filtered && (
              <button type="button" className="btn btn-ghost" onClick={() => update({ q: null, label: null, tag: null, folder: null })}>
                <IconX width={14} height={14} /> Clear
              </button>
            )}
          </div>
          <DataTable
            label="Prompts"
            data={rows}
            columns={columns}
            sort={sort}
            order={order}
            onSort={(s, o) => update({ sort: s === "name" ? null : s, order: o === "asc" ? null : o })}
            onRowClick={(p) => navigate(promptPath(p, ambiguous))}
            loading={source.isPending}
            empty={
              <div className="empty">
                <h3>No prompts match</h3>
                <p className="muted">Try another name, or clear the filters.</p>
                <button type="button" className="btn" onClick={() => update({ q: null, label: null, tag: null, folder: null })}>
                  Clear filters
                </button>
              </div>
            }
          />
          {rows.length > 0 && (
            <div className="table-foot">
              <span className="muted small" data-testid="prompt-count">
                {rows.length} prompt{rows.length === 1 ? "" : "s"}
              </span>
            </div>
          )}
        </>
      )}
    </div>
  );
}
