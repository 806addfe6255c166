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
    # Another contract word: an authorisation to debit, taken back (read as a legal question).
    "代扣授权": (
        "cancel_subscription",
        ["收回代扣授权", "代扣授权我要收回", "撤回那个代扣授权", "代扣授权不给了",
         "把话费代扣授权撤回", "代扣授权能收回吗", "我要收回所有代扣授权", "视频会员的代扣授权收回",
         "撤销代扣授权", "代扣授权给我撤回来", "帮我撤回代扣授权吧", "音乐的代扣授权收回一下"],
    ),
    # Northeastern colloquial 整没 ("make it gone") for cancelling.
    "整没": (
        "cancel_subscription",
        ["把会员给我整没了", "这会员赶紧整没", "包月那玩意儿整没它", "自动续费给整没了吧",
         "帮我把这会员整没", "整没那个包月", "视频会员整没得了", "给我整没这个VIP",
         "能不能整没这会员", "把续费那玩意儿整没", "音乐会员整没它", "这玩意儿整没了吧"],
    ),
    # 盗刷 ("stolen charges"): a charge the user did not make, in the words of card fraud.
    "盗刷": (
        "report_unexpected_charge",
        ["话费被盗刷了", "有人盗刷我的话费", "是不是被盗刷了", "盗刷了我二十块", "我怀疑被盗刷",
         "话费怎么被盗刷", "又被盗刷了一笔", "这是盗刷吧", "盗刷话费怎么办", "手机话费遭盗刷",
         "感觉被人盗刷了", "盗刷的钱找谁"],
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
