"""Grouping collected turns by how alike their texts are, and ranking the groups by volume.

Texts are compared as the NLU reads them (normalised), without placeholders, punctuation and
the words that introduce a detail (我叫〈姓名〉). Two passes, both deterministic:
1. new phrases: a run of characters that no training text holds, shared by several texts,
   makes them one group (users saying one thing in a new way: 扣款协议, 挂着, 流程走完);
2. the rest by similarity: character n-gram TF-IDF vectors, weighted towards what the
   training data lacks, joined by average-linkage clustering cut at a cosine distance.
Identical texts are grouped once; groups are ranked by distinct conversations.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Sequence

from evaluation.review_inbox.collect import Collected
from evaluation.review_inbox.privacy import PLACEHOLDER

# Cosine distance at which two clusters stop being joined (tuned on the bench's families).
DEFAULT_DISTANCE = 0.8
NGRAMS = (1, 3)
NOVELTY = 0.5
_NOISE = re.compile(r"[^\w ]+")
# A detail given in passing (我叫〈姓名〉, 单号〈凭证号〉) with the words that introduce it.
_DETAIL = re.compile(
    r"(?:我的?|本人)?(?:叫|姓|是|手机号码?|电话|号码|单号|凭证号|订单号?|验证码|邮箱)?(?:是|为)?"
    r"[:：\s]*〈[^〈〉]{1,4}〉"
)
_LATIN_WORD = re.compile(r"[a-z0-9]{2,}")
# A new phrase (no training text has it) in this many distinct texts makes them a group.
MIN_SHARED = 3
# More distinct texts than this are clustered by the most frequent ones only (the distance
# matrix grows as the square); the rest are reported as left out.
MAX_TEXTS = 4000


@dataclass
class Group:
    """Turns whose texts are alike."""

    items: List[Collected] = field(default_factory=list)

    @property
    def conversations(self) -> int:
        """How many conversations it happened in (the ranking's measure)."""
        return len({item.turn.conversation for item in self.items})

    @property
    def turns(self) -> int:
        """How many turns it holds."""
        return len(self.items)


def _key(text: str) -> str:
    """The text as the NLU reads it (full-width, Traditional, case), without placeholders
    (a hidden phone says nothing of the phrasing) or punctuation, for comparing."""
    from nlu.normalize import normalize

    text = _DETAIL.sub(" ", normalize(text).lower())
    return _NOISE.sub("", PLACEHOLDER.sub(" ", text)).strip()


def _vectors(texts: Sequence[str], known: Sequence[str]) -> Any:
    """Character n-gram vectors of `texts`, weighted towards what `known` lacks.

    IDF over the texts alone, times a novelty factor 1 / (1 + the number of training texts
    holding the n-gram) ** NOVELTY: what the training data says often (会员, 取消) weighs
    little, and what no training example has (the new way of saying something, which is
    why the turn was not understood) weighs most.
    """
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.preprocessing import normalize as unit_rows

    vectorizer = TfidfVectorizer(
        analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True, norm=None
    )
    vectors = vectorizer.fit_transform(texts)
    if known:
        counter = CountVectorizer(
            analyzer="char_wb", ngram_range=NGRAMS, binary=True, vocabulary=vectorizer.vocabulary_
        )
        in_known = np.asarray(counter.transform([_key(t) for t in known]).sum(axis=0)).ravel()
        vectors = vectors.multiply(1.0 / (1.0 + in_known) ** NOVELTY).tocsr()
    return unit_rows(vectors)


def _cluster(texts: Sequence[str], distance: float, known: Sequence[str] = ()) -> List[int]:
    """A cluster label for each text (texts closer than `distance` on average share one)."""
    if len(texts) == 1:
        return [0]
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    distances = pdist(_vectors(texts, known).toarray(), metric="cosine")
    distances[distances != distances] = 1.0  # an empty vector is unlike everything
    tree = linkage(distances, method="average")
    return [int(label) for label in fcluster(tree, t=distance, criterion="distance")]


def _ngrams(text: str, sizes: range = range(2, 5)) -> set:
    """The phrases of `text` a new way of saying may hide in: each Latin word (cancel,
    quxiao) whole, and the runs of 2 to 4 characters of everything else."""
    grams = set(_LATIN_WORD.findall(text))
    for part in _LATIN_WORD.sub(" ", text).split():
        grams.update(part[i : i + n] for n in sizes for i in range(len(part) - n + 1))
    return grams


def _new_phrases(keys: Sequence[str], known: Sequence[str]) -> List[int]:
    """A label for each key sharing a new phrase with others, -1 for the rest.

    A new phrase is a Latin word or a run of 2 to 4 characters that no training text holds
    and at least MIN_SHARED distinct texts here do: users saying one thing a new way (扣款协议,
    挂着, quxiao).
    The phrase with the most texts times its length (up to 4: a short Latin word such as
    "wo" or "le" is a function word, not a new phrase) is taken first, or the shorter phrase
    inside it that more texts share; its texts are one group, and so on with what is left.
    """
    seen: set = set()
    for text in known:
        seen |= _ngrams(_key(text))
    holders: Dict[str, set] = defaultdict(set)
    for index, key in enumerate(keys):
        for gram in _ngrams(key) - seen:
            holders[gram].add(index)
    labels = [-1] * len(keys)
    label = 0
    while True:
        open_holders = {g: {i for i in held if labels[i] < 0} for g, held in holders.items()}
        best = min(
            (g for g, held in open_holders.items() if len(held) >= MIN_SHARED),
            key=lambda g: (-len(open_holders[g]) * min(len(g), 4), -len(g), g),
            default=None,
        )
        if best is None:
            return labels
        best = _widest(best, open_holders)
        for index in open_holders[best]:
            labels[index] = label
        label += 1
        holders.pop(best)


def _widest(phrase: str, holders: Dict[str, set]) -> str:
    """The new phrase inside `phrase` that more texts share (盗刷 rather than 被盗刷, when 被 is
    only the neighbour some of them put before it); `phrase` itself if none."""
    while True:
        wider = [
            inner
            for inner in holders
            if inner != phrase
            and inner in phrase
            and not _LATIN_WORD.fullmatch(inner)  # a Latin word is whole, never a part
            and holders[inner] > holders[phrase]
        ]
        if not wider:
            return phrase
        phrase = max(wider, key=lambda inner: (len(holders[inner]), len(inner), inner))


def _labels(keys: Sequence[str], distance: float, known: Sequence[str]) -> List[int]:
    """Group labels: by shared new phrases first, then by similarity for the rest."""
    if not keys:
        return []
    labels = _new_phrases(keys, known) if known else [-1] * len(keys)
    rest = [i for i, label in enumerate(labels) if label < 0]
    if rest:
        offset = max(labels) + 1
        found = _cluster([keys[i] for i in rest], distance, known)
        for index, label in zip(rest, found, strict=True):
            labels[index] = offset + label
    return labels


def group(
    items: Sequence[Collected],
    texts: Sequence[str],
    distance: float = DEFAULT_DISTANCE,
    known: Sequence[str] = (),
) -> tuple[List[Group], int]:
    """The groups of `items` (whose shown texts are `texts`), largest first, and how many
    turns were left out over MAX_TEXTS distinct texts. `known`: the training texts."""
    by_key: Dict[str, List[int]] = defaultdict(list)
    for index, text in enumerate(texts):
        by_key[_key(text)].append(index)
    weight = Counter({key: len(indices) for key, indices in by_key.items()})
    # Most frequent first, then alphabetical: the same store always gives the same groups.
    keys = sorted(by_key, key=lambda k: (-weight[k], k))
    kept, dropped = keys[:MAX_TEXTS], keys[MAX_TEXTS:]
    labels = _labels(kept, distance, known)
    groups: Dict[int, Group] = defaultdict(Group)
    first: Dict[int, str] = {}
    for key, label in zip(kept, labels, strict=True):
        groups[label].items.extend(items[i] for i in by_key[key])
        first.setdefault(label, key)
    ranked = sorted(groups, key=lambda g: (-groups[g].conversations, -groups[g].turns, first[g]))
    return [groups[label] for label in ranked], sum(len(by_key[k]) for k in dropped)
