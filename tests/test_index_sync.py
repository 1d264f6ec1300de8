"""The search index: fast paths give the exact results, changes show up in every process
within a second, and the index survives restarts and crashes (rebuilt or caught up from the
database's change log)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest
from factories import LISTINGS, load, tech

from tongxin.bench.synthetic import TODAY, Generator, listing_record
from tongxin.core.access import SYSTEM, VISITOR, Viewer
from tongxin.core.listing import validate_listing
from tongxin.core.matching.fit import MatchContext
from tongxin.core.text import Analyzer
from tongxin.services import Exchange
from tongxin.storage import repo
from tongxin.storage.db import Database

CTX = MatchContext(today=TODAY)
VIEWERS = [VISITOR, SYSTEM, Viewer(org_id=3, org_verified=True, role="member")]


def _synthetic(ex: Exchange, n: int, seed: int = 11) -> None:
    gen = Generator(seed)
    n_orgs = gen.n_organisations(n)
    with ex.db.transaction() as s:
        orgs = list(gen.organisations(n_orgs))
        ids = repo.bulk_insert_organisations(s, orgs)
        repo.bulk_insert_listings(s, list(gen.listings(n, n_orgs)), ex.registry, {o.external_id: i for o, i in zip(orgs, ids, strict=False)})


def _sig(res: list[Any]) -> list[Any]:
    return [(m.listing.id, m.score, [(t.term, t.fields, t.points, t.via) for t in m.explanation.terms],
             [(f.key, f.met, f.points, f.zh) for f in m.explanation.fit], m.listing) for m in res]


@pytest.fixture
def corpus(db_url: str, tmp_path) -> Iterator[Exchange]:  # type: ignore[no-untyped-def]
    ex = Exchange(Database(db_url), str(tmp_path / "index"), analyzer=Analyzer())
    ex.init_db()
    _synthetic(ex, 1500)
    ex.sync()  # a fresh index: full build
    yield ex
    ex.close()


# -- the fast paths are exact ------------------------------------------------------------------

def test_fast_paths_give_the_exact_results(corpus: Exchange) -> None:
    """Pre-filtered engine search, scores computed from the OR score, explanations from stored
    terms and only for the returned listings: the same matches, scores and explanations as
    the plain path (filters inside the engine query, every candidate analysed and explained)."""
    ex = corpus
    gen = Generator(11)
    differ = 0
    cases = 0

    def both(f: Any) -> tuple[Any, Any]:
        ex.exact = True
        a = f()
        ex.exact = False
        return a, f()

    for i, (q, k) in enumerate(gen.text_queries(60)):
        for limit in (10, 3):
            a, b = both(lambda: ex.search(q, kind=k, viewer=VIEWERS[i % 3], limit=limit, ctx=CTX))  # noqa: B023
            cases += 1
            differ += a[0] != b[0] or _sig(a[1]) != _sig(b[1])
    ids = random.Random(3).sample(range(1, 1500), 60)
    for i, lid in enumerate(ids):
        viewer = VIEWERS[i % 3]
        if ex.get(lid, viewer)[1] < 2:
            continue
        a, b = both(lambda: ex.match(lid, viewer, ctx=CTX))  # noqa: B023
        cases += 1
        differ += _sig(a[1]) != _sig(b[1])
    assert cases > 100 and differ == 0
    assert ex.stats["explained_from_index"] > 0
    assert ex.engine.stats["spot_check_failures"] == 0


def test_kind_boosted_path_gives_the_exact_results(corpus: Exchange, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the filters drop most OR hits because of their kind, the engine lets the kind's
    boosted term do the filtering (SearchEngine._kind_boosted): forced here on every query
    (the first survivors never settle), it must give what the filtered query gives."""
    from tongxin.search import engine as E

    ex = corpus
    eng = ex.engine
    real_settle = eng._settle
    calls = {"n": 0}

    def first_round_unsettled(*a: Any, **k: Any) -> Any:
        calls["n"] += 1
        return None if calls["n"] == 1 else real_settle(*a, **k)

    monkeypatch.setattr(E, "KIND_BOOST_ABOVE", 0)
    ids = random.Random(5).sample(range(1, 1500), 50)
    differ = cases = 0
    for i, lid in enumerate(ids):
        viewer = VIEWERS[i % 3]
        if ex.get(lid, viewer)[1] < 2:
            continue
        ex.exact = True
        a = _sig(ex.match(lid, viewer, ctx=CTX)[1])
        ex.exact = False
        calls["n"] = 0
        monkeypatch.setattr(eng, "_settle", first_round_unsettled)
        b = _sig(ex.match(lid, viewer, ctx=CTX)[1])
        monkeypatch.setattr(eng, "_settle", real_settle)
        cases += 1
        differ += a != b
    for q, k in Generator(12).text_queries(40):
        if k is None:
            continue
        ex.exact = True
        a = _sig(ex.search(q, kind=k, ctx=CTX)[1])
        ex.exact = False
        calls["n"] = 0
        monkeypatch.setattr(eng, "_settle", first_round_unsettled)
        b = _sig(ex.search(q, kind=k, ctx=CTX)[1])
        monkeypatch.setattr(eng, "_settle", real_settle)
        cases += 1
        differ += a != b
    assert cases > 40 and differ == 0
    assert eng.stats["kind_boosted"] > 5  # the path answered some of them itself (others fell back safely)


