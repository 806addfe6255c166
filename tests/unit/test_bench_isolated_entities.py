"""The ablations' entity extractor keeps its dictionary out of jieba's global one."""

from __future__ import annotations

from bench.baselines.isolated_entities import private_pipeline


def test_private_dictionary_stays_private() -> None:
    """The private segmenter keeps a made-up name whole; global jieba never learns it."""
    import jieba

    word = "嘀嗒嗡嘤会员"
    nlp = private_pipeline([{"label": "service", "pattern": word, "id": "X"}], [word])
    doc = nlp(f"帮我退订{word}吧")
    assert [(ent.text, ent.ent_id_) for ent in doc.ents] == [(word, "X")]
    assert word in [token.text for token in doc]
    assert word not in jieba.lcut(f"帮我退订{word}吧")
