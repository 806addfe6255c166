"""Numbers as Chinese words: cardinals (二百四十八), money (二十五元五角), digits (幺零零八六)."""

from __future__ import annotations

from typing import List, Optional

from core.digits import DIGIT_WORDS, ONE_ALOUD

_DIGITS = DIGIT_WORDS
_PLACES = ((1000, "千"), (100, "百"), (10, "十"), (1, ""))


def spell_digits(digits: str, one: str = ONE_ALOUD) -> str:
    """Each digit as a word; `one` is 幺 when reading numbers aloud, 一 in years."""
    return "".join(one if d == "1" else _DIGITS[int(d)] for d in digits if d.isdigit())


def _below_ten_thousand(n: int) -> str:
    out, pending_zero = "", False
    for place, unit in _PLACES:
        digit = n // place % 10
        if digit == 0:
            pending_zero = pending_zero or bool(out)
            continue
        if pending_zero:
            out += "零"
            pending_zero = False
        out += _DIGITS[digit] + unit
    return out


def cardinal(n: int) -> str:
    """A whole number in words: 0 → 零, 10 → 十, 101 → 一百零一, 15000 → 一万五千."""
    if n < 0:
        return "负" + cardinal(-n)
    if n == 0:
        return "零"
    if n >= 10**8:
        return spell_digits(str(n), one="一")
    high, low = divmod(n, 10_000)
    if high:
        out = _below_ten_thousand(high) + "万"
        if low:
            out += ("零" if low < 1000 else "") + _below_ten_thousand(low)
    else:
        out = _below_ten_thousand(low)
    return out[1:] if out.startswith("一十") else out


def money_words(amount: str) -> str:
    """ "25" → 二十五元, "2" → 两元, "25.5" → 二十五元五角, "25.05" → 二十五元零五分."""
    whole, _, fraction = amount.partition(".")
    fraction = (fraction + "00")[:2]
    yuan, jiao, fen = int(whole or 0), int(fraction[0]), int(fraction[1])
    out = ""
    if yuan:
        out = ("两" if yuan == 2 else cardinal(yuan)) + "元"
    if jiao:
        out += _DIGITS[jiao] + "角"
    elif fen and yuan:
        out += "零"
    if fen:
        out += _DIGITS[fen] + "分"
    return out or "零元"


def number_words(whole: str, fraction: Optional[str] = None) -> str:
    """ "7" → 七, "4", "5" → 四点五."""
    words = cardinal(int(whole))
    return words + "点" + spell_digits(fraction, one="一") if fraction else words


def date_words(year: str, month: str, day: str) -> Optional[str]:
    """ "2026", "12", "04" → 二零二六年十二月四日; None when it is not a date."""
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
        return None
    return f"{spell_digits(year, one='一')}年{cardinal(int(month))}月{cardinal(int(day))}日"


def time_words(hour: int, minute: int) -> Optional[str]:
    """18:05 → 十八点零五分, 9:00 → 九点整; None when it is not a time."""
    if hour > 24 or minute > 59:
        return None
    if minute == 0:
        return f"{cardinal(hour)}点整"
    return f"{cardinal(hour)}点{'零' if minute < 10 else ''}{cardinal(minute)}分"


def digit_groups(digits: str) -> List[str]:
    """How a long number is read in groups: a mobile number 3-4-4, others in fours."""
    if len(digits) == 11 and digits.startswith("1"):
        return [digits[:3], digits[3:7], digits[7:]]
    if len(digits) <= 5:
        return [digits]
    return [digits[i : i + 4] for i in range(0, len(digits), 4)]
