"""`tongxin contracts submit|queue|show|review|register|return|certificate|office-role`: the registration
office's work from the command line (the office's own machine: the SYSTEM viewer, which may enter a
paper submission and decide). Contracts are named by number or id. Errors print in Chinese and English
with an exit code (1 invalid input, 3 not found, 5 conflict); nothing is written on an error."""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ..core.access import SYSTEM
from .stats import _with_exchange, contracts_app

console = Console()


def _day(raw: str | None, field: str) -> dt.date | None:
    if raw is None or not raw.strip():
        return None
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise typer.BadParameter(f"{field}: 日期应为 2026-03-31 的形式 / a date such as 2026-03-31, got {raw!r}") from None


def _summary(p: Any) -> None:
    from ..core import contracts as K

    c = p.c
    reg = f"  登记编号 registration no. {c.registration_no}（{c.registered_on}）" if c.registration_no else ""
    console.print(f"合同 contract {c.contract_no} (#{c.id}) · {K.status_label(c.status)} {c.status}{reg}", highlight=False)
    if c.status == "returned" and c.status_reason:
        console.print(f"  退回原因 returned because: {c.status_reason}", highlight=False)


def _as_json(p: Any) -> dict[str, Any]:
    c = p.c
    return {"id": c.id, "contract_no": c.contract_no, "status": c.status, "status_reason": c.status_reason or "",
            "registration_no": c.registration_no, "registered_on": c.registered_on.isoformat() if c.registered_on else None,
            "seller": p.seller.name, "buyer": p.buyer.name, "amount_yuan": c.amount_yuan, "tech_amount_yuan": c.tech_amount_yuan,
            "history": [{"action": e.action, "at": e.at.isoformat(), "actor": e.actor, "reason": e.reason, "status": e.status,
                         "changes": e.changes} for e in p.history]}


def _step(ref: str, fn: Any, as_json: bool = False) -> None:
    from ..services.contracts import Contracts

    def go(ex: Any) -> None:
        svc = Contracts(ex)
        p = fn(svc, svc.resolve_ref(SYSTEM, ref))
        if as_json:
            print(json.dumps(_as_json(p), ensure_ascii=False))
        else:
            _summary(p)

    _with_exchange(go)


@contracts_app.command("submit")
def submit(
    contract_no: str = typer.Argument(..., help="合同编号 / contract number"),
    title: str = typer.Option(..., "--title", help="合同名称 / title"),
    contract_type: str = typer.Option(..., "--type", help="技术开发/技术转让/技术许可/技术咨询/技术服务 or development/transfer/licence/consulting/service"),
    seller: str = typer.Option(..., "--seller", help="卖方统一社会信用代码 / seller's credit code"),
    buyer: str = typer.Option(..., "--buyer", help="买方统一社会信用代码 / buyer's credit code"),
    amount: str = typer.Option(..., "--amount", help="合同成交额（万元）/ amount in 10,000 yuan"),
    signed_on: str = typer.Option(..., "--signed-on", help="签订日期 / signing date, e.g. 2026-03-31"),
    tech_amount: str = typer.Option("", "--tech-amount", help="技术交易额（万元），默认等于成交额 / technology part"),
    park: str = typer.Option("", "--park", help="所在园区 / park"),
    industry: str = typer.Option("", "--industry", help="GB/T 4754 行业代码，如 C37 / industry code"),
    listings: str = typer.Option("", "--listings", help="关联资源外部编号，以 ; 分隔 / linked listings"),
    deal_id: str = typer.Option("", "--deal-id", help="关联洽谈编号 / deal id"),
) -> None:
    """受理一份纸质提交的技术合同登记申请 / enter a contract submitted for registration (at the office's counter)."""
    from ..services.contracts import Contracts

    raw = {"contract_no": contract_no, "title": title, "contract_type": contract_type, "seller": seller, "buyer": buyer, "amount": amount,
           "tech_amount": tech_amount, "signed_on": signed_on, "park": park, "industry": industry, "listings": listings, "deal_id": deal_id}
    _with_exchange(lambda ex: _summary(Contracts(ex).submit(SYSTEM, raw)))


