"""What /openapi.json says about answers that are not the happy path (issue #11).

Every operation may answer with a typed 4xx: the JSON error envelope under /api/, an HTML error
page (or a redirect to the sign-in page) elsewhere. FastAPI documents only 200 and its own 422
shape; this adds the answers the app really gives, so a client (or schemathesis) can trust it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from ..core.fields import PATENT_STATUSES, AttrField
from ..core.kinds.registry import KindSpec, Registry


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
DOWNLOADS = {".xlsx": (XLSX,), ".ics": ("text/calendar",), ".csv": ("text/csv",), ".js": ("application/javascript",), ".pdf": ("application/pdf",),
             ".{fmt}": ("application/pdf", XLSX), "/dashboard/report": ("application/pdf", XLSX)}
BINARY = {"schema": {"type": "string", "format": "binary"}}


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = document_errors(get_openapi(title=app.title, version=app.version, routes=app.routes))
            registry = getattr(getattr(app.state, "exchange", None), "registry", None)
            app.openapi_schema = document_kinds(schema, registry) if registry is not None else schema
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
    if ok is None or "$ref" in ok.get("content", {}).get("application/json", {}).get("schema", {}):
        return  # no success answer, or a typed JSON one (/healthz, /readyz)
    content = ok.setdefault("content", {})
    for suffix, types in DOWNLOADS.items():
        if path.endswith(suffix):
            content.clear()
            content.update({t: BINARY for t in types})
            return
    if not path.startswith("/api/"):  # a page answers HTML (or redirects), never JSON
        content.pop("application/json", None)
        content["text/html"] = {"schema": {"type": "string"}}


# -- each kind's own fields, from its KindSpec -------------------------------------------------------

def attr_schema(f: AttrField) -> dict[str, Any]:
    """The JSON schema of one kind field as `listing_dict` answers it (dates as ISO text; an
    empty optional field may be null)."""
    base: dict[str, Any]
    if f.type in ("int", "float"):
        base = {"type": "integer" if f.type == "int" else "number"}
        if f.min is not None:
            base["minimum"] = f.min
        if f.max is not None:
            base["maximum"] = f.max
    elif f.type in ("str", "text"):
        base = {"type": "string"}
    elif f.type == "date":
        base = {"type": "string", "format": "date"}
    elif f.type == "bool":
        base = {"type": "boolean"}
    elif f.type == "enum":
        base = {"type": "string", "enum": [c.value for c in f.choices]}
    elif f.type == "multi_enum":
        base = {"type": "array", "items": {"type": "string", "enum": [c.value for c in f.choices]}}
    else:  # patents
        base = {"type": "array", "items": {"type": "object", "required": ["number", "status"], "properties": {
            "number": {"type": "string"}, "status": {"type": "string", "enum": [c.value for c in PATENT_STATUSES]}}}}
    notes = [x for x in (f.help_zh, f.help_en) if x]
    if f.unit_zh:
        notes.append(f"单位 unit: {f.unit_zh} / {f.unit_en}")
    if f.choices:
        notes.append("; ".join(f"{c.value} = {c.zh} / {c.en}" for c in f.choices))
    out: dict[str, Any] = {"title": f"{f.zh} / {f.en}", "anyOf": [base, {"type": "null"}]}
    if notes:
        out["description"] = "\n".join(notes)
    return out


def kind_attrs_schema(spec: KindSpec) -> dict[str, Any]:
    return {"title": f"KindAttrs_{spec.name}", "type": "object",
            "description": f"{spec.zh} / {spec.en}（kind = \"{spec.name}\"）的字段；只含已填写的字段 / only the fields that are filled in",
            "properties": {f.key: attr_schema(f) for f in spec.attrs}}


def document_kinds(schema: dict[str, Any], registry: Registry) -> dict[str, Any]:
    """Document a listing's `attrs` per kind: one `KindAttrs_<kind>` schema per KindSpec, and
    ListingOut.attrs / InstrumentOut.attrs pointing at them."""
    comps = schema.setdefault("components", {}).setdefault("schemas", {})
    refs = []
    for spec in registry:
        comps[f"KindAttrs_{spec.name}"] = kind_attrs_schema(spec)
        refs.append({"$ref": f"#/components/schemas/KindAttrs_{spec.name}"})
    listing = comps.get("ListingOut", {}).get("properties", {})
    if "attrs" in listing and refs:
        listing["attrs"] = {"anyOf": [*refs, {"type": "null"}], "title": "Attrs",
                            "description": "该类型的字段：见 kind 对应的 KindAttrs_<kind> / the kind's own fields: see KindAttrs_<kind>"}
    if "kind" in listing:
        listing["kind"] = {"type": "string", "enum": [s.name for s in registry], "title": "Kind"}
    bookable = registry.kind_with("bookable")
    instrument = comps.get("InstrumentOut", {}).get("properties", {})
    if bookable is not None and "attrs" in instrument:
        instrument["attrs"] = {"$ref": f"#/components/schemas/KindAttrs_{bookable}"}
    return schema