def test_terms_no_wanted_kind_holds_are_left_out_and_results_stay_the_same(corpus: Exchange) -> None:
    """A need's place names, which no technology holds, score nothing on any technology: the
    engine leaves them out of a search for technologies (SearchEngine.known). Every match,
    score and explanation is what the whole query gives."""
    from tongxin.core.matching.rank import allowed_kinds

    ex = corpus
    eng = ex.engine
    table = eng.store.kind_terms
    assert table is not None and {"technology", "scenario"} <= set(table)
    assert table["scenario"] - table["technology"]  # terms only needs hold (places, sites)
    cases = dropped = differ = 0

    def whole(f: Any) -> Any:
        eng.store.kind_terms = None  # unknown: nothing is left out
        try:
            return f()
        finally:
            eng.store.kind_terms = table

    for i, lid in enumerate(random.Random(9).sample(range(1, 1500), 80)):
        viewer = VIEWERS[i % 3]
        listing, acc_level = ex.get(lid, viewer)
        if acc_level < 2:
            continue
        qterms = ex.listing_qterms(listing)
        kept, _ = eng.known([(q.term, q.weight) for q in qterms], [], allowed_kinds(ex.registry, listing, None))
        dropped += len(kept) < len(qterms)
        for exact in (False, True):
            ex.exact = exact
            a = _sig(ex.match(lid, viewer, ctx=CTX)[1])
            b = _sig(whole(lambda: ex.match(lid, viewer, ctx=CTX)[1]))  # noqa: B023
            cases += 1
            differ += a != b
    ex.exact = False
    for q, k in Generator(13).text_queries(40):
        a = ex.search(q, kind=k, ctx=CTX)
        b = whole(lambda: ex.search(q, kind=k, ctx=CTX))  # noqa: B023
        cases += 1
        differ += a[0] != b[0] or _sig(a[1]) != _sig(b[1])
    assert cases > 100 and differ == 0
    assert dropped > 5  # the rule was exercised


