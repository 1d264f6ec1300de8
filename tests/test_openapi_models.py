"""/openapi.json documents what every route returns (issue #11).

1. Every JSON success answer in /openapi.json has a schema with properties (no empty `{}` and no
   bare "object"); pages document HTML, downloads their file type (CSV / XLSX / PDF / iCal).
2. The answers the app really gives keep to those schemas, strictly: every key of every object is
   documented (a model that allows extra keys still has to name them), types, required keys,
   enums and bounds hold, and a listing's `attrs` match the `KindAttrs_<kind>` schema generated
   from its KindSpec. Checked on every GET of /api/v1 for every role over the leak world
   (tests/leak_world.py with the demo deals and contracts; SQLite and PostgreSQL), and on a script
   that calls every write operation once. Every JSON operation must be checked at least once.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import leak_world
import pytest
import world
from conftest import backends, pg_schema_url, require_pg
from factories import ORGS, load
from fastapi.testclient import TestClient
from test_kinds_resources import VALID

from tongxin.core import booking as B
from tongxin.core.accounts import DECLINE_REASONS, REPORT_REASONS
from tongxin.core.certification import Mark
from tongxin.core.matching.explain import Evidence, Explanation, FitItem, TermHit
from tongxin.demo.load import load_deals_demo
from tongxin.fileio.licences import write_licence_template
from tongxin.fileio.org_facts import write_facts_template
from tongxin.services import Exchange
from tongxin.services.accounts import Accounts
from tongxin.services.mail import LogMailer
from tongxin.storage import resources_repo as rr
from tongxin.storage.db import Database
from tongxin.web.app import create_app

JSON = "application/json"
FILES = {"text/csv", "text/calendar", "application/pdf", "application/javascript",
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "image/png", "image/jpeg"}


# -- what /openapi.json says ------------------------------------------------------------------------

def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def has_properties(spec: dict[str, Any], schema: dict[str, Any] | None) -> bool:
    """A schema that says what is inside: an object with properties, or an array of those."""
    if not schema:
        return False
    s = resolve(spec, schema)
    branches = [b for b in s.get("anyOf", s.get("oneOf", [])) if b.get("type") != "null"]
    if branches:
        return all(has_properties(spec, b) for b in branches)
    if s.get("type") == "array":
        return has_properties(spec, s.get("items"))
    return bool(s.get("properties"))


def undocumented_answers(spec: dict[str, Any]) -> list[str]:
    problems = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for code, resp in op["responses"].items():
                if not code.startswith("2"):
                    continue
                content = resp.get("content", {})
                if path.startswith("/api/") and code != "204" and not (JSON in content or set(content) <= FILES and content):
                    problems.append(f"{method.upper()} {path} {code}: no JSON answer documented ({sorted(content)})")
                if JSON in content and not has_properties(spec, content[JSON].get("schema")):
                    problems.append(f"{method.upper()} {path} {code}: {content[JSON].get('schema')}")
    return problems


def json_operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m.upper(), p) for p, item in spec["paths"].items() for m, op in item.items()
            if any(c.startswith("2") and JSON in r.get("content", {}) for c, r in op["responses"].items())}


@pytest.fixture
def plain_app(tmp_path: Path) -> Iterator[TestClient]:
    ex = Exchange(Database(f"sqlite:///{tmp_path}/t.db"), str(tmp_path / "idx"))
    ex.init_db()
    with TestClient(create_app(ex, LogMailer()), base_url="https://testserver") as c:
        yield c
    ex.close()


def test_every_json_answer_documents_its_properties(plain_app: TestClient) -> None:
    spec = plain_app.get("/openapi.json").json()
    api = [(p, m) for p, item in spec["paths"].items() if p.startswith("/api/") for m in item]
    assert len(api) >= 55
    assert undocumented_answers(spec) == []
    # pages answer HTML or redirect: only the API and the probes document JSON success answers
    assert {p for _, p in json_operations(spec) if not p.startswith("/api/")} == {"/healthz", "/readyz"}
    assert spec["paths"]["/api/v1/instruments/{instrument_id}/calendar.ics"]["get"]["responses"]["200"]["content"].keys() == {"text/calendar"}
    # one schema per kind, generated from its KindSpec, and the listing's attrs point at them
    reg = plain_app.app.state.exchange.registry
    comps = spec["components"]["schemas"]
    for kind in reg:
        attrs = comps[f"KindAttrs_{kind.name}"]
        assert list(attrs["properties"]) == [a.key for a in kind.attrs]
        for a in kind.attrs:
            assert attrs["properties"][a.key]["title"] == f"{a.zh} / {a.en}"
            if a.unit_zh:
                assert a.unit_zh in attrs["properties"][a.key]["description"]
    refs = [b.get("$ref", "").rsplit("/", 1)[-1] for b in comps["ListingOut"]["properties"]["attrs"]["anyOf"]]
    assert refs == [f"KindAttrs_{k.name}" for k in reg] + [""]
    assert comps["ListingOut"]["properties"]["kind"]["enum"] == [k.name for k in reg]
    expl = resolve(spec, comps["ListingOut"]["properties"]["explanation"]["anyOf"][0])
    assert {"score", "relevance", "band", "text_points", "semantic_points", "chips", "terms", "fit"} <= set(expl["required"])


def test_the_check_fails_on_an_untyped_route() -> None:
    """The walk above can fail: a route that returns a dict without a model is reported."""
    from fastapi import FastAPI

    from tongxin.web.openapi_docs import document_errors

    app = FastAPI()

    @app.get("/api/v1/untyped")
    def untyped() -> Any:
        return {"a": 1}

    @app.get("/api/v1/object")
    def bare() -> dict[str, Any]:
        return {"a": 1}

    spec = document_errors(app.openapi())
    assert [p.split(":")[0] for p in undocumented_answers(spec)] == ["GET /api/v1/untyped 200", "GET /api/v1/object 200"]


# -- what the app answers ---------------------------------------------------------------------------

TYPES: dict[str, Any] = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def conform(spec: dict[str, Any], value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Problems of `value` against `schema` (the subset pydantic writes), strictly: an object
    with declared properties may hold no other key."""
    name = schema.get("$ref", "").rsplit("/", 1)[-1]
    s = resolve(spec, schema)
    if "anyOf" in s or "oneOf" in s:
        tries = [conform(spec, value, b, where) for b in s.get("anyOf", s.get("oneOf", []))]
        return [] if any(not t for t in tries) else min(tries, key=len)
    out: list[str] = []
    t = s.get("type")
    if t == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif t == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif t in TYPES:
        ok = isinstance(value, TYPES[t])
    else:
        ok = True
    if not ok:
        return [f"{where}: {value!r} is not {t}"]
    if "enum" in s and value not in s["enum"]:
        out.append(f"{where}: {value!r} not in {s['enum']}")
    if "const" in s and value != s["const"]:
        out.append(f"{where}: {value!r} != {s['const']!r}")
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if number and ("minimum" in s and value < s["minimum"] or "maximum" in s and value > s["maximum"]):
        out.append(f"{where}: {value} outside [{s.get('minimum')}, {s.get('maximum')}]")
    if isinstance(value, list) and "items" in s:
        for i, v in enumerate(value):
            out += conform(spec, v, s["items"], f"{where}[{i}]")
    if isinstance(value, dict):
        props = s.get("properties")
        if props:
            out += [f"{where}: key {k!r} is not documented{' in ' + name if name else ''}" for k in value if k not in props]
            out += [f"{where}: required key {k!r} missing" for k in s.get("required", []) if k not in value]
            for k, v in value.items():
                if k in props:
                    out += conform(spec, v, props[k], f"{where}.{k}")
            if name == "ListingOut" and isinstance(value.get("attrs"), dict):  # the kind's own schema, not any kind's
                out += conform(spec, value["attrs"], {"$ref": f"#/components/schemas/KindAttrs_{value['kind']}"}, f"{where}.attrs")
        elif isinstance(s.get("additionalProperties"), dict):
            for k, v in value.items():
                out += conform(spec, v, s["additionalProperties"], f"{where}.{k}")
    return out


