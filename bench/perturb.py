"""Seeded perturbations of labelled NLU examples that keep entity annotations valid.

Every perturbation is a pure function of the example, a seed and (for homophones) a
table; it returns a new `Example` whose entity spans still point at the entity's text,
with the entity's *value* unchanged, or None when it cannot change the example (which
then stays out of that robustness subset). Homophones, typos and dropped punctuation
never touch a character inside an entity; Traditional characters and spoken digits
rewrite the entity's surface on purpose, as a user or an ASR engine would.

The sound kinds (`SOUND_KINDS`) write what a recogniser hears: a catalog name or alias inside a
`service` entity spelt with other characters of the same toneless pinyin (the value stays
canonical, so entity F1 says whether the name is still recognised), the domain's verbs and
nouns spelt the same way, and near-homophones (平翘舌, 前后鼻音, n/l) anywhere. They keep the
text's length, and their sound tables are the bench's own (`bench/sound_alike.py`), not the
NLU's matching code.
"""

from __future__ import annotations

import functools
import random
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from typing import Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

from bench.sound_alike import NUMERIC, SoundTable, readings, sound_table

# The first five kinds: the "perturbed acc." of reports before issue 15 averages these.
BASE_KINDS = ("homophones", "typos", "traditional", "spoken_digits", "no_punctuation")
SOUND_KINDS = ("name_homophones", "verb_homophones", "asr_confusions")
KINDS = BASE_KINDS + SOUND_KINDS
# The domain's verbs and nouns a misheard request still has to carry (longest match first).
DOMAIN_WORDS = (
    "取消", "退订", "续费", "扣费", "扣款", "会员", "包月", "包年", "关闭", "关掉", "开通",
    "查询", "人工", "客服", "订阅", "退款", "自动", "验证码", "手机号",
)  # fmt: skip
NAME_SWAPS = (1, 2)  # characters of a name misheard: one or two, as in 疼讯视频, 米谷视频
# Digits read aloud; 1 is 幺 when reading phone numbers and codes, 一 otherwise.
_SPOKEN = dict(zip("0123456789", "零一二三四五六七八九", strict=True))
_FULL_WIDTH_DIGITS = {chr(0xFF10 + i): str(i) for i in range(10)}
# Chinese digit characters: a homophone swap must not create or destroy a number.
_NUMERIC = NUMERIC
_QWERTY = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
DIGIT_ENTITIES = ("phone_number", "verification_code")
HOMOPHONE_RATE = 0.15  # one substituted character in about seven, at least one


@dataclass(frozen=True)
class Entity:
    """An annotated entity: character span, name and normalised value."""

    start: int
    end: int
    entity: str
    value: str


@dataclass(frozen=True)
class Example:
    """A labelled utterance."""

    text: str
    intent: str
    entities: Tuple[Entity, ...] = ()


def _rebuild(example: Example, pieces: Sequence[str]) -> Optional[Example]:
    """The example with character i replaced by pieces[i], spans moved along."""
    offsets = [0]
    for piece in pieces:
        offsets.append(offsets[-1] + len(piece))
    text = "".join(pieces)
    if text == example.text or not text.strip():
        return None
    entities = tuple(
        replace(e, start=offsets[e.start], end=offsets[e.end]) for e in example.entities
    )
    return Example(text=text, intent=example.intent, entities=entities)


def _free(example: Example) -> List[bool]:
    """For each character: True when it lies outside every entity span."""
    free = [True] * len(example.text)
    for e in example.entities:
        for i in range(e.start, e.end):
            free[i] = False
    return free


def _is_han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


def _is_word_char(char: str) -> bool:
    return char.isalnum() and not char.isspace()


