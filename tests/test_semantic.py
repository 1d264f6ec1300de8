"""The semantic layer: encoders, the embedding queue and its worker, stored vectors and the vector index.

The real e5 model is loaded once per session (the loading test); everything else uses the
deterministic character-bigram HashEncoder, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from factories import LISTINGS, load, tech
from sqlalchemy import select

from tongxin.core.listing import validate_listing
from tongxin.core.semantic import HashEncoder, embed_text, get_encoder, text_hash
from tongxin.core.semantic.index import VectorIndex
from tongxin.services import Exchange
from tongxin.services.semantic import Semantic
from tongxin.storage import repo
from tongxin.storage import vectors_repo as vr
from tongxin.storage.models_vectors import EmbeddingQueueRow, ListingVectorRow


@pytest.fixture(scope="session")
def e5():  # type: ignore[no-untyped-def]
    enc = get_encoder("e5")
    assert enc is not None
    return enc


def test_e5_loads_and_embeds(e5) -> None:  # type: ignore[no-untyped-def]
    texts = ["夏天车间太热，工人受不了，需要给厂房降温", "蒸发冷却热环境调控技术，为高温车间降温", "锂电池正极材料回收与再生利用"]
    P = e5.encode_passages(texts)
    assert P.shape == (3, 384) and P.dtype == np.float32
    assert np.allclose(np.linalg.norm(P, axis=1), 1.0, atol=1e-4)
    assert P[0] @ P[1] > P[0] @ P[2]  # the paraphrase of the need is nearer than an unrelated technology
    q = e5.encode_query("车间高温怎么降温")
    assert q.shape == (384,) and abs(float(np.linalg.norm(q)) - 1.0) < 1e-4
    assert q @ P[1] > q @ P[2]
    assert e5.name == "multilingual-e5-small-q4" and e5.version.startswith("0.3") and "e5-small-q4" in e5.version


def test_hash_encoder_is_deterministic_and_unit() -> None:
    a, b = HashEncoder(), HashEncoder()
    P = a.encode_passages(["列车控制系统", "列车控制系统国产化", "海洋活性肽"])
    assert np.array_equal(P, b.encode_passages(["列车控制系统", "列车控制系统国产化", "海洋活性肽"]))
    assert np.allclose(np.linalg.norm(P, axis=1), 1.0, atol=1e-5)
    assert P[0] @ P[1] > P[0] @ P[2]


def test_encoder_setting() -> None:
    assert get_encoder("none") is None
    assert get_encoder("hash") is get_encoder("HASH")  # one instance per process
    with pytest.raises(ValueError, match="TONGXIN_ENCODER"):
        get_encoder("bert")
    # an unknown encoder turns the layer off (logged), it does not break requests
    assert Semantic(None, encoder="bert").candidates(np.ones(64, dtype=np.float32)) == []  # type: ignore[arg-type]


def test_embed_text_is_title_keywords_description_trimmed() -> None:
    t = embed_text(" 蒸发冷却 ", ["热环境", " 降温 "], "描述\n\n第二段" + "很长" * 400)
    assert t.startswith("蒸发冷却\n热环境、降温\n描述 第二段") and len(t) == 480
    assert text_hash(t) == text_hash(t) and len(text_hash(t)) == 40 and text_hash(t) != text_hash(t[:-1])


# -- the queue -------------------------------------------------------------------------------------

class Hash2(HashEncoder):
    version = "2"


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


class Poison(HashEncoder):
    """Fails on every text that mentions 毒."""

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        if any("毒" in t for t in texts):
            raise RuntimeError("cannot embed this text")
        return super().encode_passages(texts)


def _queue(ex: Exchange) -> list[int]:
    with ex.db.transaction(write=False) as s:
        return vr.queued(s)


def _vectors(ex: Exchange) -> dict[int, tuple[str, str]]:
    with ex.db.transaction(write=False) as s:
        return {r.listing_id: (r.text_hash, r.model_version) for r in s.scalars(select(ListingVectorRow))}


def _save(ex: Exchange, row: dict) -> int:  # type: ignore[type-arg]
    return ex.save_listing(validate_listing(row, ex.registry))


@pytest.mark.postgres
def test_save_enqueues_and_drain_writes_vectors(exchange: Exchange) -> None:
    ids = load(exchange)
    assert _queue(exchange) == sorted(ids.values())  # queued in the saving transaction
    sem = Semantic(exchange.db, encoder=HashEncoder(), batch=3)
    assert sem.status()["waiting"] == len(ids)
    seen: list[tuple[int, int]] = []
    assert sem.drain(progress=lambda d, t: seen.append((d, t))) == len(ids)
    assert _queue(exchange) == [] and seen[-1] == (len(ids), len(ids))
    stored = _vectors(exchange)
    assert set(stored) == set(ids.values())
    x, _ = exchange.get(ids["T-CBTC"])
    assert stored[ids["T-CBTC"]][0] == text_hash(embed_text(x.title, x.keywords, x.description))
    v = sem.vector_of(ids["T-CBTC"])
    assert v is not None and v.shape == (64,) and abs(float(np.linalg.norm(v)) - 1) < 1e-2
    st = sem.status()
    assert (st["vectors"], st["waiting"], st["failed"], st["model"]) == (len(ids), 0, 0, "char-bigram-hash")


@pytest.mark.postgres
def test_changed_text_reenqueues_unchanged_does_not(exchange: Exchange) -> None:
    ids = load(exchange)
    sem = Semantic(exchange.db, encoder=HashEncoder())
    sem.drain()
    row = next(x for x in LISTINGS if x["external_id"] == "T-CBTC")
    _save(exchange, dict(row, region="110105", trl=8))  # other fields only: the embedded text is the same
    assert _queue(exchange) == []
    _save(exchange, dict(row, description=row["description"] + "新增全自动无人驾驶功能。"))
    assert _queue(exchange) == [ids["T-CBTC"]]
    before = _vectors(exchange)[ids["T-CBTC"]][0]
    sem.drain()
    after = _vectors(exchange)[ids["T-CBTC"]][0]
    assert before != after and _queue(exchange) == []


@pytest.mark.postgres
def test_kill_mid_batch_loses_nothing(exchange: Exchange) -> None:
    ids = load(exchange)
    dying = Semantic(exchange.db, encoder=Crashing(after=4), batch=3, lease_seconds=0)
    with pytest.raises(KeyboardInterrupt):
        dying.drain()
    assert len(_vectors(exchange)) == 3  # the first batch landed, the second died unwritten
    assert len(_queue(exchange)) == len(ids) - 3
    with exchange.db.transaction(write=False) as s:
        attempts = dict(s.execute(select(EmbeddingQueueRow.listing_id, EmbeddingQueueRow.attempts)).all())
    assert sorted(attempts.values()).count(1) == 3  # the dead batch counted an attempt
    Semantic(exchange.db, encoder=HashEncoder(), batch=3).drain()  # its lease has run out: resumed
    assert set(_vectors(exchange)) == set(ids.values()) and _queue(exchange) == []


@pytest.mark.postgres
def test_a_live_lease_is_not_claimed_twice(exchange: Exchange) -> None:
    ids = load(exchange)
    with exchange.db.transaction() as s:
        a = vr.claim(s, "worker-a", 4, lease_seconds=600)
    with exchange.db.transaction() as s:
        b = vr.claim(s, "worker-b", 100, lease_seconds=600)
    assert len(a) == 4 and not set(a) & set(b) and set(a) | set(b) == set(ids.values())
    with exchange.db.transaction() as s:
        assert vr.claim(s, "worker-c", 100, lease_seconds=600) == []


@pytest.mark.postgres
def test_poison_text_is_recorded_and_skipped(exchange: Exchange) -> None:
    ids = load(exchange)
    bad = _save(exchange, tech("T-BAD", "含毒文本", "这段文本让编码器失败。", "毒"))
    sem = Semantic(exchange.db, encoder=Poison(), batch=4)
    for _ in range(5):
        sem.drain()
    assert set(_vectors(exchange)) == set(ids.values())  # the others were embedded
    with exchange.db.transaction(write=False) as s:
        row = s.get(EmbeddingQueueRow, bad)
    assert row is not None and row.attempts == vr.MAX_ATTEMPTS and "cannot embed this text" in (row.last_error or "")
    st = sem.status()
    assert st["failed"] == 1 and st["waiting"] == 0
    _save(exchange, tech("T-BAD", "修正后的文本", "这段文本可以嵌入。", "修正"))  # fixing the text queues it afresh
    sem.drain()
    assert bad in _vectors(exchange) and _queue(exchange) == []


@pytest.mark.postgres
def test_model_change_reenqueues(exchange: Exchange) -> None:
    ids = load(exchange)
    Semantic(exchange.db, encoder=HashEncoder()).drain()
    assert Semantic(exchange.db, encoder=HashEncoder()).enqueue_stale() == 0  # all current
    new = Semantic(exchange.db, encoder=Hash2())
    assert new.candidates(new.encode_query("列车控制"), ["technology"], 5) == []  # no vectors of this model yet
    assert new.enqueue_stale() == len(ids)
    assert new.status()["other_model_vectors"] == len(ids)
    new.drain()
    assert {v for _, v in _vectors(exchange).values()} == {"2"}
    top = [i for i, _ in new.candidates(new.encode_query("基于通信的列车控制系统"), ["technology"], 2)]
    assert ids["T-CBTC"] in top and ids["T-PEPT"] not in top


@pytest.mark.postgres
def test_rebuild_check_finds_text_changed_behind_the_queue(exchange: Exchange) -> None:
    ids = load(exchange)
    sem = Semantic(exchange.db, encoder=HashEncoder())
    sem.drain()
    from sqlalchemy import update

    from tongxin.storage.models import ListingRow

    with exchange.db.transaction() as s:  # a write that bypassed upsert_listing
        s.execute(update(ListingRow).where(ListingRow.id == ids["S-WQ"]).values(title="改过的标题"))
    assert sem.enqueue_stale(check_text=False) == 0
    assert sem.enqueue_stale(check_text=True) == 1 and _queue(exchange) == [ids["S-WQ"]]


@pytest.mark.postgres
def test_bulk_insert_enqueues(exchange: Exchange) -> None:
    load(exchange, listings=[])
    rows = [validate_listing(tech(f"T-B{i}", f"批量技术{i}", "批量导入的技术。", "批量"), exchange.registry) for i in range(5)]
    with exchange.db.transaction() as s:
        new = repo.bulk_insert_listings(s, rows, exchange.registry)
    assert _queue(exchange) == sorted(new)


# -- candidates and the index ----------------------------------------------------------------------

@pytest.mark.postgres
def test_candidates_by_kind_and_kept_current_across_processes(exchange: Exchange) -> None:
    ids = load(exchange)
    reader = Semantic(exchange.db, encoder=HashEncoder(), refresh_interval=0)
    q = reader.encode_query("城轨列车控制系统")
    assert reader.candidates(q, ["technology"], 5) == []  # nothing embedded yet: no candidates, no error
    Semantic(exchange.db, encoder=HashEncoder()).drain()  # another process's worker
    got = reader.candidates(q, ["technology"], 10)
    kinds = {x["external_id"]: x["kind"] for x in LISTINGS}
    by_id = {v: k for k, v in ids.items()}
    assert got[0][0] == ids["T-CBTC"] and all(kinds[by_id[i]] == "technology" for i, _ in got)
    assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
    both = reader.candidates(q, [], 3)
    assert {ids["T-CBTC"], ids["S-WQ"]} <= {i for i, _ in both}
    assert ids["T-CBTC"] not in {i for i, _ in reader.candidates(q, ["technology"], 5, exclude=[ids["T-CBTC"]])}
    exchange.set_status(ids["T-CBTC"], "withdrawn")  # unpublished: gone from the index
    assert ids["T-CBTC"] not in {i for i, _ in reader.candidates(q, ["technology"], 10)}
    assert reader.vector_of(ids["T-CBTC"]) is not None  # its stored vector is still there


def test_semantic_off_degrades(exchange: Exchange) -> None:
    load(exchange)
    off = Semantic(exchange.db, encoder="none")
    assert off.encode_query("列车") is None and off.candidates(None, ["technology"], 5) == []
    assert off.vector_of(1) is None and off.drain() == 0 and off.start_worker() is False
    assert off.status()["model"] == "none"


def test_background_worker_drains_the_queue(exchange: Exchange) -> None:
    ids = load(exchange)
    sem = Semantic(exchange.db, encoder=HashEncoder())
    assert sem.start_worker()
    import time

    for _ in range(200):  # polls a condition, no timing asserted
        if not _queue(exchange):
            break
        time.sleep(0.05)
    sem.stop()
    assert set(_vectors(exchange)) == set(ids.values())


def test_preload_shipped_vectors(exchange: Exchange, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ids = load(exchange)
    enc = HashEncoder()
    texts = [embed_text(x["title"], x["keywords"].split(";"), x["description"]) for x in LISTINGS[:4]]
    path = str(tmp_path / "v.npz")
    np.savez_compressed(path, hashes=np.array([text_hash(t) for t in texts]), vectors=enc.encode_passages(texts).astype(np.float16),
                        model=np.array(enc.name), version=np.array(enc.version))
    sem = Semantic(exchange.db, encoder=enc)
    assert sem.preload(path) == {"stored": 4, "queued": len(ids) - 4}
    assert set(_vectors(exchange)) == {ids[x["external_id"]] for x in LISTINGS[:4]}
    np.savez_compressed(path, hashes=np.array([text_hash(t) for t in texts]), vectors=enc.encode_passages(texts).astype(np.float16),
                        model=np.array(enc.name), version=np.array("old"))
    assert Semantic(exchange.db, encoder=enc).preload(path)["stored"] == 0  # another version: embedded afresh instead


def test_vector_index_add_replace_remove() -> None:
    rng = np.random.default_rng(7)
    idx = VectorIndex(16)
    vecs = rng.normal(size=(300, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    for i, v in enumerate(vecs):
        idx.put(i + 1, "technology" if i % 3 else "scenario", v)
    q = vecs[10]
    exact = sorted(((i + 1, float(vecs[i] @ q)) for i in range(300) if i % 3), key=lambda t: (-t[1], t[0]))[:20]
    got = idx.search(q, ["technology"], 20)
    assert [i for i, _ in got] == [i for i, _ in exact] and np.allclose([s for _, s in got], [s for _, s in exact], atol=1e-5)
    assert idx.remove(11) and 11 not in idx and idx.search(q, ["technology"], 1)[0][0] != 11
    idx.put(12, "scenario", vecs[10])  # kind change moves it
    assert idx.search(q, ["scenario"], 1)[0][0] == 12 and idx.counts() == {"scenario": 101, "technology": 198}
    assert np.allclose(idx.get(12), vecs[10]) and idx.get(11) is None
    assert idx.cosines(q, [12, 11, 2]) == pytest.approx({12: 1.0, 2: float(vecs[1] @ q)}, abs=1e-5)
    kept = [i for i in range(300) if i % 3 and i != 10 and i != 11]  # technology after removing 11 and moving 12
    # the mean cosine with the kind's vectors (the query's background), kept as listings come and go
    assert idx.mean_cosine(q, ["technology"]) == pytest.approx(float(np.mean(vecs[kept] @ q)), abs=1e-4)
    assert VectorIndex(16).mean_cosine(q) == 0.0


def test_semantic_is_the_match_paths_source(exchange: Exchange) -> None:
    from tongxin.services.hybrid import SemanticSource

    ids = load(exchange)
    sem = Semantic(exchange.db, encoder=HashEncoder())
    sem.drain()
    src: SemanticSource = sem
    q = src.encode_query("城轨列车控制系统")
    cos = src.cosines(q, [ids["T-CBTC"], ids["S-HOSP"], 10_000])
    assert set(cos) == {ids["T-CBTC"], ids["S-HOSP"]} and cos[ids["T-CBTC"]] > cos[ids["S-HOSP"]]
    assert -1.0 <= src.background(q, ["technology"]) < cos[ids["T-CBTC"]] and src.enabled


def test_e5_query_instances_are_pooled_and_embed_in_parallel(e5) -> None:  # type: ignore[no-untyped-def]
    import threading

    from tongxin.core.semantic.encoder import E5Encoder

    enc = E5Encoder(query_models=2)
    texts = ["食堂油烟太大总被投诉", "仓库里老找不到货", "夏天车间太热工人受不了", "冲压模具老是崩角"] * 3
    want = {t: e5.encode_query(t) for t in set(texts)}
    got: dict[int, np.ndarray] = {}
    threads = [threading.Thread(target=lambda i=i, t=t: got.__setitem__(i, enc.encode_query(t))) for i, t in enumerate(texts)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert enc._made == 2 and len(enc._idle) == 2  # two instances made, both back in the pool
    for i, t in enumerate(texts):  # concurrent calls give each text its own vector, the same as one at a time
        assert np.allclose(got[i], want[t], atol=1e-5)
    assert enc._passage is None  # queries never touch the passage instance
