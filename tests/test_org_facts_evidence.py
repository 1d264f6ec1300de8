"""Organisation facts, published and evidenced: each fact is private until the firm ticks "show on our
public page" (then its public page and everyone's API answer show that fact only); evidence files (PDF,
PNG, JPEG up to 5 MB, type read from the bytes) are uploaded by the firm's administrators and opened only
by its own people and operators, always as a download. Both databases."""

from __future__ import annotations

from typing import Any

import test_org_facts
from test_org_facts import CSRF, _facts, _h

from tongxin.core.org_facts import MAX_EVIDENCE_BYTES, check_evidence

PDF = b"%PDF-1.4\n% EVIDENCEBYTES\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

site = test_org_facts.site  # the fixture: a firm, its people, an operator and a stranger


def _save(site: dict[str, Any], **over: Any) -> Any:
    data = {"csrf": CSRF, "employees": "120", "revenue": "3500", "founded": "2016-03-01", "rd_spending": "300",
            "certifications": ["高新技术企业"]} | over
    return site["c"].post("/my/org/facts", data=data, headers=_h(site, "owner"), follow_redirects=False)


def test_each_fact_is_private_until_published(site: dict[str, Any]) -> None:
    c, org = site["c"], site["org"]
    assert _save(site).status_code == 303
    assert _facts(site).published == ()  # default: nothing public
    for who in ("visitor", "stranger"):
        page = c.get(f"/orgs/{org}", headers=_h(site, who))
        assert page.status_code == 200 and "data-public-facts" not in page.text and "3500" not in page.text
        assert "public_facts" not in c.get(f"/api/v1/organisations/{org}", headers=_h(site, who)).json()
    r = _save(site, published=["employees", "certifications"])
    assert r.status_code == 303 and _facts(site).published == ("employees", "certifications")
    for who in ("visitor", "stranger"):
        page = c.get(f"/orgs/{org}", headers=_h(site, who))
        assert "data-public-facts" in page.text and "员工人数" in page.text and "120" in page.text and "高新技术企业" in page.text
        assert "3500" not in page.text and "上年营业收入" not in page.text and "2016-03-01" not in page.text
        got = c.get(f"/api/v1/organisations/{org}", headers=_h(site, who)).json()
        assert "facts" not in got and got["public_facts"] == {"employees": 120, "certifications": ["高新技术企业"], "verified": False}
        assert c.get(f"/api/v1/organisations/{org}/facts", headers=_h(site, who)).status_code == 404
    # publishing is not a change of the figures: an operator's verification stands
    assert c.post(f"/operator/orgs/{org}/facts/verify", data={"csrf": CSRF}, headers=_h(site, "operator"), follow_redirects=False).status_code == 303
    r = c.patch(f"/api/v1/organisations/{org}/facts", json={"published": ["员工人数", "revenue"]}, headers=_h(site, "owner"))
    assert r.status_code == 200 and r.json()["published"] == ["employees", "revenue"] and r.json()["verified"] is True
    r = c.patch(f"/api/v1/organisations/{org}/facts", json={"published": ["colour"]}, headers=_h(site, "owner"))
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "published" and _facts(site).published == ("employees", "revenue")
    assert c.patch(f"/api/v1/organisations/{org}", json={"published": []}, headers=_h(site, "owner")).status_code == 200
    assert _facts(site).published == ()
    assert "public_facts" not in c.get(f"/api/v1/organisations/{org}").json()


def test_check_evidence_reads_the_bytes() -> None:
    assert check_evidence("营业执照.pdf", PDF).content_type == "application/pdf"
    assert check_evidence("../../etc/证书.PNG", PNG, "certifications").filename == "证书.PNG"
    for name, data, fact, field in (("a.pdf", b"<html><script>alert(1)</script>", "", "file"), ("a.png", PDF, "", "file"),
                                    ("a.pdf", b"%PDF-" + b"0" * MAX_EVIDENCE_BYTES, "", "file"), ("a.pdf", PDF, "colour", "fact"),
                                    ("", b"", "", "file")):
        try:
            check_evidence(name, data, fact)
        except Exception as e:  # noqa: BLE001 - the typed error is checked below
            errs = getattr(e, "errors", [])
            assert errs and errs[0].field == field and errs[0].message.zh and errs[0].message.en, (name, errs)
        else:
            raise AssertionError(f"{name} was accepted")