def homophone_table(texts: Iterable[str], min_count: int = 2) -> Dict[str, Tuple[str, ...]]:
    """Character → other characters read alike (toneless pinyin), from the given texts.

    Only Simplified characters seen at least `min_count` times and with a single reading
    take part, so substitutes are common characters (as an ASR engine writes them) and the
    swap is a true homophone.
    """
    import opencc
    from pypinyin import Style, pinyin

    to_simplified = opencc.OpenCC("t2s").convert
    counts = Counter(ch for text in texts for ch in text if _is_han(ch) and ch not in _NUMERIC)
    counts = Counter({ch: n for ch, n in counts.items() if to_simplified(ch) == ch})
    groups: Dict[str, List[str]] = {}
    for char in sorted(c for c, n in counts.items() if n >= min_count):
        readings = pinyin(char, style=Style.NORMAL, heteronym=True)[0]
        if len(set(readings)) == 1:
            groups.setdefault(readings[0], []).append(char)
    return {
        char: tuple(other for other in group if other != char)
        for group in groups.values()
        if len(group) > 1
        for char in group
    }


def homophones(
    example: Example, rng: random.Random, table: Dict[str, Tuple[str, ...]]
) -> Optional[Example]:
    """ASR-style errors: some characters outside entities become homophones."""
    free = _free(example)
    candidates = [i for i, ch in enumerate(example.text) if free[i] and ch in table]
    if not candidates:
        return None
    han = sum(1 for i, ch in enumerate(example.text) if free[i] and _is_han(ch))
    count = min(len(candidates), max(1, round(han * HOMOPHONE_RATE)))
    pieces = list(example.text)
    for i in rng.sample(candidates, count):
        pieces[i] = rng.choice(table[pieces[i]])
    return _rebuild(example, pieces)


def _neighbour_keys(char: str) -> List[str]:
    """The keys left and right of a Latin letter on a QWERTY keyboard (none for others)."""
    lower = char.lower()
    for row in _QWERTY:
        at = row.find(lower) if char.isascii() else -1
        if at >= 0:
            keys = [row[j] for j in (at - 1, at + 1) if 0 <= j < len(row)]
            return [k.upper() for k in keys] if char.isupper() else keys
    return []


def typos(example: Example, rng: random.Random) -> Optional[Example]:
    """One keyboard slip outside entities: a character deleted, doubled, swapped or mistyped."""
    free = _free(example)
    text = example.text
    spots = [i for i, ch in enumerate(text) if free[i] and _is_word_char(ch)]
    if not spots:
        return None
    position = rng.choice(spots)
    operations = ["duplicate"]
    if len(spots) > 1:
        operations.append("delete")
    nxt = position + 1
    if nxt < len(text) and free[nxt] and _is_word_char(text[nxt]) and text[nxt] != text[position]:
        operations.append("swap")
    if _neighbour_keys(text[position]):
        operations.append("neighbour_key")
    operation = rng.choice(operations)
    pieces = list(text)
    if operation == "duplicate":
        pieces[position] *= 2
    elif operation == "delete":
        pieces[position] = ""
    elif operation == "swap":
        pieces[position], pieces[nxt] = pieces[nxt], pieces[position]
    else:
        pieces[position] = rng.choice(_neighbour_keys(text[position]))
    return _rebuild(example, pieces)


def _segments(example: Example) -> List[Tuple[int, int]]:
    """The text cut at every entity boundary."""
    cuts = {0, len(example.text)}
    for e in example.entities:
        cuts.update((e.start, e.end))
    points = sorted(cuts)
    return list(zip(points, points[1:], strict=False))


@functools.lru_cache(maxsize=1)
def _s2t() -> Callable[[str], str]:
    """OpenCC's Simplified → Traditional converter (its dictionaries load once)."""
    import opencc

    return opencc.OpenCC("s2t").convert


