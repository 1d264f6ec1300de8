"""`tongxin alerts …` and `tongxin mail test`: one pass of due alert work (for cron), what the
next message to a person would hold, the queue's state, and a test message over the mail settings.

Register with `register(app)` in cli/main.py."""

from __future__ import annotations

import json
from typing import Any

import typer

alerts_app = typer.Typer(help="提醒：新匹配、保存的搜索、关注；邮件与 Webhook / alerts: new matches, saved searches, follows; mail and webhooks",
                         no_args_is_help=True)
mail_app = typer.Typer(help="邮件 / mail", no_args_is_help=True)


def _echo(data: Any) -> None:
    from .main import console

    console.print_json(json.dumps(data, ensure_ascii=False, default=str))


def _sender(ex: Any) -> Any:
    from ..services.alert_sender import Sender

    return Sender(ex)


@alerts_app.command("run")
def run(no_send: bool = typer.Option(False, "--no-send", help="只生成提醒与邮件，不发送 / find alerts and compose mail, send nothing"),
        as_json: bool = typer.Option(False, "--json")) -> None:
    """处理一轮到期的提醒并发送（供 cron 使用） / one pass of due alert work (for cron)."""
    from .main import _exchange, _run, console

    ex = _exchange()

    def go() -> None:
        r = _sender(ex).run_once(send=not no_send)
        if as_json:
            _echo(r.as_dict())
        else:
            console.print(f"事件 events {r.events}（失败 failed {r.events_failed}） · 提醒 items {r.items} · 搜索 searches {r.searches} · "
                          f"邮件 mail composed {r.mails_composed} sent {r.mails_sent} retry {r.mails_retry} failed {r.mails_failed} · "
                          f"Webhook sent {r.webhooks_sent} failed {r.webhooks_failed}", highlight=False)
        for e in r.errors:
            console.print(f"[red]✗ 已放弃 / gave up:[/red] {e}", highlight=False)
        if r.events_failed or r.mails_failed or r.webhooks_failed:
            raise typer.Exit(5)

    _run(go, ex)


@alerts_app.command("preview")
def preview(user: str = typer.Option(..., "--user", help="用户邮箱 / the user's e-mail"),
            html: bool = typer.Option(False, "--html", help="输出 HTML 版本 / print the HTML part")) -> None:
    """下一封提醒邮件的内容 / what the next alert message to this person would hold."""
    from .main import _exchange, _run, console

    ex = _exchange()

    def go() -> None:
        got = _sender(ex).preview(user)
        if got is None:
            console.print("暂无待发送的提醒 / nothing waiting for this person")
            return
        subject, text, doc = got
        console.print(f"主题 Subject: {subject}\n", highlight=False)
        console.print(doc if html else text, highlight=False, markup=False)

    _run(go, ex)


def _as(ex: Any, email: str) -> Any:
    from ..services.accounts import Accounts

    return Accounts(ex).viewer_by_email(email)


@alerts_app.command("subscribe")
def subscribe(user: str = typer.Option(..., "--user", help="用户邮箱 / the user's e-mail"),
              q: str = typer.Option("", "--q", help="检索词 / search words"),
              kind: str = typer.Option("", "--kind", help="资源类型 / kind (technology, scenario, …)"),
              filters: list[str] = typer.Option([], "--filter", help="筛选条件 key=value，可多次 / a filter key=value, repeatable"),
              follow: str = typer.Option("", "--follow", help="关注 org / industry / region（与 --target 一起）/ follow org, industry or region"),
              target: str = typer.Option("", "--target", help="关注对象：机构 ID、行业代码或地区代码 / what to follow"),
              frequency: str = typer.Option("daily", "--frequency", help="instant / daily / weekly / off"),
              min_band: str = typer.Option("", "--min-band", help="最低匹配等级 strong / possible / weak"),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """保存搜索或关注机构、行业、地区，有新结果时提醒 / save a search, or follow an organisation, industry or region."""
    from .main import _exchange, _run, console

    ex = _exchange()

    def go() -> None:
        from ..core import errors as E
        from ..services.alerts import Alerts

        raw: dict[str, Any] = {"type": f"follow_{follow}" if follow else "search", "frequency": frequency}
        bad = [f for f in filters if "=" not in f]
        if bad:
            raise E.ValidationError.of([E.FieldError("filter", E.Message(f"筛选条件应为 key=value 形式：{bad[0]}", f"a filter looks like key=value: {bad[0]}"), bad[0])])
        for key, value in (("q", q), ("kind", kind), ("target", target), ("min_band", min_band)):
            if value:
                raw[key] = value
        if filters:
            raw["filters"] = dict(f.split("=", 1) for f in filters)
        sub = Alerts(ex).subscribe(_as(ex, user), raw)
        if as_json:
            _echo(sub)
        else:
            console.print(f"✓ 已保存提醒 / saved: #{sub['id']} {sub.get('q') or sub.get('target') or ''} ({sub['frequency']})", highlight=False)

    _run(go, ex)


@alerts_app.command("subscriptions")
def subscriptions(user: str = typer.Option(..., "--user", help="用户邮箱 / the user's e-mail")) -> None:
    """此人保存的搜索与关注 / the person's saved searches and follows."""
    from .main import _exchange, _run

    ex = _exchange()

    def go() -> None:
        from ..services.alerts import Alerts

        _echo(Alerts(ex).subscriptions(_as(ex, user)))

    _run(go, ex)


@alerts_app.command("unsubscribe")
def unsubscribe(sub_id: int = typer.Argument(..., help="提醒 ID / subscription id"),
                user: str = typer.Option(..., "--user", help="用户邮箱 / the user's e-mail")) -> None:
    """删除一项保存的搜索或关注 / delete a saved search or follow."""
    from .main import _exchange, _run, console

    ex = _exchange()

    def go() -> None:
        from ..services.alerts import Alerts

        Alerts(ex).unsubscribe(_as(ex, user), sub_id)
        console.print(f"✓ 已删除 / deleted: #{sub_id}")

    _run(go, ex)


@alerts_app.command("status")
def status() -> None:
    """队列状态与已放弃的项目 / the queues, and what was given up."""
    from .main import _exchange, _run

    ex = _exchange()
    _run(lambda: _echo(_sender(ex).status()), ex)


@mail_app.command("test")
def test(address: str = typer.Argument(..., help="收件地址 / recipient address")) -> None:
    """按当前设置立即发送一封测试邮件 / send a test message now with the current mail settings."""
    from .main import _exchange, _run, console, err

    ex = _exchange()

    def go() -> None:
        try:
            _sender(ex).test_mail(address)
        except OSError as e:  # smtplib errors are OSErrors: name the setting to check
            err.print(f"[red]✗[/red] 发送失败：{e}；请检查 TONGXIN_SMTP_HOST / PORT / STARTTLS / USER 设置 / "
                      f"sending failed: {e}; check TONGXIN_SMTP_HOST / PORT / STARTTLS / USER", highlight=False)
            raise typer.Exit(5) from None
        console.print(f"[green]✓[/green] 已发送至 / sent to {address}", highlight=False)

    _run(go, ex)


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(mail_app, name="mail")