def test_evidence_is_uploaded_by_admins_and_opened_by_the_firm_and_operators_only(site: dict[str, Any]) -> None:
    c, org = site["c"], site["org"]
    up = {"file": ("审计报告.pdf", PDF, "application/pdf")}
    r = c.post("/my/org/facts/evidence", data={"csrf": CSRF, "fact": "revenue"}, files=up, headers=_h(site, "owner"), follow_redirects=False)
    assert r.status_code == 303, r.text
    # a file that is not what it says: refused beside the form, in Chinese, nothing written
    r = c.post("/my/org/facts/evidence", data={"csrf": CSRF}, files={"file": ("x.pdf", b"<html>hi</html>", "application/pdf")},
               headers=_h(site, "owner"), follow_redirects=False)
    assert r.status_code == 422 and 'data-field="file"' in r.text and "证明材料" in r.text and "不是 PDF" in r.text
    big = {"file": ("big.pdf", b"%PDF-" + b"0" * MAX_EVIDENCE_BYTES, "application/pdf")}
    r = c.post("/my/org/facts/evidence", data={"csrf": CSRF}, files=big, headers=_h(site, "owner"), follow_redirects=False)
    assert r.status_code == 422 and "超过 5 MB" in r.text
    assert c.post("/my/org/facts/evidence", data={"csrf": CSRF}, files=up, headers=_h(site, "member"), follow_redirects=False).status_code == 403
    page = c.get("/my/org/facts", headers=_h(site, "member"))
    assert page.text.count("data-evidence-id=") == 1 and "审计报告.pdf" in page.text
    eid = c.get(f"/api/v1/organisations/{org}/facts", headers=_h(site, "owner")).json()["evidence"][0]["id"]
    url = f"/orgs/{org}/facts/evidence/{eid}"
    for who in ("owner", "member", "operator"):
        r = c.get(url, headers=_h(site, who))
        assert r.status_code == 200 and r.content == PDF and r.headers["content-type"] == "application/pdf"
        assert r.headers["content-disposition"].startswith("attachment;") and r.headers["x-content-type-options"] == "nosniff"
        assert "no-store" in r.headers["cache-control"]
    for who in ("stranger", "visitor"):
        assert c.get(url, headers=_h(site, who)).status_code == 404
        assert c.get(f"/api/v1/organisations/{org}/facts/evidence/{eid}", headers=_h(site, who)).status_code in (401, 404)
    assert c.get(f"/orgs/{site['other']}/facts/evidence/{eid}", headers=_h(site, "operator")).status_code == 404  # not that org's file
    # the API: upload, list, delete
    r = c.post(f"/api/v1/organisations/{org}/facts/evidence", data={"fact": "certifications"}, files={"file": ("证书.png", PNG, "image/png")},
               headers=_h(site, "owner"))
    assert r.status_code == 201 and r.json()["content_type"] == "image/png" and r.json()["fact"] == "certifications", r.text
    r = c.post(f"/api/v1/organisations/{org}/facts/evidence", files={"file": ("证书.pdf", PNG, "application/pdf")}, headers=_h(site, "owner"))
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "file"
    assert c.post(f"/api/v1/organisations/{org}/facts/evidence", files=up, headers=_h(site, "stranger")).status_code == 403
    assert c.delete(f"/api/v1/organisations/{org}/facts/evidence/{eid}", headers=_h(site, "member")).status_code == 403
    assert c.delete(f"/api/v1/organisations/{org}/facts/evidence/{eid}", headers=_h(site, "owner")).status_code == 204
    assert c.get(url, headers=_h(site, "owner")).status_code == 404
    assert len(c.get(f"/api/v1/organisations/{org}/facts", headers=_h(site, "operator")).json()["evidence"]) == 1