def test_the_strict_check_can_fail(plain_app: TestClient) -> None:
    spec = plain_app.get("/openapi.json").json()
    reg = plain_app.app.state.exchange.registry
    one, other = [k for k in reg][:2]
    ok = {"id": 1, "kind": one.name, "side": one.sides[0], "title": "t", "visibility": "public", "access": "full", "attrs": {}}
    ref = {"$ref": "#/components/schemas/ListingOut"}
    assert conform(spec, ok, ref) == []
    assert conform(spec, ok | {"secret": 1}, ref) == ["$: key 'secret' is not documented in ListingOut"]
    assert conform(spec, ok | {"id": "1"}, ref) == ["$.id: '1' is not integer"]
    assert conform(spec, {k: v for k, v in ok.items() if k != "title"}, ref) == ["$: required key 'title' missing"]
    foreign = next(a for a in other.attrs if a.key not in {b.key for b in one.attrs})
    assert conform(spec, ok | {"attrs": {foreign.key: None}}, ref) == [f"$.attrs: key {foreign.key!r} is not documented in KindAttrs_{one.name}"]
    assert conform(spec, {"score": 1, "explanation": {"band": "great"}}, {"$ref": "#/components/schemas/InstrumentOut"})


def test_a_full_explanation_keeps_to_its_schema(plain_app: TestClient) -> None:
    """Every part of a match explanation, evidence included (the tests' worlds run without sentence
    vectors, so no answer above carries evidence): the core serializer and the model agree."""
    spec = plain_app.get("/openapi.json").json()
    e = Explanation(text_points=2.5, terms=[TermHit("列车控制", ("title", "keywords"), 2.0, via="列车控制系统"), TermHit("控制", ("body",), 0.5, partial=True)],
                    fit=[FitItem("trl", "成熟度满足", "TRL met", True, 1.0), FitItem("region", "同城", "same city", None, 0.0)],
                    semantic_points=1.2, relevance=0.52, cosine=0.81, evidence=Evidence("需要列车控制系统", "城轨列车控制系统安全计算机", 0.77))
    d = e.as_dict()
    assert d["evidence"] and d["band"] and d["fit"] and d["terms"]
    assert conform(spec, d, {"$ref": "#/components/schemas/ExplanationOut"}) == []


