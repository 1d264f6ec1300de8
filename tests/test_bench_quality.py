"""`tongxin bench quality`: metrics, the harness on a small BEIR-style set, and the ranking
properties the quality work relies on (partial matches explained, whole words first,
coverage over repetition, explanations that add up)."""

from __future__ import annotations

import datetime as dt
import json
import math
import os

import pytest
from factories import load, tech

from tongxin.bench import metrics
from tongxin.core.access import VISITOR
from tongxin.core.errors import BadFile
from tongxin.core.matching.fit import MatchContext
from tongxin.core.matching.query import NGRAM_FIELD, engine_query, text_query
from tongxin.core.text import Analyzer
from tongxin.services import Exchange

MINIBENCH = os.path.join(os.path.dirname(__file__), "data", "minibench")
CTX = MatchContext(today=dt.date(2026, 6, 1))


# -- metrics, against values worked out by hand ----------------------------------------------

def test_metrics_single_relevant_at_rank_3() -> None:
    ranked = ["a", "b", "x", "c"]
    assert metrics.ndcg_at(ranked, {"x"}) == pytest.approx(1 / math.log2(4)) == pytest.approx(0.5)
    assert metrics.mrr_at(ranked, {"x"}) == pytest.approx(1 / 3)
    assert metrics.recall_at(ranked, {"x"}) == 1.0


def test_metrics_top_missing_and_cutoffs() -> None:
    assert metrics.ndcg_at(["x"], {"x"}) == 1.0 and metrics.mrr_at(["x"], {"x"}) == 1.0
    assert metrics.ndcg_at(["a", "b"], {"x"}) == 0.0 and metrics.mrr_at([], {"x"}) == 0.0
    eleventh = [f"d{i}" for i in range(10)] + ["x"]
    assert metrics.ndcg_at(eleventh, {"x"}) == 0.0 and metrics.mrr_at(eleventh, {"x"}) == 0.0
    assert metrics.recall_at(eleventh, {"x"}) == 1.0
    assert metrics.recall_at([f"d{i}" for i in range(100)] + ["x"], {"x"}) == 0.0


def test_metrics_two_relevant() -> None:
    # relevant at ranks 1 and 3 of two: DCG = 1 + 1/2, ideal = 1 + 1/log2(3)
    assert metrics.ndcg_at(["x", "a", "y"], {"x", "y"}) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert metrics.recall_at(["x", "a"], {"x", "y"}) == 0.5
    assert metrics.mrr_at(["a", "y", "x"], {"x", "y"}) == 0.5


def test_evaluate_means_and_paired() -> None:
    per = metrics.evaluate({"q1": ["x"], "q2": ["a", "b", "y"]}, {"q1": {"x"}, "q2": {"y"}, "q3": set()})
    assert set(per) == {"q1", "q2"}  # queries without relevant documents are left out
    assert per["q2"].rank == 3
    assert metrics.mean_scores(per)["mrr@10"] == pytest.approx((1 + 1 / 3) / 2)
    assert metrics.mean_scores(per)["hit@5"] == 1.0
    far = metrics.evaluate({"q1": ["a", "b", "c", "d", "e", "x"], "q2": ["y"]}, {"q1": {"x"}, "q2": {"y"}})
    assert metrics.mean_scores(far)["hit@5"] == 0.5  # rank 6 is not a top-5 hit
    p = metrics.paired({"q1": 1.0, "q2": 0.5, "q3": 0.2}, {"q1": 0.5, "q2": 0.5, "q3": 0.3})
    assert (p["wins"], p["losses"], p["ties"]) == (1, 1, 1)
    assert metrics.sign_test(5, 0) == pytest.approx(2 / 32)
    assert metrics.sign_test(0, 0) == 1.0 and metrics.sign_test(3, 3) == 1.0


# -- the harness ------------------------------------------------------------------------------

def test_harness_on_minibench_json(capsys: pytest.CaptureFixture[str]) -> None:
    from tongxin.bench.quality import cli_quality

    cli_quality(MINIBENCH, as_json=True, encoder="hash")  # the hybrid path, with the fast hashing encoder
    out = capsys.readouterr().out
    report = json.loads(out)  # exactly one JSON object on stdout
    assert out.strip().count("\n") == 0
    assert report["dataset"] == "minibench"
    assert "hash" in report["timings"]["tongxin"]["encoder"]
    assert report["timings"]["tongxin"]["embed_s"] >= 0
    for system in ("tongxin", "tongxin_words", "bm25"):
        assert set(report[system]) >= {"ndcg@10", "mrr@10", "recall@100"}
        assert all(0.0 <= v <= 1.0 for v in report[system].values())
    assert report["queries"] == 15 and report["docs"] == 30
    assert report["tongxin"]["ndcg@10"] >= 0.9  # hand-written set: every query has a clear answer
    assert report["tongxin_words"]["ndcg@10"] >= 0.9
    assert report["paired_ndcg@10_vs_words"]["queries"] == report["queries"]
    assert report["timings"]["tongxin"]["explanations_not_adding_up"] == 0
    assert report["timings"]["tongxin"]["related_term_hits"] > 0  # partial matches were used and shown
    p = report["paired_ndcg@10"]
    assert p["wins"] + p["losses"] + p["ties"] == report["queries"]