def test_kind_terms_follow_new_listings_readers_and_restarts(corpus: Exchange) -> None:
    """The terms of each kind are recorded as listings are indexed, reach reader processes
    before the listings do, survive a restart, and an index without them leaves nothing out."""
    ex = corpus
    eng = ex.engine
    table = eng.store.kind_terms
    assert table is not None
    word = sorted(table["scenario"] - table["technology"], key=lambda t: (-len(t), t))[0]  # no technology holds it yet
    reader = Exchange(Database(ex.db.url), ex.index_dir)
    try:
        assert not reader.is_writer
        assert reader.engine.store.kind_terms == table
        assert word not in reader.engine.store.kind_terms["technology"]
        rec = tech("T-KT-1", f"{word}智能运维平台", f"面向{word}的智能运维平台。", word, owner="SYN-ORG-1")
        lid = ex.save_listing(validate_listing(rec, ex.registry))
        assert word in eng.store.kind_terms["technology"]
        assert lid in [m.listing.id for m in ex.search(word, kind="technology", ctx=CTX)[1]]
        reader.sync()  # a reader waits for the writer, then loads its commit and the new terms
        assert word in reader.engine.store.kind_terms["technology"]
        assert reader.engine.store.kind_terms == eng.store.kind_terms
        assert lid in [m.listing.id for m in reader.search(word, kind="technology", ctx=CTX)[1]]
    finally:
        reader.close()
    before = {k: set(v) for k, v in eng.store.kind_terms.items()}
    ex.close()
    again = Exchange(Database(ex.db.url), ex.index_dir)
    try:
        assert not again.engine.store.fresh and again.engine.store.kind_terms == before
    finally:
        again.close()
    # an index written before kind terms were recorded: unknown, the whole query is searched
    meta_path = os.path.join(ex.index_dir, "tongxin-meta.json")
    with open(meta_path, encoding="utf-8") as fh:
        meta = json.load(fh)
    del meta["kind_terms"]
    with open(meta_path, "w", encoding="utf-8") as fh:
        json.dump(meta, fh)
    old = Exchange(Database(ex.db.url), ex.index_dir)
    try:
        assert not old.engine.store.fresh and old.engine.store.kind_terms is None
        assert lid in [m.listing.id for m in old.search(word, kind="technology", ctx=CTX)[1]]
        assert old.engine.store.kind_terms is None  # an incremental update does not make a partial table look complete
    finally:
        old.close()


def test_a_build_in_worker_processes_indexes_and_records_the_same(corpus: Exchange, caplog: pytest.LogCaptureFixture) -> None:
    """A full build analysing in worker processes (as big builds do) gives the same kind terms
    and the same results as the in-process build of the fixture."""
    import logging

    ex = corpus
    before = {k: set(v) for k, v in (ex.engine.store.kind_terms or {}).items()}
    queries = Generator(14).text_queries(15)
    results = [_sig(ex.search(q, kind=k, ctx=CTX)[1]) for q, k in queries]
    ex.index.build_workers = 2
    with caplog.at_level(logging.WARNING):
        ex.rebuild_index()
    assert ex.index.last_build["workers"] == 2.0 and ex.index.last_build["worker_peak_rss_mb"] > 0
    assert not [r for r in caplog.records if "in-process" in r.getMessage()]  # the workers did the analysis
    assert before and ex.engine.store.kind_terms == before
    assert [_sig(ex.search(q, kind=k, ctx=CTX)[1]) for q, k in queries] == results


def test_explanations_stay_with_the_index_when_the_dictionary_grows(corpus: Exchange) -> None:
    """A learned term does not re-index the documents, so their stored terms are still what the
    engine scored: explanations keep coming from the index (no re-analysis of every candidate
    after each new keyword), and equal the exact reference for texts without the new term."""
    ex = corpus
    q, k = Generator(11).text_queries(1)[0]
    before = _sig(ex.search(q, kind=k, ctx=CTX)[1])
    ex.index.learn(["测试专用新词汇"])  # a new learned term, in no document
    n0, e0 = ex.stats["explained_from_index"], ex.stats["explained"]
    after = _sig(ex.search(q, kind=k, ctx=CTX)[1])
    assert ex.stats["explained"] > e0
    assert ex.stats["explained_from_index"] - n0 == ex.stats["explained"] - e0  # every one from the index
    ex.exact = True
    assert _sig(ex.search(q, kind=k, ctx=CTX)[1]) == after
    assert after == before