@dataclass
class Checked:
    spec: dict[str, Any]
    ops: set[tuple[str, str]] = field(default_factory=set)  # operations with a checked JSON success answer
    answers: int = 0
    problems: list[str] = field(default_factory=list)

    def check(self, method: str, template: str, resp: Any) -> None:
        if not 200 <= resp.status_code < 300 or resp.status_code == 204:
            return
        doc = self.spec["paths"][template][method.lower()]["responses"][str(resp.status_code)]
        assert resp.headers["content-type"].startswith(JSON), (method, template, resp.headers["content-type"])
        self.answers += 1
        self.ops.add((method, template))
        self.problems += [f"{method} {template} {resp.status_code} {p}" for p in conform(self.spec, resp.json(), doc["content"][JSON]["schema"])]


def api_get_routes(spec: dict[str, Any]) -> list[str]:
    return [p for p, item in spec["paths"].items() if (p.startswith("/api/") or p in ("/healthz", "/readyz")) and "get" in item
            and JSON in item["get"]["responses"]["200"].get("content", {})]


def walk_gets(c: TestClient, chk: Checked, ids: dict[str, list[Any]], headers: dict[str, dict[str, str]], query: dict[str, str]) -> None:
    for template in api_get_routes(chk.spec):
        names = re.findall(r"{(\w+)}", template)
        for combo in itertools.product(*(ids.get(n, ["1"]) for n in names)):
            path = template
            for n, v in zip(names, combo, strict=True):
                path = path.replace("{" + n + "}", str(v))
            for h in headers.values():
                c.cookies.clear()
                chk.check("GET", template, c.get(path, params=query, headers=h))


