"""What a user says about an unexpected charge, and which charges agree with it
(actions/charge_claims.py: pure, no Rasa, no store)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from actions.charge_claims import (
    Claim,
    Span,
    asks_for_refund,
    claim_words,
    cn_number,
    local_day,
    matches,
    matching,
    read_amounts,
    read_claim,
    read_spans,
)
from catalog import load_catalog

TZ = "Asia/Shanghai"
# Sunday 6 December 2026 in Shanghai.
TODAY = date(2026, 12, 6)
DIGITS = "零一二三四五六七八九"
# The catalog's canonical name -> product code, as the adapter maps the `service` entity.
CODES = {product.name: product.code for product in load_catalog().products}


def chinese(n: int) -> str:
    """n (0 < n < 100000) in Chinese numerals as people write them: 十五, 一百零五, 三万零一十."""
    out, zero, started = "", False, False
    for value, name in ((10000, "万"), (1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit == 0:
            zero = zero or started
            continue
        if zero:
            out, zero = out + "零", False
        out, started = out + DIGITS[digit] + name, True
    return out[1:] if out.startswith("一十") else out


@dataclass(frozen=True)
class Charge:
    """Just what matching reads of the store's ChargeReview."""

    amount: Decimal
    charged_at: datetime
    product_name: str = "网易云音乐黑胶VIP"

    @property
    def product_code(self) -> str:
        """The code the store's ChargeReview carries with the name."""
        return CODES[self.product_name]


def at_local(day: date, hour: int = 10) -> datetime:
    """A UTC moment on `day` at `hour` o'clock in Shanghai."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc) - timedelta(hours=8)


# --- the reported sentence --------------------------------------------------------------------


def test_the_reported_sentence() -> None:
    """上个月 30块钱: November 2026 and ¥30; yesterday's ¥15 agrees with neither."""
    claim = read_claim(["你好，我上个月莫名其妙被扣了30块钱，是什么情况"], TODAY)
    assert claim.amounts == (Decimal(30),)
    assert claim.spans == (Span(date(2026, 11, 1), date(2026, 11, 30), "上个月"),)
    assert claim.services == ()
    assert claim.described()
    yesterday = Charge(Decimal("15.00"), at_local(TODAY - timedelta(days=1)))
    assert matching(claim, [yesterday], TZ) == []
    assert claim_words(claim) == "上个月、¥30"


def test_nothing_described_matches_everything() -> None:
    """都取消了怎么还扣我钱: no amount, time or membership; every charge agrees."""
    claim = read_claim(["都取消了怎么还扣我钱"], TODAY)
    assert claim == Claim()
    assert not claim.described()
    charges = [
        Charge(Decimal(15), at_local(TODAY)),
        Charge(Decimal(25), at_local(date(2026, 9, 1))),
    ]
    assert matching(claim, charges, TZ) == charges


# --- amounts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("莫名其妙被扣了30块钱", ["30"]),
        ("莫名其妙扣了25块", ["25"]),
        ("扣了三十块钱", ["30"]),
        ("扣了我三十块", ["30"]),
        ("二十五块五", ["25.5"]),
        ("25块5", ["25.5"]),
        ("25块5毛", ["25.5"]),
        ("两块五毛钱", ["2.5"]),
        ("一块五", ["1.5"]),
        ("五毛钱", ["0.5"]),
        ("15.5元", ["15.5"]),
        ("十五点五元", ["15.5"]),
        ("¥30", ["30"]),
        ("￥30", ["30"]),
        ("人民币30", ["30"]),
        ("３０元", ["30"]),
        ("扣了我30", ["30"]),
        ("扣了30，怎么回事", ["30"]),
        ("扣费30是什么", ["30"]),
        ("扣了我十五", ["15"]),
        ("一百零五元", ["105"]),
        ("两百五十元", ["250"]),
        ("一百二十块钱", ["120"]),
        ("15元一个月", ["15"]),
        ("扣了两次15块", ["15"]),
        ("会员是15块一个月的，这个月扣了30", ["15", "30"]),
        ("30块，不对，是30元", ["30"]),
        ("我这个月话费突然多了40", ["40"]),
        ("點解仲扣我25蚊", ["25"]),
        ("收了我二十五", ["25"]),
    ],
)
def test_amounts(text: str, amounts: list) -> None:
    """Amounts as users say and write them, spoken numerals and full-width digits included."""
    assert read_amounts(text) == [Decimal(a) for a in amounts]


