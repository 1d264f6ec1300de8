"""`tongxin bookings …`: instrument billing from the operator's machine (SYSTEM viewer): check-in /
check-out, releasing no-shows (the web server does it in its background loop), the waitlist,
monthly statements (XLSX / PDF / JSON), voucher claims and their settlement, owners' income.

Register with `app.add_typer(bookings_app, name="bookings")` in cli/main.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..core.access import SYSTEM
from .resources import _echo, _go, _when

bookings_app = typer.Typer(help="仪器计费：签到签退、未到场释放、候补、月度账单、创新券结算 / instrument billing", no_args_is_help=True)


def _actor() -> Any:
    from ..services.booking import Actor

    return Actor(0, 0, SYSTEM)


@bookings_app.command("check-in")
def check_in(booking_id: int, at: str | None = typer.Option(None, help="签到时间，默认现在 / time, default now")) -> None:
    """仪器管理员签到 / check a booking in (as the instrument's manager)."""
    from ..services.billing import Billing

    _echo(_go(lambda ex: Billing(ex).check_in(_actor(), booking_id, _when(at) if at else None).as_dict()))


@bookings_app.command("check-out")
def check_out(booking_id: int, at: str | None = typer.Option(None, help="签退时间，默认现在 / time, default now"),
              start: str | None = typer.Option(None, help="实际开始（未签到时）/ actual start when not checked in")) -> None:
    """签退并按实际机时计费 / check out and bill the actual hours."""
    from ..services.billing import Billing

    _echo(_go(lambda ex: Billing(ex).check_out(_actor(), booking_id, _when(at) if at else None, _when(start) if start else None).as_dict()))


@bookings_app.command("confirm")
def confirm(booking_id: int) -> None:
    """确认预约人自行登记的签到签退 / confirm what the booker recorded."""
    from ..services.billing import Billing

    _echo(_go(lambda ex: Billing(ex).confirm(_actor(), booking_id).as_dict()))


@bookings_app.command("release-no-shows")
def release_no_shows() -> None:
    """超过宽限期未签到的预约登记为未到场并释放时段；过期的候补认领转给下一位（网页服务会自动处理；供 cron）
    / mark no-shows after the grace period and release their slots; pass expired waitlist offers on."""
    from ..services.billing import Billing

    _echo(_go(lambda ex: Billing(ex).run_due().as_dict()))


@bookings_app.command("waitlist-join")
def waitlist_join(instrument_id: int, start: str, end: str, user_id: int = typer.Option(..., "--user", help="用户 ID / user id"),
                  org: str = typer.Option(..., "--org", help="用户所属机构 / the user's organisation")) -> None:
    """代用户加入已约满时段的候补名单（运营人员）/ put a user on the waitlist of a taken slot (operator)."""
    from ..services.billing import Billing

    def go(ex: Any) -> Any:
        b = Billing(ex)
        return b.join_waitlist(b.on_behalf(user_id, org), instrument_id, _when(start), _when(end)).as_dict()

    _echo(_go(go))


@bookings_app.command("waitlist")
def waitlist(user_id: int = typer.Option(..., "--user", help="用户 ID / user id")) -> None:
    """用户的候补名单及其认领链接 / a user's waitlist entries (with the claim link while an offer is open)."""
    from ..services.billing import Billing

    _echo(_go(lambda ex: [w.as_dict() for w in Billing(ex).waits_of(user_id)]))


@bookings_app.command("waitlist-claim")
def waitlist_claim(token: str, user_id: int = typer.Option(..., "--user", help="候补的用户 ID / the waiting user's id"),
                   org: str = typer.Option(..., "--org", help="用户所属机构 / the user's organisation"),
                   cost_centre: str = typer.Option("", "--cost-centre", help="成本中心 / cost centre"),
                   project_code: str = typer.Option("", "--project-code", help="项目编号 / project code")) -> None:
    """代候补用户认领空出的时段，按正常预约流程预约（运营人员）/ claim a freed slot for the waiting user (operator)."""
    from ..services.billing import Billing

    def go(ex: Any) -> Any:
        b = Billing(ex)
        return b.claim(b.on_behalf(user_id, org), token, cost_centre, project_code).as_dict()

    _echo(_go(go))


@bookings_app.command("statement")
def statement(org: str = typer.Option(..., "--org", help="机构：编号、信用代码或名称 / organisation"),
              month: str = typer.Option(..., "--month", help="月份 / month, e.g. 2026-11"),
              fmt: str = typer.Option("json", "--format", help="xlsx / pdf / json"),
              output: str = typer.Option("-", "--output", "-o", help="输出文件 / output file"),
              cost_centre: str = typer.Option("", "--cost-centre", help="只看某成本中心 / one cost centre"),
              project_code: str = typer.Option("", "--project-code", help="只看某项目 / one project code")) -> None:
    """机构月度仪器使用账单 / an organisation's monthly instrument statement."""
    from ..services import billing_files as F
    from ..services.billing import Billing

    if fmt not in ("xlsx", "pdf", "json"):
        raise typer.BadParameter("--format: xlsx / pdf / json")
    if fmt != "json" and output == "-":
        raise typer.BadParameter("-o FILE is needed for xlsx / pdf")
    st = _go(lambda ex: Billing(ex).statement(SYSTEM, month, org, cost_centre, project_code))
    if fmt == "json":
        _echo(st.as_dict())
        return
    Path(output).write_bytes(F.statement_pdf(st) if fmt == "pdf" else F.statement_xlsx(st))
    t = st.total
    typer.echo(f"{output}: {t.lines} 行 lines, 费用 fee {t.fee:.2f}, 应付 payable {t.payable:.2f}")


@bookings_app.command("claims")
def claims(month: str = typer.Option(..., "--month", help="月份 / month"), province: str = typer.Option("", help="BJ / TJ / HE"),
           output: str | None = typer.Option(None, "--output", "-o", help="XLSX 文件 / XLSX file")) -> None:
    """创新券兑付明细 / voucher claims of a month."""
    from ..services import billing_files as F
    from ..services.billing import Billing

    rows = _go(lambda ex: Billing(ex).voucher_claims(SYSTEM, month, province))
    if output:
        Path(output).write_bytes(F.claims_xlsx(rows, month))
        typer.echo(f"{output}: {len(rows)} 笔 claims")
        return
    _echo([c.as_dict() for c in rows])


@bookings_app.command("settle")
def settle(booking_id: int, reference: str = typer.Option("", help="结算凭证号 / settlement reference")) -> None:
    """登记创新券兑付已结算 / mark a voucher claim settled."""
    from ..services.billing import Billing

    _echo(_go(lambda ex: Billing(ex).settle_claim(SYSTEM, booking_id, reference).as_dict()))


@bookings_app.command("income")
def income(org: int = typer.Option(..., "--org", help="仪器所属机构编号 / owner organisation id"), months: int = typer.Option(12, help="月数 / months")) -> None:
    """仪器每月收入 / income per instrument per month."""
    from ..services.billing import Billing

    def go(ex: Any) -> Any:
        name, rows = Billing(ex).income(SYSTEM, months, org)
        return {"org": name, "rows": [r.as_dict() for r in rows]}

    _echo(_go(go))
