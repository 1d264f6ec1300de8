"""`tongxin resources licence …`: the mark licence registry from the command line (the operator on
their own machine: SYSTEM viewer). Errors print in Chinese and English with an exit code
(1 invalid input, 3 not found, 4 bad file, 5 conflict); nothing is written on an error."""

from __future__ import annotations

import datetime as dt
from typing import Any

import typer

from ..core.access import SYSTEM
from ..core.clock import local_today

licence_app = typer.Typer(help="认证标志使用许可：签发、续期、暂停、恢复、撤销、查验、二维码、导入 / mark licences: issue, renew, suspend, "
                               "reinstate, revoke, verify, QR codes, import", no_args_is_help=True)


def _go(fn: Any) -> Any:
    from .resources import _go as go

    return go(fn)


def _echo(data: Any) -> None:
    from .resources import _echo as echo

    echo(data)


def _day(raw: str | None, field: str = "date") -> dt.date | None:
    if raw is None or not raw.strip():
        return None
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise typer.BadParameter(f"{field}: 日期应为 2026-03-31 的形式 / a date such as 2026-03-31, got {raw!r}") from None


@licence_app.command("issue")
def issue(mark: str = typer.Argument(..., help="标志编码 / mark code, e.g. XZD-GI"),
          licensee: str = typer.Argument(..., help="被许可机构：统一社会信用代码、全称或编号 / licensee: credit code, name or id"),
          licence_no: str = typer.Argument(..., help="许可编号 / licence number"),
          valid_from: str = typer.Option(..., "--from", help="起始日期 / first day"),
          valid_until: str = typer.Option(..., "--until", help="截止日期 / last day"),
          products: str = typer.Option(..., "--products", help="许可产品范围 / product scope")) -> None:
    """签发许可 / issue a licence."""
    from ..services import licences as L

    vf, vu = _day(valid_from, "--from"), _day(valid_until, "--until")
    _echo(_go(lambda ex: L.issue(ex, SYSTEM, mark, licensee, licence_no, vf, vu, products).as_dict()))


@licence_app.command("renew")
def renew(licence_no: str, valid_until: str = typer.Option(..., "--until", help="新的截止日期 / new last day"),
          products: str | None = typer.Option(None, "--products", help="新的产品范围 / new product scope"),
          reason: str = typer.Option("", "--reason", help="说明 / note")) -> None:
    """续期 / renew (a later end date)."""
    from ..services import licences as L

    vu = _day(valid_until, "--until")
    _echo(_go(lambda ex: L.renew(ex, SYSTEM, licence_no, vu, reason, products).as_dict()))


def _with_reason(action: str) -> Any:
    def command(licence_no: str, reason: str = typer.Option(..., "--reason", help="原因（必填） / reason (required)")) -> None:
        from ..services import licences as L

        _echo(_go(lambda ex: getattr(L, action)(ex, SYSTEM, licence_no, reason).as_dict()))

    return command


licence_app.command("suspend", help="暂停许可（须写原因） / suspend a licence (with a reason).")(_with_reason("suspend"))
licence_app.command("reinstate", help="恢复已暂停的许可 / reinstate a suspended licence.")(_with_reason("reinstate"))
licence_app.command("revoke", help="撤销许可（不可恢复，须写原因） / revoke a licence (final, with a reason).")(_with_reason("revoke"))


@licence_app.command("list")
def list_(mark: str | None = typer.Option(None, help="标志编码 / mark code"),
          status: str | None = typer.Option(None, help="active / suspended / revoked / expired / not_yet_valid"),
          q: str | None = typer.Option(None, help="许可编号或机构名称 / licence number or licensee name"),
          date: str | None = typer.Option(None, help="按此日期判断状态 / status on this day")) -> None:
    """列出许可 / list licences."""
    from ..services import licences as L

    day = _day(date)
    _echo(_go(lambda ex: [x.as_dict() for x in L.list_licences(ex, SYSTEM, mark, status, q, today=day)]))


