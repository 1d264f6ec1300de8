"""Shared web dependencies: the exchange, the viewer, the language and page rendering.

Every router uses these; access decisions stay in `tongxin.core.access`.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from ..core import access as acc
from ..core import industries, regions
from ..core.fields import display_value
from ..services import Exchange

HERE = os.path.dirname(os.path.abspath(__file__))
templates = Jinja2Templates(directory=os.path.join(HERE, "templates"))

MODES = {
    # mode: (wanted kind, zh label, en label)
    "need": ("technology", "我有需求", "I have a need"),
    "tech": ("scenario", "我有技术", "I have a technology"),
}


def lang_of(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("lang") or "zh"
    return "en" if lang == "en" else "zh"


def exchange(request: Request) -> Exchange:
    return request.app.state.exchange  # type: ignore[no-any-return]


def viewer(request: Request) -> acc.Viewer:
    """Who is asking. Accounts (web issue) replace this with the signed-in user's viewer."""
    return getattr(request.state, "viewer", None) or acc.VISITOR


def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    lang = lang_of(request)
    ex = exchange(request)
    t = lambda zh, en: en if lang == "en" else zh  # noqa: E731
    base = {"lang": lang, "t": t, "regions": regions, "industries": industries, "registry": ex.registry,
            "display_value": display_value, "modes": MODES, "path": request.url.path, "viewer": viewer(request)}
    resp = templates.TemplateResponse(request, name, base | ctx, status_code=status)
    if request.query_params.get("lang") in ("zh", "en"):
        resp.set_cookie("lang", lang, httponly=True, samesite="lax")
    return resp
