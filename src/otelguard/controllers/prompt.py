"""Prompt → immutable, content-addressed versions (``prompt_versions``) and labels (``prompt_labels``).

Content is template or messages + variables + modelConfig, canonical JSON without defaults (so a release
that adds a defaulted field does not re-version every prompt). Each distinct content gets the next version
number once; the same content — also a revert to an earlier one — maps to its existing number (content
addressing, issue "Prompt management": reconciling the same content never creates a new version).

Labels map to a version number or ``latest``, which means the version of the current spec content (what is
in git now), not the highest number: after a revert, ``latest`` follows the revert. A label naming a
version that does not exist leaves that label where it was and makes Ready False (UnknownVersion); the
database knows the versions, so ``apply.apply_db`` reports it.

Templates are checked by the prompt engine the API renders with (``templates.check_template``): syntax,
variables used but not declared (line and column), private attribute access, include reference format.
Includes are resolved where the prompt store is at hand, in the apply step (``apply.apply_db`` calls
``include_failure`` with ``store_loader``), after the version is stored: an include of a prompt, label or
version that does not exist (IncludeNotFound), or an include cycle (IncludeCycle), makes Ready False. The
version is stored anyway — includes resolve by label at render time, so the prompt it names may arrive
later (the next reconcile then reports Ready).
"""

from __future__ import annotations

from otelguard.api.v1alpha1 import Prompt, PromptStatus
from otelguard.api.v1alpha1.prompt import LATEST, PromptSpec
from otelguard.controllers.base import (
    Applied,
    DbConfig,
    Desired,
    Failure,
    Json,
    PromptRows,
    ReconcileInput,
    ResourceRow,
    config_status,
    content_hash,
)
from otelguard.controllers.templates import check_template, include_problems
from otelguard.prompts import Included, IncludeLoader, IncludeRef
from otelguard.storage.postgres import Database, get_prompt_version

__all__ = [
    "KIND",
    "include_failure",
    "plan",
    "prompt_content",
    "status",
    "store_loader",
    "template_problems",
]

KIND = "Prompt"
SERVED = "served by the prompts API (GET /api/v1/prompts/{name})"


def prompt_content(spec: PromptSpec) -> Json:
    """The versioned part of a spec, canonical (defaults left out)."""
    return spec.model_dump(
        mode="json",
        by_alias=True,
        exclude_defaults=True,
        include={"template", "messages", "variables", "llm"},
    )


def template_problems(spec: PromptSpec) -> list[Failure]:
    declared = [v.name for v in spec.variables]
    sources = [("spec.template", spec.template)] if spec.template is not None else []
    sources += [(f"spec.messages[{i}].content", m.content) for i, m in enumerate(spec.messages)]
    return [
        Failure(p.reason, f"{where}: {p.message}")
        for where, source in sources
        for p in check_template(source, declared)
    ]


def include_failure(content: Json, loader: IncludeLoader, root: tuple[str, int]) -> Failure | None:
    """Why the stored version's includes do not resolve (missing prompt/label/version, cycle), or None."""
    problems = include_problems(content, loader, root)
    if not problems:
        return None
    return Failure(problems[0].reason, "; ".join(p.message for p in problems))


def store_loader(db: Database, namespace: str) -> IncludeLoader:
    """Includes resolved from the prompt store, within the includer's namespace (what the API does)."""

    def load(ref: IncludeRef) -> Included | None:
        found = get_prompt_version(db, namespace, ref.name, version=ref.version, label=ref.label)
        return None if found is None else Included(found.name, found.version, found.content.get("template"))

    return load


def plan(inp: ReconcileInput) -> Desired:
    spec = inp.resource_as(Prompt).spec
    problems = template_problems(spec)
    if problems:
        return Desired(KIND, invalid=Failure(problems[0].reason, "; ".join(p.message for p in problems)))
    content = prompt_content(spec)
    digest = content_hash(content)
    full = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    row = ResourceRow(
        KIND, inp.namespace, inp.name, inp.uid, inp.generation, inp.labels, full, content_hash(full)
    )
    targets = {label: None if target == LATEST else int(target) for label, target in spec.labels.items()}
    rows = PromptRows(content=content, content_hash=digest, labels=targets, git_revision=inp.git_revision)
    return Desired(KIND, db=DbConfig(row, rows), facts={"contentHash": digest})


def status(inp: ReconcileInput, desired: Desired, applied: Applied | None) -> Json:
    version = applied.version if applied is not None else None
    labels = dict(sorted(applied.labels.items())) if applied is not None else {}
    shown = ", ".join(f"{k}={v}" for k, v in labels.items()) or "none"
    stored = f"version {version} stored; labels: {shown}"
    return config_status(
        inp,
        desired,
        applied,
        PromptStatus,
        stored=Failure("Stored", stored),
        ready=Failure("Stored", f"{stored}; {SERVED.format(name=inp.name)}"),
        owned={"currentVersion": version, "labels": labels, **desired.facts},
    )
