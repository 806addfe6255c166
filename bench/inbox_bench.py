"""Review inbox benchmark: does the loop from misunderstood turns to training data work?

Plants families of unseen phrasings (hand-written here, one new way of saying one intent
each) among ordinary turns, logs them through the shipped model into a SQL tracker store
shaped as Rasa's, collects the review file (evaluation/review_inbox), labels each group as an
operator would (a group is given the intent of the family most of its examples come from;
groups of ordinary turns are discarded), merges into a copy of data/nlu, retrains the NLU
with the shipped config and compares, before and after: accuracy on fresh samples of the
families (never logged) and on the held-out files. Writes inbox.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
SEED = 20261206
# Examples of each family written to the log; the rest are the fresh samples.
LOGGED = 7
# intent, then the family's phrasings (a new word or turn of phrase shared by all of them).
FAMILIES: Dict[str, Tuple[str, List[str]]] = {
    "扣款协议": (
        "cancel_subscription",
        [
            "把扣款协议解除掉",
            "扣款协议我不签了",
            "解除那个扣款协议",
            "扣款协议给我撤销",
            "我要撤掉自动扣款协议",
            "视频会员的扣款协议解掉",
            "扣款协议能不能解除",
            "帮我解除扣款协议吧",
            "那个扣款协议撤了",
            "扣款协议不要了解除它",
            "音乐会员扣款协议解除一下",
            "请解除我的扣款协议",
        ],
    ),
    "挂着": (
        "check_subscription",
        [
            "我身上挂着几个会员",
            "看看号上挂着啥包月",
            "我这挂着哪些会员啊",
            "号码上还挂着什么",
            "帮我瞧瞧挂着的包月",
            "现在挂着几个自动续的",
            "查下我挂着的东西",
            "挂着的会员有哪些",
            "我号上挂着啥",
            "瞅瞅还挂着什么会员",
            "挂着几个包月业务",
            "看下挂着的续费项目",
        ],
    ),
    "划走": (
        "report_unexpected_charge",
        [
            "卡里被划走了一笔冤枉钱",
            "怎么又划走我的钱",
            "莫名其妙划走了十几块",
            "钱被偷摸划走了",
            "又给我划走一笔",
            "账户平白无故划走钱",
            "谁划走了我的钱",
            "昨天被划走二十块",
            "无缘无故划走我钱",
            "钱怎么就被划走了",
            "又被划走了一次钱",
            "凭什么划走我的钱",
        ],
    ),
    "余下的日子": (
        "ask_consequences",
        [
            "关了以后余下的日子还算不算",
            "余下的日子会不会作废",
            "停了余下的日子还能看吗",
            "余下的日子给不给折现",
            "退了余下的日子咋办",
            "余下的日子还能用不",
            "取消之后余下的日子怎么算",
            "余下的日子能继续用吗",
            "关掉余下的日子还有效吗",
            "余下的日子退不退钱",
            "不续了余下的日子还在吗",
            "余下的日子会被收回吗",
        ],
    ),
    "流程走完": (
        "query_cancellation",
        [
            "上回那个退订流程走完没",
            "退订流程走完了吗",
            "我那个流程走完了没有",
            "流程走完没给个信",
            "取消的流程走完了吗",
            "之前申请的流程走完没",
            "帮我看看流程走完没",
            "退订的流程走到哪了",
            "流程走完了没啊",
            "上周的退订流程走完没有",
            "查下流程走完没",
            "那个取消流程到底走完没",
        ],
    ),
}
