"""Merging a reviewed file (evaluation/review_inbox/merge.py): only decided groups, known
intents, new examples, and never an utterance of an evaluation file."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import yaml
from rasa.shared.nlu.training_data.loading import load_data

from evaluation.review_inbox.__main__ import main
from evaluation.review_inbox.merge import REVIEWED_FILE, evaluation_files
from tests.shared_files import shared_eval_files

ROOT = Path(__file__).resolve().parents[2]
HOLDOUT = ROOT / "tests" / "nlu_holdout.yml"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A copy of data/nlu to merge into."""
    target = tmp_path / "nlu"
    shutil.copytree(ROOT / "data" / "nlu", target)
    return target


def review(path: Path, groups: List[Dict]) -> Path:
    """Writes a review file with these groups (id, examples, intent, discard)."""
    entries = [
        {
            "id": f"g{i:02d}",
            "conversations": 1,
            "turns": 1,
            "reasons": {"fallback": 1},
            "guess": None,
            "intent": None,
            "discard": False,
            **g,
        }
        for i, g in enumerate(groups, 1)
    ]
    path.write_text(
        yaml.safe_dump({"version": 1, "groups": entries}, allow_unicode=True), encoding="utf-8"
    )
    return path


def merged(data: Path) -> Dict[str, str]:
    """text → intent of the reviewed file, as Rasa reads it."""
    path = data / REVIEWED_FILE
    if not path.exists():
        return {}
    return {m.get("text"): m.get("intent") for m in load_data(str(path)).intent_examples}


def _merge(file: Path, data: Path, *extra: str) -> int:
    return main(["merge", str(file), "--into", str(data), *extra])


def _holdout_text() -> str:
    return next(iter(m.get("text") for m in load_data(str(HOLDOUT)).intent_examples))


