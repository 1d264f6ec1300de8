"""The approximate (HNSW) block of the vector index: recall against the exact scan, updates,
kind filtering, and the copy saved next to the search index (restart without a rebuild)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from factories import load

from tongxin.core.semantic import HashEncoder
from tongxin.core.semantic.index import VectorIndex
from tongxin.services import Exchange
from tongxin.services.semantic import Semantic

DIM = 64


def clustered(n: int, seed: int = 3) -> np.ndarray:
    """Unit vectors around 40 topic centres sharing one common direction (as text embeddings do)."""
    rng = np.random.default_rng(seed)
    common, centres = rng.normal(size=DIM), rng.normal(size=(40, DIM))
    x = 2.0 * common + centres[rng.integers(0, 40, n)] + 0.6 * rng.normal(size=(n, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def both(n: int, threshold: int) -> tuple[VectorIndex, VectorIndex, np.ndarray]:
    x = clustered(n)
    exact, approx = VectorIndex(DIM, ann_threshold=0), VectorIndex(DIM, ann_threshold=threshold)
    kinds = np.array(["technology" if i % 3 else "scenario" for i in range(n)])
    for kind in ("technology", "scenario"):
        ids = np.flatnonzero(kinds == kind) + 1
        approx.put_many(kind, ids, x[ids - 1].astype(np.float16), [f"h{i}" for i in ids])
        for i in ids:
            exact.put(int(i), kind, x[i - 1].astype(np.float16), f"h{i}")
    return exact, approx, x


def recall(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> float:
    return len({i for i, _ in a} & {i for i, _ in b}) / max(1, len(b))


def test_approximate_candidates_match_the_exact_scan() -> None:
    exact, approx, x = both(6000, threshold=1500)
    assert approx.approximate_kinds() == ["scenario", "technology"] and exact.approximate_kinds() == []
    rng = np.random.default_rng(9)
    rs = []
    for j in rng.integers(0, len(x), 30):
        q = x[j] + 0.05 * rng.normal(size=DIM).astype(np.float32)
        q /= np.linalg.norm(q)
        a, e = approx.search(q, ["technology"], 100), exact.search(q, ["technology"], 100)
        assert all(approx._kind_of[i] == "technology" for i, _ in a)  # filtered by kind
        assert [s for _, s in a] == sorted((s for _, s in a), reverse=True)
        rs.append(recall(a, e))
        cos = approx.cosines(q, [i for i, _ in e[:10]])
        assert all(abs(cos[i] - s) < 2e-3 for i, s in e[:10])  # same cosines as the exact path
    assert np.mean(rs) >= 0.9, np.mean(rs)
    assert abs(approx.mean_cosine(x[0]) - exact.mean_cosine(x[0])) < 1e-3


def test_approximate_block_add_replace_remove_and_upgrade() -> None:
    x = clustered(400)
    idx = VectorIndex(DIM, ann_threshold=300)
    for i in range(299):
        idx.put(i + 1, "technology", x[i])
    assert idx.approximate_kinds() == []
    idx.put(300, "technology", x[299])  # the kind reaches the threshold: a graph from now on
    assert idx.approximate_kinds() == ["technology"] and idx.counts() == {"technology": 300}
    assert idx.search(x[10], ["technology"], 1)[0][0] == 11
    idx.put(11, "technology", x[350])  # replaced: found by its new vector
    assert idx.search(x[350], ["technology"], 1)[0][0] == 11
    assert abs(float(idx.get(11) @ x[350]) - 1) < 1e-3  # type: ignore[operator]
    assert idx.remove(11) and not idx.remove(11) and 11 not in idx
    assert 11 not in {i for i, _ in idx.search(x[350], ["technology"], 20)}
    idx.put(12, "scenario", x[11])  # moved to another kind
    assert idx.counts() == {"scenario": 1, "technology": 298}
    assert 12 not in {i for i, _ in idx.search(x[11], ["technology"], 20)}
    assert idx.search(x[11], ["scenario"], 5) == [(12, pytest.approx(1.0, abs=1e-3))]
    with pytest.raises(ValueError, match="already indexed"):
        idx.put_many("technology", [12], x[:1], ["h"])


def test_saved_index_loads_the_same_and_a_corrupt_one_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, approx, x = both(3000, threshold=1500)
    folder = approx.save(str(tmp_path), {"model": "m"})
    got = VectorIndex.load(str(tmp_path), DIM, ann_threshold=1500)
    assert got is not None and got[1] == {"model": "m"}
    loaded = got[0]
    assert loaded.counts() == approx.counts() and loaded.approximate_kinds() == ["technology"]
    assert loaded.text_hash(5) == "h5"
    for q in x[:5]:
        assert loaded.search(q, ["technology"], 20) == approx.search(q, ["technology"], 20)
        assert loaded.search(q, ["scenario"], 20) == approx.search(q, ["scenario"], 20)
    assert VectorIndex.load(str(tmp_path), DIM + 1) is None  # another dimension
    graph = [f for f in os.listdir(folder) if f.endswith(".usearch")][0]
    with open(os.path.join(folder, graph), "r+b") as fh:
        fh.truncate(1000)
    assert VectorIndex.load(str(tmp_path), DIM) is None
    assert VectorIndex.load(str(tmp_path / "nothing"), DIM) is None


@pytest.mark.postgres
def test_semantic_restarts_from_the_saved_index_and_catches_up(exchange: Exchange, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ids = load(exchange)
    where = str(tmp_path / "vec")
    first = Semantic(exchange.db, encoder=HashEncoder(), index_dir=where, ann_threshold=3, refresh_interval=0)
    first.drain()
    q = first.encode_query("城轨列车控制系统")
    want = first.candidates(q, ["technology"], 5)
    assert first.index_loaded is False and os.path.exists(os.path.join(where, "vectors.json"))  # built, then saved
    assert want[0][0] == ids["T-CBTC"]
    first.stop()

    exchange.set_status(ids["T-CBTC"], "withdrawn")  # while no process runs
    again = Semantic(exchange.db, encoder=HashEncoder(), index_dir=where, ann_threshold=3, refresh_interval=0)
    got = again.candidates(q, ["technology"], 5)
    assert again.index_loaded is True  # loaded, not rebuilt
    assert ids["T-CBTC"] not in {i for i, _ in got}  # and caught up from the change log
    assert [i for i, _ in got] == [i for i, _ in want if i != ids["T-CBTC"]][: len(got)]
    again.stop()  # saves the caught-up index

    class Newer(HashEncoder):
        version = "2"

    other = Semantic(exchange.db, encoder=Newer(), index_dir=where, ann_threshold=3)
    other.candidates(other.encode_query("城轨列车控制系统"), ["technology"], 5)
    assert other.index_loaded is False  # another model: rebuilt from the stored vectors


def test_a_new_save_replaces_the_pointer_and_old_saves_are_removed_once_old(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tongxin.core.semantic import persist

    _, approx, x = both(2000, threshold=1000)
    first = approx.save(str(tmp_path), {"n": 1})
    approx.remove(2)
    second = approx.save(str(tmp_path), {"n": 2})
    assert os.path.isdir(first)  # recent: another process may still be loading it
    got = VectorIndex.load(str(tmp_path), DIM)
    assert got is not None and got[1] == {"n": 2} and 2 not in got[0]
    monkeypatch.setattr(persist, "KEEP_SECONDS", -1.0)
    third = approx.save(str(tmp_path), {"n": 3})
    assert not os.path.exists(first) and not os.path.exists(second) and os.path.isdir(third)
