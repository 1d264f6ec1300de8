"""Honest scores and believable reasons: absolute relevance, bands and chips."""

from __future__ import annotations

import datetime as dt
import math
import re

from factories import load, tech
from hypothesis import given
from hypothesis import strategies as st

from tongxin.core.access import VISITOR
from tongxin.core.matching.explain import TermHit, chip_terms, is_chip
from tongxin.core.matching.fit import MatchContext
from tongxin.core.matching.query import QueryTerm
from tongxin.core.matching.relevance import BANDS, KNEE, SHOW_FLOOR, Fusion, band, lexical_ceiling, saturate
from tongxin.services import Exchange

CTX = MatchContext(today=dt.date(2026, 6, 1))


@given(st.floats(0, 50, allow_nan=False), st.floats(0, 50, allow_nan=False))
def test_saturate_keeps_order_and_never_exceeds_one(a: float, b: float) -> None:
    if a < b:
        assert saturate(a) <= saturate(b)
        if b <= 4.0:  # where scores live (a very good match is about 1): strictly increasing
            assert saturate(a) < saturate(b)
    assert 0.0 <= saturate(a) <= 1.0


def test_saturate_is_linear_below_the_knee_and_strictly_increasing_above() -> None:
    assert saturate(0.5) == 0.5 and saturate(KNEE) == KNEE
    assert KNEE < saturate(1.0) < saturate(2.0) < saturate(4.0) < 1.0


def test_fusion_parts_add_up_and_meaning_is_measured_above_the_background() -> None:
    f = Fusion()
    bg = 0.80  # what an unrelated listing of the wanted kind scores against this query
    words, meaning = f.fuse(0.0, bg + f.cos_full, bg)
    assert words == 0.0 and abs(meaning - f.meaning_weight) < 1e-9  # no shared word, close meaning: strong alone
    assert band(words + meaning).key == "strong"  # type: ignore[union-attr]
    w_strong, m_strong = f.fuse(1.0, bg, bg)  # strong words, meaning no closer than any listing
    assert m_strong == 0.0 and abs(w_strong - f.words_weight) < 1e-9
    both = sum(f.fuse(0.5, bg + f.cos_full / 2, bg))
    a, b = f.words_weight * 0.5, f.meaning_weight * 0.5
    assert abs(both - (1 - (1 - a) * (1 - b))) < 1e-9 and both > max(a, b)  # soft OR: both together weigh more
    assert f.fuse(0.7, None) == (f.words_weight * 0.7, 0.0)  # no vector: the words alone
    assert f.semantic(0.85, 0.85) == 0.0 and f.semantic(0.99, 0.85) == 1.0
    assert f.semantic(0.86, 0.85) < f.semantic(0.88, 0.85)


def test_lexical_ceiling_counts_each_group_once() -> None:
    q = [QueryTerm("油烟", 1.0, idf=3.0), QueryTerm("油", 0.4, "bigrams", via="油烟", idf=1.0), QueryTerm("净化", 1.0, idf=2.0)]
    assert abs(lexical_ceiling(q) - 1.5 * (3.0 + 2.0)) < 1e-9


def test_a_word_matched_only_by_its_parts_counts_as_asked() -> None:
    """No document holds "蛋白质组" itself, only its part "蛋白": the ceiling still counts the
    whole word as the rarest word would, so sharing the part is no full answer."""
    n = 1000
    rarest = math.log(1.0 + (n + 0.5) / 0.5)
    parts_only = [QueryTerm("蛋白", 1.0, via="蛋白质组", idf=2.0), QueryTerm("质谱", 1.0, idf=5.0)]
    assert abs(lexical_ceiling(parts_only, 0, n) - 1.5 * (rarest + 5.0)) < 1e-9
    assert abs(lexical_ceiling(parts_only, 1, n) - 1.5 * (2 * rarest + 5.0)) < 1e-9  # one more word nothing holds


def test_bands_are_ordered_and_named_in_both_languages() -> None:
    floors = [b.floor for b in BANDS]
    assert floors == sorted(floors, reverse=True)
    assert band(0.9).key == "strong" and band(0.4).key == "possible" and band(0.3).key == "weak"  # type: ignore[union-attr]
    assert band(0.1) is None and BANDS[-1].floor >= SHOW_FLOOR
    assert all(b.zh and b.en for b in BANDS)


