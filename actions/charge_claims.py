"""What a user says about a charge they did not expect (how much, when, which membership),
and which of the account's charges agree with it. Pure: no Rasa, no store."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Iterable, List, Mapping, Optional, Protocol, Sequence, Tuple
from zoneinfo import ZoneInfo

from actions.phrases import money
from core.digits import SPOKEN_DIGITS
from nlu.normalize import normalize

# Nobody is charged this much for a membership: a longer number is a phone, a code, a date.
MAX_AMOUNT = Decimal(100000)
# "N天前" is counted loosely by users: the day before and after count too.
DAYS_AGO_SLACK = 1
# "前几天" / "这几天": about a week.
FEW_DAYS = 7

_CN_DIGITS = {char: int(digit) for char, digit in SPOKEN_DIGITS.items()}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_CN = "零〇○一幺二两三四五六七八九十百千万"
_CN_SMALL = "零〇一二两三四五六七八九十"  # month and day numbers

# An amount: ASCII digits (optionally with cents) or Chinese numerals.
_NUM = rf"(?:(?<![\d.])\d{{1,6}}(?:\.\d{{1,2}})?(?![\d])|(?<![{_CN}])[{_CN}]+(?:点[{_CN}]+)?)"
# Words counting something else: "扣了两次", "三个月", "一下", "5号".
_COUNTED = "个次年月天日周号笔期下遍回位倍项条种家部张台份分秒点"
_YUAN = re.compile(
    rf"(?P<num>{_NUM})\s*(?:块(?!儿)|元|圆|蚊)(?:钱)?"
    rf"(?:(?P<jiao>\d|[一二两三四五六七八九])(?:毛|角|(?![{_COUNTED}块元\d])))?"
)
_JIAO_ONLY = re.compile(rf"(?<![块元圆\d{_CN}])(?P<num>\d|[一二两三四五六七八九])(?:毛|角)钱?")
_SIGN = re.compile(r"(?:[¥￥]|RMB|rmb|人民币)\s*(?P<num>\d{1,6}(?:\.\d{1,2})?)(?!\d)")
# A bare number right after 扣 ("扣了我30", "多了40", "收了我25"), when nothing says it
# counts something else.
_BARE = re.compile(
    rf"(?:扣|多|收)(?:了|掉|走|去|款|费)*(?:我)?(?:的)?\s*(?:"
    rf"(?P<digits>(?<![\d.])\d{{1,6}}(?:\.\d{{1,2}})?)(?![\d.{_COUNTED}块元圆毛角])"
    rf"|(?P<cn>[{_CN}]+)(?=$|[\s,.!?，。！？、的是钱啊呀呢吧]))"
)

_DAY_WORDS = {
    "今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "昨儿": 1, "前天": 2, "前日": 2, "大前天": 3,
}  # fmt: skip
_M = rf"\d{{1,2}}|[{_CN_SMALL}]+"  # a month or day number
# Alternatives are tried in this order at each position: longer readings first.
_SPAN = re.compile(
    "|".join(
        [
            rf"(?P<ymd>(?:(?P<y>\d{{4}})年|(?P<yw>去年|今年))(?P<m0>{_M})月(?:份)?"
            rf"(?:(?P<d0>{_M})(?:日|号))?)",
            rf"(?P<md>(?<!\d)(?P<m1>{_M})月(?P<d1>{_M})(?:日|号))",
            rf"(?P<ago_day>上(?:个)?月(?P<d3>{_M})(?:日|号))",
            r"(?P<ago2>上上(?:个)?月)",
            r"(?P<ago1>上(?:个)?月)",
            r"(?P<this_month>(?:这|本|当)(?:个)?月)",
            rf"(?P<months_ago>(?P<mn>{_M})个月(?:以)?前)",
            rf"(?P<days_ago>(?P<dn>\d{{1,3}}|[{_CN_SMALL}百]+)(?:天|日)(?:以)?前)",
            r"(?P<few_before>前几天|前两天|前些天|前些日子)",
            r"(?P<few_recent>这几天|这两天|最近几天|近几天)",
            rf"(?P<last_days>(?:前|近|最近)(?P<ln>\d{{1,3}}|[{_CN_SMALL}百]+)天)",
            r"(?P<day_word>大前天|前天|前日|昨天|昨日|昨儿|今天|今日)",
            r"(?P<last_week>上(?:个)?(?:周|星期|礼拜))",
            r"(?P<this_week>(?:这|本)(?:个)?(?:周|星期|礼拜))",
            r"(?P<last_year>去年)",
            r"(?P<this_year>今年)",
            rf"(?P<month>(?<![\d个几每上下这本当])(?P<m2>{_M})月(?:份)?(?![\d{_CN_SMALL}]))",
            rf"(?P<day>(?<![\d月{_CN_SMALL}第])(?P<d2>{_M})(?:日|号)(?!码|线))",
        ]
    )
)
_KINDS = (
    "ymd", "md", "ago_day", "ago2", "ago1", "this_month", "months_ago", "days_ago",
    "few_before", "few_recent", "last_days", "day_word", "last_week", "this_week",
    "last_year", "this_year", "month", "day",
)  # fmt: skip


# Right after a time: the user says they cancelled then ("上周已经退了腾讯视频").
_CANCELLED_THEN = re.compile(
    r"\s*(?:我|就|都|已经|已|刚|才|早就|明明|也)*\s*"
    r"(?:退订|取消|退了|退掉|关了|关掉|关闭|停了|解约)"
)


# Asking for the refund in words, or not.
_FILE_WORDS = re.compile(r"退款|退钱|退回|退给我|帮我退|给我退|要退|退吧|退了吧|申请|提交|办理")
_NEGATION = re.compile(r"不|别|没|算了|否|先等")
_QUESTION = re.compile(r"吗|么|\?|？|什么时候|多久|能不能|可不可以|是不是|怎样|如何|啥时")


class ChargeLike(Protocol):
    """What matching needs of a charge (the store's ChargeReview has it)."""

    amount: Decimal
    charged_at: datetime
    product_code: str


@dataclass(frozen=True)
class Span:
    """A stretch of local days, both ends included, with the words the user said for it."""

    first: date
    last: date
    words: str

    def holds(self, day: date) -> bool:
        """Whether `day` lies inside the span."""
        return self.first <= day <= self.last


@dataclass(frozen=True)
class Claim:
    """What the user described: any of these amounts, in any of these spans, for any of
    these memberships; an empty part says nothing about that part."""

    amounts: Tuple[Decimal, ...] = ()
    spans: Tuple[Span, ...] = ()
    services: Tuple[str, ...] = ()  # as the user named them (canonical names), for replies
    service_codes: Tuple[str, ...] = ()  # their product codes, what charges are matched by

    def described(self) -> bool:
        """Whether the user described anything at all."""
        return bool(self.amounts or self.spans or self.services)


def cn_number(text: str) -> Optional[int]:
    """A whole number in Chinese numerals (三十, 一百零五, 两百五, 一五), or None."""
    if not text or any(ch not in _CN_DIGITS and ch not in _CN_UNITS for ch in text):
        return None
    if not any(ch in _CN_UNITS for ch in text):
        # Spelled digit by digit, as speech recognition writes them: 一五 is 15.
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    total, section, digit = 0, 0, None
    last_unit, zero_seen = 1, False
    for ch in text:
        if ch in _CN_DIGITS:
            if _CN_DIGITS[ch] == 0:
                zero_seen = True
                continue
            if digit is not None:
                return None  # two digits in a row inside a number with units
            digit = _CN_DIGITS[ch]
        elif ch == "万":
            total += (section + (digit or 0)) * 10000
            section, digit, last_unit, zero_seen = 0, None, 10000, False
        else:
            unit = _CN_UNITS[ch]
            if digit is None:
                if unit != 10 or section or total:
                    return None  # 百 or 千 without a digit before it
                digit = 1  # 十五 is 15
            section += digit * unit
            digit, last_unit, zero_seen = None, unit, False
    if digit is not None:
        # 两百五 is 250 and 一千二 is 1200; after a 零 the digit is units (一百零五 is 105).
        section += digit * (last_unit // 10) if last_unit >= 100 and not zero_seen else digit
    return total + section


def _number(text: str) -> Optional[Decimal]:
    """An ASCII or Chinese number, with Chinese decimals (十五点五), as a Decimal."""
    if not text:
        return None
    if text[0].isdigit():
        try:
            return Decimal(text)
        except InvalidOperation:
            return None
    whole, _, fraction = text.partition("点")
    value = cn_number(whole)
    if value is None:
        return None
    if not fraction:
        return Decimal(value)
    digits = [_CN_DIGITS.get(ch) for ch in fraction]
    if any(d is None for d in digits):
        return None
    return Decimal(f"{value}.{''.join(str(d) for d in digits)}")


def _amount(value: Optional[Decimal]) -> Optional[Decimal]:
    if value is None or not 0 < value < MAX_AMOUNT:
        return None
    return value


def read_amounts(text: str) -> List[Decimal]:
    """The amounts of money in a message (30块, 三十块钱, ¥30, 25块5, 5毛, 扣了我30), in order."""
    text = normalize(text)
    found: List[Tuple[int, Decimal]] = []
    for match in _YUAN.finditer(text):
        value = _number(match.group("num"))
        jiao = match.group("jiao")
        if value is not None and jiao:
            tenths = int(jiao) if jiao.isdigit() else _CN_DIGITS[jiao]
            value += Decimal(tenths) / 10
        found.append((match.start(), value))
    for match in _JIAO_ONLY.finditer(text):
        number = match.group("num")
        tenths = int(number) if number.isdigit() else _CN_DIGITS[number]
        found.append((match.start(), Decimal(tenths) / 10))
    for pattern, group in ((_SIGN, "num"), (_BARE, "digits"), (_BARE, "cn")):
        for match in pattern.finditer(text):
            if match.group(group):
                found.append((match.start(group), _number(match.group(group))))
    amounts: List[Decimal] = []
    for _, value in sorted(found, key=lambda item: item[0]):
        value = _amount(value)
        if value is not None and value not in amounts:
            amounts.append(value)
    return amounts


def _small(text: Optional[str]) -> Optional[int]:
    if not text:
        return None
    return int(text) if text.isdigit() else cn_number(text)


def _month_span(year: int, month: int, words: str, today: date) -> Span:
    """A calendar month, up to today at most."""
    last = date(year, month, calendar.monthrange(year, month)[1])
    return Span(date(year, month, 1), min(last, today), words)


def _months_back(today: date, count: int) -> Tuple[int, int]:
    """The (year, month) `count` months before today's."""
    index = today.year * 12 + today.month - 1 - count
    return index // 12, index % 12 + 1


def _day(year: int, month: int, mday: int) -> Optional[date]:
    try:
        return date(year, month, mday)
    except ValueError:
        return None


def _one_day(found: Optional[date], today: date) -> Optional[Span]:
    """A single day that has already come (a charge cannot be in the future)."""
    if found is None or found > today:
        return None
    return Span(found, found, f"{found.month}月{found.day}日")


def _dated(kind: str, match: re.Match, today: date) -> Optional[Span]:
    """Spans named by a calendar date or month."""
    if kind == "ymd":
        year = int(match.group("y")) if match.group("y") else today.year
        if match.group("yw") == "去年":
            year = today.year - 1
        month, mday = _small(match.group("m0")), _small(match.group("d0"))
        if month is None or not 1 <= month <= 12 or not 2000 <= year <= today.year:
            return None
        if match.group("d0"):
            return _one_day(_day(year, month, mday or 0), today)
        if date(year, month, 1) > today:
            return None
        return _month_span(year, month, f"{year}年{month}月", today)
    if kind == "md":
        month, mday = _small(match.group("m1")), _small(match.group("d1"))
        if month is None or mday is None or not 1 <= month <= 12:
            return None
        # This year's, or last year's when this year's is still to come (or has no such day).
        found = _day(today.year, month, mday)
        if found is None or found > today:
            found = _day(today.year - 1, month, mday)
        return _one_day(found, today)
    if kind == "ago_day":
        year, month = _months_back(today, 1)
        return _one_day(_day(year, month, _small(match.group("d3")) or 0), today)
    if kind == "month":
        month = _small(match.group("m2"))
        if month is None or not 1 <= month <= 12:
            return None
        year = today.year if month <= today.month else today.year - 1
        return _month_span(year, month, f"{month}月", today)
    mday = _small(match.group("d2"))
    if mday is None or not 1 <= mday <= 31:
        return None
    # This month's, else the latest month before that has the day.
    for back in range(3):
        year, month = _months_back(today, back)
        found = _day(year, month, mday)
        if found is not None and found <= today:
            return _one_day(found, today)
    return None


def _relative(kind: str, match: re.Match, today: date) -> Optional[Span]:
    """Spans counted back from today."""
    words = match.group(0)
    day = timedelta(days=1)
    if kind in ("ago1", "ago2", "months_ago"):
        count = {"ago1": 1, "ago2": 2}.get(kind) or _small(match.group("mn")) or 0
        if not 0 < count <= 24:
            return None
        year, month = _months_back(today, count)
        return _month_span(year, month, words, today)
    if kind == "this_month":
        return Span(today.replace(day=1), today, words)
    if kind in ("days_ago", "last_days"):
        count = _small(match.group("dn" if kind == "days_ago" else "ln"))
        if count is None or not 0 < count <= 400:
            return None
        if kind == "last_days":
            return Span(today - count * day, today, words)
        center = today - count * day
        return Span(center - DAYS_AGO_SLACK * day, min(today, center + DAYS_AGO_SLACK * day), words)
    if kind == "few_before":
        return Span(today - FEW_DAYS * day, today - day, words)
    if kind == "few_recent":
        return Span(today - FEW_DAYS * day, today, words)
    if kind == "day_word":
        found = today - _DAY_WORDS[words] * day
        return Span(found, found, words)
    if kind in ("last_week", "this_week"):
        monday = today - today.weekday() * day
        if kind == "this_week":
            return Span(monday, today, words)
        return Span(monday - 7 * day, monday - day, words)
    if kind == "last_year":
        return Span(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), words)
    return Span(date(today.year, 1, 1), today, words)  # this_year


def _span(match: re.Match, today: date) -> Optional[Span]:
    """The span one match names, or None when it names no real past day."""
    kind = next(kind for kind in _KINDS if match.group(kind) is not None)
    if kind in ("ymd", "md", "ago_day", "month", "day"):
        return _dated(kind, match, today)
    return _relative(kind, match, today)


def read_spans(text: str, today: date, charges_only: bool = False) -> List[Span]:
    """The times a message names (上个月, 昨天, 12月5日, 3天前 …) as spans of local days.

    With `charges_only`, a time that says when the user cancelled ("上周已经退了", "上个月都
    取消了") is left out: the charge they ask about came after it, not in it.
    """
    spans: List[Span] = []
    text = normalize(text)
    for match in _SPAN.finditer(text):
        if charges_only and _CANCELLED_THEN.match(text, match.end()):
            continue
        span = _span(match, today)
        if span is not None and span not in spans:
            spans.append(span)
    return spans


def read_claim(
    texts: Iterable[str],
    today: date,
    services: Iterable[str] = (),
    codes: Optional[Mapping[str, str]] = None,
) -> Claim:
    """What the user described in `texts` (their messages about the charge), with the
    memberships they named (canonical names, `codes` giving each one's product code: a
    name without one matches no charge); `today` is the operator's local date."""
    amounts: List[Decimal] = []
    spans: List[Span] = []
    for text in texts:
        for amount in read_amounts(text or ""):
            if amount not in amounts:
                amounts.append(amount)
        for span in read_spans(text or "", today, charges_only=True):
            if span not in spans:
                spans.append(span)
    named: List[str] = []
    for service in services:
        if service and service not in named:
            named.append(service)
    codes = codes or {}
    service_codes = tuple(codes[name] for name in named if name in codes)
    return Claim(tuple(amounts), tuple(spans), tuple(named), service_codes)


def asks_for_refund(text: str) -> bool:
    """Whether a message asks for a refund in words of its own ("帮我申请退款吧", "退钱"),
    describing no charge and asking no question: right after a refund offer, its yes.

    A negation ("不用退了"), a question ("钱什么时候退给我", "能退吗") or a description of a
    charge ("退上个月30那笔") is not one: that is answered, or reviewed, instead.
    """
    text = normalize(text or "")
    return (
        bool(_FILE_WORDS.search(text))
        and not _NEGATION.search(text)
        and not _QUESTION.search(text)
        and not read_amounts(text)
        and _SPAN.search(text) is None
    )


def local_day(moment: datetime, tz: str) -> date:
    """The day a moment falls on in the operator's timezone."""
    return moment.astimezone(ZoneInfo(tz)).date()


def matches(claim: Claim, charge: ChargeLike, tz: str) -> bool:
    """Whether a charge agrees with every part the user described."""
    if claim.amounts and not any(charge.amount == amount for amount in claim.amounts):
        return False
    if claim.spans and not any(s.holds(local_day(charge.charged_at, tz)) for s in claim.spans):
        return False
    return not claim.services or charge.product_code in claim.service_codes


def matching(claim: Claim, charges: Sequence[ChargeLike], tz: str) -> List[ChargeLike]:
    """The charges that agree with the claim, in their order."""
    return [charge for charge in charges if matches(claim, charge, tz)]


def claim_words(claim: Claim) -> str:
    """The claim as the user said it, for a reply: 上个月、¥30、网易云音乐黑胶VIP."""
    parts = [span.words for span in claim.spans]
    parts += [money(amount) for amount in claim.amounts]
    parts += list(claim.services)
    return "、".join(parts)
