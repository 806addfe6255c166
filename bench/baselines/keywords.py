"""Baseline (b): keyword rules for intents and regexes plus catalog names for entities.

What a developer writes in an afternoon without machine learning: an ordered list of
(intent, pattern) rules, the first match wins; an utterance with no rule but an entity is
`inform`, anything else `out_of_scope`. Services are found by the longest catalog name or
alias in the text; numbers by regexes on ASCII digits. No normaliser, no dictionary, no
training: the rules were written from the contract's intent table and the training data,
never from the held-out files.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

from catalog import Catalog, load_catalog

# Checked in this order: specific requests before the broad cancel/check wording, social
# intents last because their words (好, 不, 喂) also appear inside longer requests. Each rule
# is a list of regex alternatives.
# fmt: off
RULES: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("request_human", ("人工", "真人", "活人", "坐席", "客服", "接线员", "换个人", "human")),
    ("ask_legal_rights", (
        "合法", "违法", "犯法", "法律", "法规", "依据", "规定", "权利", "权益", "有权", "维权",
        "投诉", "举报", "12315", "工信部", "合规", "合理吗", "条款", "起诉", "告(你|他)", "赔偿",
    )),
    ("report_unexpected_charge", (
        "(还|又|乱|多|偷偷|莫名其?妙?|不明|重复|一直)(在)?扣", "扣.{0,6}(退钱|退款|还我|退回)",
        "没开过", "没订过", "不认", "退钱", "退款", "refund", "多了一笔", "少了.{0,4}(块|元)",
        "扣(了)?我.{0,3}钱", "钱什么时候退",
    )),
    ("resend_code", (
        "(没|不|冇)(收到|到|来|收着)", "收不到", "重发", "再发", "重新发", "过期", "失效", "超时",
        "新的?验证码", "验证码.{0,4}(删|没看到)", "resend",
    )),
    ("query_cancellation", (
        "单号", "凭证", "回执", "办好", "(成功|生效|退掉|搞定|办成|完成)了?(没|吗|沒|嗎)",
        "成没成", "状态", "进度", "记录", "到哪一步", "处理(到|完)", "怎么样了", "取消过",
        "退订结果", "已退订",
    )),
    ("ask_consequences", (
        "(取消|退订|退了|关了|关掉|退掉).{0,12}(还能|还会|会不会|会被|影响|失效|权益|剩下|能退|退不退)",
        "(以后|之后|后).{0,6}(还能|还在|重新|再开)", "违约金", "积分", "等级", "清零", "还在吗",
        "会丢", "首月", "新人价", "多久生效",
    )),
    ("ask_cancel_methods", (
        "方式", "渠道", "途径", "办法", "法子", "方法", "短信", "营业厅", "热线", "10086", "网页",
        "官网", "公众号", "网上", "在哪", "哪里", "哪儿", "怎么关", "自己关", "只能", "iphone",
        "苹果", "app", "支付宝", "微信", "回复", "ways",
    )),
    ("check_subscription", (
        "哪些", "什么会员", "开了(哪些|什么|啥|几个)", "开通了", "订了", "到期", "下次", "多少",
        "几笔", "扣费日期", "什么时候扣", "查询", "查(一下|查|下|看)", "看看", "有没有开",
        "是不是开了", "列表", "还有效", "开着", "续费吗", "怎么收费", "还是包",
    )),
    ("deny", ("^(先|暂时|还是|那)?(不|别)(取消|退|办|弄)", "不取消", "不退了", "算了")),
    ("cancel_subscription", (
        "取消", "退订", "退定", "去消", "退掉", "退了", "退一下", "怎么退", "关掉", "关了", "关闭",
        "停掉", "停了", "怎么停", "不要.{0,8}了", "不想要", "不想再?(扣|续|交)", "不续", "别再续",
        "cancel", "unsubscribe",
    )),
    ("inform", ("第.个", "都要", "全部", "[零一二三四五六七八九幺两0-9]{6,}")),
)
# Only tried when no entity was found: with one, the utterance is `inform`.
SOCIAL_RULES: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("goodbye", (
        "再见", "再見", "再会", "拜", "bye", "88", "先这样", "没事了", "没别的", "没其他", "回见",
        "挂了", "下了", "溜了", "到这", "明天见", "see (you|u)",
    )),
    ("thank", ("谢", "謝", "感谢", "感恩", "辛苦", "麻烦你", "thank", "thx", "3q")),
    ("greet", (
        "你好", "您好", "在吗", "在么", "在嘛", "在不在", "有人吗", "哈喽", "嗨", "hello", "hi",
        "hey", "早上好", "晚上好", "下午好", "^喂",
    )),
    ("deny", (
        "不是", "不要", "不用", "不对", "不行", "不需要", "改主意", "先不", "别", "错了", "跳过",
        "再想想", "考虑", "等一下", "唔使", "唔係", "^否", "^no", "^不",
    )),
    ("affirm", (
        "是", "对", "好", "嗯", "可以", "行", "确认", "确定", "同意", "没问题", "办吧", "没错",
        "要的", "要得", "^ok", "yes", "yep", "^中$",
    )),
)
# fmt: on
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
CODE = re.compile(r"(?<![\dA-Za-z])\d{6}(?![\dA-Za-z])")
REFERENCE = re.compile(r"(?<![0-9A-Za-z])[Tt][Dd]\d{8}[0-9A-Za-z]{6}(?![0-9A-Za-z])")


class KeywordNLU:
    """Rule-based NLU with the same `parse(text)` result shape as Rasa's."""

    def __init__(self, catalog: Optional[Catalog] = None) -> None:
        """Compiles the rules; the catalog defaults to data/catalog.yml."""
        catalog = catalog or load_catalog()
        self._rules = [(intent, re.compile("|".join(words), re.I)) for intent, words in RULES]
        self._social = [
            (intent, re.compile("|".join(words), re.I)) for intent, words in SOCIAL_RULES
        ]
        self._services = sorted(catalog.surface_index().items(), key=lambda kv: -len(kv[0]))

    def entities(self, text: str) -> List[Dict[str, Any]]:
        """Services by catalog name, then reference numbers, phone numbers and codes."""
        found: List[Dict[str, Any]] = []
        taken = [False] * len(text)
        lower = text.lower()

        def claim(start: int, end: int, entity: str, value: str) -> None:
            if not any(taken[start:end]):
                taken[start:end] = [True] * (end - start)
                found.append({"entity": entity, "value": value, "start": start, "end": end})

        for form, name in self._services:
            for match in re.finditer(re.escape(form), lower):
                claim(match.start(), match.end(), "service", name)
        for pattern, entity in ((REFERENCE, "reference_number"), (PHONE, "phone_number")):
            for match in pattern.finditer(text):
                claim(match.start(), match.end(), entity, match.group().upper())
        for match in CODE.finditer(text):
            claim(match.start(), match.end(), "verification_code", match.group())
        return sorted(found, key=lambda e: e["start"])

    def intent(self, text: str, entities: List[Dict[str, Any]]) -> str:
        """The first domain rule that matches, else `inform` if an entity, else social rules."""
        # Entity text must not trigger rules: 'TD' is not an SMS keyword, 退订 inside a name.
        masked = list(text)
        for entity in entities:
            masked[entity["start"] : entity["end"]] = "#" * (entity["end"] - entity["start"])
        plain = "".join(masked)
        for intent, pattern in self._rules:
            if pattern.search(plain):
                return intent
        if entities:
            return "inform"
        for intent, pattern in self._social:
            if pattern.search(plain):
                return intent
        return "out_of_scope"

    def parse(self, text: str) -> Dict[str, Any]:
        """Rasa-shaped result: text, intent with confidence 1, entities with values."""
        entities = self.entities(text)
        return {
            "text": text,
            "intent": {"name": self.intent(text, entities), "confidence": 1.0},
            "entities": entities,
        }