@pytest.fixture(scope="module", params=backends())
def leaky(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[leak_world.LeakWorld, TestClient, LogMailer]]:
    d = tmp_path_factory.mktemp("models")
    url_cm: Any = None
    if request.param == "sqlite":
        url = f"sqlite:///{d}/m.db"
    else:
        require_pg()
        url_cm = pg_schema_url("models_")
        url = url_cm.__enter__()
    ex = Exchange(Database(url), str(d / "idx"))
    ex.init_db()
    try:
        lw = leak_world.build(ex)
        more = load(ex, ORGS, [VALID["certified_product"][0], VALID["retail_need"][0]])
        with ex.db.transaction() as s:
            mid = rr.upsert_mark(s, Mark(code="XZD-GI", name="小站稻地理标志证明商标", holder="天津市小站稻产业协会", mark_type="gi_certification"))
            rr.add_licence(s, mid, rr.resolve_org(s, "ORG-WQ").id, "XZD-2025-001", dt.date(2025, 1, 1), dt.date(2099, 12, 31), "小站稻大米")
        lw.ids["listing_id"] = [*lw.ids["listing_id"], *more.values()]
        lw.ids["licence_no"] = ["XZD-2025-001"]
        lw.ids["policy_id"] = [x for x in lw.ids["listing_id"] if ex.get(x)[0].kind == ex.registry.kind_with("eligibility_rules")]
        load_deals_demo(ex, today=dt.date(2026, 3, 1))  # deals at every stage, with financing and agreements; contracts for the statistics
        with ex.db.engine.connect() as conn:
            for table in ("deal_finance", "agreements"):
                lw.ids["deal_id"].append(conn.exec_driver_sql(f"SELECT MIN(deal_id) FROM {table}").scalar())
        mailer = LogMailer()
        app = create_app(ex, mailer)
        app.state.accounts = Accounts(ex, mailer, hasher=world.fast_hasher())
        with TestClient(app, base_url="https://testserver") as c:
            yield lw, c, mailer
    finally:
        ex.close()
        if url_cm is not None:
            url_cm.__exit__(None, None, None)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_answers_keep_to_the_documented_schemas(leaky: tuple[leak_world.LeakWorld, TestClient, LogMailer]) -> None:
    lw, c, mailer = leaky
    w = lw.w
    chk = Checked(c.get("/openapi.json").json())
    headers = {"visitor": {}} | {r: bearer(t) for r, t in lw.tokens.items()}
    query = {"org": str(w.orgs["owner"]), "mark": "XZD-GI", "include_all": "true", "period": "2025", "group": "instrument", "q": "列车控制系统"}
    walk_gets(c, chk, lw.ids, headers, query)
    for group in ("owner", "region"):
        chk.check("GET", "/api/v1/instruments/stats", c.get("/api/v1/instruments/stats", params={"group": group}))
    write_everything(c, chk, lw, mailer)
    print(f"\nopenapi models: {chk.answers} answers of {len(chk.ops)} operations checked, {len(chk.problems)} problems")
    assert chk.problems == [], "\n".join(chk.problems[:40])
    assert json_operations(chk.spec) - chk.ops == set()


