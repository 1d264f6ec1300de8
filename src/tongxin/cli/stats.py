"""`tongxin stats`, `tongxin report`, `tongxin contracts …` and `tongxin deals reminders`.

Register on the main app with `register(app)` (see the function). Domain errors are translated by
the main CLI's `_run` (bilingual message, exit code).
"""

from __future__ import annotations

import json
import os
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ..core.clock import local_today

console = Console()
contracts_app = typer.Typer(help="技术合同：提交登记、审核、登记、退回、登记证明、导入、导出、登记材料 / technology contracts: submit, review, "
                                   "register, return, certificate, import, export, registration package", no_args_is_help=True)
deals_app = typer.Typer(help="洽谈 / deals", no_args_is_help=True)


def _with_exchange(fn: Any) -> None:
    """Run fn(exchange) with the main CLI's error translation, closing the database afterwards."""
    from .main import _exchange, _run  # lazy: main imports this module to register the commands

    ex = _exchange()
    try:
        _run(lambda: fn(ex))
    finally:
        ex.close()


def _bad_format(fmt: str, allowed: tuple[str, ...]) -> None:
    if fmt not in allowed:
        Console(stderr=True).print(f"格式应为 {' / '.join(allowed)}，实际为 ‘{fmt}’ / format must be one of {', '.join(allowed)}, got '{fmt}'")
        raise typer.Exit(2)


def _say_font(fmt: str) -> None:
    """After writing a PDF: which CJK font it uses (and, for the built-in one, how to embed a real font)."""
    if fmt != "pdf":
        return
    from ..services.pdf import choose_font

    choice = choose_font()
    console.print(f"  字体 font: {choice.label}")
    if not choice.embedded:
        console.print("  （安装 fonts-wqy-zenhei 或以 TONGXIN_CJK_FONT 指定 TrueType 字体即可嵌入 / install fonts-wqy-zenhei or set "
                      "TONGXIN_CJK_FONT to a TrueType font to embed one）")


