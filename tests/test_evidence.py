"""Evidence sentences: sentence vectors computed by the embedding worker after the listing vectors,
kept current with the text, and the closest sentence pair shown on the match cards, in the API
and in `tongxin match`, the same on every face. The deterministic HashEncoder, on SQLite and
PostgreSQL."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from factories import LISTINGS, load, scen, tech
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from tongxin.cli.main import app as cli_app
from tongxin.core.access import SYSTEM, VISITOR
from tongxin.core.listing import validate_listing
from tongxin.core.matching.evidence import meaning_carried
from tongxin.core.semantic import HashEncoder
from tongxin.core.semantic.text import listing_sentence_list
from tongxin.core.text.sentences import listing_sentences
from tongxin.services import Exchange
from tongxin.services.listings import Listings, SearchFilters
from tongxin.services.semantic import Semantic
from tongxin.storage import vectors_repo as vr
from tongxin.storage.db import Database
from tongxin.storage.models_vectors import ListingSentenceVectorRow, SentenceQueueRow
from tongxin.web.app import create_app

COOL = tech("T-COOL", "蒸发冷却热环境调控技术", "本技术利用蒸发冷却原理调控热环境。可为高温车间降温，能耗低。已在多家工厂应用。", "蒸发冷却;热环境",
            industry="C34")
HOT = scen("S-HOT", "夏天车间太热", "夏天车间太热，工人受不了。希望找到省电的降温办法。", "车间;降温", industry="C34")
ROWS = [*LISTINGS, COOL, HOT]
NEED = "夏天车间太热，工人受不了"


class Crashing(HashEncoder):
    """Dies (like a killed process: not an Exception) after embedding `after` texts."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.after -= len(texts)
        if self.after < 0:
            raise KeyboardInterrupt("killed mid-batch")
        return super().encode_passages(texts)


def _sentence_queue(ex: Exchange) -> list[int]:
    with ex.db.transaction(write=False) as s:
        return vr.queued(s, vr.SQ)


def _sentence_rows(ex: Exchange) -> dict[int, tuple[str, list[str], Any]]:
    with ex.db.transaction(write=False) as s:
        return {r.listing_id: (r.text_hash, list(r.sentences), r.created_at) for r in s.scalars(select(ListingSentenceVectorRow))}


def _with_hash(ex: Exchange) -> Semantic:
    sem = Semantic(ex.db, encoder=HashEncoder(), batch=3, sentence_batch=2)
    ex.semantic = sem
    return sem


# -- the queue -----------------------------------------------------------------------------------

@pytest.mark.postgres
def test_sentence_vectors_come_after_the_listing_vectors(exchange: Exchange) -> None:
    sem = _with_hash(exchange)
    ids = load(exchange, listings=ROWS)
    assert _sentence_queue(exchange) == sorted(ids.values())  # queued in the saving transaction
    assert sem.status()["sentences_waiting"] == len(ids)
    steps = []
    while (n := sem.work_step()) > 0:  # the worker's loop, one batch at a time
        st = sem.status()
        steps.append((n, st["waiting"], st["sentence_vectors"]))
    # listing vectors first (3 a batch); no sentence vector while any listing vector waits
    assert all(sv == 0 for _, waiting, sv in steps if waiting > 0)
    assert steps[-1][1:] == (0, len(ids)) and _sentence_queue(exchange) == []
    stored = _sentence_rows(exchange)
    for ext, lid in ids.items():
        x, _ = exchange.get(lid)
        assert stored[lid][1] == listing_sentence_list(x), ext
    got = sem.sentence_vectors([ids["T-COOL"], 10_000])
    sents, m = got[ids["T-COOL"]]
    assert set(got) == {ids["T-COOL"]} and sents[0] == "蒸发冷却热环境调控技术" and m.shape == (len(sents), 64)
    assert np.allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-2)
    assert np.allclose(m, HashEncoder().encode_passages(sents), atol=2e-3)  # float16 storage


@pytest.mark.postgres
def test_text_change_requeues_sentences_and_an_index_rebuild_does_not(exchange: Exchange) -> None:
    sem = _with_hash(exchange)
    ids = load(exchange, listings=ROWS)
    sem.drain()
    sem.drain_sentences()
    before = _sentence_rows(exchange)
    exchange.save_listing(validate_listing(dict(COOL, region="110105", trl=8), exchange.registry))  # not the text
    assert _sentence_queue(exchange) == []
    exchange.rebuild_index()
    assert sem.enqueue_stale(check_text=True) == 0 and sem.stale_sentences == 0  # a rebuild recomputes nothing
    assert _sentence_queue(exchange) == [] and _sentence_rows(exchange) == before
    longer = COOL["description"] + "夏季可使车间温度降低五到八摄氏度。"
    exchange.save_listing(validate_listing(dict(COOL, description=longer), exchange.registry))
    assert _sentence_queue(exchange) == [ids["T-COOL"]]
    assert sem.drain_sentences() == 1
    assert _sentence_rows(exchange)[ids["T-COOL"]][1][-1] == "夏季可使车间温度降低五到八摄氏度。"
    # a write behind the service's back is found by the text check (`tongxin index --rebuild`)
    from sqlalchemy import update

    from tongxin.storage.models import ListingRow

    with exchange.db.transaction() as s:
        s.execute(update(ListingRow).where(ListingRow.id == ids["S-HOT"]).values(description="改过的描述，另有一句话。"))
    sem.enqueue_stale(check_text=True)
    assert sem.stale_sentences == 1 and _sentence_queue(exchange) == [ids["S-HOT"]]