def traditional(
    example: Example, convert: Optional[Callable[[str], str]] = None
) -> Optional[Example]:
    """The whole utterance, entities included, written in Traditional characters."""
    convert = convert or _s2t()
    text = example.text
    whole = convert(text)
    if len(whole) == len(text):
        return _rebuild(example, list(whole))
    # A phrase rule changed the length: convert entity and non-entity pieces separately.
    pieces = list(text)
    for start, end in _segments(example):
        pieces[start:end] = [convert(text[start:end])] + [""] * (end - start - 1)
    return _rebuild(example, pieces)


def spoken_digits(example: Example, rng: random.Random) -> Optional[Example]:
    """Phone numbers and codes read out digit by digit (幺三八…), values unchanged."""
    one = rng.choice(("幺", "一"))
    pieces = list(example.text)
    for e in example.entities:
        if e.entity not in DIGIT_ENTITIES:
            continue
        for i in range(e.start, e.end):
            digit = _FULL_WIDTH_DIGITS.get(pieces[i], pieces[i])
            if digit in _SPOKEN:
                pieces[i] = one if digit == "1" else _SPOKEN[digit]
    return _rebuild(example, pieces)


def no_punctuation(example: Example) -> Optional[Example]:
    """Punctuation and pauses (spaces) outside entities dropped, as ASR output has none."""
    text = example.text
    free = _free(example)
    pieces = list(text)
    for i, ch in enumerate(text):
        if not free[i]:
            continue
        if unicodedata.category(ch).startswith("P"):
            pieces[i] = ""
        elif ch.isspace():
            before = text[i - 1] if i > 0 else ""
            after = text[i + 1] if i + 1 < len(text) else ""
            # Keep the space that separates two Latin words or two numbers.
            if not (before.isascii() and before.isalnum() and after.isascii() and after.isalnum()):
                pieces[i] = ""
    return _rebuild(example, pieces)


@dataclass(frozen=True)
class CatalogNames:
    """The names a user says for a membership, and every spelling the catalog lists."""

    names: Tuple[str, ...]  # canonical names and aliases, longest first
    listed: FrozenSet[str]  # every surface form (misspellings too), lower-cased


@functools.lru_cache(maxsize=1)
def catalog_names() -> CatalogNames:
    """The names of data/catalog.yml (read once per process)."""
    from catalog import load_catalog

    products = load_catalog().products
    names = {form for p in products for form in (p.name, *p.aliases)}
    listed = {form.lower() for p in products for form in p.surface_forms}
    return CatalogNames(tuple(sorted(names, key=lambda n: (-len(n), n))), frozenset(listed))


def _swappable(char: str) -> bool:
    return _is_han(char) and char not in _NUMERIC


def name_homophones(
    example: Example, rng: random.Random, names: CatalogNames, table: SoundTable
) -> Optional[Example]:
    """A catalog name or alias inside each `service` entity misheard: one or two of its
    characters written as other common characters with the same toneless pinyin, never as a
    spelling the catalog lists."""
    heard = readings(example.text)
    pieces = list(example.text)
    for e in example.entities:
        if e.entity != "service":
            continue
        span = example.text[e.start : e.end].lower()
        name = next((n for n in names.names if n.lower() in span), None)
        if name is None:
            continue
        at = e.start + span.index(name.lower())
        options = {
            i: table.homophones(example.text[i], heard[i])
            for i in range(at, at + len(name))
            if _swappable(example.text[i])
        }
        options = {i: chars for i, chars in options.items() if chars}
        if not options:
            continue
        for _ in range(10):  # a draw that spells a listed name is drawn again
            trial = list(pieces)
            count = min(len(options), rng.choice(NAME_SWAPS))
            for i in rng.sample(sorted(options), count):
                trial[i] = rng.choice(options[i])
            if "".join(trial[e.start : e.end]).lower() not in names.listed:
                pieces = trial
                break
    return _rebuild(example, pieces)