def write_everything(c: TestClient, chk: Checked, lw: leak_world.LeakWorld, mailer: LogMailer) -> None:
    """Every write operation of /api/v1 once, as the role that may do it; each must succeed."""
    w, tok = lw.w, lw.tokens

    def call(method: str, template: str, role: str | None, status: int, json: Any = None, **params: Any) -> Any:
        path = template.format(**params)
        c.cookies.clear()
        r = c.request(method, path, json=json, headers=bearer(tok[role]) if role else {})
        assert r.status_code == status, (method, path, r.status_code, r.text[:500])
        chk.check(method, template, r)
        return r.json() if r.content else None

    def mailed(pattern: str) -> str:
        return re.findall(pattern, mailer.sent[-1][2])[-1]

    call("POST", "/api/v1/auth/signup", None, 202, {"email": "newbie@test.tongxin.cn", "password": "good-pass-123", "name": "新人"})
    call("POST", "/api/v1/auth/password-reset", None, 202, {"email": "newbie@test.tongxin.cn"})
    call("POST", "/api/v1/auth/password-reset/confirm", None, 200, {"token": mailed(r"/reset/([\w-]+)"), "password": "other-pass-456"})
    tok["newbie"] = call("POST", "/api/v1/auth/tokens", None, 201, {"email": "newbie@test.tongxin.cn", "password": "other-pass-456"})["token"]
    spare = call("POST", "/api/v1/auth/tokens", "member", 201, {"name": "spare", "expires_in_days": 30})
    call("DELETE", "/api/v1/auth/tokens/{token_id}", "member", 204, token_id=spare["id"])

    raw = world.tech_raw("public") | {"title": "新发布的列车控制技术", "kind": "technology", "publish": True}
    lid = call("POST", "/api/v1/listings", "owner_admin", 201, raw)["id"]
    call("PUT", "/api/v1/listings/{listing_id}", "owner_admin", 200, raw | {"title": "修改后的列车控制技术"}, listing_id=lid)
    call("POST", "/api/v1/listings/{listing_id}/close", "owner_admin", 200, listing_id=lid)
    call("POST", "/api/v1/listings/{listing_id}/reopen", "owner_admin", 200, listing_id=lid)
    first = call("POST", "/api/v1/listings/{listing_id}/interest", "member", 201, {"message": "希望合作", "nda_accepted": True}, listing_id=lid)
    call("POST", "/api/v1/contacts/{request_id}/accept", "owner_admin", 200, {"note": "欢迎"}, request_id=first["id"])
    second = call("POST", "/api/v1/listings/{listing_id}/interest", "granted", 201, {"message": "想了解"}, listing_id=lid)
    call("POST", "/api/v1/contacts/{request_id}/decline", "owner_admin", 200, {"reason": DECLINE_REASONS[0].value}, request_id=second["id"])
    chk.check("GET", "/api/v1/contacts", c.get("/api/v1/contacts", headers=bearer(tok["owner_admin"])))  # now with both kinds of answer
    call("POST", "/api/v1/listings/{listing_id}/report", "member", 201, {"reason": REPORT_REASONS[0].value, "note": "疑似重复"}, listing_id=lid)
    conf = w.listings["confidential"]
    call("POST", "/api/v1/listings/{listing_id}/grants", "owner_admin", 201, {"org_id": w.orgs["member"], "note": "NDA"}, listing_id=conf)
    call("DELETE", "/api/v1/listings/{listing_id}/grants/{org_id}", "owner_admin", 200, listing_id=conf, org_id=w.orgs["member"])

    org = call("POST", "/api/v1/organisations", "newbie", 201, world.org_raw("新人科技有限公司", "NEWBIE"))
    call("PATCH", "/api/v1/organisations/{org_id}", "owner_admin", 200, {"description": "城轨列车控制"}, org_id=w.orgs["owner"])
    call("POST", "/api/v1/organisations/{org_id}/invitations", "owner_admin", 201, {"email": "invitee@test.tongxin.cn"}, org_id=w.orgs["owner"])
    invitation = mailed(r"/invitations/([\w-]+)")
    call("POST", "/api/v1/auth/signup", None, 202, {"email": "invitee@test.tongxin.cn", "password": "good-pass-123", "name": "受邀者"})
    tok["invitee"] = call("POST", "/api/v1/auth/tokens", None, 201, {"email": "invitee@test.tongxin.cn", "password": "good-pass-123"})["token"]
    call("POST", "/api/v1/invitations/{token}/accept", "invitee", 200, token=invitation)
    chk.check("GET", "/api/v1/operator/organisations", c.get("/api/v1/operator/organisations", headers=bearer(tok["operator"])))
    call("POST", "/api/v1/operator/organisations/{org_id}/verify", "operator", 200, org_id=org["id"])
    call("POST", "/api/v1/operator/listings/{listing_id}/hide", "operator", 200, {"note": "核实中"}, listing_id=lid)
    call("POST", "/api/v1/operator/listings/{listing_id}/restore", "operator", 200, listing_id=lid)

    day = dt.datetime.now(B.CST).date() + dt.timedelta(days=10)
    start = dt.datetime.combine(day, dt.time(10), B.CST)
    inst = lw.ids["instrument_id"][0]
    b = call("POST", "/api/v1/bookings", "member", 201, {"instrument_id": inst, "start": start.isoformat(),
                                                         "end": (start + dt.timedelta(hours=2)).isoformat(), "purpose": "测样", "samples": 2})
    if b["status"] == "pending":
        call("POST", "/api/v1/bookings/{booking_id}/{action}", "owner_admin", 200, booking_id=b["id"], action="approve")
    call("POST", "/api/v1/bookings/{booking_id}/{action}", "member", 200, {"reason": "改期"}, booking_id=b["id"], action="cancel")
    # billing: the booker checks in and out at the instrument, the manager confirms; a voucher claim is settled by the issuer
    now = dt.datetime.now(B.CST).replace(second=0, microsecond=0)
    member_org = int(w.viewer("member").org_id or 0)
    with w.ex.db.transaction() as s:
        vid = rr.issue_voucher(s, "BJ-API-0001", "BJ", member_org, 1000, now.date() - dt.timedelta(days=1), now.date() + dt.timedelta(days=30))
        rr.recognise_provider(s, "BJ", w.orgs["owner"], now.date() - dt.timedelta(days=1))
        used = rr.insert_booking(s, B.Booking(inst, w.users["member"], member_org, B.Slot(now - dt.timedelta(minutes=20), now + dt.timedelta(hours=1)),
                                              "approved", voucher_id=vid, voucher_amount=50, cost_centre="CC-1"))
        rr.charge_voucher(s, vid, used, 50)
    call("POST", "/api/v1/bookings/{booking_id}/check-in", "member", 200, {"at": (now - dt.timedelta(minutes=20)).isoformat()}, booking_id=used)
    call("POST", "/api/v1/bookings/{booking_id}/check-out", "member", 200, {}, booking_id=used)
    call("POST", "/api/v1/bookings/{booking_id}/confirm", "owner_admin", 200, booking_id=used)
    month = f"{now:%Y-%m}"
    chk.check("GET", "/api/v1/statements", c.get("/api/v1/statements", params={"month": month}, headers=bearer(tok["member"])))
    chk.check("GET", "/api/v1/voucher-claims", c.get("/api/v1/voucher-claims", params={"month": month}, headers=bearer(tok["operator"])))
    call("POST", "/api/v1/voucher-claims/{booking_id}/settle", "operator", 200, {"reference": "PAY-1"}, booking_id=used)
    call("POST", "/api/v1/bookings/release-no-shows", "operator", 200)
    chk.check("GET", "/api/v1/income/instruments", c.get("/api/v1/income/instruments", headers=bearer(tok["owner_admin"])))
    later = start + dt.timedelta(hours=4)
    taken = call("POST", "/api/v1/bookings", "member", 201, {"instrument_id": inst, "start": later.isoformat(), "end": (later + dt.timedelta(hours=1)).isoformat()})
    call("POST", "/api/v1/instruments/{instrument_id}/waitlist", "granted", 201, {"start": later.isoformat(), "end": (later + dt.timedelta(hours=1)).isoformat()},
         instrument_id=inst)
    call("POST", "/api/v1/bookings/{booking_id}/{action}", "member", 200, booking_id=taken["id"], action="cancel")
    c.cookies.clear()
    waits = c.get("/api/v1/waitlist", headers=bearer(tok["granted"]))
    chk.check("GET", "/api/v1/waitlist", waits)
    call("POST", "/api/v1/waitlist/claim", "granted", 201, {"token": waits.json()["entries"][0]["claim_url"].rsplit("/", 1)[1]})
    sub = call("POST", "/api/v1/subscriptions", "member", 201, {"type": "search", "q": "列车控制系统", "kind": "technology",
                                                               "filters": {"trl": 5}, "frequency": "weekly"})
    call("PATCH", "/api/v1/subscriptions/{sub_id}", "member", 200, {"frequency": "instant"}, sub_id=sub["id"])
    call("POST", "/api/v1/subscriptions", "member", 201, {"type": "follow_org", "target": str(w.orgs["owner"]), "frequency": "daily"})
    chk.check("GET", "/api/v1/subscriptions", c.get("/api/v1/subscriptions", headers=bearer(tok["member"])))
    call("DELETE", "/api/v1/subscriptions/{sub_id}", "member", 204, sub_id=sub["id"])
    call("PUT", "/api/v1/alerts/org-preferences", "member", 200, {"frequency": "weekly", "min_band": "possible", "kinds": ["scenario"], "regions": ["11"]})
    call("PUT", "/api/v1/alerts/preferences", "member", 200, {"frequency": "daily", "min_band": "strong", "kinds": ["technology"], "regions": ["12"]})
    call("DELETE", "/api/v1/alerts/preferences", "member", 200)
    call("DELETE", "/api/v1/alerts/org-preferences", "member", 200)
    call("PUT", "/api/v1/alerts/preferences", "member", 200, {"frequency": "daily", "min_band": "strong", "kinds": ["technology"], "regions": ["12"]})
    hook = call("POST", "/api/v1/webhooks", "owner_admin", 201, {"url": "http://127.0.0.1:1/hook"})  # nothing listens: the call fails at once
    chk.check("GET", "/api/v1/webhooks", c.get("/api/v1/webhooks", headers=bearer(tok["owner_admin"])))
    call("POST", "/api/v1/webhooks/{hook_id}/test", "owner_admin", 200, hook_id=hook["id"])
    call("GET", "/api/v1/webhooks/{hook_id}/deliveries", "owner_admin", 200, hook_id=hook["id"])
    call("DELETE", "/api/v1/webhooks/{hook_id}", "owner_admin", 204, hook_id=hook["id"])
    wq = next(o for o in ORGS if o["external_id"] == "ORG-WQ")
    lic = {"mark": "XZD-GI", "licensee": wq["credit_code"], "licence_no": "XZD-2026-010", "valid_from": "2026-01-01",
           "valid_until": "2030-12-31", "products": "小站稻大米"}
    call("POST", "/api/v1/marks/licences", "operator", 201, lic)
    call("POST", "/api/v1/marks/licences/{licence_no}/{action}", "operator", 200, {"reason": "抽检不合格"}, licence_no="XZD-2026-010", action="suspend")
    call("POST", "/api/v1/marks/licences/{licence_no}/renew", "operator", 200, {"valid_until": "2032-12-31", "reason": "续期"}, licence_no="XZD-2026-010")
    call("GET", "/api/v1/marks/licences/{licence_no}", "operator", 200, licence_no="XZD-2026-010")
    with tempfile.TemporaryDirectory() as d:
        write_licence_template(f"{d}/x.xlsx", [["XZD-2026-201", "XZD-GI", wq["credit_code"], "小站稻大米", "2026-01-01", "2030-12-31"]])
        xlsx = Path(f"{d}/x.xlsx").read_bytes()
    r = c.post("/api/v1/marks/licences/import", files={"file": ("licences.xlsx", io.BytesIO(xlsx))}, headers=bearer(tok["operator"]))
    assert r.status_code == 200, r.text
    chk.check("POST", "/api/v1/marks/licences/import", r)
    call("POST", "/api/v1/marks/reminders", "operator", 200, {"days": 366})
    owner = w.orgs["owner"]
    call("PATCH", "/api/v1/organisations/{org_id}/facts", "owner_admin", 200, {"employees": 120, "revenue": 3000, "rd_spending": 450.5,
                                                                                "founded": "2012-05-01"}, org_id=owner)
    call("POST", "/api/v1/operator/organisations/{org_id}/facts/verify", "operator", 200, org_id=owner)
    call("PATCH", "/api/v1/organisations/{org_id}/facts", "owner_admin", 200, {"published": ["employees"]}, org_id=owner)
    r = c.post(f"/api/v1/organisations/{owner}/facts/evidence", data={"fact": "revenue"}, headers=bearer(tok["owner_admin"]),
               files={"file": ("审计报告.pdf", io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "application/pdf")})
    assert r.status_code == 201, r.text
    chk.check("POST", "/api/v1/organisations/{org_id}/facts/evidence", r)
    call("GET", "/api/v1/organisations/{org_id}/facts", "owner_admin", 200, org_id=owner)
    call("GET", "/api/v1/organisations/{org_id}", None, 200, org_id=owner)  # public_facts
    call("DELETE", "/api/v1/organisations/{org_id}/facts/evidence/{evidence_id}", "owner_admin", 204, org_id=owner, evidence_id=r.json()["id"])
    with tempfile.TemporaryDirectory() as d:
        write_facts_template(f"{d}/f.xlsx", [[wq["credit_code"], "", 80, 1200, "2015-06-01", 90, "高新技术企业"]])
        xlsx = Path(f"{d}/f.xlsx").read_bytes()
    r = c.post("/api/v1/operator/organisations/facts/import", files={"file": ("facts.xlsx", io.BytesIO(xlsx))}, headers=bearer(tok["operator"]))
    assert r.status_code == 200, r.text
    chk.check("POST", "/api/v1/operator/organisations/facts/import", r)
    for policy in lw.ids["policy_id"]:
        call("GET", "/api/v1/operator/policies/{policy_id}/qualifiers", "operator", 200, policy_id=policy)
    for number in ("2026110108000012", "NO-SUCH-NUMBER"):  # a contract registration number: not registered (yet)
        chk.check("GET", "/api/v1/contracts/verify", c.get("/api/v1/contracts/verify", params={"registration_no": number}))
    for number in ("XZD-2026-010", "XZD-0000-000"):  # valid, and not found (valid=false)
        chk.check("GET", "/api/v1/marks/verify", c.get("/api/v1/marks/verify", params={"licence_no": number}))
    rec = call("POST", "/api/v1/recommendations", "operator", 201,
               {"listing_ids": [w.listings["public"]], "note": "推荐一项城轨技术", "org_ids": [w.orgs["member"]]})
    call("POST", "/api/v1/recommendations/{rec_id}/responses", "member", 200, {"listing_id": w.listings["public"], "response": "interested"},
         rec_id=rec["id"])
    call("GET", "/api/v1/recommendations/{rec_id}/responses", "operator", 200, rec_id=rec["id"])
    # the registration office: a party submits, the office reviews and returns, the party resubmits, the office registers
    con = call("POST", "/api/v1/contracts", "member", 201, {"contract_no": "TX-API-1", "title": "列车控制技术服务合同", "contract_type": "service",
                                                           "seller": wq["credit_code"], "buyer": ORGS[0]["credit_code"], "amount": 150,
                                                           "signed_on": "2025-09-01", "listings": []})
    call("POST", "/api/v1/contracts/{contract_id}/review", "registrar", 200, {"note": "受理"}, contract_id=con["id"])
    call("POST", "/api/v1/contracts/{contract_id}/return", "registrar", 200, {"reasons": ["documents"], "note": "补签章页"}, contract_id=con["id"])
    call("POST", "/api/v1/contracts/{contract_id}/resubmit", "member", 200, {"title": "列车控制技术服务合同（补正）", "note": "已补"},
         contract_id=con["id"])
    call("POST", "/api/v1/contracts/{contract_id}/register", "registrar", 200, {}, contract_id=con["id"])
    got = call("GET", "/api/v1/contracts/{contract_id}", "member", 200, contract_id=con["id"])
    r = c.get("/api/v1/contracts/verify", params={"registration_no": got["registration_no"]})  # anyone: registered, date, names
    assert r.json()["registered"] is True, r.text
    chk.check("GET", "/api/v1/contracts/verify", r)
    deal = lw.ids["deal_id"][0]
    nxt = c.get(f"/api/v1/deals/{deal}", headers=bearer(tok["owner_admin"])).json()["next_stages"]
    call("POST", "/api/v1/deals/{deal_id}/stage", "owner_admin", 200, {"stage": nxt[0], "note": "推进"}, deal_id=deal)
