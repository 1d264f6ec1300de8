"""Accounts: argon2 passwords, rate-limited sign-in, sessions, API tokens, password reset by an
e-mailed single-use expiring link (through a local SMTP sink), organisations pending until an
operator verifies them, invitations, demo accounts. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
import world
from fastapi.testclient import TestClient
from world import SmtpSink

from tongxin.core import access as acc
from tongxin.core.accounts import Policy, RateLimited, Unauthorized
from tongxin.core.errors import Conflict, Forbidden, ValidationError
from tongxin.services import Exchange
from tongxin.services.accounts import Accounts, create_demo_accounts
from tongxin.services.listings import Listings
from tongxin.services.mail import SmtpMailer
from tongxin.storage import accounts_repo as R


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    s = SmtpSink()
    yield s
    s.close()


@pytest.fixture
def accounts(exchange: Exchange, sink: SmtpSink) -> Accounts:
    return Accounts(exchange, SmtpMailer("127.0.0.1", sink.port), Policy(free_failures=3, backoff_base=dt.timedelta(minutes=1)),
                    hasher=world.fast_hasher(), public_url="http://127.0.0.1:8000")


def test_passwords_are_argon2_and_sign_in_works(accounts: Accounts, exchange: Exchange) -> None:
    uid = accounts.sign_up("Li.Lei@Example.cn ", "good-pass-1", "李雷")
    with exchange.db.transaction(write=False) as s:
        assert R.get_user(s, uid).password_hash.startswith("$argon2id$")
    assert accounts.authenticate("li.lei@example.cn", "good-pass-1") == uid
    with pytest.raises(Unauthorized) as e:
        accounts.authenticate("li.lei@example.cn", "wrong-pass-1")
    assert e.value.message.zh == "邮箱或密码不正确"
    with pytest.raises(Unauthorized):  # unknown e-mail: the same answer
        accounts.authenticate("nobody@example.cn", "wrong-pass-1")


def test_sign_up_reports_every_problem_at_the_field(accounts: Accounts) -> None:
    with pytest.raises(ValidationError) as e:
        accounts.sign_up("not-an-email", "short", "")
    assert {f.field for f in e.value.errors} == {"email", "password", "name"}
    accounts.sign_up("a@example.cn", "good-pass-1", "甲")
    with pytest.raises(ValidationError) as e:
        accounts.sign_up("A@example.cn", "good-pass-1", "甲")
    assert "已注册" in e.value.errors[0].message.zh


def test_sign_in_is_rate_limited_and_a_reset_clears_it(accounts: Accounts, sink: SmtpSink) -> None:
    accounts.sign_up("b@example.cn", "good-pass-1", "乙")
    for _ in range(3):
        with pytest.raises(Unauthorized):
            accounts.authenticate("b@example.cn", "bad-pass-1", "10.0.0.1")
    with pytest.raises(RateLimited) as e:  # the backoff runs: even the right password waits
        accounts.authenticate("b@example.cn", "good-pass-1", "10.0.0.1")
    assert e.value.status == 429 and "分钟后再试" in e.value.message.zh and e.value.retry_after == 60
    accounts.request_reset("b@example.cn")
    token = re.search(r"/reset/([\w-]+)", sink.last_body()).group(1)  # type: ignore[union-attr]
    accounts.reset_password(token, "new-pass-22")
    assert accounts.authenticate("b@example.cn", "new-pass-22", "10.0.0.1")


def test_password_reset_link_is_single_use_and_expires(accounts: Accounts, exchange: Exchange, sink: SmtpSink) -> None:
    uid = accounts.sign_up("c@example.cn", "good-pass-1", "丙")
    session = accounts.create_session(uid)
    accounts.request_reset("nobody@example.cn")  # says nothing, sends nothing
    assert sink.messages == []
    accounts.request_reset("c@example.cn")
    assert len(sink.messages) == 1 and "To: c@example.cn" in sink.messages[0]
    body = sink.last_body()
    assert "新密码" in body and "new password" in body
    token = re.search(r"http://127\.0\.0\.1:8000/reset/([\w-]+)", body).group(1)  # type: ignore[union-attr]
    with pytest.raises(ValidationError):
        accounts.reset_password(token, "short")
    accounts.reset_password(token, "new-pass-22")
    assert accounts.identity_for_session(session) is None  # other sessions are signed out
    with pytest.raises(Unauthorized):
        accounts.reset_password(token, "again-pass-33")  # single use
    accounts.request_reset("c@example.cn")
    token2 = re.search(r"/reset/([\w-]+)", sink.last_body()).group(1)  # type: ignore[union-attr]
    with exchange.db.transaction() as s:
        R.reset_by_hash(s, __import__("hashlib").sha256(token2.encode()).hexdigest()).expires_at = R.now() - dt.timedelta(seconds=1)  # type: ignore[union-attr]
    with pytest.raises(Unauthorized):
        accounts.reset_password(token2, "again-pass-33")
    assert accounts.authenticate("c@example.cn", "new-pass-22") == uid


def test_sessions_and_api_tokens(accounts: Accounts) -> None:
    uid = accounts.sign_up("d@example.cn", "good-pass-1", "丁")
    s = accounts.create_session(uid)
    assert accounts.identity_for_session(s).user_id == uid  # type: ignore[union-attr]
    accounts.end_session(s)
    assert accounts.identity_for_session(s) is None
    v = accounts.viewer(uid)
    tid, token = accounts.create_token(v, "同步")
    assert token.startswith("txk_") and accounts.identity_for_token(token).user_id == uid  # type: ignore[union-attr]
    other = accounts.viewer(accounts.sign_up("e@example.cn", "good-pass-1", "戊"))
    with pytest.raises(Exception) as e:
        accounts.revoke_token(other, tid)  # not theirs: looks missing
    assert getattr(e.value, "status", None) == 404
    accounts.revoke_token(v, tid)
    assert accounts.identity_for_token(token) is None
    assert accounts.tokens(v)[0]["revoked"] is True
    with pytest.raises(Unauthorized):
        accounts.create_token(acc.VISITOR, "x")


def test_new_organisation_is_pending_and_its_listings_publish_on_verification(accounts: Accounts, exchange: Exchange) -> None:
    uid = accounts.sign_up("f@example.cn", "good-pass-1", "己")
    org_id = accounts.create_organisation(accounts.viewer(uid), world.org_raw("测试科技有限公司", "91120116MA0TEST"))
    v = accounts.viewer(uid)
    assert v.role == "org_admin" and v.org_id == org_id and not v.org_verified and not v.is_member
    with pytest.raises(Conflict):
        accounts.create_organisation(v, world.org_raw("另一家", "91120116MA0TEST2"))
    lid = Listings(exchange).save(v, "technology", world.tech_raw("public"), publish=True)
    x, level = exchange.get(lid, acc.VISITOR)
    assert x.status == "draft" and level == acc.Access.NONE  # not public before verification
    assert Listings(exchange).show(v, lid).pending
    staff = acc.Viewer(role="operator", user_id=None)
    pending = accounts.pending_organisations(staff)
    assert pending[0]["id"] == org_id and pending[0]["credit_code_check"]["ok"] is True
    with pytest.raises(Forbidden):
        accounts.verify_organisation(v, org_id)  # nobody verifies themselves
    assert accounts.verify_organisation(staff, org_id) == [lid]
    x, level = exchange.get(lid, acc.VISITOR)
    assert x.status == "published" and level == acc.Access.FULL
    with pytest.raises(ValidationError) as e:  # the same credit code cannot be registered twice
        accounts.create_organisation(accounts.viewer(accounts.sign_up("g@example.cn", "good-pass-1", "庚")),
                                     world.org_raw("冒名公司", "91120116MA0TEST"))
    assert e.value.errors[0].field == "credit_code"


def test_invitations(accounts: Accounts, sink: SmtpSink) -> None:
    admin = accounts.sign_up("h@example.cn", "good-pass-1", "辛")
    org_id = accounts.create_organisation(accounts.viewer(admin), world.org_raw("邀请测试公司", "91110108MA0INV"))
    accounts.invite(accounts.viewer(admin), "new@example.cn")
    token = re.search(r"/invitations/([\w-]+)", sink.last_body()).group(1)  # type: ignore[union-attr]
    wrong = accounts.sign_up("wrong@example.cn", "good-pass-1", "错")
    with pytest.raises(Forbidden):
        accounts.accept_invitation(accounts.viewer(wrong), token)
    new = accounts.sign_up("new@example.cn", "good-pass-1", "新")
    assert accounts.accept_invitation(accounts.viewer(new), token) == org_id
    assert accounts.viewer(new).role == "member"
    with pytest.raises(Forbidden):  # a plain member cannot invite
        accounts.invite(accounts.viewer(new), "x@example.cn")
    assert [m["email"] for m in accounts.members(accounts.viewer(admin), org_id)] == ["h@example.cn", "new@example.cn"]


def test_demo_accounts_cover_every_role(exchange: Exchange) -> None:
    from factories import load

    load(exchange)
    first = create_demo_accounts(exchange)
    assert create_demo_accounts(exchange) == first  # idempotent
    roles = [r for r, _, _ in first]
    assert {"administrator", "operator", "organisation admin", "organisation member"} <= set(roles)
    accounts = Accounts(exchange)
    for _, email, password in first:
        assert accounts.authenticate(email, password)


# -- the web face -------------------------------------------------------------------------------------

def test_login_logout_and_reset_pages(tmp_path, sink: SmtpSink) -> None:  # type: ignore[no-untyped-def]
    from tongxin.storage.db import Database
    from tongxin.web.app import create_app

    ex = Exchange(Database(f"sqlite:///{tmp_path}/a.db"), str(tmp_path / "i"))
    ex.init_db()
    Accounts(ex).sign_up("web@example.cn", "good-pass-1", "网页")
    with TestClient(create_app(ex, SmtpMailer("127.0.0.1", sink.port)), base_url="https://testserver") as c:
        c.get("/login")
        csrf = c.cookies["tx_csrf"]
        r = c.post("/login", data={"email": "web@example.cn", "password": "nope-nope-1", "csrf": csrf})
        assert r.status_code == 401 and "邮箱或密码不正确" in r.text
        r = c.post("/login", data={"email": "web@example.cn", "password": "good-pass-1", "csrf": csrf, "next": "//evil.example"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/"  # no open redirect
        cookie = r.headers["set-cookie"]
        assert "tx_session=" in cookie and "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie
        assert c.get("/api/v1/me").json()["email"] == "web@example.cn"
        r = c.post("/logout", data={"csrf": csrf}, follow_redirects=False)
        assert c.get("/api/v1/me").status_code == 401
        c.post("/forgot", data={"email": "web@example.cn", "csrf": csrf})
        token = re.search(r"/reset/([\w-]+)", sink.last_body()).group(1)  # type: ignore[union-attr]
        assert c.get(f"/reset/{token}").status_code == 200
        r = c.post(f"/reset/{token}", data={"password": "fresh-pass-9", "csrf": csrf}, follow_redirects=False)
        assert r.status_code == 303
        r = c.get(f"/reset/{token}")
        assert r.status_code == 400 and "链接无效或已过期" in r.text
    ex.close()


def test_api_token_flow_and_error_envelope(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tongxin.storage.db import Database
    from tongxin.web.app import create_app

    ex = Exchange(Database(f"sqlite:///{tmp_path}/a.db"), str(tmp_path / "i"))
    ex.init_db()
    with TestClient(create_app(ex), base_url="https://testserver") as c:
        r = c.post("/api/v1/auth/signup", json={"email": "bad", "password": "x", "name": ""})
        assert r.status_code == 422
        err = r.json()["error"]
        assert err["code"] == "validation_error" and {e["field"] for e in err["errors"]} == {"email", "password", "name"}
        assert c.post("/api/v1/auth/signup", json={"email": "api@example.cn", "password": "good-pass-1", "name": "接口"}).status_code == 202
        r = c.post("/api/v1/auth/tokens", json={"name": "ci", "email": "api@example.cn", "password": "good-pass-1"})
        token = r.json()["token"]
        h = {"Authorization": f"Bearer {token}"}
        assert c.get("/api/v1/me", headers=h).json()["role"] == "user"
        r = c.post("/api/v1/organisations", json=world.org_raw("接口公司", "91110108MA0API"), headers=h)
        assert r.status_code == 201 and r.json()["verified"] is False
        r = c.post("/api/v1/listings", json={"kind": "scenario", "title": "", "publish": True}, headers=h)
        assert r.status_code == 422 and "title" in {e["field"] for e in r.json()["error"]["errors"]}
        tid = c.get("/api/v1/auth/tokens", headers=h).json()["items"][0]["id"]
        assert c.delete(f"/api/v1/auth/tokens/{tid}", headers=h).status_code == 204
        r = c.get("/api/v1/me", headers=h)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        assert "/api/v1/contacts/{request_id}/decline" in c.get("/openapi.json").json()["paths"]
    ex.close()