@pytest.mark.parametrize(
    "text",
    [
        "13800138000",
        "手机号13600136000",
        "验证码482913",
        "482913",
        "12月5日",
        "扣了两次",
        "扣了三个月",
        "扣了一下",
        "被扣了一笔",
        "我们一块儿开的会员",
        "扣了我5号",
        "都取消了怎么还扣我钱",
        "单号TD20261124K7M2Q5",
        "扣了我好多钱",
        "",
    ],
)
def test_no_amount(text: str) -> None:
    """Phones, codes, dates, counts and references are not amounts."""
    assert read_amounts(text) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("十", 10),
        ("十五", 15),
        ("三十", 30),
        ("二十五", 25),
        ("一百", 100),
        ("一百零五", 105),
        ("一百一十", 110),
        ("两百五", 250),
        ("一千二", 1200),
        ("一千零五十", 1050),
        ("一万二千", 12000),
        ("十万", 100000),
        ("一五", 15),
        ("两", 2),
    ],
)
def test_cn_number(text: str, value: int) -> None:
    """Chinese numerals, with units or spelled digit by digit."""
    assert cn_number(text) == value


@pytest.mark.parametrize("text", ["", "百", "千五", "三五十", "abc", "十a"])
def test_cn_number_rejects(text: str) -> None:
    """What is not a number reads as None."""
    assert cn_number(text) is None


AMOUNT_FORMS = [
    "{n}块",
    "{n}块钱",
    "{n}元",
    "¥{n}",
    "{n} 元",
    "扣了我{n}，",
    "{cn}块钱",
    "{cn}元",
    "扣了{cn}，",
]
PREFIXES = ["", "你好，", "我上个月莫名其妙被扣了", "昨天", "网易云会员扣了"]
SUFFIXES = ["", "，是什么情况", "？", "了", "的会员费"]


@given(
    n=st.integers(min_value=1, max_value=99999),
    form=st.sampled_from(AMOUNT_FORMS),
    prefix=st.sampled_from(PREFIXES),
    suffix=st.sampled_from(SUFFIXES),
)
@example(n=30, form="{n}块钱", prefix="我上个月莫名其妙被扣了", suffix="，是什么情况")
@example(n=10010, form="{cn}元", prefix="", suffix="")
def test_any_whole_amount_is_read(n: int, form: str, prefix: str, suffix: str) -> None:
    """Any whole amount, in digits or numerals, inside a sentence, reads as itself."""
    text = prefix + form.format(n=n, cn=chinese(n)) + suffix
    assert read_amounts(text) == [Decimal(n)]


@given(
    n=st.integers(min_value=0, max_value=9999),
    tenths=st.integers(min_value=1, max_value=9),
    form=st.sampled_from(["{n}块{t}", "{n}块{t}毛", "{n}.{t}元", "{cn}块{ct}"]),
)
def test_amounts_with_tenths(n: int, tenths: int, form: str) -> None:
    """25块5, 25块5毛, 25.5元, 二十五块五."""
    if n == 0 and form.startswith("{cn}"):
        return  # 零块五 is not how anyone says it
    text = form.format(n=n, t=tenths, cn=chinese(n) if n else "", ct=DIGITS[tenths])
    assert read_amounts(text) == [Decimal(n) + Decimal(tenths) / 10]


@given(
    phone=st.from_regex(r"1[3-9]\d{9}", fullmatch=True),
    code=st.from_regex(r"\d{6}", fullmatch=True),
)
def test_phones_and_codes_are_never_amounts(phone: str, code: str) -> None:
    """A phone number or a code, alone or said with words, is no amount."""
    for text in (phone, code, f"我的号码是{phone}", f"验证码{code}", f"{phone} {code}"):
        assert read_amounts(text) == []


