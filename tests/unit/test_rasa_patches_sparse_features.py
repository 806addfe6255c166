"""rasa_patches.sparse_features: the joined features equal Rasa's, entry for entry."""

from __future__ import annotations

from typing import List

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message

from rasa_patches import sparse_features

ORIGINAL = sparse_features._original
FORMATS = ("coo", "csr", "csc")  # a mix goes through Rasa's code
DTYPES = (np.float32, np.float64, np.int64)


def _features(rows: int, widths: List[int], formats: List[str], dtypes: List, seed: int):
    rng = np.random.default_rng(seed)
    out = []
    for i, (width, fmt, dtype) in enumerate(zip(widths, formats, dtypes, strict=True)):
        matrix = scipy.sparse.random(rows, width, density=0.3, format=fmt, random_state=rng)
        out.append(Features(matrix.astype(dtype), "sequence", "text", f"featuriser{i}"))
    return out


def _assert_same(ours: Features, theirs: Features) -> None:
    assert (ours.type, ours.attribute) == (theirs.type, theirs.attribute)
    assert ours.origin == theirs.origin
    assert ours._cached_fingerprint is None and theirs._cached_fingerprint is None
    a, b = ours.features, theirs.features
    assert (a.format, a.dtype, a.shape) == (b.format, b.dtype, b.shape)
    a, b = a.tocoo(), b.tocoo()
    for name in ("data", "row", "col"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
        assert getattr(a, name).dtype == getattr(b, name).dtype


@settings(max_examples=200, deadline=None)
@given(
    rows=st.integers(1, 12),
    widths=st.lists(st.integers(1, 3000), min_size=2, max_size=5),
    data=st.data(),
)
def test_the_join_equals_rasas(rows: int, widths: List[int], data: st.DataObject) -> None:
    n = len(widths)
    formats = data.draw(st.lists(st.sampled_from(FORMATS), min_size=n, max_size=n))
    dtypes = data.draw(st.lists(st.sampled_from(DTYPES), min_size=n, max_size=n))
    seed = data.draw(st.integers(0, 2**31))
    featurizers = ["a", "b"]
    ours = sparse_features.combine_features(
        _features(rows, widths, formats, dtypes, seed), featurizers
    )
    theirs = ORIGINAL(_features(rows, widths, formats, dtypes, seed), featurizers)
    _assert_same(ours, theirs)
    assert ours.origin is featurizers


def test_the_featurisers_give_coo_blocks_and_the_parse_is_unchanged() -> None:
    """What the shipped pipeline gives takes the fast way, and DIET's answer is bit-identical."""
    import asyncio

    from rasa.core.agent import Agent

    from tests.e2e.bot import latest_model

    agent = Agent.load(str(latest_model()))
    texts = ["帮我把腾讯视频的自动续费关了", "13800138000", "确认取消", "先不取消", "阿巴阿巴"]
    seen: List[List[str]] = []

    def spying(features: List[Features], featurizers: List[str]):
        seen.append([f.features.format if f.is_sparse() else "dense" for f in features])
        return sparse_features.combine_features(features, featurizers)

    loop = asyncio.new_event_loop()
    try:
        theirs = [loop.run_until_complete(agent.parse_message(t)) for t in texts]
        saved = Message.__dict__["_combine_features"]
        Message._combine_features = staticmethod(spying)
        try:
            ours = [loop.run_until_complete(agent.parse_message(t)) for t in texts]
        finally:
            Message._combine_features = saved
    finally:
        loop.close()
    assert any(len(formats) >= 2 for formats in seen)
    assert all(set(formats) == {"coo"} for formats in seen if len(formats) >= 2)
    assert ours == theirs  # confidences to the last digit


def test_the_inputs_are_left_as_they_were() -> None:
    given_features = _features(3, [5, 7, 2], ["csr", "coo", "coo"], [np.float64] * 3, 1)
    before = [f.features.copy() for f in given_features]
    sparse_features.combine_features(given_features, [])
    for f, old in zip(given_features, before, strict=True):
        assert (f.features != old).nnz == 0


def test_other_cases_go_through_rasa() -> None:
    one = _features(2, [4], ["csr"], [np.float64], 2)
    _assert_same(sparse_features.combine_features(one, ["x"]), ORIGINAL(one, ["x"]))
    assert sparse_features.combine_features([], ["x"]) is None
    mismatched = _features(2, [4], ["coo"], [np.float64], 3)
    mismatched += _features(3, [4], ["coo"], [np.float64], 4)
    with pytest.raises(ValueError):
        sparse_features.combine_features(mismatched, [])
    dense = [
        Features(np.ones((2, 3)), "sentence", "text", "d1"),
        Features(np.zeros((2, 4)), "sentence", "text", "d2"),
    ]
    assert np.array_equal(
        sparse_features.combine_features(dense, []).features, ORIGINAL(dense, []).features
    )


def test_apply_is_idempotent() -> None:
    saved = Message.__dict__["_combine_features"]
    try:
        sparse_features.apply()
        sparse_features.apply()
        assert Message._combine_features is sparse_features.combine_features
    finally:
        Message._combine_features = saved
