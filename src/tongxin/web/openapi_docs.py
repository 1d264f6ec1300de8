"""What /openapi.json says about answers that are not the happy path (issue #11).

Every operation may answer with a typed 4xx: the JSON error envelope under /api/, an HTML error
page (or a redirect to the sign-in page) elsewhere. FastAPI documents only 200 and its own 422
shape; this adds the answers the app really gives, so a client (or schemathesis) can trust it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel


class FieldErrorOut(BaseModel):
    row: int | None = None
    field: str | None = None
    value: Any = None
    message_zh: str
    message_en: str


class ErrorBody(BaseModel):
    code: str
    message_zh: str
    message_en: str
    errors: list[FieldErrorOut] = []


class ErrorEnvelope(BaseModel):
    """出错时的统一回答 / the error answer of every /api/v1 route."""

    error: ErrorBody


API_ERRORS = {"400": "请求有误 / bad request", "401": "需要登录 / sign-in needed", "403": "无权操作 / forbidden",
              "404": "不存在 / not found", "405": "不支持此方法 / method not allowed", "409": "冲突 / conflict",
              "413": "内容过大 / too large", "415": "不支持的格式 / unsupported media type",
              "422": "输入无效 / invalid input", "429": "请求过多 / too many requests"}
PAGE_ANSWERS = {"303": "跳转（如登录页）/ redirect (e.g. to sign in)"}
REF = "#/components/schemas/ErrorEnvelope"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOWNLOADS = {".xlsx": (XLSX,), ".ics": ("text/calendar",), ".csv": ("text/csv",), ".js": ("application/javascript",),
             ".{fmt}": ("application/pdf", XLSX), "/dashboard/report": ("application/pdf", XLSX)}
BINARY = {"schema": {"type": "string", "format": "binary"}}


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(get_openapi(title=app.title, version=app.version, routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    comps = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (FieldErrorOut, ErrorBody, ErrorEnvelope):
        comps[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for path, ops in schema.get("paths", {}).items():
        for op in ops.values():
            responses = op.setdefault("responses", {})
            document_page(path, responses)
            if path.startswith("/api/"):
                for code, text in API_ERRORS.items():
                    responses[code] = {"description": text, "content": {"application/json": {"schema": {"$ref": REF}}}}
            else:
                for code, text in PAGE_ANSWERS.items():  # a redirect has no body
                    responses[code] = {"description": text, "headers": {"Location": {"schema": {"type": "string"}}}}
                for code, text in API_ERRORS.items():
                    content: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}}
                    if code == "401":  # a bad bearer token is refused in JSON on every route
                        content["application/json"] = {"schema": {"$ref": REF}}
                    responses[code] = {"description": text, "content": content}
    comps.pop("HTTPValidationError", None)
    comps.pop("ValidationError", None)
    return schema


def document_page(path: str, responses: dict[str, Any]) -> None:
    """A page answers HTML; a download route its file type (on success)."""
    ok = responses.get("200")
    if ok is None or path == "/healthz":
        return
    content = ok.setdefault("content", {})
    for suffix, types in DOWNLOADS.items():
        if path.endswith(suffix):
            content.clear()
            content.update({t: BINARY for t in types})
            return
    if not path.startswith("/api/"):
        content["text/html"] = {"schema": {"type": "string"}}