def test_bulk_functions_store_and_read_what_the_orm_does(db: Database) -> None:
    from tongxin.storage.migrate import upgrade

    upgrade(db.engine)
    ex = Exchange(db, None, analyzer=Analyzer())
    gen = Generator(5)
    with db.transaction() as s:
        for o in gen.organisations(10):
            repo.upsert_organisation(s, o)
    xs = list(gen.listings(120, 10))
    a = [validate_listing(dict(listing_record(x), external_id="A" + str(x.external_id)), ex.registry) for x in xs]
    b = [validate_listing(dict(listing_record(x), external_id="B" + str(x.external_id)), ex.registry) for x in xs]
    with db.transaction() as s:
        ida = [repo.upsert_listing(s, x, ex.registry)[0].id for x in a]
    with db.transaction() as s:
        idb = repo.bulk_insert_listings(s, b, ex.registry)
    import dataclasses

    def plain(x: Any) -> Any:
        return dataclasses.replace(x, id=None, external_id=None, created_at=None, updated_at=None)

    with db.transaction(write=False) as s:
        orm = repo.get_listings(s, ida + idb, ex.registry)
        fast = repo.fetch_listings(s, ida + idb, ex.registry)
        assert fast == orm
        assert [plain(orm[i]) for i in ida] == [plain(orm[i]) for i in idb]
        assert repo.last_change_id(s) == 240  # one change per listing, bulk or not
        scanned = [x for batch in repo.scan_listings_for_index(s, ex.registry, batch=50) for x in batch]
        assert [x.id for x in scanned] == sorted(i for i in ida + idb if orm[i].status == "published")
        assert all(plain(x) == dataclasses.replace(plain(orm[x.id]), owner=x.owner, owner_name="") for x in scanned)


# -- freshness, restarts, crashes ------------------------------------------------------------------

def test_publish_change_withdraw_visible_at_once(exchange: Exchange) -> None:
    ids = load(exchange)
    rec = tech("T-NEW", "钙钛矿叠层电池激光划线设备", "钙钛矿叠层电池激光划线。", "钙钛矿叠层电池;激光划线")
    lid = exchange.save_listing(validate_listing(rec, exchange.registry))
    assert "T-NEW" in {m.listing.external_id for m in exchange.search("钙钛矿叠层电池", ctx=CTX)[1]}
    changed = validate_listing(dict(rec, title="青蒿素微流控连续合成装置", keywords="青蒿素连续合成"), exchange.registry)
    changed.id = lid
    exchange.save_listing(changed)
    assert "T-NEW" in {m.listing.external_id for m in exchange.search("青蒿素连续合成", ctx=CTX)[1]}
    exchange.set_status(lid, "closed")
    assert "T-NEW" not in {m.listing.external_id for m in exchange.search("青蒿素连续合成", ctx=CTX)[1]}
    assert ids


def test_changes_by_another_process_show_within_a_second(exchange: Exchange) -> None:
    """Another process writes to the database only (an import, a second web worker): the
    index writer picks it up in the background, with no query here to trigger it."""
    load(exchange)
    exchange.engine  # noqa: B018 - this process is the writer, its background thread runs
    rec = tech("T-BG", "磁悬浮离心鼓风机", "磁悬浮离心鼓风机节能改造。", "磁悬浮离心鼓风机")
    other = Database(exchange.db.url)
    with other.transaction() as s:
        repo.upsert_listing(s, validate_listing(rec, exchange.registry), exchange.registry)
    other.dispose()
    t0 = time.monotonic()
    while exchange.engine.store.last_change < _newest(exchange) and time.monotonic() - t0 < 3:
        time.sleep(0.02)
    assert time.monotonic() - t0 < 1.0
    exchange.exact = True  # no query-path sync involved: the background thread did it
    assert "T-BG" in {m.listing.external_id for m in exchange.search("磁悬浮离心鼓风机", ctx=CTX)[1]}


def _newest(ex: Exchange) -> int:
    with ex.db.transaction(write=False) as s:
        return repo.last_change_id(s)


