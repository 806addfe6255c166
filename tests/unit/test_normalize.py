"""Tests for nlu.normalize: table tests per step plus hypothesis properties."""

import string

import opencc
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nlu.normalize import normalize, normalize_with_map, remap_span

# Independent of the module on purpose: the tests state what a digit is.
CN_DIGITS = {
    "零": "0", "〇": "0", "○": "0", "一": "1", "幺": "1", "二": "2", "两": "2",
    "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
}  # fmt: skip
DIGIT_CHARS = set(CN_DIGITS) | set(string.digits)
# Common Simplified characters with no digit characters and no measure words.
SIMPLIFIED = "我要退订会员的续费取消爱奇艺为什么账单帐著名干燥皇后干头发手机号码验证请帮谢好吗"
# Surroundings for numbers: Simplified, no digits, no measure words after a number.
SURROUNDING = "我要退订会员的续费取消爱奇艺为什么帐单头发手机码验证请帮忙谢谢好吗是然后"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # step 1: full-width forms
        ("１３８００１３８０００", "13800138000"),
        ("ＶＩＰ会员", "VIP会员"),
        ("ＯＫ＠＃－＿", "OK@#-_"),
        ("取消！好吗？（是的）：；～", "取消！好吗？（是的）：；～"),
        ("退订\u3000会员", "退订 会员"),
        ("ａｂｃＸＹＺ", "abcXYZ"),
        ("好的，谢谢。、", "好的，谢谢。、"),
        # step 2: Traditional -> Simplified
        ("會員", "会员"),
        ("退訂", "退订"),
        ("續費", "续费"),
        ("愛奇藝", "爱奇艺"),
        ("為什麼", "为什么"),
        ("頭髮", "头发"),
        ("我要退訂愛奇藝的會員", "我要退订爱奇艺的会员"),
        ("著名", "著名"),
        ("皇后", "皇后"),
        ("乾燥", "干燥"),  # 乾燥 is Traditional; OpenCC reads the word
        ("干燥", "干燥"),
        ("干", "干"),
        ("兩個都取消", "两个都取消"),
        # step 3: Chinese digits inside number runs
        ("幺三八零零幺三八零零零", "13800138000"),
        ("一三八 零零一三 八零零零", "13800138000"),
        ("验证码四八二九一三", "验证码482913"),
        ("我的号是幺三九零零幺三九零零零然后", "我的号是13900139000然后"),
        ("138零零138000", "13800138000"),
        ("拨打一零零八六", "拨打10086"),
        ("幺零零八六", "10086"),
        ("〇○零一", "0001"),
        ("幺三八", "138"),
        ("1二三", "123"),
        ("二零二四年", "2024年"),
        ("一 三 八 零 零 一 三 八 零 零 零", "13800138000"),
        # quantities, ordinals and idioms stay
        ("第一个", "第一个"),
        ("一个月", "一个月"),
        ("两个都取消", "两个都取消"),
        ("三天", "三天"),
        ("一二", "一二"),
        ("一二三", "一二三"),
        ("十五块", "十五块"),
        ("二十五元", "二十五元"),
        ("一五一十", "一五一十"),
        ("一一", "一一"),
        ("三三两两", "三三两两"),
        ("15一个月", "15一个月"),
        ("会员费30 一年", "会员费30 一年"),
        ("VIP一年", "VIP一年"),
        # step 4: separators inside numbers
        ("138 0013 8000", "13800138000"),
        ("13800138000 482913", "13800138000 482913"),
        ("482 913", "482913"),
        ("138-0013-8000", "13800138000"),
        ("138–0013—8000", "13800138000"),
        ("138\u30000013\u30008000", "13800138000"),
        ("4 8 2 9 1 3", "482913"),
        ("12345678901 1 23", "12345678901 123"),
        ("138  0013", "138  0013"),
        ("138,0013", "138,0013"),
        ("3-5天", "3-5天"),
        ("10-20元", "10-20元"),
        ("TD 20261101 B2N6WD", "TD20261101B2N6WD"),
        ("凭证 TD 2026 1022 7Z3D JT", "凭证 TD202610227Z3DJT"),  # read out in groups
        ("这个td20261025 8fssz m是什么", "这个td202610258fsszm是什么"),
        ("td 2026 1101 b2n6wdx", "td 20261101 b2n6wdx"),  # 7 characters after the date: no
        ("我的TD 1234 号码", "我的TD 1234 号码"),
        ("td20261101 b2n6wd", "td20261101b2n6wd"),
        ("A1 2345", "A1 2345"),
        # mixed sentences
        (
            "手機號是１３８ ００１３ ８０００，驗證碼四八二九一三",
            "手机号是13800138000，验证码482913",
        ),
        ("手機號１３８－００１３－８０００", "手机号13800138000"),
        ("退訂愛奇藝會員，訂單號TD 20261101 B2N6WD", "退订爱奇艺会员，订单号TD20261101B2N6WD"),
        ("两个会员一个月多少钱？😀", "两个会员一个月多少钱？😀"),
        ("Hello World", "Hello World"),
        ("a\tb\x00c", "a\tb\x00c"),
        ("", ""),
    ],
)
def test_normalize_table(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(("text", "options"), [("帳單", {"账单", "帐单"})])
def test_normalize_either_form(text: str, options: set) -> None:
    assert normalize(text) in options


def test_map_of_spaced_number_covers_compacted_number() -> None:
    text = "号码138 0013 8000谢谢"
    out, mapping = normalize_with_map(text)
    start, end = remap_span(mapping, 2, 15)
    assert out[start:end] == "13800138000"
    assert out[slice(*remap_span(mapping, 0, 2))] == "号码"
    assert out[slice(*remap_span(mapping, 15, 17))] == "谢谢"


def test_map_of_traditional_text_is_identity() -> None:
    out, mapping = normalize_with_map("我要退訂愛奇藝")
    assert out == "我要退订爱奇艺"
    assert mapping == list(range(8))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("怎麽取消", "怎么取消"),  # 麽 is 么 only in this word
        ("乾脆退訂算了", "干脆退订算了"),
        ("我瞭解了", "我了解了"),
        ("乾坤", "乾坤"),  # a name that keeps its 乾
        ("瞭望", "瞭望"),
        ("頭髮", "头发"),
        ("後來又扣費了", "后来又扣费了"),
    ],
)
def test_traditional_phrases_by_opencc(text: str, expected: str) -> None:
    """OpenCC's phrase-level t2s, not a character table: 乾 and 瞭 depend on the word."""
    assert normalize(text) == expected