def test_harness_reports_bad_folder(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    import typer

    from tongxin.bench.quality import cli_quality, load_dataset

    with pytest.raises(BadFile):
        load_dataset(str(tmp_path))
    with pytest.raises(typer.Exit) as e:
        cli_quality(str(tmp_path), as_json=True)
    assert e.value.exit_code == 4
    assert "corpus.jsonl" in capsys.readouterr().err


def test_corpus_documents_take_the_user_path() -> None:
    from tongxin.bench.quality import PLACEHOLDER_TITLE, corpus_record
    from tongxin.core.kinds import default_registry
    from tongxin.core.listing import validate_listing

    reg = default_registry()
    x = validate_listing(corpus_record({"id": "d1", "title": "", "text": "石墨烯导热膜"}), reg)
    assert (x.kind, x.status, x.visibility, x.keywords) == ("technology", "published", "public", [])
    assert x.title == PLACEHOLDER_TITLE and x.description == "石墨烯导热膜"
    # the placeholder adds nothing the engines could match
    a = Analyzer()
    assert a.terms(PLACEHOLDER_TITLE) == [] and a.ngrams(PLACEHOLDER_TITLE) == [] and Analyzer.bigrams(PLACEHOLDER_TITLE) == []


def test_baseline_tokens() -> None:
    from tongxin.bench.baseline import BM25Baseline, tokenize

    toks = tokenize("基于CBTC的列车控制，（GoA4）！")
    assert "cbtc" in toks and "goa4" in toks
    assert not any(t.strip("，（）！ ") == "" for t in toks)
    b = BM25Baseline(["a", "b", "c"], ["城市轨道交通信号", "氢燃料电池", "石墨烯导热膜"])
    assert b.search("燃料电池") == ["b"]
    assert b.search("完全无关的词语xyz") == []


# -- ranking properties the quality work relies on ---------------------------------------------

def _docs(*rows: tuple[str, str, str]) -> list[dict[str, object]]:
    return [tech(ext, title, text, "") for ext, title, text in rows]


def test_free_text_query_groups_words_with_their_parts() -> None:
    a = Analyzer()
    freq = {"余辉": 3, "发光": 5}
    qt = text_query("长余辉发光材料", a, lambda t: freq.get(t, 0), 100, ngram_freq=lambda t: 2)
    words = {q.group for q in qt}
    assert "余辉" in words or "长余辉" in words
    assert all(q.via is None or q.via in words for q in qt)
    assert any(q.field == NGRAM_FIELD for q in qt)
    plain, groups = engine_query(qt)
    assert plain == [] and len(groups) == len(words)
    # a listing query (no parts) stays a plain OR of word terms
    from tongxin.core.matching.query import QueryTerm

    assert engine_query([QueryTerm("列车", 1.2)]) == ([("列车", 1.2)], [])


def test_partial_match_found_and_explained_via_the_query_word(exchange: Exchange) -> None:
    load(exchange, listings=_docs(
        ("T-LUM", "蓄光型安全标识材料", "掺杂铕和镝的铝酸锶发光粉，余辉时间超过十二小时，用于消防标识。"),
        ("T-FC", "低铂燃料电池电堆", "低铂载量膜电极与金属双极板，燃料电池电堆功率密度高。"),
        ("T-CF", "碳纤维复合材料", "干喷湿纺碳纤维，复合材料用于无人机机身。"),
    ))
    # neither 荧光粉 nor 标识牌 is in any listing: 光粉 (of 发光粉) and 标识 are
    words, res = exchange.search("荧光粉 消防标识牌", kind="technology", viewer=VISITOR, ctx=CTX)
    assert res and res[0].listing.external_id == "T-LUM"
    e = res[0].explanation
    assert sum(t.points for t in e.terms) == pytest.approx(e.text_points)
    via = {t.via for t in e.terms if t.via}
    assert via == {"荧光粉", "标识牌"}  # the partial terms name the query word they stand in for
    assert {t.term for t in e.terms if t.via} >= {"标识"}
    assert [w.term for w in words] == ["荧光粉", "消防", "标识牌"]  # shown: the query's words, not n-grams


def test_whole_word_ranks_above_part_of_it(exchange: Exchange) -> None:
    load(exchange, listings=_docs(
        ("T-WHOLE", "储能材料", "一种长余辉材料，可在黑暗中持续发光。"),
        ("T-PART", "储能材料", "一种余辉较短的材料，可在黑暗中持续发光。"),
        ("T-OTHER", "碳纤维复合材料", "干喷湿纺碳纤维，复合材料用于无人机机身。"),
    ))
    _, res = exchange.search("长余辉", kind="technology", viewer=VISITOR, ctx=CTX)
    order = [m.listing.external_id for m in res]
    assert order.index("T-WHOLE") < order.index("T-PART")


def test_covering_more_query_words_beats_repeating_one(exchange: Exchange) -> None:
    load(exchange, listings=_docs(
        ("T-REPEAT", "高压储氢瓶", "储氢瓶内胆与储氢瓶阀门，储氢瓶检测，储氢瓶加注。"),
        ("T-COVER", "储氢瓶缠绕工艺", "储氢瓶采用碳纤维缠绕成型。"),
        ("T-OTHER", "燃料电池电堆", "低铂载量膜电极与金属双极板。"),
    ))
    _, res = exchange.search("储氢瓶 碳纤维缠绕", kind="technology", viewer=VISITOR, ctx=CTX)
    assert res[0].listing.external_id == "T-COVER"
    for m in res:  # every explanation adds up to its score
        e = m.explanation
        if e.terms:
            assert sum(t.points for t in e.terms) == pytest.approx(e.text_points)
        assert sum(p for _, _, p in e.breakdown()) == pytest.approx(e.score)


def test_search_is_deterministic(exchange: Exchange) -> None:
    load(exchange)
    a = [(m.listing.id, round(m.score, 6)) for m in exchange.search("列车 控制 信号", kind="technology", ctx=CTX)[1]]
    b = [(m.listing.id, round(m.score, 6)) for m in exchange.search("列车 控制 信号", kind="technology", ctx=CTX)[1]]
    assert a == b and a
    assert [s for _, s in a] == sorted((s for _, s in a), reverse=True)


def test_common_members_are_left_out_at_scale_but_not_in_small_indexes() -> None:
    """A sub-word, bigram or character in more than MEMBER_MAX_DF of a large index is dropped
    (long postings, little evidence); the query word itself always stays; a bigram that repeats
    the word or a sub-word is never added twice."""
    from tongxin.core.matching.query import MEMBER_MAX_DF, MEMBER_MIN_CUTOFF

    a = Analyzer()
    n = 1_000_000
    common = int(MEMBER_MAX_DF * n) + 1
    df = {"列车控制系统": common, "列车": 1000, "控制": common, "系统": common}
    qt = text_query("列车控制系统", a, lambda t: df.get(t, 0), n, ngram_freq=lambda t: common if len(t) == 1 else 500)
    terms = {(q.field, q.term) for q in qt}
    assert ("text", "列车控制系统") in terms  # the word, however common
    assert ("text", "列车") in terms and ("text", "控制") not in terms and ("text", "系统") not in terms
    assert not any(f == NGRAM_FIELD and len(t) == 1 for f, t in terms)  # every character is common here
    assert (NGRAM_FIELD, "车控") in terms  # a rare bigram across two sub-words stays
    assert (NGRAM_FIELD, "列车") not in terms  # the sub-word 列车 already stands for it
    # a small index keeps members up to MEMBER_MIN_CUTOFF documents whatever their share
    small = text_query("列车控制系统", a, lambda t: 3, 10, ngram_freq=lambda t: MEMBER_MIN_CUTOFF)
    assert any(q.field == NGRAM_FIELD and len(q.term) == 1 for q in small)
    assert {q.term for q in small if q.field == "text"} >= {"列车控制系统", "控制", "系统"}


def test_free_text_fetches_more_when_hard_rules_drop_the_first_candidates(exchange: Exchange) -> None:
    """Free text reads only a few candidates beyond the results asked for; when the viewer may
    not match most of them (confidential listings of another organisation), it reads more,
    and the results are those of ranking a deep candidate list (the `exact` path)."""
    from tongxin.core.access import Viewer

    rows = [tech(f"T-C{i:02d}", f"储能电池热管理系统{i}", "储能电池热管理系统，液冷板与相变材料，储能电池热管理。", "储能;电池;热管理",
                 visibility="confidential") for i in range(20)]
    rows += [tech(f"T-P{i}", f"电池热管理方案{i}", "电池热管理，风冷方案。", "", visibility="public") for i in range(4)]
    ids = load(exchange, listings=rows)
    org = exchange.get(ids["T-P0"], Viewer(role="operator"))[0].owner_id
    viewer = Viewer(org_id=(org or 0) + 999, org_verified=True, role="member")  # another verified organisation
    _, res = exchange.search("储能电池热管理", kind="technology", viewer=viewer, limit=3, ctx=CTX)
    assert [m.listing.external_id[:3] for m in res] == ["T-P"] * 3
    exchange.exact = True
    _, ref = exchange.search("储能电池热管理", kind="technology", viewer=viewer, limit=3, ctx=CTX)
    assert [(m.listing.id, round(m.score, 6)) for m in res] == [(m.listing.id, round(m.score, 6)) for m in ref]