def _word_spans(example: Example, words: Sequence[str]) -> List[Tuple[int, int]]:
    """Where `words` occur outside entities, longest match first, left to right."""
    free, text = _free(example), example.text
    ordered = sorted(words, key=len, reverse=True)
    spans, i = [], 0
    while i < len(text):
        word = next((w for w in ordered if text.startswith(w, i)), None)
        if word and all(free[i : i + len(word)]):
            spans.append((i, i + len(word)))
            i += len(word)
        else:
            i += 1
    return spans


def verb_homophones(
    example: Example,
    rng: random.Random,
    table: SoundTable,
    words: Sequence[str] = DOMAIN_WORDS,
) -> Optional[Example]:
    """Every domain verb or noun outside entities (取消, 续费, 会员...) misheard: some of its
    characters written as other common characters with the same toneless pinyin (取销)."""
    heard = readings(example.text)
    pieces = list(example.text)
    for start, end in _word_spans(example, words):
        options = {i: table.homophones(example.text[i], heard[i]) for i in range(start, end)}
        options = {i: chars for i, chars in options.items() if chars}
        if not options:
            continue
        for i in rng.sample(sorted(options), rng.randint(1, len(options))):
            pieces[i] = rng.choice(options[i])
    return _rebuild(example, pieces)


def asr_confusions(example: Example, rng: random.Random, table: SoundTable) -> Optional[Example]:
    """Near-homophones anywhere, entities included (their values unchanged): about one
    character in seven heard with 平翘舌 (zh/z ch/c sh/s), 前后鼻音 (in/ing en/eng an/ang) or
    n/l confused, the type drawn evenly among those the character allows."""
    heard = readings(example.text)
    text = example.text
    options = {i: table.confused(ch, heard[i]) for i, ch in enumerate(text) if _swappable(ch)}
    options = {i: kinds for i, kinds in options.items() if kinds}
    if not options:
        return None
    han = sum(1 for ch in text if _swappable(ch))
    count = min(len(options), max(1, round(han * HOMOPHONE_RATE)))
    pieces = list(text)
    for i in rng.sample(sorted(options), count):
        kind = rng.choice(sorted(options[i]))
        pieces[i] = rng.choice(options[i][kind])
    return _rebuild(example, pieces)


def perturb(
    example: Example,
    kind: str,
    seed: int,
    index: int,
    table: Optional[Dict[str, Tuple[str, ...]]] = None,
    sounds: Optional[SoundTable] = None,
    names: Optional[CatalogNames] = None,
) -> Optional[Example]:
    """Applies perturbation `kind`; the random draw depends only on (seed, kind, index).

    `table` is the homophone table of the first kind; the sound kinds use `sounds` and
    `names` (by default the common-character table and data/catalog.yml).
    """
    rng = random.Random(f"{seed}:{kind}:{index}")
    if kind == "homophones":
        return homophones(example, rng, table or {})
    if kind == "typos":
        return typos(example, rng)
    if kind == "traditional":
        return traditional(example)
    if kind == "spoken_digits":
        return spoken_digits(example, rng)
    if kind == "no_punctuation":
        return no_punctuation(example)
    if kind == "name_homophones":
        return name_homophones(example, rng, names or catalog_names(), sounds or sound_table())
    if kind == "verb_homophones":
        return verb_homophones(example, rng, sounds or sound_table())
    if kind == "asr_confusions":
        return asr_confusions(example, rng, sounds or sound_table())
    raise ValueError(f"unknown perturbation {kind!r}; expected one of {KINDS}")


def perturb_all(
    examples: Sequence[Example],
    kind: str,
    seed: int,
    table: Optional[Dict[str, Tuple[str, ...]]] = None,
    sounds: Optional[SoundTable] = None,
    names: Optional[CatalogNames] = None,
) -> List[Tuple[int, Example]]:
    """The subset of `examples` that `kind` changes, as (index of the original, new example)."""
    subset = []
    for index, example in enumerate(examples):
        changed = perturb(example, kind, seed, index, table, sounds, names)
        if changed is not None:
            subset.append((index, changed))
    return subset
