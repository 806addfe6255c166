"""The training data: enough varied examples, entities aligned with jieba tokens, no leakage."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from catalog import load_catalog
from nlu import jieba_words
from nlu.normalize import normalize, normalize_with_map, remap_span
from tests.shared_files import shared_eval_files
from tests.unit.test_domain_names import python_names
from tools.gen_rules import build as build_rules

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_INTENTS = [
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "cancel_subscription",
    "check_subscription",
    "query_cancellation",
    "ask_cancel_methods",
    "ask_consequences",
    "report_unexpected_charge",
    "ask_legal_rights",
    "request_human",
    "inform",
    "out_of_scope",
]
# The contract's own examples (contract.md, intents table) must keep their labels.
CONTRACT_EXAMPLES = {
    "greet": ["你好", "在吗", "喂"],
    "goodbye": ["再见", "没别的事了"],
    "thank": ["谢谢", "辛苦了"],
    "affirm": ["是的", "对", "确认取消", "好的"],
    "deny": ["不是", "不用了", "算了不办了", "先不取消了"],
    "cancel_subscription": ["帮我把爱奇艺自动续费关了", "怎么退订QQ音乐绿钻", "不想再扣费了"],
    "check_subscription": ["我开了哪些会员", "下次什么时候扣费"],
    "query_cancellation": ["上周取消的办好了吗", "查一下单号TD20261124K7M2Q5"],
    "ask_cancel_methods": ["发短信能退订吗", "营业厅能办吗", "有哪些取消方式"],
    "ask_consequences": ["取消后还能用到月底吗", "取消了钱会退吗"],
    "report_unexpected_charge": ["都取消了怎么还扣我钱", "莫名其妙扣了25块"],
    "ask_legal_rights": ["商家不让取消合法吗", "我有权随时取消吗"],
    "request_human": ["转人工", "我要找客服"],
    "inform": ["13800138000", "验证码482913", "腾讯视频那个"],
    "out_of_scope": ["今天天气怎么样", "给我讲个笑话"],
}


@pytest.fixture(scope="module")
def training():
    """The NLU training data."""
    return load_data(str(ROOT / "data" / "nlu"))


def plain_texts(path: Path) -> set:
    """The plain texts of an NLU file's examples."""
    return {m.get("text") for m in load_data(str(path)).intent_examples}


def test_every_intent_has_forty_varied_examples(training) -> None:
    """Each contract intent has at least 40 distinct examples."""
    counts = Counter(m.get("intent") for m in training.intent_examples)
    for intent in CONTRACT_INTENTS + ["resend_code"]:
        assert counts[intent] >= 40, f"{intent} has only {counts[intent]} examples"
    texts = [m.get("text") for m in training.intent_examples]
    assert len(texts) == len(set(texts)), "duplicate training examples"


def eval_texts() -> set:
    """Normalised texts of the shared evaluation files (never trained on); skips without them."""
    __tracebackhide__ = True
    return {normalize(t) for path in shared_eval_files() for t in plain_texts(path)}


def test_contract_examples_keep_their_labels(training) -> None:
    """The contract's examples are trained with its labels (unless held out for evaluation)."""
    labels = {m.get("text"): m.get("intent") for m in training.intent_examples}
    for intent, examples in CONTRACT_EXAMPLES.items():
        for example in examples:
            if example in labels:
                assert labels[example] == intent, f"{example!r} should be {intent}"
    untrained = [e for examples in CONTRACT_EXAMPLES.values() for e in examples if e not in labels]
    if not untrained:
        return
    # Only the shared evaluation files say whether an example missing here is held out.
    held_out = eval_texts()
    missing = [example for example in untrained if normalize(example) not in held_out]
    assert not missing, f"contract examples neither trained nor held out: {missing}"


def test_held_out_data_is_never_trained_on(training) -> None:
    """No utterance of tests/nlu_holdout.yml appears in the training data (even normalised)."""
    trained = {normalize(m.get("text")) for m in training.intent_examples}
    path = ROOT / "tests" / "nlu_holdout.yml"
    leaked = {t for t in plain_texts(path) if normalize(t) in trained}
    assert not leaked, f"{path.name} utterances in training data: {sorted(leaked)[:5]}"


def test_shared_evaluation_data_is_never_trained_on(training) -> None:
    """No utterance of the shared evaluation files appears in the training data (normalised)."""
    trained = {normalize(m.get("text")) for m in training.intent_examples}
    for path in shared_eval_files():
        leaked = {t for t in plain_texts(path) if normalize(t) in trained}
        assert not leaked, f"{path.name} utterances in training data: {sorted(leaked)[:5]}"


def test_holdout_has_two_hundred_utterances() -> None:
    """The project's held-out set is large enough to measure 95 %."""
    assert len(plain_texts(ROOT / "tests" / "nlu_holdout.yml")) >= 200


def test_annotated_entities_align_with_jieba_tokens(training) -> None:
    """After normalisation, every annotated entity starts and ends on a token boundary."""
    jieba_words.register_words(jieba_words.catalog_words(load_catalog()))
    tokenizer = JiebaTokenizer(JiebaTokenizer.get_default_config(), None, None)
    misaligned = []
    for example in training.intent_examples:
        entities = example.get("entities") or []
        if not entities:
            continue
        text, mapping = normalize_with_map(example.get("text"))
        tokens = tokenizer.tokenize(Message(data={"text": text}), "text")
        starts = {t.start for t in tokens}
        ends = {t.end for t in tokens}
        for ent in entities:
            start, end = remap_span(mapping, ent["start"], ent["end"])
            if start not in starts or end not in ends:
                misaligned.append((example.get("text"), text[start:end], [t.text for t in tokens]))
    assert not misaligned, f"{len(misaligned)} entities straddle tokens: {misaligned[:5]}"


def test_service_values_are_canonical_catalog_names(training) -> None:
    """Annotated memberships use the catalog's canonical names."""
    names = {p.name for p in load_catalog().products}
    for example in training.intent_examples:
        for ent in example.get("entities") or []:
            if ent["entity"] == "service":
                assert ent["value"] in names, ent


def test_every_response_is_used() -> None:
    """Every response is named by the Python code, a rule or story, or a form's question.

    That every response the code names exists is tests/unit/test_domain_names.py's check.
    """
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    named = {n.name for n in python_names() if n.kind == "response"}
    data = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "data").rglob("*.yml"))
    forms = domain.get("forms", {})
    asked = {f"utter_ask_{slot}" for form in forms.values() for slot in form["required_slots"]}
    unused = {r for r in domain["responses"] if r not in named and r not in data and r not in asked}
    assert not unused, f"responses nobody uses: {sorted(unused)}"


def test_rules_are_what_their_generator_writes() -> None:
    """data/rules.yml is exactly tools/gen_rules.py's output (run it after editing its tables)."""
    written = (ROOT / "data" / "rules.yml").read_text(encoding="utf-8")
    assert written.startswith("# Generated by tools/gen_rules.py"), "rules.yml lost its header"
    rules = yaml.safe_load(written)
    assert rules["version"] == "3.1"
    generated = {r["rule"]: r for r in build_rules()}
    in_file = {r["rule"]: r for r in rules["rules"]}
    hint = "run `python tools/gen_rules.py` (edit its tables, not data/rules.yml)"
    assert list(in_file) == list(generated), (
        f"rules differ in name or order ({hint}): only in the file "
        f"{sorted(set(in_file) - set(generated))}, only generated "
        f"{sorted(set(generated) - set(in_file))}"
    )
    changed = [name for name in generated if in_file[name] != generated[name]]
    assert not changed, f"rules edited by hand ({hint}): {changed}"