def stats(
    period: str | None = typer.Option(None, "--period", help="统计期：2025、2023-2025 或 2025Q3；默认最近完整年度 / period"),
    as_json: bool = typer.Option(False, "--json", help="输出一个 JSON 对象 / print one JSON object"),
) -> None:
    """技术合同成交额、跨地区流向、对接漏斗等统计 / the region's figures: turnover, flows, funnel."""
    from ..core import stats as st
    from ..services import stats as S

    def go(ex: Any) -> None:
        f = S.Statistics(ex).figures(period)
        if as_json:
            print(json.dumps(f.as_dict(), ensure_ascii=False))
            return
        console.print(f"[bold]京津冀技术合同统计 {f.period.label}[/bold]  ({f.period.start} ~ {f.period.end})")
        kt = Table("指标 measure", "数值 value", "说明 note")
        for lab, v, note in S.key_figures(f):
            kt.add_row(lab, v, note)
        console.print(kt)
        for _name, (title, headers, rows) in S.tables(f).items():
            if not rows:
                continue
            t = Table(*headers, title=title, title_justify="left")
            for r in rows:
                t.add_row(*[f"{v:,.2f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v) for v in r])
            console.print(t)
        console.print(f"合计 total: {f.total.count:,} 项 contracts, {st.fmt_wan(f.total.amount_yuan)} 万元")

    _with_exchange(go)


def report(
    period: str | None = typer.Option(None, "--period", help="统计期，如 2025 / period, e.g. 2025"),
    format: str = typer.Option("pdf", "--format", help="pdf 或 xlsx"),
    output: str | None = typer.Option(None, "--output", "-o", help="输出文件 / output file"),
) -> None:
    """生成年度报告（PDF 或 XLSX，中文）/ write the year-end report (PDF or XLSX, in Chinese)."""
    from ..services import reports
    from ..services import stats as S

    _bad_format(format, ("pdf", "xlsx"))
    def go(ex: Any) -> None:
        f = S.Statistics(ex).figures(period)
        path = output or f"tongxin-report-{f.period.label}.{format}"
        reports.write_report(f, format, path)
        console.print(f"✓ 年度报告 / report → {path}")
        _say_font(format)

    _with_exchange(go)


@contracts_app.command("import")
def contracts_import(
    file: str = typer.Argument(..., help="XLSX / CSV 文件 / file"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="只导入有效行，错误写入报告 / import valid rows, write an error report"),
    report_path: str | None = typer.Option(None, "--report", help="错误报告路径 / error report path"),
) -> None:
    """导入技术合同（默认全部成功才写入）/ import technology contracts (all or nothing by default)."""
    from ..services.importing import import_contracts

    def go(ex: Any) -> None:
        rep = import_contracts(ex.db, file, skip_invalid=skip_invalid, report_path=report_path)
        console.print(f"✓ 技术合同 contracts: 新增 {rep.created} created, 更新 {rep.updated} updated")
        if rep.errors:
            Console(stderr=True).print(f"! 跳过 {len(rep.errors)} 处错误 / skipped {len(rep.errors)} error(s); 报告 report: {rep.error_report}")

    _with_exchange(go)


@contracts_app.command("export")
def contracts_export(
    file: str = typer.Argument(..., help="输出文件 .xlsx 或 .csv / output .xlsx or .csv"),
    year: int | None = typer.Option(None, help="只导出某年签订的合同 / only contracts signed in this year"),
) -> None:
    """导出技术合同（可再导入）/ export technology contracts (re-importable)."""
    from ..services.importing import export_contracts

    def go(ex: Any) -> None:
        n = export_contracts(ex.db, file, year)
        console.print(f"✓ 已导出 {n} 项合同 / exported {n} contracts → {file}")

    _with_exchange(go)


@contracts_app.command("template")
def contracts_template(output: str = typer.Option("tongxin-template-contracts.xlsx", "--output", "-o")) -> None:
    """生成技术合同导入模板 / write the contract import template."""
    from ..fileio.contracts import write_contracts_xlsx

    write_contracts_xlsx(output, [], template=True)
    console.print(f"✓ 模板 / template → {output}")


@contracts_app.command("package")
def contracts_package(
    contract: str = typer.Argument(..., help="合同 ID 或合同编号 / contract id or number"),
    format: str = typer.Option("pdf", "--format", help="pdf 或 xlsx"),
    output: str | None = typer.Option(None, "--output", "-o"),
) -> None:
    """导出技术合同登记材料 / export the registration package of one contract."""
    from ..services import contracts as C

    _bad_format(format, ("pdf", "xlsx"))
    def go(ex: Any) -> None:
        no, sections = C.Contracts(ex).package_of(contract)
        data = C.package_pdf(sections, no) if format == "pdf" else C.package_xlsx(sections, no)
        path = output or f"{no}-登记材料.{format}"
        with open(path, "wb") as fh:
            fh.write(data)
        console.print(f"✓ 登记材料 / registration package → {os.path.abspath(path)}")
        _say_font(format)

    _with_exchange(go)


@deals_app.command("reminders")
def deals_reminders(idle_days: int | None = typer.Option(None, help="无进展天数（默认取 TONGXIN_DEAL_IDLE_DAYS）/ idle days")) -> None:
    """列出久未推进的洽谈和即将到期的协议 / idle deals and agreements about to expire."""
    from ..services.deals import Deals

    def go(ex: Any) -> None:
        rs = Deals(ex).reminders(local_today(), idle_days)
        for r in rs:
            console.print(f"• {r.message.zh}", highlight=False)
        console.print(f"共 {len(rs)} 条提醒 / {len(rs)} reminder(s)")

    _with_exchange(go)


def register(app: typer.Typer) -> None:
    """Add these commands to the main `tongxin` app."""
    app.command()(stats)
    app.command()(report)
    from . import contract_office  # noqa: F401  (its commands join contracts_app)

    app.add_typer(contracts_app, name="contracts")
    app.add_typer(deals_app, name="deals")