TRADITIONAL_PHRASE_CHARS = "乾脆瞭解怎麽頭髮後來於是覆蓋著作一隻訂閱會員扣費"


@given(st.text(alphabet=st.sampled_from(TRADITIONAL_PHRASE_CHARS), max_size=30))
def test_traditional_conversion_keeps_every_place(text: str) -> None:
    out, mapping = normalize_with_map(text)
    assert len(out) == len(text)
    assert mapping == list(range(len(text) + 1))


def test_empty_map() -> None:
    assert normalize_with_map("") == ("", [0])


# Alphabet that hits every rule: digits, separators, letters, units, full-width, Traditional.
TRICKY = st.text(
    alphabet=st.sampled_from(
        list("0123456789零〇○一幺二两三四五六七八九十 -–—\u3000")
        + list("个月年天号码是aB１２ＡＢ會員兩頭髮乾著后，。")
    ),
    max_size=40,
)
ANY_TEXT = st.one_of(TRICKY, st.text(max_size=40))


@given(ANY_TEXT)
def test_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@given(ANY_TEXT)
def test_never_longer(text: str) -> None:
    assert len(normalize(text)) <= len(text)


@given(ANY_TEXT)
def test_map_shape(text: str) -> None:
    out, mapping = normalize_with_map(text)
    assert out == normalize(text)
    assert len(mapping) == len(text) + 1
    assert mapping[0] == 0
    assert mapping[-1] == len(out)
    assert all(a <= b for a, b in zip(mapping, mapping[1:], strict=False))


def _simplified_targets() -> list[str]:
    """Every Simplified character that OpenCC's t2s converts some other character to."""
    convert = opencc.OpenCC("t2s").convert
    targets = {convert(chr(code)) for code in range(0x4E00, 0xA000)}
    return sorted(
        ch for ch in targets if len(ch) == 1 and convert(ch) == ch and ch not in DIGIT_CHARS
    )


@given(st.text(alphabet=st.sampled_from(SIMPLIFIED + "，。！？、 "), max_size=40))
def test_simplified_text_unchanged(text: str) -> None:
    assert normalize(text) == text


@given(st.text(alphabet=st.sampled_from(_simplified_targets()), max_size=40))
def test_opencc_simplified_targets_unchanged(text: str) -> None:
    assert normalize(text) == text


@given(st.text(alphabet=st.sampled_from(string.ascii_letters + " .,!?-_"), max_size=40))
def test_ascii_letters_unchanged(text: str) -> None:
    assert normalize(text) == text


def _number() -> st.SearchStrategy[list[str]]:
    """Digit groups (ASCII or Chinese digits) with 4-11 digits in total."""
    group = st.text(alphabet=st.sampled_from(sorted(DIGIT_CHARS)), min_size=1, max_size=4)
    return st.lists(group, min_size=1, max_size=4).filter(
        lambda groups: 4 <= sum(map(len, groups)) <= 11
    )


@settings(max_examples=200)
@given(
    st.text(alphabet=st.sampled_from(SURROUNDING), max_size=10),
    _number(),
    st.lists(st.sampled_from([" ", "-", "–", "—", "\u3000"]), min_size=3, max_size=3),
    st.text(alphabet=st.sampled_from(SURROUNDING), max_size=10),
)
def test_remapped_number_span_is_compacted(
    prefix: str, groups: list[str], seps: list[str], suffix: str
) -> None:
    number = groups[0] + "".join(sep + group for sep, group in zip(seps, groups[1:], strict=False))
    assume(number not in {"三三两两", "七七八八"})
    # Two short dash-separated groups read as a range ("10-20") and are not joined.
    assume(not (len(groups) == 2 and seps[0] not in " \u3000" and max(map(len, groups)) <= 3))
    text = prefix + number + suffix
    out, mapping = normalize_with_map(text)
    compact = "".join(CN_DIGITS.get(ch, ch) for ch in "".join(groups))
    start, end = remap_span(mapping, len(prefix), len(prefix) + len(number))
    assert out[start:end] == compact
    assert out[slice(*remap_span(mapping, 0, len(prefix)))] == prefix
    assert out[slice(*remap_span(mapping, len(text) - len(suffix), len(text)))] == suffix


def test_the_installed_opencc_is_the_official_one() -> None:
    """The install removes opencc-python-reimplemented: it owns the same module name, and
    its character table would silently replace the phrase-level conversion."""
    from importlib import metadata

    assert metadata.version("opencc") == "1.4.2"
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.version("opencc-python-reimplemented")
    assert opencc.OpenCC("t2s").convert("乾脆瞭解乾坤") == "干脆了解乾坤"
