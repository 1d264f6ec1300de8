"""`tongxin bench …`: quality and speed benchmarks (implementations live in tongxin.bench)."""

from __future__ import annotations

import typer

bench_app = typer.Typer(help="基准测试 / benchmarks: quality (nDCG, MRR, Recall) and speed", no_args_is_help=True)


@bench_app.command("quality")
def quality(
    dataset_dir: str = typer.Argument(..., help="含 corpus.jsonl / queries.jsonl / qrels.tsv 的目录 / BEIR-style folder"),
    as_json: bool = typer.Option(False, "--json", help="输出一个 JSON 对象 / print one JSON object"),
) -> None:
    """匹配质量：tongxin 与 BM25 基线同场对比 / matching quality vs a BM25 baseline in the same run."""
    from ..bench.quality import cli_quality

    cli_quality(dataset_dir, as_json)


@bench_app.command("speed")
def speed(
    listings: int = typer.Option(10000, "--listings", help="合成资源条数 / number of synthetic listings"),
    as_json: bool = typer.Option(False, "--json", help="输出一个 JSON 对象 / print one JSON object"),
) -> None:
    """速度与规模：索引吞吐、匹配延迟、内存 / indexing throughput, match latency, memory."""
    from ..bench.speed import cli_speed

    cli_speed(listings, as_json)
