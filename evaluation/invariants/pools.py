"""What a random user says: the training examples of every intent (data/nlu), numbers and
codes filled in at run time, noise. No evaluation data is used."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[2]
NLU_DIR = ROOT / "data" / "nlu"

# [text](entity) or [text]{"entity": ..., "value": ...}
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\(([^)]+)\)|(\{[^}]+\}))")
# Entities filled in at run time with the sequence's own number or code.
FILLED = {"phone_number": "{phone}", "verification_code": "{code}"}

NOISE: Tuple[str, ...] = (
    "阿巴阿巴",
    "？？",
    "😂😂😂",
    "🙏",
    "。。。",
    "嗯……那个……",
    "喂喂 听得到吗",
    "asdfgh",
    "哈哈哈哈",
    "额",
    "123",
    "退定 滕迅 视屏 那个",
    "我要那个那个就是那个",
    "🤔？",
    "……",
)


@dataclass(frozen=True)
class Utterance:
    """One example: its text, with {phone} / {code} where the user gives a number or code."""

    intent: str
    template: str

    @property
    def needs(self) -> Tuple[str, ...]:
        """Which of phone, code the template needs filled in."""
        return tuple(name for name in ("phone", "code") if "{" + name + "}" in self.template)


def _plain(example: str) -> str:
    def replace(match: re.Match) -> str:
        text, entity, spec = match.group(1), match.group(2), match.group(3)
        if spec:
            entity = json.loads(spec).get("entity")
        slot = FILLED.get(entity or "")
        # Marked with NULs first: braces in the example itself must not read as placeholders.
        return f"\0{slot[1:-1]}\0" if slot else text

    text = _ANNOTATION.sub(replace, example).replace("{", "(").replace("}", ")")
    return re.sub("\0(\\w+)\0", r"{\1}", text)


def _examples(block: str) -> List[str]:
    lines = [line.strip() for line in block.splitlines()]
    return [line[2:].strip() for line in lines if line.startswith("- ") and line[2:].strip()]


@lru_cache(maxsize=1)
def utterances() -> Dict[str, Tuple[Utterance, ...]]:
    """Every intent's training examples, as templates, in file order."""
    pools: Dict[str, List[Utterance]] = {}
    for path in sorted(NLU_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("nlu", []):
            if "intent" not in item:
                continue
            for example in _examples(item.get("examples", "")):
                pools.setdefault(item["intent"], []).append(
                    Utterance(item["intent"], _plain(example))
                )
    return {intent: tuple(items) for intent, items in pools.items()}


def pool(intent: str, needs: Tuple[str, ...] = ()) -> Tuple[Utterance, ...]:
    """The intent's examples needing exactly `needs` filled in (phone, code, or nothing)."""
    return tuple(u for u in utterances()[intent] if u.needs == needs)


def pick(items: Tuple, index: int):
    """items[index] wrapping around (a drawn index works for any pool size)."""
    return items[index % len(items)]


def garble(text: str, index: int) -> str:
    """ASR-like damage to `text`: a character dropped or doubled, two swapped."""
    if len(text) < 2:
        return text + text
    at = index % (len(text) - 1)
    kind = index % 3
    if kind == 0:
        return text[:at] + text[at + 1 :]
    if kind == 1:
        return text[: at + 1] + text[at] + text[at + 1 :]
    return text[:at] + text[at + 1] + text[at] + text[at + 2 :]
