"""Spoken input: the channel's tidying of ASR text (the n-best choice is the server's:
tests/unit/test_nbest.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.voice_asr import clean_asr_text


@pytest.mark.parametrize(
    ("heard", "meant"),
    [
        ("嗯，嗯，那个，帮我取消绿钻", "帮我取消绿钻"),
        ("幺三八，零零幺三，八零零零", "幺三八零零幺三八零零零"),
        ("验证码是三幺零，二四零。", "验证码是三幺零二四零。"),
        ("那个，就是说，我要转人工", "我要转人工"),
        ("额，取消吧", "取消吧"),
        ("好啊", "好啊"),
        ("金额不对", "金额不对"),
        ("嗯", ""),
        ("啊？", ""),
        ("？？？", ""),
        ("嗯哼。", ""),
        ("查一下凭证号 T D 二零二六 幺幺二六 九五八 三幺幺", "查一下凭证号 TD20261126958311"),
        ("凭证号是t d，二零二六，幺幺二六，二三五，三a二", "凭证号是TD202611262353A2"),
        ("TD开头的", "TD开头的"),
    ],
)
def test_clean_asr_text(heard: str, meant: str) -> None:
    """Fillers and pauses inside spoken numbers go; a bare interjection is nothing heard."""
    assert clean_asr_text(heard) == meant


@given(st.text(max_size=60))
def test_clean_asr_text_never_grows_or_fails(text: str) -> None:
    """Cleaning only removes."""
    assert len(clean_asr_text(text)) <= len(text)