def test_chips_are_whole_meaningful_words() -> None:
    hits = [TermHit("测性", ("body",), 3.0, "检测性能", partial=True), TermHit("齿", ("body",), 2.0, "齿轮", partial=True),
            TermHit("有限公司", ("title",), 2.5), TermHit("mm", ("body",), 1.0), TermHit("120", ("body",), 1.0),
            TermHit("余辉", ("body",), 1.5), TermHit("长余辉", ("title",), 4.0), TermHit("油烟净化", ("title",), 5.0),
            TermHit("油烟净化", ("body",), 0.5)]
    assert chip_terms(hits) == ["油烟净化", "长余辉"]
    assert not is_chip("价") and not is_chip("公司") and not is_chip("20kg") and is_chip("静电除尘")
    assert is_chip("列车", via="列车控制系统") and is_chip("控制系统", via="列车控制系统") and not is_chip("白质", via="蛋白质组")


def test_an_unrelated_best_hit_does_not_score_high(exchange: Exchange) -> None:
    """The score says how good a match is: a query that shares one generic word with the only
    technology there is gets a low score and no strong band, while a close query scores high."""
    ids = load(exchange)
    _, weak = exchange.search("食堂系统", kind="technology", viewer=VISITOR, ctx=CTX)
    _, strong = exchange.search("城轨列车控制系统 CBTC", kind="technology", viewer=VISITOR, ctx=CTX)
    assert strong and strong[0].listing.id == ids["T-CBTC"]
    assert strong[0].explanation.band is not None and strong[0].explanation.band.key == "strong"
    assert strong[0].score > 50
    for m in weak:
        assert m.score < 40 and (m.explanation.band is None or m.explanation.band.key != "strong")


def test_no_fragment_chips_in_demo_matches(demo_exchange: Exchange) -> None:
    """Over the demo data's matches (scenario → technology and back): every chip is a whole
    word of two or more characters, no boilerplate, no unit, no duplicate."""
    ex = demo_exchange
    from tongxin.core.access import Viewer

    admin = Viewer(role="admin")
    seen = 0
    for kind in ("scenario", "technology"):
        from tongxin.storage import repo

        with ex.db.transaction(write=False) as s:
            ids = [x.id for x in repo.find_listings(s, repo.ListingFilter(kind=kind, limit=120), ex.registry)]
        for lid in ids:
            _, res = ex.match(int(lid or 0), admin, limit=5, ctx=CTX)
            for m in res:
                chips = m.explanation.chips
                assert len(chips) == len(set(chips))
                for c in chips:
                    seen += 1
                    assert len(c) >= 2 and is_chip(c), c
                    assert not re.fullmatch(r"[0-9.,%]+", c), c
    assert seen > 200


def test_hybrid_falls_back_to_words_for_a_listing_without_a_vector(exchange: Exchange) -> None:
    """A listing published a moment ago has no vector yet: it is matchable by its words at once
    (no meaning part, no error), and gets its meaning part when its vector lands."""
    from tongxin.core.semantic import HashEncoder
    from tongxin.services.semantic import Semantic

    ids = load(exchange)
    sem = Semantic(exchange.db, encoder=HashEncoder())
    exchange.semantic = sem
    sem.drain()
    new = load(exchange, listings=[tech("T-NEW", "城轨列车控制系统车载设备", "列车控制系统车载控制器，支持CBTC。", "列车控制系统;车载设备")])
    _, before = exchange.search("列车控制系统", kind="technology", viewer=VISITOR, ctx=CTX)
    got = {m.listing.id: m.explanation for m in before}
    assert new["T-NEW"] in got and got[new["T-NEW"]].cosine is None and got[new["T-NEW"]].semantic_points == 0.0
    assert got[ids["T-CBTC"]].cosine is not None  # the others carry their meaning part
    assert sem.drain() >= 1  # the vector lands …
    sem.refresh()
    _, after = exchange.search("列车控制系统", kind="technology", viewer=VISITOR, ctx=CTX)
    assert {m.listing.id: m.explanation for m in after}[new["T-NEW"]].cosine is not None  # … and meaning counts
