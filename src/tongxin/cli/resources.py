"""`tongxin resources …`: demo data, instruments and bookings, vouchers, verification and policies.

Register with `app.add_typer(resources_app, name="resources")` in cli/main.py. The CLI acts as the
operator on their own machine (SYSTEM viewer); the booking user is given explicitly.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import typer

from ..core import booking as B
from ..core.access import SYSTEM
from ..core.clock import local_today

resources_app = typer.Typer(help="资源共享：科研仪器预约、创新券、认证标志、惠企政策 / shared resources: instruments, vouchers, marks, policies",
                            no_args_is_help=True)


def _go(fn: Callable[[Any], Any]) -> Any:
    from .main import _exchange, _run

    def run() -> Any:
        ex = _exchange()
        try:
            return fn(ex)
        finally:
            ex.close()

    return _run(run)


def _echo(data: Any) -> None:
    from .main import console

    console.print_json(json.dumps(data, ensure_ascii=False, default=str))


def _when(raw: str) -> dt.datetime:
    try:
        return B.as_cst(dt.datetime.fromisoformat(raw))
    except ValueError:
        raise typer.BadParameter(f"时间应为 2026-03-10T09:00 / a time such as 2026-03-10T09:00, got {raw!r}") from None


@resources_app.command("demo")
def demo(seed: int = typer.Option(20260301, help="随机种子 / seed")) -> None:
    """加载资源演示数据（在主演示数据之后） / load the resources demo data (after `tongxin demo`)."""
    from ..demo.load import load_resources

    _echo(_go(lambda ex: load_resources(ex, seed=seed)))


@resources_app.command("instruments")
def instruments(q: str = typer.Argument("", help="检索词 / search words"), limit: int = typer.Option(10, help="条数 / results")) -> None:
    """检索科研仪器 / search instruments."""
    def go(ex: Any) -> Any:
        _, res = ex.search(q or "仪器", kind=ex.registry.kind_with("bookable"), viewer=SYSTEM, limit=limit)
        return [{"id": m.listing.id, "title": m.listing.title, "owner": m.listing.owner_name, "score": round(m.score, 1)} for m in res]

    _echo(_go(go))


@resources_app.command("book")
def book(instrument_id: int, start: str, end: str, user_id: int = typer.Option(..., "--user", help="用户 ID / user id"),
         org: str = typer.Option(..., "--org", help="用户所属机构 / the user's organisation"), purpose: str = "", samples: int = 0,
         voucher: str | None = None, voucher_amount: float | None = None,
         cost_centre: str = typer.Option("", "--cost-centre", help="成本中心 / cost centre"),
         project_code: str = typer.Option("", "--project-code", help="项目编号 / project code")) -> None:
    """代用户预约（运营人员） / book on a user's behalf (operator)."""
    from ..services.booking import Bookings

    def go(ex: Any) -> Any:
        return Bookings(ex).request_on_behalf(user_id, org, instrument_id, _when(start), _when(end), purpose, samples, voucher,
                                              voucher_amount, cost_centre, project_code).as_dict()

    _echo(_go(go))


@resources_app.command("booking")
def booking(booking_id: int, action: str = typer.Argument(..., help="approve / reject / cancel / used / no-show")) -> None:
    """处理预约（运营人员） / approve, reject, cancel or mark a booking (operator)."""
    from ..services.booking import Actor, Bookings

    methods = {"approve": "approve", "reject": "reject", "cancel": "cancel", "used": "mark_used", "no-show": "mark_no_show"}
    if action not in methods:
        raise typer.BadParameter(f"action: {' / '.join(methods)}")
    _echo(_go(lambda ex: getattr(Bookings(ex), methods[action])(Actor(0, 0, SYSTEM), booking_id).as_dict()))


@resources_app.command("blackout")
def blackout(instrument_id: int, start: str, end: str, reason: str = typer.Option("维护", help="原因 / reason")) -> None:
    """设置维护停机时段 / add a maintenance blackout."""
    from ..services.booking import Actor, Bookings

    _echo(_go(lambda ex: {"blackout_id": Bookings(ex).add_blackout(Actor(0, 0, SYSTEM), instrument_id, _when(start), _when(end), reason)}))


@resources_app.command("train")
def train(instrument_id: int, user_id: int, until: str | None = typer.Option(None, help="有效期至 / valid until")) -> None:
    """登记用户已完成上机培训 / record that a user is trained on an instrument."""
    from ..services.booking import Actor, Bookings

    def go(ex: Any) -> Any:
        Bookings(ex).set_training(Actor(0, 0, SYSTEM), instrument_id, user_id, local_today(), dt.date.fromisoformat(until) if until else None)
        return {"instrument_id": instrument_id, "user_id": user_id, "trained": True}

    _echo(_go(go))