# --- times ----------------------------------------------------------------------------------------


def span_of(text: str, today: date = TODAY) -> tuple:
    """The (first, last) days of the one span a text names."""
    (span,) = read_spans(text, today)
    return span.first, span.last


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("上个月", date(2026, 11, 1), date(2026, 11, 30)),
        ("上月扣的", date(2026, 11, 1), date(2026, 11, 30)),
        ("上上个月", date(2026, 10, 1), date(2026, 10, 31)),
        ("这个月", date(2026, 12, 1), TODAY),
        ("本月", date(2026, 12, 1), TODAY),
        ("今天", TODAY, TODAY),
        ("昨天", date(2026, 12, 5), date(2026, 12, 5)),
        ("前天", date(2026, 12, 4), date(2026, 12, 4)),
        ("大前天", date(2026, 12, 3), date(2026, 12, 3)),
        ("上周", date(2026, 11, 23), date(2026, 11, 29)),
        ("上个星期", date(2026, 11, 23), date(2026, 11, 29)),
        ("这周", date(2026, 11, 30), TODAY),
        ("12月5日", date(2026, 12, 5), date(2026, 12, 5)),
        ("12月5号", date(2026, 12, 5), date(2026, 12, 5)),
        ("十二月五号", date(2026, 12, 5), date(2026, 12, 5)),
        ("11月份", date(2026, 11, 1), date(2026, 11, 30)),
        ("十一月", date(2026, 11, 1), date(2026, 11, 30)),
        ("12月7日", date(2025, 12, 7), date(2025, 12, 7)),  # still to come this year
        ("5号", date(2026, 12, 5), date(2026, 12, 5)),
        ("20号", date(2026, 11, 20), date(2026, 11, 20)),
        ("31号", date(2026, 10, 31), date(2026, 10, 31)),
        ("上个月5号", date(2026, 11, 5), date(2026, 11, 5)),
        ("3天前", date(2026, 12, 2), date(2026, 12, 4)),
        ("三天前", date(2026, 12, 2), date(2026, 12, 4)),
        ("十天以前", date(2026, 11, 25), date(2026, 11, 27)),
        ("前几天", date(2026, 11, 29), date(2026, 12, 5)),
        ("最近10天", date(2026, 11, 26), TODAY),
        ("三个月前", date(2026, 9, 1), date(2026, 9, 30)),
        ("去年", date(2025, 1, 1), date(2025, 12, 31)),
        ("去年12月", date(2025, 12, 1), date(2025, 12, 31)),
        ("2026年11月3日", date(2026, 11, 3), date(2026, 11, 3)),
        ("今年", date(2026, 1, 1), TODAY),
    ],
)
def test_spans(text: str, first: date, last: date) -> None:
    """Times as users say them, as spans of Shanghai days counted from today."""
    assert span_of(text) == (first, last)


@pytest.mark.parametrize(
    "text",
    [
        "每个月都扣",
        "扣了两个月",
        "连续包月",
        "手机号码",
        "1号线",
        "13月5日",
        "2月30日",
        "32号",
        "下个月",
        "最近老扣钱",
        "",
    ],
)
def test_no_span(text: str) -> None:
    """Durations, plans, impossible dates and the future name no span."""
    assert read_spans(text, TODAY) == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("上个月已经退订了 这个月又扣了", ["这个月"]),
        ("我上周已经退了腾讯视频 今天又扣了25块", ["今天"]),
        ("上个月都取消了 这个月怎么还扣钱啊", ["这个月"]),
        ("我12月1日就取消了，怎么还扣", []),
        ("上个月扣了30", ["上个月"]),
    ],
)
def test_when_the_user_cancelled_is_not_when_they_were_charged(text: str, words: list) -> None:
    """A time followed by 退订/取消/退了 says when they cancelled: not part of the claim."""
    assert [s.words for s in read_claim([text], TODAY).spans] == words
    assert read_spans(text, TODAY)  # as a time, it is still read


