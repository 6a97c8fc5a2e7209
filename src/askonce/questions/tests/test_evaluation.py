"""`askonce eval` on tiny files in the three formats of ../shared/data."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from askonce.questions.evaluation import load_set
from askonce.search.embeddings import encoder

CARDS = ["my card has not arrived", "still waiting for my card", "when will my card come"]
RATES = ["what exchange rate do you use", "exchange rate for euros", "which rate applies"]


@pytest.fixture
def files(tmp_path):
    rows = (
        [("text", "category")]
        + [(t, "card_arrival") for t in CARDS]
        + [(t, "exchange_rate") for t in RATES]
    )
    (tmp_path / "bank.csv").write_text("\n".join(f'"{a}",{b}' for a, b in rows) + "\n")
    (tmp_path / "clinc.json").write_text(
        json.dumps(
            {
                "train": [[t, "card_arrival"] for t in CARDS[:2]]
                + [[t, "rate"] for t in RATES[:2]],
                "val": [[CARDS[2], "card_arrival"], [RATES[2], "rate"]],
                "oos_val": [["how tall is the eiffel tower", "oos"]],
            }
        )
    )
    (tmp_path / "dev.tsv").write_text(
        "text\tlabel\n"
        + "".join(f"{t}\tcards\n" for t in CARDS)
        + "".join(f"{t}\trates\n" for t in RATES)
    )
    return tmp_path


def test_sets_and_their_parts_are_read(files) -> None:
    assert len(load_set(str(files / "bank.csv")).texts) == 6
    held = load_set(f"{files / 'bank.csv'}:held")
    assert held.labels == ["card_arrival", "exchange_rate"]  # the first of each intent
    assert len(load_set(f"{files / 'bank.csv'}:rest").texts) == 4
    clinc = load_set(f"{files / 'clinc.json'}:val,oos_val")
    assert clinc.labels == ["card_arrival", "rate", "__out_of_scope__"]
    with pytest.raises(ValueError, match="no split"):
        load_set(f"{files / 'clinc.json'}:test")
    with pytest.raises(ValueError, match="no such file"):
        load_set(str(files / "missing.csv"))


@pytest.mark.django_db
def test_every_task_runs_on_any_files(files) -> None:
    if encoder() is None:
        pytest.skip("the embedding model is not installed")
    out = StringIO()
    call_command(
        "eval",
        "--task",
        "repeat",
        "--memory",
        f"{files / 'bank.csv'}:rest",
        "--queries",
        f"{files / 'bank.csv'}:held",
        "--json",
        stdout=out,
        stderr=StringIO(),
    )
    assert json.loads(out.getvalue())[0]["top1"] == 100.0
    out = StringIO()
    call_command(
        "eval",
        "--task",
        "gap",
        "--memory",
        f"{files / 'clinc.json'}:train",
        "--queries",
        f"{files / 'clinc.json'}:val,oos_val",
        "--json",
        stdout=out,
        stderr=StringIO(),
    )
    gap = json.loads(out.getvalue())[0]
    assert gap["out_of_scope_recall"] == 100.0
    out = StringIO()
    call_command(
        "eval",
        "--task",
        "group",
        "--queries",
        str(files / "dev.tsv"),
        "--json",
        stdout=out,
        stderr=StringIO(),
    )
    grouped = json.loads(out.getvalue())[0]
    assert grouped["true_groups"] == 2
    assert 0 <= grouped["nmi"] <= 100
    out = StringIO()
    call_command(
        "eval",
        "--task",
        "group",
        "--memory",
        str(files / "dev.tsv"),  # earlier questions: texts only
        "--queries",
        str(files / "dev.tsv"),
        "--json",
        stdout=out,
        stderr=StringIO(),
    )
    assert json.loads(out.getvalue())[0]["true_groups"] == 2
    with pytest.raises(CommandError, match="no such file"):
        call_command(
            "eval", "--task", "group", "--queries", str(files / "nope.tsv"), stderr=StringIO()
        )