@pytest.mark.postgres
def test_sentence_work_resumes_after_a_crash(exchange: Exchange) -> None:
    ids = load(exchange, listings=ROWS)
    Semantic(exchange.db, encoder=HashEncoder()).drain()  # listing vectors done; sentence work waiting
    first = listing_sentence_list(exchange.get(min(ids.values()))[0])
    dying = Semantic(exchange.db, encoder=Crashing(after=len(first)), sentence_batch=1, lease_seconds=0)
    with pytest.raises(KeyboardInterrupt):
        dying.drain_sentences()
    assert set(_sentence_rows(exchange)) == {min(ids.values())}  # the first batch landed, the second died unwritten
    with exchange.db.transaction(write=False) as s:
        attempts = dict(s.execute(select(SentenceQueueRow.listing_id, SentenceQueueRow.attempts)).all())
    assert len(attempts) == len(ids) - 1 and sorted(attempts.values()).count(1) == 1  # the dead batch counted an attempt
    with exchange.db.transaction() as s:  # a live lease is someone else's …
        held = vr.claim(s, "worker-a", 2, lease_seconds=600, queue=vr.SQ)
    with exchange.db.transaction() as s:
        assert not set(held) & set(vr.claim(s, "worker-b", 100, lease_seconds=0, queue=vr.SQ))
    with exchange.db.transaction() as s:  # … until it runs out (here: made to run out)
        s.execute(SentenceQueueRow.__table__.update().values(leased_until=None))
    Semantic(exchange.db, encoder=HashEncoder()).drain_sentences()  # resumed
    assert set(_sentence_rows(exchange)) == set(ids.values()) and _sentence_queue(exchange) == []


# -- evidence on the results -----------------------------------------------------------------------

def _sum_adds_up(explanation: dict[str, Any]) -> None:
    assert explanation["score"] == pytest.approx(explanation["text_points"] + explanation["semantic_points"]
                                                 + sum(f["points"] for f in explanation["fit"]), abs=0.05)


@pytest.mark.postgres
def test_no_evidence_without_sentence_vectors(exchange: Exchange) -> None:
    sem = _with_hash(exchange)
    ids = load(exchange, listings=ROWS)
    sem.drain()  # listing vectors only: meaning matches, but no sentence vectors yet
    svc = Listings(exchange)
    found = svc.search(VISITOR, NEED, SearchFilters()).items
    carried = [s.match for s in found if s.match is not None and meaning_carried(s.match.explanation)]
    assert carried and all(m.explanation.evidence is None for m in carried)
    assert all(s.match.explanation.evidence is None for s in svc.matches(VISITOR, ids["S-HOT"]) if s.match)
    sem.drain_sentences()
    top = svc.search(VISITOR, NEED, SearchFilters()).items[0].match
    assert top is not None and top.explanation.evidence is not None
    # the candidate's text changed: its stored sentences are no longer its own, so no evidence until they are
    changed = dict(HOT, description="夏季厂房温度过高，影响生产。希望找到省电的降温办法。")
    exchange.save_listing(validate_listing(changed, exchange.registry))
    again = {s.listing.id: s.match for s in svc.search(VISITOR, NEED, SearchFilters()).items}
    assert again[ids["S-HOT"]] is not None and again[ids["S-HOT"]].explanation.evidence is None
    sem.drain_sentences()
    again = {s.listing.id: s.match for s in svc.search(VISITOR, NEED, SearchFilters()).items}
    ev = again[ids["S-HOT"]].explanation.evidence  # type: ignore[union-attr]
    assert ev is not None and ev.match_sentence in listing_sentence_list(exchange.get(ids["S-HOT"])[0])


def test_no_evidence_with_semantic_matching_off(exchange: Exchange) -> None:
    ids = load(exchange, listings=ROWS)
    exchange.semantic = Semantic(exchange.db, encoder="none")
    svc = Listings(exchange)
    for s in [*svc.search(VISITOR, NEED, SearchFilters()).items, *svc.matches(VISITOR, ids["S-HOT"])]:
        assert s.match is not None and s.match.explanation.evidence is None and s.match.explanation.semantic_points == 0


