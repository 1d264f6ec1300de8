"""Accounts: sign-up, sign-in (rate-limited), sessions, API tokens, password reset by e-mail,
organisations (pending until an operator verifies them), members and invitations.

Every method is one transaction. Permission decisions come from `core.access`."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..core import access as acc
from ..core import credit_code
from ..core.accounts import (
    BAD_LOGIN,
    BAD_TOKEN,
    DEFAULT_POLICY,
    Policy,
    Unauthorized,
    backoff,
    check_email,
    check_password,
    check_signup,
    check_token_lifetime,
    expired,
    login_wait,
    normalise_email,
    too_many_from_ip,
)
from ..core.clock import local_today
from ..core.errors import Conflict, ErrorCollector, FieldError, Message, NotFound, ValidationError
from ..core.org_facts import FACT_KEYS, check_facts, unknown_keys
from ..core.organisation import Organisation, validate_organisation
from ..settings import public_url as configured_public_url
from ..storage import accounts_repo as R
from ..storage import repo
from ..storage import resources_repo as rr
from .exchange import Exchange
from .mail import LogMailer, Mailer
from .policy import may_see_facts

SESSION_COOKIE = "tx_session"
TOKEN_PREFIX = "txk_"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Me:
    """The signed-in user as pages and the API show them."""

    user_id: int
    email: str
    name: str
    role: str  # the Viewer role
    org_id: int | None
    org_name: str
    org_verified: bool

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.user_id, "email": self.email, "name": self.name, "role": self.role,
                "organisation": None if self.org_id is None else {"id": self.org_id, "name": self.org_name, "verified": self.org_verified}}


def viewer_of(ident: R.Identity) -> acc.Viewer:
    if ident.platform_role in ("operator", "registrar", "admin"):
        role = ident.platform_role
    elif ident.org_id is not None:
        role = ident.org_role or "member"
    else:
        role = "user"
    return acc.Viewer(org_id=ident.org_id, org_verified=ident.org_verified, role=role, granted=ident.granted, user_id=ident.user_id)


def me_of(ident: R.Identity) -> Me:
    v = viewer_of(ident)
    return Me(ident.user_id, ident.email, ident.name, v.role, ident.org_id, ident.org_name, ident.org_verified)


class Accounts:
    def __init__(self, ex: Exchange, mailer: Mailer | None = None, policy: Policy = DEFAULT_POLICY,
                 hasher: PasswordHasher | None = None, public_url: str | None = None) -> None:
        self.ex = ex
        self.db = ex.db
        self.mailer: Mailer = mailer or LogMailer()
        self.policy = policy
        self._ph = hasher or PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) defaults
        # every link in e-mails starts here (TONGXIN_PUBLIC_URL), never at a request's Host header
        self.public_url = (public_url or configured_public_url()).rstrip("/")

    def link(self, path: str) -> str:
        return self.public_url + path

    # -- users ----------------------------------------------------------------------------------
    def sign_up(self, email: str, password: str, name: str, role: str = "user") -> int:
        email = normalise_email(email)
        check_signup(email, password, name)
        with self.db.transaction() as s:
            if R.user_by_email(s, email) is not None:
                raise ValidationError.of([FieldError("email", Message("该邮箱已注册，请直接登录或找回密码",
                                                                      "this e-mail is already registered; sign in or reset your password"), email)])
            return R.add_user(s, email, name.strip(), self._ph.hash(password), role).id

    def register(self, email: str, password: str, name: str, ip: str = "-") -> int | None:
        """Self-service sign-up that does not tell whether the e-mail is registered: the caller shows
        the same answer either way and the mailbox learns what happened. The new id, or None."""
        email = normalise_email(email)
        check_signup(email, password, name)
        self._limit_ip("signup", ip, self.policy.max_signups_per_ip, "注册", "sign-up")
        pw_hash = self._ph.hash(password)  # the same work either way
        with self.db.transaction() as s:
            exists = R.user_by_email(s, email) is not None
            uid = None if exists else R.add_user(s, email, name.strip(), pw_hash).id
        if exists:
            self.mailer.send(email, "同心 tongxin：有人用您的邮箱注册 / someone tried to sign up with your e-mail",
                             "有人（可能是您）尝试用此邮箱注册同心，但此邮箱已有账号。\n"
                             "Someone (perhaps you) tried to sign up with this e-mail, which already has an account.\n\n"
                             f"登录 / sign in: {self.link('/login')}\n忘记密码 / forgot your password: {self.link('/forgot')}\n\n"
                             "如果不是您本人操作，请忽略本邮件。/ If it was not you, ignore this e-mail.\n")
        else:
            self.mailer.send(email, "同心 tongxin：欢迎注册 / welcome",
                             f"您的同心账号已创建，请登录 / your account is ready; sign in:\n\n{self.link('/login')}\n")
        return uid

    def _limit_ip(self, bucket: str, ip: str, limit: int, what_zh: str, what_en: str) -> int:
        """Count one request from `ip` in `bucket`; RateLimited beyond `limit` per window. The mark's id."""
        since = R.now() - self.policy.ip_window
        with self.db.transaction() as s:
            if R.count_events(s, bucket, ip, since) >= limit:
                raise too_many_from_ip(what_zh, what_en, self.policy)
            return R.add_event_mark(s, bucket, ip, since)

    def authenticate(self, email: str, password: str, ip: str = "-") -> int:
        """The user's id, or Unauthorized; RateLimited while the account's backoff runs or when the
        address made too many attempts. The attempt is counted before the password is checked, with
        a conditional UPDATE, so concurrent guesses cannot share one allowance."""
        email = normalise_email(email)
        mark = self._limit_ip("login", ip, self.policy.max_attempts_per_ip, "登录", "sign-in")
        with self.db.transaction() as s:
            failures, next_at = R.throttle_state(s, email)
            now = R.now()
            if next_at is not None and now < next_at:
                raise login_wait((next_at - now).total_seconds())
            if not R.claim_attempt(s, email, failures, now + backoff(failures + 1, self.policy)):
                raise login_wait(max(1.0, backoff(failures + 1, self.policy).total_seconds()))  # a concurrent attempt won
            u = R.user_by_email(s, email)
            pw_hash = u.password_hash if u is not None and u.active else None
            uid = u.id if u is not None else None
        ok = self._verify(pw_hash, password) and uid is not None
        with self.db.transaction() as s:
            R.record_login(s, email, ip, ok)
            if ok and uid is not None:
                R.clear_failures(s, email)
                R.drop_event_mark(s, mark)  # the address limit counts failures only
                u = R.get_user(s, uid)
                if self._ph.check_needs_rehash(u.password_hash):
                    u.password_hash = self._ph.hash(password)
        if not ok or uid is None:
            raise Unauthorized(BAD_LOGIN)
        return uid

    def _verify(self, pw_hash: str | None, password: str) -> bool:
        if pw_hash is None:
            self._ph.hash(password)  # same work either way: no user enumeration by timing
            return False
        try:
            return bool(self._ph.verify(pw_hash, password))
        except (VerificationError, InvalidHashError):
            return False

    # -- sessions -------------------------------------------------------------------------------
    def create_session(self, user_id: int) -> str:
        token = secrets.token_urlsafe(32)
        with self.db.transaction() as s:
            R.add_session(s, user_id, digest(token), R.now() + self.policy.session_ttl)
        return token

    def end_session(self, token: str) -> None:
        with self.db.transaction() as s:
            R.delete_session(s, digest(token))

    def identity_for_session(self, token: str) -> R.Identity | None:
        with self.db.transaction(write=False) as s:
            row = R.session_by_hash(s, digest(token))
            if row is None or expired(row.expires_at, R.now()):
                return None
            return R.identity(s, row.user_id)

    def identity_for_token(self, token: str) -> R.Identity | None:
        with self.db.transaction(write=False) as s:
            row = R.token_by_hash(s, digest(token))
            if row is None or row.revoked_at is not None or (row.expires_at is not None and expired(row.expires_at, R.now())):
                return None
            return R.identity(s, row.user_id)

    def identity(self, user_id: int) -> R.Identity | None:
        with self.db.transaction(write=False) as s:
            return R.identity(s, user_id)

    def viewer_by_email(self, email: str) -> acc.Viewer:
        """The viewer of the account with this e-mail (the command line acts for a named person)."""
        from ..core.accounts import normalise_email

        with self.db.transaction(write=False) as s:
            u = R.user_by_email(s, normalise_email(email))
            uid = u.id if u is not None else None
        if uid is None:
            raise acc.not_visible("用户", "user", email)
        return self.viewer(uid)

    def viewer(self, user_id: int) -> acc.Viewer:
        ident = self.identity(user_id)
        return viewer_of(ident) if ident else acc.VISITOR

    # -- API tokens -----------------------------------------------------------------------------
    def create_token(self, viewer: acc.Viewer, name: str, expires_in_days: object = None) -> tuple[int, str]:
        """(id, the token): the token is shown once and stored only as a digest. It expires after
        30, 90 or 365 days, or never (None); a password reset or change revokes it."""
        acc.require_signed_in(viewer)
        name = name.strip() or "token"
        if len(name) > 100:
            raise ValidationError.of([FieldError("name", Message("名称最多 100 字", "the name is at most 100 characters"), name)])
        days = check_token_lifetime(expires_in_days)
        expires_at = None if days is None else R.now() + dt.timedelta(days=days)
        token = TOKEN_PREFIX + secrets.token_urlsafe(30)
        with self.db.transaction() as s:
            row = R.add_token(s, int(viewer.user_id or 0), name, token[:10], digest(token), expires_at)
            return row.id, token

    def tokens(self, viewer: acc.Viewer) -> list[dict[str, Any]]:
        acc.require_signed_in(viewer)
        now = R.now()
        with self.db.transaction(write=False) as s:
            return [{"id": t.id, "name": t.name, "prefix": t.prefix, "created_at": t.created_at.isoformat() if t.created_at else None,
                     "expires_at": t.expires_at.isoformat() if t.expires_at else None, "revoked": t.revoked_at is not None,
                     "expired": t.expires_at is not None and expired(t.expires_at, now)} for t in R.user_tokens(s, int(viewer.user_id or 0))]

    def revoke_token(self, viewer: acc.Viewer, token_id: int) -> None:
        acc.require_signed_in(viewer)
        with self.db.transaction() as s:
            row = next((t for t in R.user_tokens(s, int(viewer.user_id or 0)) if t.id == token_id), None)
            if row is None:  # someone else's token is indistinguishable from a missing one
                raise acc.not_visible("令牌", "token", token_id)
            row.revoked_at = row.revoked_at or R.now()

    # -- password reset -------------------------------------------------------------------------
    def request_reset(self, email: str) -> None:
        """E-mail a single-use, expiring link. Says nothing about whether the e-mail exists."""
        email = normalise_email(email)
        with self.db.transaction() as s:
            u = R.user_by_email(s, email)
            if u is None or not u.active:
                return
            token = secrets.token_urlsafe(32)
            R.add_reset(s, u.id, digest(token), R.now() + self.policy.reset_ttl)
        minutes = int(self.policy.reset_ttl.total_seconds() // 60)
        link = self.link("/reset/" + token)
        self.mailer.send(email, "同心 tongxin：重置密码 / reset your password",
                         f"请在 {minutes} 分钟内打开以下链接设置新密码（仅可使用一次）：\n"
                         f"Open this link within {minutes} minutes to set a new password (it works once):\n\n{link}\n\n"
                         "如果不是您本人操作，请忽略本邮件。/ If you did not ask for this, ignore this e-mail.\n")

    def reset_password(self, token: str, password: str) -> int:
        ec = ErrorCollector()
        check_password(ec, password)
        ec.raise_if_any()
        with self.db.transaction() as s:
            row = R.reset_by_hash(s, digest(token))
            if row is None or row.used_at is not None or expired(row.expires_at, R.now()):
                raise Unauthorized(BAD_TOKEN)
            row.used_at = R.now()
            u = R.get_user(s, row.user_id)
            u.password_hash = self._ph.hash(password)
            R.delete_user_sessions(s, u.id)  # every other signed-in browser is signed out
            R.revoke_user_tokens(s, u.id)  # and every API token stops working
            R.record_login(s, u.email, "reset", True)
            R.clear_failures(s, u.email)  # a reset also ends the sign-in backoff
            return u.id

    def change_password(self, viewer: acc.Viewer, current: str, new: str, keep_session: str | None = None) -> None:
        """Change one's own password: every other session ends and every API token is revoked."""
        acc.require_signed_in(viewer)
        ec = ErrorCollector()
        check_password(ec, new, "new_password")
        ec.raise_if_any()
        uid = int(viewer.user_id or 0)
        with self.db.transaction(write=False) as s:
            pw_hash = R.get_user(s, uid).password_hash
        if not self._verify(pw_hash, current):
            raise ValidationError.of([FieldError("current_password", Message("当前密码不正确", "the current password is wrong"))])
        with self.db.transaction() as s:
            R.get_user(s, uid).password_hash = self._ph.hash(new)
            R.delete_user_sessions(s, uid, keep=digest(keep_session) if keep_session else None)
            R.revoke_user_tokens(s, uid)

    def reset_token_valid(self, token: str) -> bool:
        with self.db.transaction(write=False) as s:
            row = R.reset_by_hash(s, digest(token))
            return row is not None and row.used_at is None and not expired(row.expires_at, R.now())

    # -- organisations --------------------------------------------------------------------------
    def create_organisation(self, viewer: acc.Viewer, raw: Mapping[str, Any]) -> int:
        """The creator becomes its administrator. It stays pending until an operator verifies it."""
        acc.require_signed_in(viewer)
        if viewer.org_id is not None:
            raise Conflict(Message("您已属于一个机构，不能再创建机构", "you already belong to an organisation"))
        org = validate_organisation(raw)
        org.verified = False
        org.external_id = None
        with self.db.transaction() as s:
            if R.org_by_credit_code(s, org.credit_code) is not None:
                raise ValidationError.of([FieldError("credit_code", Message(
                    f"统一社会信用代码 {org.credit_code} 已被其他机构登记；如属本机构，请联系其管理员邀请您加入",
                    f"credit code {org.credit_code} is already registered; ask that organisation's administrator to invite you"), org.credit_code)])
            row, _ = repo.upsert_organisation(s, org)
            R.add_membership(s, int(viewer.user_id or 0), row.id, "org_admin")
            return row.id

    def organisation(self, viewer: acc.Viewer, org_id: int) -> dict[str, Any]:
        """A profile. Contact details only for its own people and staff; pending ones only for them too."""
        with self.db.transaction(write=False) as s:
            row = s.get(repo.OrganisationRow, org_id)
            if row is None or (not row.verified and not (viewer.is_staff or viewer.org_id == org_id)):
                raise acc.not_visible("机构", "organisation", org_id)
            o = repo.org_from_row(row)
        own = viewer.is_staff or viewer.org_id == org_id
        d = org_dict(o, contact=own)
        with self.db.transaction(write=False) as s:
            f = rr.get_facts(s, org_id)
        if may_see_facts(viewer, org_id):  # headcount, revenue …: the firm's own people and staff only
            d["facts"] = f.as_dict()
        if f.public_dict():  # for everyone: only the facts the firm chose to publish (none by default)
            d["public_facts"] = f.public_dict()
        return d

    def update_organisation(self, viewer: acc.Viewer, org_id: int, raw: Mapping[str, Any], today: dt.date | None = None) -> None:
        """The profile and the facts (employees, revenue, founded, rd_spending, certifications) in one transaction.
        An unknown key, a read-only key with a new value or a bad value is a 422 naming the field; nothing is written."""
        acc.require_manage_org(viewer, org_id)
        profile = ("name", "org_type", "region", "industry", "description", "contact_name", "contact_phone", "website")
        readonly = ("id", "credit_code", "verified")
        errors = unknown_keys(raw, set(profile) | set(readonly) | set(FACT_KEYS))
        upd = check_facts(raw, today or local_today())
        errors += upd.errors
        with self.db.transaction() as s:
            row = R.org_row(s, org_id)
            for k in readonly:
                if k in raw and raw[k] != getattr(row, k):
                    errors.append(FieldError(k, Message(f"‘{k}’不能在此修改（统一社会信用代码变更需重新审核，请联系平台运营人员）",
                                                        f"{k} cannot be changed here (a new credit code needs a new verification; ask the operators)"), raw[k]))
            merged = {k: raw.get(k, getattr(row, k)) for k in profile}
            merged["credit_code"] = row.credit_code  # changing the code needs a new verification: not here
            try:
                o = validate_organisation(merged)
            except ValidationError as e:
                errors += e.errors
            if errors:
                raise ValidationError.of(errors)
            for k in profile:
                setattr(row, k, getattr(o, k))
            if upd.changes:
                from .org_facts import apply_in

                apply_in(s, self.ex, org_id, upd.changes, today or local_today())

    def pending_organisations(self, viewer: acc.Viewer) -> list[dict[str, Any]]:
        return self.pending_page(viewer, 1, 200)[0]

    def pending_page(self, viewer: acc.Viewer, page: int = 1, per_page: int = 50) -> tuple[list[dict[str, Any]], int]:
        """One page of the organisations waiting for verification (newest first) and how many wait in all."""
        acc.require_staff(viewer)
        page = max(1, page)
        with self.db.transaction(write=False) as s:
            out = []
            for r in R.orgs(s, verified=False, limit=per_page, offset=(page - 1) * per_page):
                d = org_dict(repo.org_from_row(r), contact=True)
                p = credit_code.problem(r.credit_code)
                d["credit_code_check"] = {"ok": p is None, "zh": "校验位正确" if p is None else p.zh, "en": "check character is correct" if p is None else p.en}
                d["members"] = [u.email for _, u in R.members(s, r.id)]
                out.append(d)
            return out, R.count_orgs(s, verified=False)

    def verify_organisation(self, viewer: acc.Viewer, org_id: int) -> list[int]:
        """Verify; listings waiting for it are published. Returns their ids."""
        acc.require_staff(viewer)
        with self.db.transaction() as s:
            row = R.org_row(s, org_id)
            row.verified = True
            waiting = R.pending_publications(s, org_id)
            for lid in waiting:
                R.moderation(s, lid).publish_on_verify = False
            R.notify(s, org_id, f"机构“{row.name}”已通过审核，待发布的资源已发布", f"'{row.name}' is verified; waiting listings are now published", "/my/org")
        for lid in waiting:
            self.ex.set_status(lid, "published")
        return waiting

    # -- members and invitations ----------------------------------------------------------------
    def members(self, viewer: acc.Viewer, org_id: int) -> list[dict[str, Any]]:
        if not (viewer.is_staff or viewer.org_id == org_id):
            raise acc.forbidden("只有本机构成员可以查看成员列表", "only the organisation's members may see its members")
        with self.db.transaction(write=False) as s:
            return [{"user_id": u.id, "name": u.name, "email": u.email, "role": m.role} for m, u in R.members(s, org_id)]

    def invite(self, viewer: acc.Viewer, email: str, role: str = "member") -> int:
        org_id = acc.require_org(viewer)
        acc.require_manage_org(viewer, org_id)
        email = normalise_email(email)
        ec = ErrorCollector()
        check_email(ec, email)
        if role not in acc.ORG_ROLES:
            ec.add("role", "角色应为 成员 或 管理员", "role must be member or org_admin", role)
        ec.raise_if_any()
        token = secrets.token_urlsafe(32)
        with self.db.transaction() as s:
            org = R.org_row(s, org_id)
            inv = R.add_invitation(s, org_id, email, role, digest(token), int(viewer.user_id or 0), R.now() + self.policy.invitation_ttl)
            name = org.name
            iid = inv.id
        self.mailer.send(email, f"同心 tongxin：{name} 邀请您加入 / you are invited to join {name}",
                         f"打开链接（先注册或登录此邮箱）接受邀请 / open the link (sign up or sign in with this e-mail) to accept:\n\n"
                         f"{self.link('/invitations/' + token)}\n")
        return iid

    def invitations(self, viewer: acc.Viewer, org_id: int) -> list[dict[str, Any]]:
        acc.require_manage_org(viewer, org_id)
        with self.db.transaction(write=False) as s:
            return [{"id": i.id, "email": i.email, "role": i.role, "accepted": i.accepted_at is not None} for i in R.invitations(s, org_id)]

    def accept_invitation(self, viewer: acc.Viewer, token: str) -> int:
        acc.require_signed_in(viewer)
        if viewer.org_id is not None:
            raise Conflict(Message("您已属于一个机构", "you already belong to an organisation"))
        with self.db.transaction() as s:
            inv = R.invitation_by_hash(s, digest(token))
            u = R.get_user(s, int(viewer.user_id or 0))
            if inv is None or inv.accepted_at is not None or expired(inv.expires_at, R.now()):
                raise Unauthorized(BAD_TOKEN)
            if inv.email != u.email:
                raise acc.forbidden(f"此邀请发给 {inv.email}，请用该邮箱登录", f"this invitation is for {inv.email}; sign in with that e-mail")
            inv.accepted_at = R.now()
            R.add_membership(s, u.id, inv.org_id, inv.role)
            return inv.org_id

    def remove_member(self, viewer: acc.Viewer, user_id: int) -> None:
        org_id = acc.require_org(viewer)
        acc.require_manage_org(viewer, org_id)
        if user_id == viewer.user_id:
            raise Conflict(Message("不能移除自己", "you cannot remove yourself"))
        with self.db.transaction() as s:
            m = R.membership(s, user_id)
            if m is None or m.org_id != org_id:
                raise NotFound(Message(f"成员 {user_id} 不存在", f"member {user_id} does not exist"))
            s.delete(m)

    def notifications(self, viewer: acc.Viewer) -> list[dict[str, Any]]:
        return self.notifications_page(viewer)[0]

    def notifications_page(self, viewer: acc.Viewer, page: int = 1, per_page: int = 20) -> tuple[list[dict[str, Any]], int]:
        """One page of the organisation's notifications, newest first, and how many there are in all."""
        if viewer.org_id is None:
            return [], 0
        page = max(1, page)
        with self.db.transaction(write=False) as s:
            return ([{"zh": n.text_zh, "en": n.text_en, "link": n.link, "at": n.created_at.isoformat() if n.created_at else None}
                     for n in R.notifications(s, viewer.org_id, per_page, (page - 1) * per_page)], R.count_notifications(s, viewer.org_id))

    def count_users(self) -> int:
        with self.db.transaction(write=False) as s:
            return R.count_users(s)


def org_dict(o: Organisation, contact: bool) -> dict[str, Any]:
    d: dict[str, Any] = {"id": o.id, "name": o.name, "credit_code": o.credit_code, "org_type": o.org_type, "region": o.region,
                         "industry": o.industry, "description": o.description, "website": o.website, "verified": o.verified}
    if contact:
        d |= {"contact_name": o.contact_name, "contact_phone": o.contact_phone}
    return d


# -- demo -------------------------------------------------------------------------------------------

DEMO_PASSWORD = "tongxin2025"


def create_demo_accounts(ex: Exchange, mailer: Mailer | None = None) -> list[tuple[str, str, str]]:
    """One account per role on the demo data: [(role, email, password)]. Idempotent."""
    from sqlalchemy import select

    from ..storage.models import ListingRow, OrganisationRow

    accounts = Accounts(ex, mailer)
    with ex.db.transaction(write=False) as s:
        # two verified organisations that own listings (for the member / org_admin / unrelated member)
        owners = list(s.scalars(select(ListingRow.owner_id).distinct().order_by(ListingRow.owner_id).limit(2)))
        if not owners:
            owners = list(s.scalars(select(OrganisationRow.id).order_by(OrganisationRow.id).limit(2)))
    plan: list[tuple[str, str, str, str, int | None, str | None]] = [
        ("administrator", "admin@demo.tongxin.cn", "平台管理员", "admin", None, None),
        ("operator", "operator@demo.tongxin.cn", "平台运营", "operator", None, None),
        ("registration office", "registrar@demo.tongxin.cn", "技术合同登记处", "registrar", None, None),
    ]
    if owners:
        plan.append(("organisation admin", "orgadmin@demo.tongxin.cn", "机构管理员", "user", owners[0], "org_admin"))
        plan.append(("organisation member", "member@demo.tongxin.cn", "机构成员", "user", owners[0], "member"))
    if len(owners) > 1:
        plan.append(("member of another organisation", "other@demo.tongxin.cn", "其他机构成员", "user", owners[1], "member"))
    plan.append(("signed-in user without organisation", "newcomer@demo.tongxin.cn", "新用户", "user", None, None))
    out = []
    for label, email, name, role, org_id, org_role in plan:
        with ex.db.transaction() as s:
            u = R.user_by_email(s, email)
            if u is None:
                u = R.add_user(s, email, name, accounts._ph.hash(DEMO_PASSWORD), role)
                if org_id is not None and org_role is not None:
                    R.add_membership(s, u.id, org_id, org_role)
                    R.org_row(s, org_id).verified = True
        out.append((label, email, DEMO_PASSWORD))
    return out


__all__ = ["Accounts", "Me", "SESSION_COOKIE", "create_demo_accounts", "viewer_of", "me_of"]