def test_late_commits_are_not_lost(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL hands out change ids before commit, so a change can commit after a newer one
    was applied. Changes in the look-back window that were never applied are still found."""
    ex = Exchange(Database(db_url), str(tmp_path / "idx"), analyzer=Analyzer(), background_sync=False)
    ex.init_db()
    ids = load(ex)
    assert not ex.index.pending_changes()
    with ex.db.transaction() as s:
        repo.set_status(s, ids["T-CBTC"], "closed")
        late = repo.last_change_id(s)
    ex.engine.store.last_change = late  # the index moved past the change without seeing it
    assert ex.index.pending_changes()
    assert ex.sync() == 1
    assert "T-CBTC" not in {m.listing.external_id for m in ex.search("列车控制系统", ctx=CTX)[1]}
    assert not ex.index.pending_changes()
    ex.close()


def test_interrupted_build_is_redone_on_open(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    idx = str(tmp_path / "idx")
    ex = Exchange(Database(db_url), idx, analyzer=Analyzer())
    ex.init_db()
    load(ex)
    ex.close()
    meta = os.path.join(idx, "tongxin-meta.json")
    with open(meta, encoding="utf-8") as fh:
        data = json.load(fh)
    data["state"] = "building"  # as if the process died in the middle of a full build
    with open(meta, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    ex2 = Exchange(Database(db_url), idx, analyzer=Analyzer())
    assert ex2.engine.store.fresh
    assert ex2.search("列车控制系统", kind="technology", ctx=CTX)[1][0].listing.external_id == "T-CBTC"
    assert not ex2.engine.store.fresh
    ex2.close()


def test_learned_terms_survive_a_restart(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    idx = str(tmp_path / "idx")
    a1 = Analyzer()
    ex = Exchange(Database(db_url), idx, analyzer=a1)
    ex.init_db()
    load(ex)
    q, _ = ex.search("海洋活性肽 毕赤酵母", ctx=CTX)
    ex.close()
    ex2 = Exchange(Database(db_url), idx, analyzer=Analyzer())  # a new process: an untaught analyzer
    q2, res = ex2.search("海洋活性肽 毕赤酵母", ctx=CTX)
    assert not ex2.engine.store.fresh
    assert ex2.analyzer.learned >= a1.learned
    assert [t.term for t in q2] == [t.term for t in q] and res
    ex2.close()


# -- several processes on one index directory -----------------------------------------------------

WORKER = textwrap.dedent("""
    import json, sys
    from tongxin.bench.synthetic import TODAY
    from tongxin.core.listing import validate_listing
    from tongxin.core.matching.fit import MatchContext
    from tongxin.services import Exchange
    from tongxin.storage.db import Database
    ex = Exchange(Database(sys.argv[1]), sys.argv[2])
    ctx = MatchContext(today=TODAY)
    print(json.dumps({"ready": ex.is_writer}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "search":
            res = ex.search(cmd["q"], ctx=ctx)[1]
            out = [[m.listing.external_id, round(m.score, 6)] for m in res]
        elif cmd["op"] == "publish":
            out = ex.save_listing(validate_listing(cmd["rec"], ex.registry))
        elif cmd["op"] == "status":
            ex.set_status(cmd["id"], cmd["status"]); out = None
        elif cmd["op"] == "writer":
            out = ex.is_writer
        elif cmd["op"] == "wait":  # search until the id shows (or not); report the time it took
            import time
            t0 = time.time()
            while time.time() - t0 < 5:
                got = cmd["ext"] in {m.listing.external_id for m in ex.search(cmd["q"], ctx=ctx)[1]}
                if got == cmd["present"]:
                    break
                time.sleep(0.005)
            out = [got == cmd["present"], time.time()]
        print(json.dumps({"out": out}), flush=True)
""")


class Worker:
    def __init__(self, url: str, index_dir: str) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.p = subprocess.Popen([sys.executable, "-c", WORKER, url, index_dir], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, env=env)
        self.ready = json.loads(self.p.stdout.readline())["ready"]  # type: ignore[union-attr]

    def __call__(self, **cmd: Any) -> Any:
        self.p.stdin.write(json.dumps(cmd, ensure_ascii=False) + "\n")  # type: ignore[union-attr]
        self.p.stdin.flush()  # type: ignore[union-attr]
        line = self.p.stdout.readline()  # type: ignore[union-attr]
        assert line, "worker died"
        return json.loads(line)["out"]

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.stdin.close()  # type: ignore[union-attr]
            self.p.wait(timeout=30)
        self._close()

    def kill(self) -> None:
        self.p.send_signal(signal.SIGKILL)
        self.p.wait(timeout=30)
        self._close()

    def _close(self) -> None:
        for f in (self.p.stdin, self.p.stdout):
            if f is not None and not f.closed:
                with contextlib.suppress(OSError):
                    f.close()


@pytest.mark.slow
def test_two_worker_processes_share_one_index(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two workers on one database and index directory: the same ranking; a listing published
    or withdrawn through either is matchable (or gone) through the other within a second; when
    the writer dies the other takes over."""
    idx = str(tmp_path / "idx")
    ex = Exchange(Database(db_url), idx, analyzer=Analyzer())
    ex.init_db()
    load(ex)
    ex.close()
    a, b = Worker(db_url, idx), Worker(db_url, idx)
    try:
        assert sorted([a.ready, b.ready]) == [False, True]  # one writer, one reader
        assert a(op="search", q="列车控制系统 信号") == b(op="search", q="列车控制系统 信号")
        for src, dst, n in ((a, b, 1), (b, a, 2)):
            rec = tech(f"T-W{n}", f"氢燃料电池双极板冲压{n}号", "氢燃料电池双极板精密冲压成形。", "氢燃料电池双极板")
            lid = src(op="publish", rec=rec)
            t = time.time()
            ok, at = dst(op="wait", q="氢燃料电池双极板", ext=f"T-W{n}", present=True)
            assert ok and at - t < 1.0
            assert src(op="search", q="氢燃料电池双极板") == dst(op="search", q="氢燃料电池双极板")
            src(op="status", id=lid, status="closed")
            t = time.time()
            ok, at = dst(op="wait", q="氢燃料电池双极板", ext=f"T-W{n}", present=False)
            assert ok and at - t < 1.0
        writer, reader = (a, b) if a.ready else (b, a)
        writer.kill()  # a crash: the lock goes with the process
        rec = tech("T-W3", "海水淡化反渗透膜组件", "海水淡化反渗透膜。", "海水淡化反渗透膜")
        reader(op="publish", rec=rec)
        assert reader(op="writer") is True
        ok, _ = reader(op="wait", q="海水淡化反渗透膜", ext="T-W3", present=True)
        assert ok
    finally:
        a.stop()
        b.stop()


@pytest.mark.slow
def test_killed_writer_loses_nothing(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A writer killed right after a database commit: the next start catches up from the change log."""
    idx = str(tmp_path / "idx")
    ex = Exchange(Database(db_url), idx, analyzer=Analyzer())
    ex.init_db()
    load(ex)
    ex.close()
    w = Worker(db_url, idx)
    assert w.ready
    w(op="search", q="列车")
    other = Database(db_url)
    with other.transaction() as s:  # committed, but the writer never indexes it: killed
        repo.upsert_listing(s, validate_listing(tech("T-K", "光伏组件回收热解装备", "光伏组件回收。", "光伏组件回收"), ex.registry),
                            ex.registry)
    other.dispose()
    w.kill()
    ex2 = Exchange(Database(db_url), idx, analyzer=Analyzer())
    assert not ex2.engine.store.fresh  # no rebuild: caught up from the change log
    assert "T-K" in {m.listing.external_id for m in ex2.search("光伏组件回收", ctx=CTX)[1]}
    ex2.close()
    assert LISTINGS


def test_a_searcher_opened_across_a_reload_is_never_kept(exchange: Exchange) -> None:
    """A query that opens a searcher while another thread commits or reloads must not store the
    searcher of before: later queries would miss what was committed until the next reload."""
    load(exchange)
    st = exchange.engine.store
    real = st.index
    old = real.searcher()

    class Racing:  # the index, with a reload landing while the searcher opens
        def searcher(self) -> Any:
            st._reloaded()
            return old

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    st._reloaded()
    st.index = Racing()
    try:
        assert st.searcher() is old  # used once by the query that opened it ...
    finally:
        st.index = real
    fresh = st.searcher()
    assert fresh is not old  # ... but not kept: the next query opens the current one
    assert st.searcher() is fresh  # and that one is kept until the next commit
