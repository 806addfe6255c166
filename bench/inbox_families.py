"""The inbox bench's planted families: new ways of saying one intent, written by hand
(never generated, never in data/ or an evaluation file), split into what is logged and the
fresh samples the retrained model is measured on."""

from __future__ import annotations

import random
from typing import Dict, List, Tuple

SEED = 20261206
# Examples of each family written to the log; the rest are the fresh samples.
LOGGED = 7
# intent, then the family's phrasings (a new word or turn of phrase shared by all of them).
FAMILIES: Dict[str, Tuple[str, List[str]]] = {
    # A contract word the training data never uses (the model reads it as a legal question).
    "扣款协议": (
        "cancel_subscription",
        ["把扣款协议解除掉", "扣款协议我不签了", "解除那个扣款协议", "扣款协议给我撤销",
         "我要撤掉自动扣款协议", "视频会员的扣款协议解掉", "扣款协议能不能解除",
         "帮我解除扣款协议吧", "那个扣款协议撤了", "扣款协议不要了解除它",
         "音乐会员扣款协议解除一下", "请解除我的扣款协议"],
    ),
    # Pinyin typed without choosing characters (a feature phone, a hurried SMS).
    "quxiao": (
        "cancel_subscription",
        ["quxiao huiyuan", "wo yao quxiao zidong xufei", "bang wo quxiao", "quxiao baoyue",
         "quxiao vip", "zenme quxiao", "kuaidian quxiao", "quxiao tengxun", "quxiao le ba",
         "quxiao aiqiyi", "mashang quxiao", "quxiao xufei"],
    ),
    "chaxun": (
        "check_subscription",
        ["chaxun huiyuan", "wo de huiyuan chaxun", "chaxun wo de baoyue", "bang wo chaxun",
         "chaxun yixia", "chaxun dingyue", "chaxun kaitong de", "xiang chaxun huiyuan",
         "chaxun zidong xufei", "chaxun quanbu", "kuaidian chaxun", "chaxun wo kaile sha"],
    ),
    "kouqian": (
        "report_unexpected_charge",
        ["zenme you kouqian le", "mingmiao kouqian", "bei kouqian le", "luan kouqian",
         "kouqian bu zhidao", "wei shenme kouqian", "you kouqian", "tou tou kouqian",
         "kouqian le ya", "shui kouqian le", "kouqian tai duo", "zai kouqian le"],
    ),
    # English, from a user who does not write Chinese.
    "memberships": (
        "check_subscription",
        ["what memberships do I have", "show me my memberships", "list my memberships",
         "which memberships are active", "do I have any memberships", "check my memberships",
         "what memberships am I paying for", "tell me my memberships",
         "any active memberships on my number", "my memberships please", "show all memberships",
         "how many memberships do I have"],
    ),
}  # fmt: skip


def split_families(seed: int = SEED) -> Tuple[List[Tuple[str, str, str]], List[Tuple[str, str]]]:
    """(family, intent, text) to log, and (intent, text) fresh samples, per family shuffled."""
    rng = random.Random(seed)
    logged, fresh = [], []
    for name, (intent, texts) in FAMILIES.items():
        order = list(texts)
        rng.shuffle(order)
        logged += [(name, intent, text) for text in order[:LOGGED]]
        fresh += [(intent, text) for text in order[LOGGED:]]
    return logged, fresh
