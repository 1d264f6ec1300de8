"""`tongxin recommend send|list|responses`: curated recommendations from the command line (the
operator on their own machine: the SYSTEM viewer). Mail goes out with the next `tongxin alerts run`
(or the web server's background sender); the in-app notifications at once. Errors print in
Chinese and English with an exit code (1 invalid input, 3 not found); nothing is written on an error.

Register with `register(app)` in cli/main.py."""

from __future__ import annotations

import json
from typing import Any

import typer

recommend_app = typer.Typer(help="推荐：把资源推荐给企业，查看回应 / curated recommendations: send listings to organisations, see the answers",
                            no_args_is_help=True)


def _echo(data: Any) -> None:
    from .main import console

    console.print_json(json.dumps(data, ensure_ascii=False, default=str))


def _go(fn: Any) -> Any:
    from .main import _exchange, _run

    ex = _exchange()
    return _run(lambda: fn(ex), ex)


def _svc(ex: Any) -> Any:
    from ..services.recommendations import Recommendations

    return Recommendations(ex)


@recommend_app.command("send")
def send(listing: list[int] = typer.Option(..., "--listing", "-l", help="要推荐的资源编号（可重复）/ a listing id to recommend (repeat for more)"),
         note: str = typer.Option(..., "--note", help="推荐理由 / why (the recipients read it)"),
         org: list[int] = typer.Option([], "--org", "-o", help="接收机构编号（可重复）/ a recipient organisation id (repeat for more)"),
         industry: str = typer.Option("", "--industry", help="发给该行业的全部已审核机构（GB/T 4754，如 C37）/ every verified organisation in this industry"),
         region: str = typer.Option("", "--region", help="发给该地区的全部已审核机构（GB/T 2260 前缀，如 12）/ every verified organisation in this region"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """发送推荐 / send a recommendation."""
    from ..core.access import SYSTEM
    from .main import console

    raw = {"listing_ids": list(listing), "note": note, "org_ids": list(org), "industry": industry, "region": region}
    sent = _go(lambda ex: _svc(ex).send(SYSTEM, raw))
    if as_json:
        _echo(sent.as_dict())
        return
    left = "，".join(f"{k} {v}" for k, v in sent.left_out.items() if v) or "0"
    console.print(f"[green]✓[/green] 推荐 #{sent.id} 已发给 {sent.recipients} 家机构 / recommendation #{sent.id} sent to "
                  f"{sent.recipients} organisations（未发送 left out: {left}）", highlight=False)


@recommend_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json"), limit: int = typer.Option(50, "--limit", min=1, max=1000)) -> None:
    """已发送的推荐及回应统计 / recommendations sent, with their counts."""
    from rich.table import Table

    from ..core.access import SYSTEM
    from .main import console

    sent = _go(lambda ex: _svc(ex).sent(SYSTEM, limit))
    if as_json:
        _echo([x.as_dict() for x in sent])
        return
    table = Table("#", "时间 when", "资源 listings", "机构 orgs", "感兴趣 interested", "不相关 not relevant", "未回应 no answer")
    for x in sent:
        table.add_row(str(x.id), x.created_at.strftime("%Y-%m-%d %H:%M"), "\n".join(f"{r.id} {r.title}" for r in x.listings),
                      str(x.recipients), str(x.counts["interested"]), str(x.counts["not_relevant"]), str(x.counts["unanswered"]))
    console.print(table)


@recommend_app.command("responses")
def responses(rec_id: int = typer.Argument(..., min=1, help="推荐编号 / recommendation id"), as_json: bool = typer.Option(False, "--json")) -> None:
    """一条推荐的回应：按资源统计，以及谁回应了什么 / how one recommendation was answered: counts per listing, and who answered what."""
    from rich.table import Table

    from ..core.access import SYSTEM
    from ..core.recommendations import RESPONSES
    from .main import console

    r = _go(lambda ex: _svc(ex).responses(SYSTEM, rec_id))
    if as_json:
        _echo(r.as_dict())
        return
    counts = Table("资源 listing", "感兴趣 interested", "不相关 not relevant", "未回应 no answer", title=f"推荐 #{rec_id} / recommendation #{rec_id}")
    for x, c in r.per_listing:
        counts.add_row(f"{x.id} {x.title}", str(c["interested"]), str(c["not_relevant"]), str(c["unanswered"]))
    console.print(counts)
    who = Table("机构 organisation", "资源 listing", "回应 answer", "回应人 by", "时间 when")
    for a in r.answers:
        label = "/".join(RESPONSES[a.response]) if a.response in RESPONSES else "—"
        who.add_row(f"{a.org_id} {a.org_name}", f"{a.listing_id} {a.listing_title}", label, a.responded_by or "",
                    a.responded_at.strftime("%Y-%m-%d %H:%M") if a.responded_at else "")
    console.print(who)


def register(app: typer.Typer) -> None:
    app.add_typer(recommend_app, name="recommend")