def _full_width(text: str) -> str:
    """The same text with its ASCII letters and digits full-width (normalised equal)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def test_new_examples_are_written_under_their_groups_intent(data: Path, tmp_path, capsys):
    holdout = _holdout_text()
    file = review(
        tmp_path / "r.yml",
        [
            {
                "intent": "cancel_subscription",
                "examples": ["扣款协议给我撤销", holdout, "取消包月", "我叫〈姓名〉，要退订"],
            },
            {"discard": True, "examples": ["那个啥"]},
            {
                "intent": "check_subscription",
                "examples": ["看看号上挂着啥包月", "扣款协议给我撤销"],
            },
        ],
    )
    assert _merge(file, data) == 0
    assert merged(data) == {
        "扣款协议给我撤销": "cancel_subscription",
        "看看号上挂着啥包月": "check_subscription",
    }
    out = capsys.readouterr().out
    assert "wrote 2 examples" in out
    assert "in an evaluation file: 1" in out and holdout in out
    assert "already in the training data: 2" in out  # 取消包月, and the repeated example
    assert "personal data hidden in them: 1" in out
    assert "groups discarded: 1" in out


def test_a_second_merge_writes_nothing_twice(data: Path, tmp_path: Path) -> None:
    file = review(
        tmp_path / "r.yml", [{"intent": "cancel_subscription", "examples": ["扣款协议给我撤销"]}]
    )
    assert _merge(file, data) == 0
    written = (data / REVIEWED_FILE).read_text(encoding="utf-8")
    more = review(
        tmp_path / "more.yml",
        [{"intent": "cancel_subscription", "examples": ["扣款协议给我撤销", "把扣款协议解除掉"]}],
    )
    assert _merge(file, data) == 0
    assert (data / REVIEWED_FILE).read_text(encoding="utf-8") == written
    assert _merge(more, data) == 0
    assert list(merged(data)) == ["扣款协议给我撤销", "把扣款协议解除掉"]


def test_the_merged_data_keeps_the_training_data_rules(data: Path, tmp_path: Path) -> None:
    from nlu.normalize import normalize

    holdout = _holdout_text()
    file = review(
        tmp_path / "r.yml",
        [
            {
                "intent": "cancel_subscription",
                "examples": ["扣款协议给我撤销", _full_width(holdout), "取消包月"],
            }
        ],
    )
    assert _merge(file, data) == 0
    texts = [m.get("text") for m in load_data(str(data)).intent_examples]
    assert len(texts) == len(set(texts)), "duplicate training examples"
    held_out = {normalize(m.get("text")) for m in load_data(str(HOLDOUT)).intent_examples}
    assert not {normalize(t) for t in texts} & held_out


def test_shared_evaluation_utterances_are_refused(data: Path, tmp_path: Path) -> None:
    path = shared_eval_files()[0]
    example = load_data(str(path)).intent_examples[0]
    file = review(
        tmp_path / "r.yml", [{"intent": example.get("intent"), "examples": [example.get("text")]}]
    )
    assert _merge(file, data) == 0
    assert merged(data) == {}


def test_a_sound_alike_file_counts_as_evaluation(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    for name in ("nlu_holdout.yml", "nlu_sound_alikes.yml"):
        (tmp_path / "tests" / name).write_text('version: "3.1"\nnlu: []\n', encoding="utf-8")
    assert [p.name for p in evaluation_files(tmp_path)][:2] == [
        "nlu_holdout.yml",
        "nlu_sound_alikes.yml",
    ]


@pytest.mark.parametrize(
    "group, message",
    [
        ({"examples": ["扣款协议给我撤销"]}, "no intent and not discarded: g01"),
        ({"intent": "cancel_membership", "examples": ["x"]}, "g01: cancel_membership"),
        ({"intent": "nlu_fallback", "examples": ["x"]}, "g01: nlu_fallback"),
        ({"intent": "thank", "discard": True, "examples": ["x"]}, "both an intent and discard"),
    ],
)
def test_undecided_or_unknown_groups_stop_the_merge(
    group: Dict, message: str, data: Path, tmp_path: Path, capsys
) -> None:
    file = review(tmp_path / "r.yml", [{"intent": "thank", "examples": ["多谢啦老铁"]}, group])
    file.write_text(
        file.read_text(encoding="utf-8").replace("id: g02", "id: g01x"), encoding="utf-8"
    )
    assert _merge(file, data) == 2
    err = capsys.readouterr().err
    assert message.replace("g01", "g01x") in err and "nothing written" in err
    assert not (data / REVIEWED_FILE).exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "cannot read the review file"),
        ("groups: [", "not valid YAML"),
        ("version: 1\ngroups: 3\n", "`groups` is not a list"),
        ("a: 1\n", "not a review file"),
    ],
)
def test_a_broken_review_file_is_named(
    content: Optional[str], message: str, data, tmp_path, capsys
) -> None:
    file = tmp_path / "r.yml"
    if content is not None:
        file.write_text(content, encoding="utf-8")
    assert _merge(file, data) == 2
    assert message in capsys.readouterr().err


def test_a_dry_run_writes_nothing(data: Path, tmp_path: Path, capsys) -> None:
    file = review(
        tmp_path / "r.yml", [{"intent": "cancel_subscription", "examples": ["扣款协议给我撤销"]}]
    )
    assert _merge(file, data, "--dry-run") == 0
    assert "dry run: wrote 1 examples" in capsys.readouterr().out
    assert not (data / REVIEWED_FILE).exists()


def test_markup_that_rasa_would_misread_is_left_out(data: Path, tmp_path: Path, capsys) -> None:
    file = review(
        tmp_path / "r.yml",
        [
            {
                "intent": "cancel_subscription",
                "examples": ["[腾讯视频](service)扣款协议撤了", "扣款协议撤了吧"],
            }
        ],
    )
    assert _merge(file, data) == 0
    assert merged(data) == {"扣款协议撤了吧": "cancel_subscription"}
    assert "not read back the same by Rasa: 1" in capsys.readouterr().out


def test_an_evaluation_utterance_typed_in_pinyin_is_refused(data: Path, tmp_path: Path) -> None:
    """quxiao huiyuan is 取消会员 to the NLU: if that is an evaluation utterance, it stays out."""
    from evaluation.review_inbox.merge import merge

    held = tmp_path / "held.yml"
    held.write_text(
        'version: "3.1"\nnlu:\n- intent: cancel_subscription\n  examples: |\n    - 取消会员\n',
        encoding="utf-8",
    )
    group = {"intent": "cancel_subscription", "examples": ["quxiao huiyuan", "quxiao youku"]}
    file = review(tmp_path / "r.yml", [group])
    report = merge(file, data, eval_files=[held])
    assert report.in_evaluation == [("g01", "quxiao huiyuan")]
    assert merged(data) == {"quxiao youku": "cancel_subscription"}
