"""`tongxin bench speed` on a tiny corpus: it runs end to end and reports every figure."""

from __future__ import annotations

import json

import numpy as np

from tongxin.bench.speed import cli_speed, run_speed
from tongxin.bench.synthetic import Generator, listing_record
from tongxin.bench.vectors import SyntheticVectors
from tongxin.core.kinds import default_registry
from tongxin.core.listing import validate_listing
from tongxin.core.semantic import HashEncoder

KEYS = ("listings", "index_seconds", "db_load_seconds", "index_build_seconds", "match_p50_ms", "match_p99_ms",
        "listing_match_p50_ms", "listing_match_p99_ms", "engine_p50_ms", "engine_listing_p50_ms", "peak_rss_mb")


def test_generator_is_deterministic_and_valid() -> None:
    a = list(Generator(7).listings(200, 5))
    b = list(Generator(7).listings(200, 5))
    assert a == b
    assert list(Generator(7).listings(200, 5, start=150)) == a[150:]  # any slice is reproducible
    assert {x.kind for x in a} == {"technology", "scenario"}
    reg = default_registry()
    for x in a:
        y = validate_listing(listing_record(x), reg)
        assert (y.title, y.description, y.keywords, y.attrs) == (x.title, x.description, x.keywords, x.attrs)
        assert 100 <= len(x.description) <= 260
    assert Generator(7).text_queries(20) == Generator(7).text_queries(20)


def test_speed_benchmark_runs_end_to_end(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = run_speed(300, queries=40, quiet=True, workdir=str(tmp_path))
    for k in KEYS:
        assert out[k] is not None and out[k] == out[k], k  # present, not NaN
    assert out["listings"] == 300 and out["indexed"] > 250
    assert out["queries"] == 40 and out["listing_queries"] > 20
    assert out["fresh_publish_ms"] is not None and out["fresh_change_ms"] is not None and out["fresh_withdraw_ms"] is not None
    assert out["reopen_rebuilt"] is False and out["reopen_same_results"] is True
    assert out["verdict"]["restart_without_rebuild"]  # (freshness within 1 s is a speed figure: the benchmark reports it, no test asserts it)
    assert not list(tmp_path.iterdir())  # temporary files removed


def test_cli_prints_one_json_object(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TONGXIN_BENCH_QUERIES", "20")
    monkeypatch.setenv("TONGXIN_BENCH_DIR", str(tmp_path))
    monkeypatch.setenv("TONGXIN_BENCH_ENCODER", "hash")
    cli_speed(300, as_json=True)
    out = json.loads(capsys.readouterr().out)
    for k in KEYS:
        assert k in out
    assert out["semantic"]["encoder"] == "char-bigram-hash" and out["semantic"]["vectors_stored"] == 300


def test_synthetic_vectors_are_deterministic_unit_and_near_within_a_topic() -> None:
    gen = Generator(7)
    xs = list(gen.listings(400, 5))
    sv = SyntheticVectors(gen, HashEncoder(), seed=3)
    a = sv.vectors(xs, 0).astype(np.float32)
    assert np.array_equal(a, sv.vectors(xs, 0).astype(np.float32))
    assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-2)
    topic = np.array([gen.topic_of(i) for i in range(400)])
    assert all(set(x.keywords) <= set(gen.vocab.topics[t]) for x, t in zip(xs, topic, strict=True))  # the listing's own topic
    cos = a @ a.T
    same = topic[:, None] == topic[None, :]
    np.fill_diagonal(same, False)
    other = ~same
    np.fill_diagonal(other, False)
    assert cos[same].mean() > cos[other].mean() + 0.1  # a topic's listings are near each other


def test_hybrid_path_with_the_approximate_index_matches_the_exact_index(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = run_speed(1500, queries=40, quiet=True, workdir=str(tmp_path), encoder=HashEncoder(), ann_threshold=200)
    m = out["semantic"]
    assert m["approximate_kinds"] == ["scenario", "technology"]  # forced on by the low threshold
    assert m["vectors_stored"] == 1500 and sum(m["vector_counts"].values()) > 1300  # the published ones
    assert m["vector_index_reloaded"] is True  # saved next to the search index, loaded as after a restart
    assert m["recall_at_100"] >= 0.9 and m["recall_queries"] >= 60
    assert m["top10_overlap_with_exact"] >= 0.95 and m["top10_identical_to_exact"] >= 0.8
    for k in ("text_p50_ms", "text_p99_ms", "listing_match_p50_ms", "listing_match_p99_ms", "query_embed_p99_ms"):
        assert m[k] is not None and m[k] > 0, k
    assert "hybrid_text_p99_le_60ms" in out["verdict"] and "vector_recall_ge_0_9" in out["verdict"]
    srv = out["serving"]  # a fresh process that opens the saved indexes, as a restarted server does
    assert "error" not in srv, srv.get("error")
    assert srv["vector_index_loaded_from_disk"] is True and srv["queries"] == 40 and srv["listing_queries"] > 0
    assert srv["peak_rss_mb"] >= srv["rss_after_startup_mb"] > 0 and srv["text_p99_ms"] > 0 and srv["listing_match_p99_ms"] > 0
    assert not list(tmp_path.iterdir())