@contracts_app.command("queue")
def queue(status: str = typer.Option("open", "--status", help="open（待处理）、submitted、under_review、returned、registered，可用逗号分隔"),
          page: int = typer.Option(1, "--page", min=1)) -> None:
    """登记审核队列（等候最久的在前）/ the registration queue, longest waiting first."""
    from ..core import contracts as K
    from ..services.contracts import Contracts, wan

    def go(ex: Any) -> None:
        lst = Contracts(ex).queue(SYSTEM, status, page)
        t = Table("ID", "合同编号 no.", "合同名称 title", "卖方 → 买方 parties", "成交额（万元）", "提交 submitted", "状态 status")
        for c in lst.rows:
            t.add_row(str(c.id), c.contract_no, c.title, f"{lst.orgs[c.seller_org_id].name} → {lst.orgs[c.buyer_org_id].name}", wan(c.amount_yuan),
                      c.submitted_at.strftime("%Y-%m-%d") if c.submitted_at else "—", K.status_label(c.status))
        console.print(t)
        console.print(f"共 {lst.total} 项 / {lst.total} contract(s)；" + "，".join(f"{K.status_label(k)} {n}" for k, n in sorted(lst.status_counts.items())))

    _with_exchange(go)


@contracts_app.command("show")
def show(contract: str = typer.Argument(..., help="合同编号或 ID / contract number or id"), as_json: bool = typer.Option(False, "--json")) -> None:
    """一项合同的登记状态与流程记录 / a contract's registration status and history."""
    from ..core import contracts as K

    def go(ex: Any) -> None:
        from ..services.contracts import Contracts

        svc = Contracts(ex)
        p = svc.page(SYSTEM, svc.resolve_ref(SYSTEM, contract))
        if as_json:
            print(json.dumps(_as_json(p), ensure_ascii=False))
            return
        _summary(p)
        for e in p.history:
            console.print(f"  {e.at:%Y-%m-%d %H:%M}  {K.action_label(e.action)} → {K.status_label(e.status)}  {e.actor}  {e.reason}", highlight=False)

    _with_exchange(go)


@contracts_app.command("review")
def review(contract: str = typer.Argument(..., help="合同编号或 ID / contract number or id"),
           note: str = typer.Option("", "--note", help="备注 / note")) -> None:
    """开始审核 / start the review."""
    _step(contract, lambda svc, cid: svc.review(SYSTEM, cid, note))


@contracts_app.command("register")
def register(contract: str = typer.Argument(..., help="合同编号或 ID / contract number or id"),
             registration_no: str = typer.Option("", "--number", help="登记编号；留空自动编号 / registration number; empty numbers it"),
             registered_on: str = typer.Option("", "--date", help="登记日期，默认今天 / registration date, default today"),
             note: str = typer.Option("", "--note", help="备注 / note")) -> None:
    """准予登记（编号、日期）/ register the contract (number, date)."""
    day = _day(registered_on, "--date")
    _step(contract, lambda svc, cid: svc.register(SYSTEM, cid, registration_no or None, day, note))


@contracts_app.command("return")
def return_(contract: str = typer.Argument(..., help="合同编号或 ID / contract number or id"),
            reason: list[str] = typer.Option([], "--reason", help="not_technology / incomplete / amount / parties / documents / other（可重复）"),
            note: str = typer.Option("", "--note", help="说明，当事方据此修改 / what to fix")) -> None:
    """退回补正（写明原因）/ return the contract with the reasons."""
    _step(contract, lambda svc, cid: svc.return_(SYSTEM, cid, reason, note))


@contracts_app.command("certificate")
def certificate(contract: str = typer.Argument(..., help="合同编号或 ID / contract number or id"),
                output: str | None = typer.Option(None, "--output", "-o", help="输出 PDF / output PDF")) -> None:
    """导出登记证明 PDF（已登记的合同）/ write the registration certificate (registered contracts)."""
    from ..services import contracts as C
    from .stats import _say_font

    def go(ex: Any) -> None:
        svc = C.Contracts(ex)
        cert = svc.certificate(SYSTEM, svc.resolve_ref(SYSTEM, contract))
        path = output or f"{cert.registration_no}-登记证明.pdf"
        with open(path, "wb") as fh:
            fh.write(C.certificate_pdf(cert))
        console.print(f"✓ 登记证明 / certificate {cert.registration_no} → {os.path.abspath(path)}")
        _say_font("pdf")

    _with_exchange(go)


@contracts_app.command("office-role")
def office_role(email: str = typer.Argument(..., help="账号邮箱 / the account's e-mail"),
                revoke: bool = typer.Option(False, "--revoke", help="取消登记机构人员角色 / take the role back")) -> None:
    """设置技术合同登记机构人员（registrar）/ make an account a registrar of the registration office."""
    from ..services.contracts import Contracts

    def go(ex: Any) -> None:
        role = Contracts(ex).grant_office_role(SYSTEM, email, not revoke)
        console.print(f"✓ {email}: {role}")

    _with_exchange(go)
