"""`tongxin bench speed` on a tiny corpus: it runs end to end and reports every figure."""

from __future__ import annotations

import json

from tongxin.bench.speed import cli_speed, run_speed
from tongxin.bench.synthetic import Generator, listing_record
from tongxin.core.kinds import default_registry
from tongxin.core.listing import validate_listing

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
    assert out["verdict"]["fresh_within_1s"] and out["verdict"]["restart_without_rebuild"]
    assert not list(tmp_path.iterdir())  # temporary files removed


def test_cli_prints_one_json_object(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TONGXIN_BENCH_QUERIES", "20")
    monkeypatch.setenv("TONGXIN_BENCH_DIR", str(tmp_path))
    cli_speed(300, as_json=True)
    out = json.loads(capsys.readouterr().out)
    for k in KEYS:
        assert k in out
