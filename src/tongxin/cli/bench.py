"""`tongxin bench …`: quality and speed benchmarks (implementations live in tongxin.bench)."""

from __future__ import annotations

import typer

bench_app = typer.Typer(help="基准测试 / benchmarks: quality (nDCG, MRR, Recall) and speed", no_args_is_help=True)


@bench_app.command("quality")
def quality(
    dataset_dir: str = typer.Argument(..., help="含 corpus.jsonl / queries.jsonl / qrels.tsv 的目录 / BEIR-style folder"),
    as_json: bool = typer.Option(False, "--json", help="输出一个 JSON 对象 / print one JSON object"),
    encoder: str = typer.Option("e5", "--encoder", help="语义编码器 e5 / hash / none（none：仅词语）/ sentence encoder (none: words only)"),
    vector_cache: str | None = typer.Option(None, "--vector-cache", help="向量缓存文件，重复运行不再重新编码 / vector cache file for repeated runs"),
) -> None:
    """匹配质量：tongxin（词语+语义）、仅词语、BM25 基线同场对比 / quality of tongxin (words + meaning), words only and BM25 in one run."""
    from ..bench.quality import cli_quality

    cli_quality(dataset_dir, as_json, encoder, vector_cache)


@bench_app.command("speed")
def speed(
    listings: int = typer.Option(10000, "--listings", help="合成资源条数 / number of synthetic listings"),
    as_json: bool = typer.Option(False, "--json", help="输出一个 JSON 对象 / print one JSON object"),
) -> None:
    """速度与规模：索引吞吐、匹配延迟、内存 / indexing throughput, match latency, memory."""
    from ..bench.speed import cli_speed

    cli_speed(listings, as_json)