@licence_app.command("show")
def show(licence_no: str) -> None:
    """许可详情与历史 / a licence and its history."""
    from ..services import licences as L

    def go(ex: Any) -> Any:
        v, events = L.history(ex, SYSTEM, licence_no)
        return {**v.as_dict(), "credit_code": v.credit_code, "history": [e.as_dict() for e in events]}

    _echo(_go(go))


@licence_app.command("verify")
def verify(licence_no: str | None = typer.Option(None, "--licence-no", help="许可编号 / licence number"),
           credit_code: str | None = typer.Option(None, "--credit-code", help="统一社会信用代码 / credit code"),
           name: str | None = typer.Option(None, "--name", help="机构名称（部分） / part of the name"),
           date: str | None = typer.Option(None, help="日期 / day (default today)")) -> None:
    """公开查验（与网页、API 相同） / verify like the public page and API; exit 2 when no valid licence is found."""
    from ..services import licences as L

    day = _day(date) or local_today()
    views = _go(lambda ex: L.verify_public(ex, licence_no, credit_code, name, day))
    _echo({"date": day.isoformat(), "valid": bool(views) and views[0].valid, "status": views[0].status if views else "not_found",
           "matches": [v.as_dict() for v in views]})
    if not views or not views[0].valid:
        raise typer.Exit(2)


@licence_app.command("qr")
def qr(licence_no: str, output: str = typer.Option(..., "--output", "-o", help="输出文件 .svg 或 .png / output file"),
       scale: int = typer.Option(8, help="模块像素 / pixels per module")) -> None:
    """生成许可二维码（打开查验页） / write the licence's QR code (opens its verification page)."""
    from ..services import licences as L

    kind = output.rsplit(".", 1)[-1].lower() if "." in output else ""
    if kind not in ("svg", "png"):
        raise typer.BadParameter(f"--output 应以 .svg 或 .png 结尾 / --output must end in .svg or .png, got {output!r}")
    data = _go(lambda ex: L.qr_code(ex, licence_no, kind, scale))
    with open(output, "wb") as fh:
        fh.write(data)
    _echo({"licence_no": licence_no.upper(), "file": output, "url": L.verify_url(licence_no.strip().upper())})


@licence_app.command("import")
def import_(path: str = typer.Argument(..., help="许可 Excel 文件 / the licence .xlsx")) -> None:
    """批量导入许可（全部通过才写入） / import licences from XLSX (all or nothing)."""
    from ..services import licences as L

    _echo(_go(lambda ex: L.import_licences(ex, SYSTEM, path).as_dict()))


@licence_app.command("template")
def template(output: str = typer.Option("mark-licences-template.xlsx", "--output", "-o", help="输出文件 / output file")) -> None:
    """生成许可导入模板 / write the licence import template."""
    from ..fileio.licences import write_licence_template

    if not output.lower().endswith(".xlsx"):
        raise typer.BadParameter(f"--output 应以 .xlsx 结尾 / --output must end in .xlsx, got {output!r}")
    write_licence_template(output)
    _echo({"template": output})


@licence_app.command("remind")
def remind(days: int = typer.Option(60, help="提前天数 / days ahead"), date: str | None = typer.Option(None, help="今天 / today")) -> None:
    """发送到期提醒（站内通知；可每日定时运行） / send expiry reminders (in-app; run daily from cron)."""
    from ..services import licences as L

    if not 1 <= days <= 366:
        raise typer.BadParameter("--days: 1–366")
    day = _day(date)
    _echo(_go(lambda ex: {"reminded": L.remind_expiring(ex, day, days)}))


@licence_app.command("claims")
def claims(date: str | None = typer.Option(None, help="日期 / day")) -> None:
    """未获有效许可的标志声明 / published mark claims without a valid licence."""
    from ..services import licences as L

    day = _day(date)
    _echo(_go(lambda ex: [c.as_dict() for c in L.unlicensed_claims(ex, SYSTEM, day)]))
