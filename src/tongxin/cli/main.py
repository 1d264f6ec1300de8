"""`tongxin` — 同心 京津冀科技资源对接平台 command line.

Exit codes: 0 success; 1 invalid input (validation); 2 usage error; 3 not found; 4 bad file; 5 other domain error.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..core import errors as E
from ..core.access import SYSTEM
from ..core.clock import local_today
from ..settings import SETTINGS, Config, setting

if TYPE_CHECKING:
    from ..services import Exchange
    from ..services.semantic import Semantic

EXIT = {E.ValidationError: 1, E.NotFound: 3, E.BadFile: 4}

app = typer.Typer(
    name="tongxin",
    help="同心 tongxin — 京津冀科技成果与场景需求对接平台 / an exchange for technologies and needs of Beijing–Tianjin–Hebei.\n\n"
    "设置 Settings (environment): " + "; ".join(f"{s.name} — {s.help_zh} / {s.help_en}" for s in SETTINGS),
    no_args_is_help=True,
    add_completion=False,
)
from .bench import bench_app  # noqa: E402

app.add_typer(bench_app, name="bench")
from .alerts import register as register_alerts  # noqa: E402
from .billing import bookings_app  # noqa: E402
from .orgs import register as register_orgs  # noqa: E402
from .recommend import register as register_recommend  # noqa: E402
from .resources import resources_app  # noqa: E402
from .stats import register as register_stats  # noqa: E402

app.add_typer(resources_app, name="resources")
app.add_typer(bookings_app, name="bookings")
register_stats(app)
register_alerts(app)
register_recommend(app)
register_orgs(app)
console = Console()
err = Console(stderr=True, soft_wrap=True)


def _exchange() -> Exchange:
    from ..services import Exchange

    ex = Exchange.from_config(Config.from_env())
    ex.init_db()
    return ex


def _run(fn: Callable[[], Any], ex: Any = None) -> Any:
    """Translate domain errors into a bilingual message and an exit code; then close `ex`
    (its index writer holds a lock file that the next command would trip over)."""
    try:
        return fn()
    except E.TongxinError as e:
        from ..fileio.importer import describe

        err.print(f"[red]✗[/red] {describe(e)}", highlight=False)
        raise typer.Exit(EXIT.get(type(e), 5)) from None
    finally:
        if ex is not None:
            ex.close()


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=False)


@app.command()
def init() -> None:
    """创建或升级数据库 / create or upgrade the database."""
    ex = _exchange()
    console.print(f"✓ 数据库已就绪 / database ready: {ex.db.url}")
    ex.close()


@app.command()
def demo(
    serve: bool = typer.Option(False, "--serve", help="加载后启动网页 / start the web app afterwards"),
    seed: int = typer.Option(20251225, help="随机种子 / generator seed"),
) -> None:
    """加载演示数据并建立索引 / load the demo data and build the search index."""
    ex = _exchange()

    def go() -> None:
        from ..demo.load import load_deals_demo, load_demo, load_demo_vectors, load_resources
        from ..services.accounts import create_demo_accounts

        if ex.counts().get("organisations", 0) == 0:
            with _progress() as p:
                t = p.add_task("导入演示数据 loading demo data", total=None)
                loaded = load_demo(ex, seed=seed, progress=lambda d, tot: p.update(t, completed=d, total=tot))
            console.print(f"✓ 演示数据 / demo data: {loaded['organisations']} 机构 organisations, {loaded['listings']} 资源 listings")
        else:
            console.print("✓ 数据库已有数据，跳过演示数据 / database already has data; demo data not reloaded")
        with _progress() as p:
            t = p.add_task("仪器与其他资源 instruments and other kinds", total=None)
            load_resources(ex)
            p.update(t, completed=1, total=1)
        accounts = create_demo_accounts(ex)
        with _progress() as p:
            t = p.add_task("对接与合同 deals and contracts", total=None)
            load_deals_demo(ex, seed=seed)
            p.update(t, completed=1, total=1)
        shipped = load_demo_vectors(ex)
        console.print(f"✓ 语义向量 / vectors: {shipped['stored']} 条随包提供 shipped, {shipped['queued']} 条后台计算 embedded in the background")
        if ex.semantic.enabled:
            waiting = _vectors(ex).status()["sentences_waiting"]
            console.print(f"✓ 句子向量 / sentence vectors (匹配依据 evidence): {waiting} 条资源后台计算 listings embedded in the background")
        with _progress() as p:
            t = p.add_task("建立索引 indexing", total=None)
            n = ex.rebuild_index(progress=lambda d, tot: p.update(t, completed=d, total=tot))
        console.print(f"✓ 索引 / index: {n} 条已发布资源 published listings")
        table = Table("角色 role", "邮箱 e-mail", "密码 password", title="演示账号 / demo accounts")
        for role, email, password in accounts:
            table.add_row(role, email, password)
        console.print(table)

    try:
        _run(go)
        if serve:
            _serve(ex)
    finally:
        ex.close()


def _serve(ex: Any, host: str | None = None, port: int | None = None, workers: int = 1) -> None:
    """Serve the web app. One worker: this process and its exchange. Several: uvicorn worker
    processes, each with its own exchange from the environment (web.app.app_from_env); SIGTERM
    or Ctrl+C lets requests in flight finish (up to GRACEFUL seconds) before the workers exit."""
    import uvicorn

    from ..web.observability import configure_logging

    cfg = Config.from_env()
    host = host or cfg.host
    port = port or cfg.port
    configure_logging()
    console.print(f"\n[bold green]同心 tongxin 已启动 / is running: http://{host}:{port}[/bold green]"
                  f"  ({workers} 个进程 worker(s); Ctrl+C 退出 / to stop)\n")
    if workers > 1:
        ex.close()  # the index is current (synced above); each worker opens its own exchange
        _multiproc_metrics_dir(cfg)
        uvicorn.run("tongxin.web.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level="warning", timeout_graceful_shutdown=GRACEFUL)
        return
    from ..web.app import create_app

    app_ = create_app(ex)
    import gc

    gc.collect()
    gc.freeze()  # start-up objects leave the collector's view: no ~40 ms full collections while serving
    uvicorn.run(app_, host=host, port=port, log_level="warning", timeout_graceful_shutdown=GRACEFUL)


GRACEFUL = 20  # seconds requests in flight may take after SIGTERM


def _multiproc_metrics_dir(cfg: Config) -> None:
    """Several workers write their Prometheus samples into one directory, emptied at start."""
    import shutil

    d = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.path.join(cfg.data_dir, "metrics")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = d


def _workers(n: int | None) -> int:
    raw = n if n is not None else setting("TONGXIN_WORKERS")
    try:
        w = int(raw)
    except ValueError:
        w = 0
    if w < 1 or w > 64:
        err.print(f"[red]✗[/red] 进程数应为 1–64 的整数，收到 {raw!r} / workers must be an integer from 1 to 64, got {raw!r}")
        raise typer.Exit(2)
    return w


@app.command()
def serve(host: str | None = typer.Option(None, help="监听地址 / host"), port: int | None = typer.Option(None, help="端口 / port"),
          workers: int | None = typer.Option(None, "--workers", "-w", help="进程数（默认 TONGXIN_WORKERS 或 1）/ worker processes")) -> None:
    """启动网页服务 / start the web app."""
    n = _workers(workers)
    ex = _exchange()
    try:
        applied = _run(ex.sync)
        if ex.index.last_build:
            console.print(f"✓ 索引已重建 / index rebuilt: {applied} 条已发布资源 published listings")
        else:
            console.print(f"✓ 索引已追上数据库 / index caught up: {applied} 条变更已应用 listings re-indexed from the change log")
        _serve(ex, host, port, n)
    finally:
        ex.close()


@app.command()
def worker() -> None:
    """只运行后台任务（向量计算、提醒与发信），可在任一主机启动多个 / run background jobs only (embedding, alerts and mail); start any number on any host."""
    import signal
    import threading

    from ..web.observability import configure_logging

    configure_logging()
    ex = _exchange()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    from ..services.alert_sender import Sender, Worker
    from ..web.app import _interval, alerts_in_web

    alerts = Worker(Sender(ex), _interval()) if alerts_in_web() else None  # due alerts and mail (claims keep workers apart)
    try:
        started = getattr(ex.semantic, "start_worker", lambda: False)()
        if not started:
            err.print("[yellow]! 语义层已关闭，没有向量计算任务 / the semantic layer is off: no embedding jobs[/yellow]")
        if alerts is not None:
            alerts.start()
        console.print(f"✓ 后台任务进程已启动 / worker running (pid {os.getpid()}); SIGTERM 退出 / to stop", highlight=False)
        while not stop.wait(1.0):
            pass
    finally:
        if alerts is not None:
            alerts.stop()
        ex.close()  # stops the embedding thread after its current batch
    console.print("✓ 已停止 / stopped")


@app.command()
def backup(file: Path = typer.Argument(..., help="备份文件 / backup file")) -> None:
    """在线备份数据库（服务运行时亦可）/ back up the database online (while the server runs)."""
    from ..services.backup import backup as do_backup

    ex = _exchange()
    info = _run(lambda: do_backup(ex.db, str(file)), ex)
    console.print(f"✓ 已备份 / backed up: {info['file']} ({info['bytes']:,} bytes, {info['seconds']:.1f} s, {info['format']})", highlight=False)


@app.command()
def restore(file: Path = typer.Argument(..., help="备份文件 / backup file"),
            force: bool = typer.Option(False, "--force", help="覆盖已有数据 / replace existing data")) -> None:
    """从备份恢复到（空）数据库，随后重建索引 / restore a backup into an (empty) database, then rebuild the index."""
    from ..services.backup import restore as do_restore

    cfg = Config.from_env()
    info = _run(lambda: do_restore(cfg.database_url, str(file), index_dir=cfg.index_dir, force=force))
    console.print(f"✓ 已恢复 / restored: {info['file']} ({info['seconds']:.1f} s)", highlight=False)
    ex = _exchange()

    def rebuild() -> None:
        with _progress() as p:
            t = p.add_task("建立索引 indexing", total=None)
            n = ex.rebuild_index(progress=lambda d, tot: p.update(t, completed=d, total=tot))
        console.print(f"✓ 索引 / index: {n} 条已发布资源 published listings")

    _run(rebuild, ex)


@app.command("import")
def import_(
    file: str = typer.Argument(..., help="CSV / XLSX / JSON 文件 / file"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="只导入有效行，错误写入报告 / import valid rows, write an error report"),
    report: str | None = typer.Option(None, help="错误报告路径 / error report path"),
    ignore_unknown_columns: bool = typer.Option(
        False, "--ignore-unknown-columns",
        help="跳过不在模板中的列（默认报错）/ skip columns that are not in the template (an error by default)"),
) -> None:
    """导入机构和资源（默认全部成功才写入）/ import organisations and listings (all or nothing by default)."""
    from ..services.importing import import_file

    ex = _exchange()

    def go() -> None:
        with _progress() as p:
            t = p.add_task("导入 importing", total=None)
            rep = import_file(ex.db, ex.registry, file, skip_invalid=skip_invalid, report_path=report,
                              progress=lambda d, tot: p.update(t, completed=d, total=tot),
                              ignore_unknown_columns=ignore_unknown_columns)
        console.print(
            f"✓ 机构 organisations: 新增 {rep.organisations_created} created, 更新 {rep.organisations_updated} updated; "
            f"资源 listings: 新增 {rep.listings_created} created, 更新 {rep.listings_updated} updated"
        )
        if rep.ignored_columns:
            err.print(f"! 未导入的列 / columns not imported ({len(rep.ignored_columns)}): " + "；".join(rep.ignored_columns),
                      style="yellow", markup=False, highlight=False)
        if rep.errors:
            err.print(f"[yellow]! 跳过 {len(rep.errors)} 处错误 / skipped {len(rep.errors)} error(s); 报告 report: {rep.error_report}[/yellow]")
        ex.sync()

    _run(go, ex)


@app.command()
def export(
    file: str = typer.Argument(..., help="输出文件 .xlsx / .json / .csv / output file"),
    what: str = typer.Option("all", help="CSV: organisations 或 listings"),
) -> None:
    """导出全部机构和资源 / export all organisations and listings."""
    from ..services.importing import export_file

    ex = _exchange()

    def go() -> None:
        n = export_file(ex.db, ex.registry, file, what="listings" if what == "all" else what)
        console.print(f"✓ 已导出 {n} 条 / exported {n} records → {file}")

    _run(go, ex)


@app.command()
def template(
    kind: str = typer.Argument(..., help="资源类型（technology / scenario …）或 organisation"),
    format: str = typer.Option("xlsx", "--format", help="xlsx 或 csv"),
    output: str | None = typer.Option(None, "--output", "-o", help="输出文件 / output file"),
) -> None:
    """生成导入模板 / write an import template."""
    from ..core.kinds import default_registry
    from ..fileio.exporter import write_template

    reg = default_registry()

    def go() -> None:
        spec = None if kind in ("organisation", "organisations", "机构") else reg.get(kind)
        path = output or f"tongxin-template-{kind}.{format}"
        write_template(path, spec, reg)
        console.print(f"✓ 模板 / template → {path}")

    _run(go)


@app.command()
def listings(
    kind: str | None = typer.Option(None, help="资源类型 / kind"),
    side: str | None = typer.Option(None, help="offer / need"),
    region: str | None = typer.Option(None, help="地区代码 / region code (110000 = 全北京)"),
    industry: str | None = typer.Option(None, help="行业代码 / industry (C37 or C)"),
    status: str | None = typer.Option("published", help="draft / published / closed"),
    limit: int = typer.Option(20, help="条数 / how many"),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON / print JSON"),
) -> None:
    """列出资源 / list listings."""
    from ..core import industries, regions
    from ..core.listing import ListingFilter

    ex = _exchange()

    def go() -> None:
        f = ListingFilter(kind=kind, side=side, region=regions.normalise(region) if region else None,
                          industry=industries.normalise(industry) if industry else None, status=status, limit=limit)
        rows = ex.listings(f, SYSTEM)
        if as_json:
            print(json.dumps([_brief(x) for x in rows], ensure_ascii=False, indent=1))
            return
        t = Table("ID", "类型 kind", "标题 title", "地区 region", "行业 industry", "机构 owner")
        for x in rows:
            t.add_row(str(x.id), ex.registry.get(x.kind).zh, x.title, regions.label(x.region), x.industry, x.owner_name)
        console.print(t)

    _run(go, ex)


def _brief(x: Any) -> dict[str, Any]:
    return {"id": x.id, "external_id": x.external_id, "kind": x.kind, "side": x.side, "title": x.title, "region": x.region,
            "industry": x.industry, "owner": x.owner_name, "status": x.status, "visibility": x.visibility}


@app.command()
def show(listing_id: int = typer.Argument(..., help="资源 ID / listing id"), as_json: bool = typer.Option(False, "--json")) -> None:
    """显示一条资源 / show one listing."""
    from ..core import industries, regions
    from ..core.fields import display_value

    ex = _exchange()

    def go() -> None:
        x, _ = ex.get(listing_id, SYSTEM)
        spec = ex.registry.get(x.kind)
        if as_json:
            d = _brief(x) | {"description": x.description, "keywords": x.keywords,
                             "attrs": {a.key: display_value(a, x.attrs.get(a.key)) for a in spec.attrs if a.key in x.attrs}}
            print(json.dumps(d, ensure_ascii=False, indent=1))
            return
        console.print(f"[bold]{spec.icon} {x.title}[/bold]  (#{x.id} {spec.zh} {spec.en})")
        console.print(f"{x.owner_name} · {regions.label(x.region)} · {industries.label(x.industry)}")
        console.print(x.description)
        if x.keywords:
            console.print("关键词 keywords: " + "、".join(x.keywords))
        for a in spec.attrs:
            if a.key in x.attrs:
                console.print(f"{a.zh} {a.en}: {display_value(a, x.attrs[a.key])}{a.unit_zh}{f' ({a.unit_en})' if a.unit_en else ''}")

    _run(go, ex)


@app.command()
def match(
    listing_id: int | None = typer.Argument(None, help="资源 ID / listing id"),
    text: str | None = typer.Option(None, "--text", "-t", help="自由文本 / free text"),
    kind: str | None = typer.Option(None, "--kind", "-k", help="想要的资源类型 / wanted kind"),
    limit: int = typer.Option(10, help="条数 / how many"),
    corridor: bool = typer.Option(False, "--corridor", help="优先北京研发、津冀转化 / prefer Beijing→Tianjin/Hebei"),
    lang: str = typer.Option("zh", help="zh / en"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """为资源或文本找到最佳匹配并说明原因 / best counterparts for a listing or free text, with reasons."""
    from ..core.matching.fit import MatchContext

    if listing_id is None and not text:
        err.print("请给出资源 ID 或 --text / give a listing id or --text")
        raise typer.Exit(2)
    ex = _exchange()
    ctx = MatchContext(today=local_today(), prefer_corridor=corridor)

    def go() -> None:
        # the same service functions as the API and the pages (one match path), as the system viewer
        from ..services.listings import Listings, SearchFilters

        svc = Listings(ex)
        if listing_id is not None:
            q, _ = ex.get(listing_id, SYSTEM)
            res = [s.match for s in svc.matches(SYSTEM, listing_id, limit=limit, ctx=ctx, kind=kind) if s.match is not None]
            head = f"#{q.id} {q.title}"
        else:
            found = svc.search(SYSTEM, text or "", SearchFilters(kind=kind), limit=limit, ctx=ctx)
            res = [s.match for s in found.items if s.match is not None]
            head = text or ""
        if as_json:
            print(json.dumps({"query": head, "results": [{"id": m.listing.id, "title": m.listing.title, "kind": m.listing.kind,
                                                          "score": round(m.score, 2), "explanation": m.explanation.as_dict()}
                                                         for m in res]}, ensure_ascii=False, indent=1))
            return
        console.print(f"[bold]匹配 / matches for: {head}[/bold]")
        if not res:
            console.print("暂无合适匹配 / no good match yet")
        for i, m in enumerate(res, 1):
            b = m.explanation.band
            band = (b.en if lang == "en" else b.zh) if b else ""
            console.print(f"{i:>2}. [bold]{m.score:5.1f}[/bold] {band}  #{m.listing.id} {m.listing.title}  [dim]{m.listing.owner_name}[/dim]")
            console.print(f"     {m.explanation.summary(lang)}", highlight=False)
            for f in m.explanation.fit:
                if f.met is False:  # failed conditions too, as the API shows them
                    console.print(f"     ✗ {f.en if lang == 'en' else f.zh}", highlight=False)

    _run(go, ex)


@app.command()
def index(
    rebuild: bool = typer.Option(False, "--rebuild", help="从数据库重建，并把缺少当前向量的资源排入嵌入队列 / rebuild from the database and queue listings without a current vector"),
    embed: bool = typer.Option(False, "--embed", help="在前台计算排队中的向量 / embed the queued listings in the foreground"),
    status: bool = typer.Option(False, "--status", help="索引与向量状态 / index and vector status"),
) -> None:
    """同步或重建搜索索引；语义向量的状态与计算 / sync or rebuild the search index; semantic vectors."""
    ex = _exchange()

    def go() -> None:
        if status:
            _index_status(ex)
            return
        if rebuild:
            with _progress() as p:
                t = p.add_task("建立索引 indexing", total=None)
                n = ex.rebuild_index(progress=lambda d, tot: p.update(t, completed=d, total=tot))
            sem = _vectors(ex)
            queued = sem.enqueue_stale(check_text=True)
            console.print(f"✓ 索引 / index: {n}; 排入嵌入队列 / queued for embedding: {queued}; "
                          f"句子向量 / for sentence vectors: {sem.stale_sentences}")
        elif not embed:
            console.print(f"✓ 索引 / index: {ex.sync()}")
        if embed:
            _embed(ex)

    _run(go, ex)


def _vectors(ex: Exchange) -> Semantic:
    """The exchange's stored vectors (the CLI's Exchange, from the configuration, always has them)."""
    from ..services.semantic import Semantic

    sem = ex.semantic
    assert isinstance(sem, Semantic), f"the command line expects stored vectors, not {type(sem).__name__}"
    return sem


def _embed(ex: Exchange) -> None:
    from rich.progress import TimeRemainingColumn

    sem = _vectors(ex)
    encoder = sem.encoder
    if encoder is None:
        err.print("[yellow]! 语义层已关闭（TONGXIN_ENCODER=none）/ the semantic layer is off (TONGXIN_ENCODER=none)[/yellow]")
        return
    sem.enqueue_stale(check_text=False)
    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("预计剩余 left"), TimeRemainingColumn())
    with Progress(*cols, console=err) as p:
        t = p.add_task(f"嵌入 embedding ({encoder.name})", total=None)
        n = sem.drain(progress=lambda d, tot: p.update(t, completed=d, total=tot))
        t2 = p.add_task(f"句子 sentences ({encoder.name})", total=None)  # evidence: after the listing vectors
        ns = sem.drain_sentences(progress=lambda d, tot: p.update(t2, completed=d, total=tot))
    st = sem.status()
    console.print(f"✓ 向量 / vectors: 新算 {n} embedded, 共 {st['vectors']} stored, 等待 {st['waiting']} waiting, 失败 {st['failed']} failed")
    console.print(f"✓ 句子向量 / sentence vectors: 新算 {ns} listings embedded, 共 {st['sentence_vectors']} stored, "
                  f"等待 {st['sentences_waiting']} waiting, 失败 {st['sentences_failed']} failed")


def _index_status(ex: Exchange) -> None:
    eng = ex.engine
    st = _vectors(ex).status()
    table = Table("项目 item", "数量 value", title="索引状态 / index status")
    table.add_row("已发布资源 published listings", str(st["published"]))
    table.add_row("已索引资源 listings indexed", str(eng.num_docs()))
    table.add_row("已存向量 vectors stored", f"{st['vectors']} / {st['listings']}")
    table.add_row("等待嵌入 vectors waiting", str(st["waiting"]))
    table.add_row("嵌入失败 failed (见 last_error)", str(st["failed"]))
    table.add_row("旧模型向量 vectors of another model", str(st["other_model_vectors"]))
    table.add_row("句子向量 sentence vectors stored", f"{st['sentence_vectors']} / {st['listings']}")
    table.add_row("等待句子嵌入 sentences waiting", str(st["sentences_waiting"]))
    table.add_row("句子嵌入失败 sentences failed", str(st["sentences_failed"]))
    table.add_row("模型 model", f"{st['model']} {st['model_version']}".strip())
    console.print(table)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
