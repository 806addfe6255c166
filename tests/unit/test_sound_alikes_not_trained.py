"""tests/nlu_sound_alikes.yml is held out: none of its utterances is in the training data."""

from __future__ import annotations

from pathlib import Path

from rasa.shared.nlu.training_data.loading import load_data

from catalog import load_catalog
from nlu.normalize import normalize
from nlu.sound_alikes import restore_words, word_index

ROOT = Path(__file__).resolve().parents[2]
SOUND_ALIKES = ROOT / "tests" / "nlu_sound_alikes.yml"


def texts(path: Path) -> set:
    """The plain texts of an NLU file's examples."""
    return {m.get("text") for m in load_data(str(path)).intent_examples}


def test_sound_alike_utterances_are_never_trained_on() -> None:
    """Not even after normalisation and the intent-word rewrite, which training also applies."""
    index = word_index()
    seen = lambda t: restore_words(normalize(t), index)  # noqa: E731 - the one reading of a text
    trained = {seen(t) for t in texts(ROOT / "data" / "nlu")}
    leaked = sorted(t for t in texts(SOUND_ALIKES) if seen(t) in trained)
    assert not leaked, f"{SOUND_ALIKES.name} utterances in the training data: {leaked}"


def test_sound_alike_file_is_large_and_names_every_membership() -> None:
    """About 120 utterances, and every catalog product among the annotated memberships."""
    data = load_data(str(SOUND_ALIKES))
    assert len(data.intent_examples) >= 120
    named = {
        e["value"]
        for m in data.intent_examples
        for e in m.get("entities") or []
        if e["entity"] == "service"
    }
    assert named == {p.name for p in load_catalog().products}
