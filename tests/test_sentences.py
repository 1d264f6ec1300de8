"""The sentence splitter (core.text.sentences) and the closest pair (core.matching.evidence): pure."""

from __future__ import annotations

import numpy as np
import pytest

from tongxin.core.matching.evidence import MEANING_FLOOR, closest_pair, meaning_carried
from tongxin.core.matching.explain import Evidence, Explanation
from tongxin.core.matching.rank import TEXT_MAX
from tongxin.core.text.sentences import MAX_CHARS, MAX_SENTENCES, listing_sentences, split_sentences


def test_chinese_terminators_and_line_breaks() -> None:
    got = split_sentences("夏天车间太热，工人受不了。需要给厂房降温！能不能省电？预算有限；希望明年投用\n第二段另起一行说明情况")
    # "能不能省电？" and "预算有限；" are short (fewer than MIN_CHARS letters): they join the sentence before
    assert got == ["夏天车间太热，工人受不了。", "需要给厂房降温！能不能省电？预算有限；", "希望明年投用", "第二段另起一行说明情况"]


def test_english_terminators_keep_decimals_and_abbreviations() -> None:
    got = split_sentences("Our lab offers evaporative cooling. It cuts 3.5 kW per unit! Does it work? It works e.g. in workshops; call us today.")
    assert got == ["Our lab offers evaporative cooling.", "It cuts 3.5 kW per unit!", "Does it work?", "It works e.g. in workshops;", "call us today."]


def test_tiny_fragments_join_their_neighbour() -> None:
    # "是的。" and "好。" say nothing alone: they join the sentence before (the first one the next)
    got = split_sentences("好。夏天车间太热，工人受不了。是的。需要给车间降温。")
    assert got == ["好。夏天车间太热，工人受不了。是的。", "需要给车间降温。"]
    assert split_sentences("Yes. The workshop is far too hot in summer.") == ["Yes. The workshop is far too hot in summer."]
    assert split_sentences("短句。") == ["短句。"]  # a text that is only a fragment is still one sentence


def test_punctuation_only_and_repeats_are_dropped() -> None:
    assert split_sentences("。。！\n\n——") == []
    assert split_sentences("") == []
    assert split_sentences("车间需要降温。车间需要降温。车间需要降温，越快越好。") == ["车间需要降温。", "车间需要降温，越快越好。"]


def test_long_sentences_are_cut_at_commas_then_hard() -> None:
    text = "，".join(f"第{i:02d}个分句的内容较长" for i in range(20)) + "。"  # 20 clauses of 11 characters
    got = split_sentences(text)
    assert len(got) > 1 and all(len(s) <= MAX_CHARS for s in got)
    assert "".join(got) == text  # nothing lost, nothing added
    assert all(s.endswith("，") for s in got[:-1])  # cut after a comma
    no_comma = "".join(chr(0x4E00 + i) for i in range(300))  # 300 different characters, no comma
    got = split_sentences(no_comma)
    assert [len(s) for s in got] == [120, 120, 60] and "".join(got) == no_comma


def test_count_is_capped_in_order() -> None:
    text = "".join(f"第{i}句话说明一个情况。" for i in range(30))
    got = split_sentences(text)
    assert len(got) == MAX_SENTENCES and got[0] == "第0句话说明一个情况。" and got[-1] == f"第{MAX_SENTENCES - 1}句话说明一个情况。"
    assert split_sentences(text, max_sentences=3) == ["第0句话说明一个情况。", "第1句话说明一个情况。", "第2句话说明一个情况。"]
    assert split_sentences(text, max_sentences=0) == []


def test_listing_sentences_title_first() -> None:
    got = listing_sentences("蒸发冷却", "本技术利用蒸发冷却原理调控热环境。可为高温车间降温，能耗低。")
    assert got == ["蒸发冷却", "本技术利用蒸发冷却原理调控热环境。", "可为高温车间降温，能耗低。"]  # a short title stays a sentence
    assert listing_sentences("—", "可为高温车间降温，能耗低。") == ["可为高温车间降温，能耗低。"]  # a placeholder title says nothing
    assert listing_sentences("车间降温", "车间降温\n高温车间的降温办法很多。") == ["车间降温", "高温车间的降温办法很多。"]
    long = "".join(f"第{i}句话说明一个情况。" for i in range(30))
    assert len(listing_sentences("标题", long)) == MAX_SENTENCES


# -- the closest pair ----------------------------------------------------------------------------

def test_closest_pair_is_the_highest_cosine() -> None:
    q = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float16)
    m = np.array([[0.0, 0.0, 2.0], [0.1, 3.0, 0.0], [1.0, 1.0, 0.0]], dtype=np.float16)  # not of unit length
    ev = closest_pair(["甲", "乙"], q, ["一", "二", "三"], m)
    assert ev is not None and (ev.query_sentence, ev.match_sentence) == ("乙", "二")
    assert ev.cosine == pytest.approx(3.0 / np.hypot(0.1, 3.0), abs=1e-3)
    one = closest_pair(["查询"], np.array([0.0, 0.0, 1.0]), ["一", "二", "三"], m)  # a free-text query: one vector
    assert one is not None and one.match_sentence == "一" and one.cosine == pytest.approx(1.0, abs=1e-3)
    assert closest_pair([], q[:0], ["一"], m[:1]) is None
    assert closest_pair(["甲", "乙"], q, ["一"], m) is None  # vectors that do not fit their sentences
    assert ev.as_dict() == {"query_sentence": "乙", "match_sentence": "二", "cosine": round(ev.cosine, 4)}


def _expl(words: float, meaning: float, cosine: float | None = 0.9) -> Explanation:
    return Explanation(text_points=TEXT_MAX * words, semantic_points=TEXT_MAX * meaning, relevance=words + meaning, cosine=cosine)


def test_meaning_carried() -> None:
    assert meaning_carried(_expl(0.05, 0.40))  # meaning alone
    assert meaning_carried(_expl(0.30, 0.30))  # half and half
    assert not meaning_carried(_expl(0.50, 0.20))  # words carried it
    assert not meaning_carried(_expl(0.0, MEANING_FLOOR / 2))  # too little meaning to show
    assert not meaning_carried(_expl(0.0, 0.0, cosine=None))


def test_evidence_adds_no_points() -> None:
    e = _expl(0.1, 0.4)
    before = (e.score, e.breakdown())
    e.evidence = Evidence("夏天车间太热，工人受不了", "可为高温车间降温，能耗低。", 0.83)
    assert (e.score, e.breakdown()) == before
    assert sum(p for _, _, p in e.breakdown()) == pytest.approx(e.score)
    assert "语义相近：『夏天车间太热，工人受不了』↔『可为高温车间降温，能耗低。』" in e.summary("zh")
    assert "similar meaning: “夏天车间太热，工人受不了” ↔ “可为高温车间降温，能耗低。”" in e.summary("en")
    assert e.as_dict()["evidence"] == {"query_sentence": "夏天车间太热，工人受不了", "match_sentence": "可为高温车间降温，能耗低。", "cosine": 0.83}


def test_listing_sentences_keep_a_description_that_continues_the_title() -> None:
    got = listing_sentences("夏天车间太热", "夏天车间太热，工人受不了。希望找到省电的降温办法。")
    assert got == ["夏天车间太热", "夏天车间太热，工人受不了。", "希望找到省电的降温办法。"]
    assert listing_sentences("车间降温", "车间降温。高温车间的降温办法很多。") == ["车间降温", "高温车间的降温办法很多。"]