def test_the_words_of_a_span_are_the_users() -> None:
    """Relative times keep the user's words; dates are said as 12月5日."""
    assert [s.words for s in read_spans("上个月", TODAY)] == ["上个月"]
    assert [s.words for s in read_spans("十二月五号", TODAY)] == ["12月5日"]
    assert [s.words for s in read_spans("5号", TODAY)] == ["12月5日"]


DAY_FORMS = ["{m}月{d}日", "{m}月{d}号", "{cm}月{cd}号", "{cm}月{cd}日"]


@given(
    today=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    back=st.integers(min_value=0, max_value=364),
    form=st.sampled_from(DAY_FORMS),
)
@example(today=date(2025, 1, 10), back=316, form="{m}月{d}日")  # 2024-02-29
def test_any_date_within_a_year_is_that_day(today: date, back: int, form: str) -> None:
    """M月D日 within the last year is exactly that day, whatever today is."""
    day = today - timedelta(days=back)
    text = form.format(m=day.month, d=day.day, cm=chinese(day.month), cd=chinese(day.day))
    assert span_of(text, today) == (day, day)


@given(
    today=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    count=st.integers(min_value=1, max_value=300),
    numerals=st.booleans(),
)
def test_days_ago_holds_that_day(today: date, count: int, numerals: bool) -> None:
    """N天前 holds the day N days back (and its neighbours, never a future day)."""
    text = f"{chinese(count) if numerals else count}天前"
    (span,) = read_spans(text, today)
    assert span.holds(today - timedelta(days=count))
    assert span.last <= today
    assert (span.last - span.first).days <= 2