@resources_app.command("ics")
def ics(instrument_id: int, output: str = typer.Option("-", "--output", "-o", help="输出文件 / output file")) -> None:
    """导出仪器日历 (.ics) / export an instrument's calendar."""
    from ..services.booking import Bookings

    text = _go(lambda ex: Bookings(ex).ics(instrument_id))
    if output == "-":
        typer.echo(text, nl=False)
    else:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)


@resources_app.command("stats")
def stats(group: str = typer.Option("region", help="instrument / owner / region"), days: int = typer.Option(90, help="最近天数 / last N days")) -> None:
    """仪器共享统计 / usage statistics."""
    from ..services.booking import Bookings

    start, end = B.last_days(dt.datetime.now(B.CST), days)
    _echo(_go(lambda ex: [r.as_dict() for r in Bookings(ex).stats(group, start, end, viewer=SYSTEM)[:50]]))


@resources_app.command("voucher")
def voucher(code: str, province: str = typer.Option(..., help="BJ / TJ / HE"), org: str = typer.Option(..., help="企业 / enterprise"),
            amount: float = typer.Option(..., help="金额（元） / amount (CNY)"), valid_from: str = "2026-01-01", valid_until: str = "2026-12-31",
            max_share: float = 0.5) -> None:
    """发放创新券 / issue an innovation voucher."""
    from ..services.booking import Bookings

    _echo(_go(lambda ex: {"voucher_id": Bookings(ex).issue_voucher(SYSTEM, code, province, org, amount, dt.date.fromisoformat(valid_from),
                                                                    dt.date.fromisoformat(valid_until), max_share)}))


@resources_app.command("recognise")
def recognise(province: str, org: str) -> None:
    """登记创新券服务机构（实验室） / register a lab as a voucher service provider of a region."""
    from ..services.booking import Bookings

    _go(lambda ex: Bookings(ex).recognise_lab(SYSTEM, province, org, local_today()))
    _echo({"province": province, "org": org, "recognised": True})


@resources_app.command("verify")
def verify(mark: str, org: str, date: str | None = None) -> None:
    """查验机构是否获得认证标志许可 / is ORG licensed for MARK on DATE?"""
    from ..services.certification import verify_licence

    _echo(_go(lambda ex: verify_licence(ex, mark, org, dt.date.fromisoformat(date) if date else local_today()).as_dict()))


@resources_app.command("policies")
def policies(org: str, date: str | None = None, all_: bool = typer.Option(False, "--all", help="含不符合的 / include the rest")) -> None:
    """机构符合条件的政策（免申即享） / policies an organisation qualifies for."""
    from ..services.policy import evaluate_all

    def go(ex: Any) -> Any:
        name, rows = evaluate_all(ex, org, dt.date.fromisoformat(date) if date else local_today())
        return {"org": name, "policies": [r.as_dict() for r in rows if all_ or r.qualifies]}

    _echo(_go(go))


@resources_app.command("qualifiers")
def qualifiers(policy_id: int, group: str | None = typer.Option(None, help="qualifies / missing / fails"),
               csv_path: str | None = typer.Option(None, "--csv", help="写出全部机构的 CSV / write every organisation to a CSV file"),
               date: str | None = None) -> None:
    """政策符合情况：谁符合、谁缺哪些信息（运营人员） / who qualifies for a policy and who misses which fact (operator)."""
    from ..services import policy_qualifiers as Q

    if group is not None and group not in Q.GROUPS:
        raise typer.BadParameter(f"--group: {' / '.join(Q.GROUPS)}")
    try:
        day = dt.date.fromisoformat(date) if date else None
    except ValueError:
        raise typer.BadParameter(f"--date: 日期应为 2026-03-31 的形式 / a date such as 2026-03-31, got {date!r}") from None
    q = _go(lambda ex: Q.qualifiers(ex, SYSTEM, policy_id, day))
    if csv_path:
        with open(csv_path, "w", encoding="utf-8", newline="") as fh:
            fh.write(Q.qualifiers_csv(q))
    _echo({"policy_id": policy_id, "title": q.policy.title, "date": q.day.isoformat(), "counts": q.counts, "missing_counts": q.missing_counts,
           "items": [r.as_dict() for r in q.rows if group is None or r.group == group][:200], "csv": csv_path})


from .licences import licence_app  # noqa: E402

resources_app.add_typer(licence_app, name="licence")