def _evidence_line(page: str) -> list[tuple[str, str]]:
    return [(html.unescape(a), html.unescape(b)) for a, b in
            re.findall(r'<p class="evidence"[^>]*>.*?<span class="q">『(.*?)』</span> ↔ <span class="m">『(.*?)』</span></p>', page)]


@pytest.mark.postgres
def test_evidence_is_the_same_on_api_cli_and_pages(db_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    index_dir = str(tmp_path / "idx")
    monkeypatch.setenv("TONGXIN_ENCODER", "hash")
    monkeypatch.setenv("TONGXIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TONGXIN_DATABASE_URL", db_url)
    monkeypatch.setenv("TONGXIN_INDEX_DIR", index_dir)
    ex = Exchange(Database(db_url), index_dir)
    ex.init_db()
    ids = load(ex, listings=ROWS)
    sem = ex.semantic
    assert isinstance(sem, Semantic) and sem.drain() == len(ids) and sem.drain_sentences() == len(ids)
    ex.close()

    runner = CliRunner()
    r = runner.invoke(cli_app, ["match", "--text", NEED, "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    cli_search = {x["id"]: x["explanation"] for x in json.loads(r.stdout)["results"]}
    r = runner.invoke(cli_app, ["match", str(ids["S-HOT"]), "--json"], catch_exceptions=False)
    cli_match = {x["id"]: x["explanation"] for x in json.loads(r.stdout)["results"]}
    text = runner.invoke(cli_app, ["match", str(ids["S-HOT"])], catch_exceptions=False).stdout

    ex = Exchange(Database(db_url), index_dir)
    try:
        with TestClient(create_app(ex)) as c:
            api_search = {x["id"]: x["explanation"] for x in c.get("/api/v1/search", params={"q": NEED}).json()["results"]}
            api_match = {x["id"]: x["explanation"] for x in c.get(f"/api/v1/listings/{ids['S-HOT']}/matches").json()["results"]}
            search_page = c.get("/search", params={"q": NEED, "kind": "scenario"}).text  # the page looks for one kind
            listing_page = c.get(f"/listings/{ids['S-HOT']}").text
    finally:
        ex.close()

    # free text: the query is the need's one sentence; the scenario written in the same words is found by meaning
    hot = api_search[ids["S-HOT"]]
    assert hot["evidence"] == {"query_sentence": NEED, "match_sentence": "夏天车间太热，工人受不了。", "cosine": hot["evidence"]["cosine"]}
    assert hot["evidence"]["cosine"] > 0.8
    # a listing's match: the closest of the scenario's sentences and the technology's
    ev = api_match[ids["T-COOL"]]["evidence"]
    assert ev is not None and ev["query_sentence"] in listing_sentences(HOT["title"], HOT["description"])
    assert ev["match_sentence"] in listing_sentences(COOL["title"], COOL["description"]) and "降温" in ev["match_sentence"]
    # the same on every face
    assert cli_search == api_search and cli_match == api_match
    shown = [e for e in api_match.values() if e["evidence"]]
    assert f"语义相近：『{ev['query_sentence']}』↔『{ev['match_sentence']}』" in text.replace("\n", "")  # the terminal wraps it
    assert _evidence_line(listing_page) == [(e["evidence"]["query_sentence"], e["evidence"]["match_sentence"]) for e in shown]
    assert (NEED, "夏天车间太热，工人受不了。") in _evidence_line(search_page)
    # only where meaning carried the match; the breakdown adds up with or without evidence
    for e in [*api_search.values(), *api_match.values()]:
        _sum_adds_up(e)
        if e["evidence"] is not None:
            assert e["semantic_points"] >= 0.4 * (e["text_points"] + e["semantic_points"])


def test_evidence_is_bounded_to_the_top_results(exchange: Exchange, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the first `top` results are looked at, with one query for their sentence vectors."""
    from tongxin.services.evidence import with_evidence

    sem = _with_hash(exchange)
    ids = load(exchange, listings=ROWS)
    sem.drain()
    sem.drain_sentences()
    calls: list[list[int]] = []
    real = sem.sentence_vectors
    monkeypatch.setattr(sem, "sentence_vectors", lambda got: calls.append(list(got)) or real(got))
    _, ms = exchange.match(ids["S-HOT"], SYSTEM, limit=5)
    assert len(ms) >= 3 and all(meaning_carried(m.explanation) for m in ms[:2])
    out = with_evidence(sem, ms, exchange.get(ids["S-HOT"])[0], top=2)
    assert calls == [[int(m.listing.id or 0) for m in ms[:2]] + [ids["S-HOT"]]]  # one query: the two shown and the query
    assert [m.explanation.evidence is not None for m in out] == [True, True] + [False] * (len(ms) - 2)
    assert [m.listing.id for m in out] == [m.listing.id for m in ms] and all(m.explanation.evidence is None for m in ms)
