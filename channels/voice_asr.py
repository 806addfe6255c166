"""Spoken input: tidying the platform's ASR text before it is passed on.

Tidying, not understanding: hesitations between pauses, and the pauses ASR writes inside a
number or a reference read aloud in groups, are how this platform transcribes speech; they
depend on nothing the dialogue knows, and a turn made only of them is silence, which the
channel answers itself (turns/answer.py's last answer, no dialogue turn). Which hypothesis is
meant is understanding: the Rasa server chooses it (turns/nbest.py, rasa_patches/nbest.py).
"""

from __future__ import annotations

import re

from core.digits import SPOKEN_DIGITS

_DIGIT = "0-9" + "".join(SPOKEN_DIGITS)
_PAUSE = "，,。、；;！!？?…\\s"
# Hesitations and bare interjections said between pauses. Alone they carry no answer: the
# model reads "嗯" or "啊？" (huh?) as yes, which must never confirm a cancellation, so an
# utterance made only of them counts as nothing heard. 额 only alone (it is also 金额's 额).
_FILLER = re.compile(
    rf"(?:(?<=^)|(?<=[{_PAUSE}]))"
    r"(?:嗯+哼?|呃+|额+|唔+|啊+|哦+|噢+|唉+|诶+|欸+|哎+|嘿+|哈+|那个|然后|就是说?)"
    rf"(?=[{_PAUSE}]|$)"
)
# ASR writes a number read in groups as "幺三八，零零幺三，八零零零": one number.
_DIGIT_PAUSE = re.compile(rf"(?<=[{_DIGIT}])[{_PAUSE}]+(?=[{_DIGIT}])")
_ONLY_PAUSES = re.compile(rf"^[{_PAUSE}]*$")
# A reference read aloud, "T D 二零二六 幺幺二六 九五八 三幺幺": the normaliser leaves digits
# next to letters alone (they belong to codes), so a spoken one is put back together here.
_REF_CHAR = rf"[{_DIGIT}A-Za-z]"
_SPOKEN_REFERENCE = re.compile(
    rf"(?<![A-Za-z])([TtRr])[{_PAUSE}]*([DdFfGg])((?:[{_PAUSE}]*{_REF_CHAR}){{14}})"
    rf"(?![{_PAUSE}]*{_REF_CHAR})"
)
_SPOKEN_DIGITS = str.maketrans(SPOKEN_DIGITS)


def clean_asr_text(text: str) -> str:
    """Drops hesitation words and the pauses ASR puts inside spoken numbers and references."""
    previous = None
    while previous != text:  # "嗯，嗯，那个" needs one pass per filler
        previous, text = text, _FILLER.sub("", text)
    if _ONLY_PAUSES.match(text):
        return ""
    text = _SPOKEN_REFERENCE.sub(_reference, text)
    text = _DIGIT_PAUSE.sub("", text)
    return re.sub(rf"^[{_PAUSE}]+", "", text).strip()


def _reference(match: re.Match) -> str:
    body = re.sub(rf"[{_PAUSE}]", "", match.group(3)).translate(_SPOKEN_DIGITS)
    return (match.group(1) + match.group(2) + body).upper()