@given(today=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_last_month_is_the_whole_previous_month(today: date) -> None:
    """上个月 holds every day of the previous calendar month and no other."""
    (span,) = read_spans("上个月", today)
    first_of_this = today.replace(day=1)
    last_of_previous = first_of_this - timedelta(days=1)
    assert span.first == last_of_previous.replace(day=1)
    assert span.last == last_of_previous
    assert not span.holds(first_of_this)


@given(today=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_last_week_is_monday_to_sunday(today: date) -> None:
    """上周 is the seven days of the week before this one, Monday first."""
    (span,) = read_spans("上周", today)
    assert span.first.weekday() == 0 and (span.last - span.first).days == 6
    assert span.last < today and (today - span.last).days <= 7


# --- memberships and whole claims ---------------------------------------------------------------


def test_claim_over_several_messages() -> None:
    """Parts said over several messages add up, each once; memberships come in as given."""
    claim = read_claim(
        ["网易云会员莫名扣了15块", "13600136000", "482913", "是昨天扣的15块"],
        TODAY,
        ["网易云音乐黑胶VIP", "网易云音乐黑胶VIP"],
        CODES,
    )
    assert claim.amounts == (Decimal(15),)
    assert [s.words for s in claim.spans] == ["昨天"]
    assert claim.services == ("网易云音乐黑胶VIP",) and claim.service_codes == ("netease_vinyl",)
    assert claim_words(claim) == "昨天、¥15、网易云音乐黑胶VIP"


def test_a_membership_alone_is_a_claim() -> None:
    """Naming only the membership still describes the charge."""
    claim = read_claim(["腾讯视频怎么扣钱了"], TODAY, ["腾讯视频VIP"], CODES)
    assert claim.described() and claim_words(claim) == "腾讯视频VIP"
    tencent = Charge(Decimal(25), at_local(TODAY), "腾讯视频VIP")
    vinyl = Charge(Decimal(15), at_local(TODAY))
    assert matching(claim, [vinyl, tencent], TZ) == [tencent]


def test_every_described_part_must_agree() -> None:
    """A charge matches only when amount, day and membership all agree."""
    claim = read_claim(["昨天扣了15块"], TODAY, ["网易云音乐黑胶VIP"], CODES)
    yesterday = at_local(TODAY - timedelta(days=1))
    assert matches(claim, Charge(Decimal("15.00"), yesterday), TZ)
    assert not matches(claim, Charge(Decimal("15.5"), yesterday), TZ)
    assert not matches(claim, Charge(Decimal(15), at_local(TODAY)), TZ)
    assert not matches(claim, Charge(Decimal(15), yesterday, "QQ音乐绿钻"), TZ)


def test_days_are_counted_in_the_operators_timezone() -> None:
    """01:00 on 1 December in Shanghai is still 30 November in UTC: it is December's."""
    moment = datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc)
    assert local_day(moment, TZ) == date(2026, 12, 1)
    charge = Charge(Decimal(15), moment)
    assert matches(read_claim(["12月1日"], TODAY), charge, TZ)
    assert matches(read_claim(["这个月"], TODAY), charge, TZ)
    assert not matches(read_claim(["上个月"], TODAY), charge, TZ)


charges_strategy = st.lists(
    st.builds(
        Charge,
        amount=st.sampled_from([Decimal(15), Decimal(25), Decimal("22.5"), Decimal(248)]),
        charged_at=st.integers(min_value=0, max_value=120).map(
            lambda back: at_local(TODAY - timedelta(days=back), hour=back % 24)
        ),
        product_name=st.sampled_from(["网易云音乐黑胶VIP", "腾讯视频VIP", "QQ音乐绿钻"]),
    ),
    max_size=8,
)


@given(charges=charges_strategy, pick=st.integers(min_value=0, max_value=7))
def test_a_charge_described_by_its_own_parts_always_matches(charges: list, pick: int) -> None:
    """Describe one charge by its date, amount and membership: it is among the matches,
    and every match agrees with it on all three."""
    if not charges:
        return
    charge = charges[pick % len(charges)]
    day = local_day(charge.charged_at, TZ)
    text = f"{day.month}月{day.day}日扣了{charge.amount}元"
    claim = read_claim([text], TODAY, [charge.product_name], CODES)
    found = matching(claim, charges, TZ)
    assert charge in found
    for other in found:
        assert other.amount == charge.amount and other.product_name == charge.product_name
        assert local_day(other.charged_at, TZ) == day


@given(charges=charges_strategy, text=st.sampled_from(["上个月30块", "昨天", "15元", "本月"]))
def test_matching_keeps_order_and_only_agreeing_charges(charges: list, text: str) -> None:
    """matching() is the charges that match(), in their order."""
    claim = read_claim([text], TODAY)
    assert matching(claim, charges, TZ) == [c for c in charges if matches(claim, c, TZ)]


# --- asking for the refund in words ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["帮我申请退款吧", "申请退款", "好的，退款", "那就退吧", "提交吧", "我要退款 乱扣费",
     "把多扣的钱退给我", "这笔扣费帮我退了", "退钱", "我要求全额退款", "帮我办理"],
)  # fmt: skip
def test_asking_for_the_refund(text: str) -> None:
    """Words that ask for the refund, describing nothing: after the offer, a yes."""
    assert asks_for_refund(text)


@pytest.mark.parametrize(
    "text",
    ["不用退了", "先不申请", "算了别退了", "扣了钱能退回来吗", "钱什么时候退给我", "退款要多久？",
     "我要申请退还多扣的20元", "上个月那笔帮我退了", "好的", "怎么又扣钱了", "", "取消腾讯视频"],
)  # fmt: skip
def test_not_asking_for_the_refund(text: str) -> None:
    """A no, a question, a description of a charge or anything else is not that yes."""
    assert not asks_for_refund(text)


def test_a_membership_is_matched_by_its_code_not_its_display_name() -> None:
    """The named membership is matched through its product code; a name the catalog does not
    know matches no charge (as before, when it was compared with the charges' names)."""
    vinyl = Charge(Decimal(15), at_local(TODAY))
    assert matches(read_claim(["扣了15"], TODAY, ["网易云音乐黑胶VIP"], CODES), vinyl, TZ)
    unknown = read_claim(["扣了15"], TODAY, ["不存在的会员"], CODES)
    assert unknown.described() and unknown.service_codes == ()
    assert not matches(unknown, vinyl, TZ)
