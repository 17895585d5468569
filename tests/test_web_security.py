"""Security of the workspace over real HTTP: every route × role, CSRF, escaping of untrusted
document text, headers, cookies, login rate limit, redirects and paths.

(That injected markup stays inert in real Chromium is checked in test_web_browser.py.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from secprio.project import Project
from secprio.web.auth import RANK
from secprio.web.routing import ROUTES
from tests.conftest import write_doc
from tests.web_helpers import PASSWORD, client, login, served

INJECT = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
TITLE = '"><script>window.pwned=3</script>'


@pytest.fixture
def site(project: Project, tmp_path: Path):
    folder = tmp_path / "evil"
    folder.mkdir()
    path = write_doc(
        folder,
        "evil.md",
        "2020-01-01",
        "news",
        "TR",
        "en",
        [f"Military cooperation grew. {INJECT} Terrorism is a threat."],
    )
    text = path.read_text(encoding="utf-8").replace("title: Document evil.md", f"title: '{TITLE}'")
    path.write_text(text.replace("issuer: TR", "issuer: '<b>TR</b>'"), encoding="utf-8")
    project.ingest([folder])
    project.code()
    from tests.web_helpers import add_user

    for name, role in (("ada", "admin"), ("cem", "coder"), ("vera", "viewer")):
        add_user(project, name, role)
    aid = project.store.add_assignment(
        "a", ["cem"], [int(project.sentences()["segment_id"].iat[0])], blind=True, actor="ada"
    )
    with served(project, team=True) as url:
        yield project, url, aid


def _fill(path: str, project: Project, aid: int) -> str:
    doc = int(project.documents()["document_id"].iat[0])
    return (
        path.replace("{doc_id:int}", str(doc))
        .replace("{aid:int}", str(aid))
        .replace("{kind}", "validation")
        .replace("{name}", "vera")
    )


def _expected(role: str | None, needed: str, method: str) -> set[int]:
    if needed == "anonymous":
        return {200, 303, 400, 401, 403}  # the login form and its POST judge for themselves
    if role is None:
        return {303} if method == "GET" else {401}
    if RANK[role] < RANK[needed]:
        return {403}
    return {200, 303, 400, 404, 409}


@pytest.mark.parametrize("role", [None, "viewer", "coder", "admin"])
def test_every_route_requires_its_role(site, role) -> None:
    project, url, aid = site
    who = {None: None, "viewer": "vera", "coder": "cem", "admin": "ada"}[role]
    b = login(url, who) if who else client(url)
    seen = 0
    last = [r for r in ROUTES if r.path == "/logout"]  # it ends the session: walk it last
    for route in [r for r in ROUTES if r.path != "/logout"] + last:
        for method in route.methods:
            path = _fill(route.path, project, aid)
            if method == "GET":
                res = b.get(path)
            else:
                res = b.post(path, json={}, headers={"X-CSRF-Token": b.csrf})
            want = _expected(role, route.role, method)
            if route.path == "/assignments/{aid:int}" and role == "viewer":
                want = {403}  # the role may read assignments, but this one is not vera's
            assert res.status_code in want, (role, method, path, res.status_code, res.text[:300])
            if role is None and route.role != "anonymous" and method == "GET":
                assert res.headers["location"].startswith("/login")
            seen += 1
    assert seen == sum(len(r.methods) for r in ROUTES) >= 20


def test_a_state_change_without_the_right_csrf_token_is_refused(site) -> None:
    project, url, aid = site
    admin = login(url, "ada")
    seg = int(project.sentences()["segment_id"].iat[0])
    before = len(project.store.audit_log(10_000))
    for token in ("", "wrong-token"):
        r = admin.post_json("/api/decide", {"segment": seg, "labels": [], "version": 0}, csrf=token)
        assert r.status_code == 403 and "CSRF" in r.json()["error"]
        r = admin.post_form(
            "/admin/users", {"name": "mallory", "password": PASSWORD, "role": "admin"}, csrf=token
        )
        assert r.status_code == 403
        r = admin.post_form(f"/assignments/{aid}/finish", {}, csrf=token)
        assert r.status_code == 403
        r = admin.post_form("/logout", {}, csrf=token)
        assert r.status_code == 403
    assert project.store.user("mallory") is None
    assert project.store.latest_decisions() == []
    assert len(project.store.audit_log(10_000)) == before
    # another session's token is no good either
    other = login(url, "cem")
    r = admin.post_json(
        "/api/decide", {"segment": seg, "labels": [], "version": 0}, csrf=other.csrf
    )
    assert r.status_code == 403
    # the login form's own token is checked too
    fresh = client(url)
    fresh.get("/login")
    r = fresh.post("/login", data={"csrf": "forged", "name": "ada", "password": PASSWORD})
    assert r.status_code == 403


def test_document_text_and_metadata_are_escaped_everywhere(site) -> None:
    project, url, aid = site
    admin = login(url, "ada")
    doc = project.documents()
    doc_id = int(doc.loc[doc["path"].str.endswith("evil.md"), "document_id"].iat[0])
    seg = int(
        project.sentences(text=True)
        .query("text.str.contains('pwned')", engine="python")["segment_id"]
        .iat[0]
    )
    admin.post_json(
        "/api/decide",
        {"segment": seg, "labels": [], "version": 0, "memo": "<script>window.pwned=4</script>"},
    )
    pages = [
        f"/doc/{doc_id}",
        "/",
        "/?q=pwned",
        "/queue/validation",
        "/admin/audit",
        "/cell?by=issuer&value=<b>TR</b>&category=military_cooperation",
        "/grid?by=issuer",
    ]
    for path in pages:
        body = admin.get(path).text
        assert "<script>window" not in body and "<img src=x" not in body, path
        assert "<b>TR</b>" not in body, path
    reader = admin.get(f"/doc/{doc_id}").text
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in reader
    assert "&#34;&gt;&lt;script&gt;" in reader or "&quot;&gt;&lt;script&gt;" in reader


def test_every_response_has_a_strict_csp_and_no_inline_script(site) -> None:
    _, url, _ = site
    admin = login(url, "ada")
    for path in ("/", "/login", "/static/app.js", "/nope", "/codebook", "/assignments"):
        res = admin.get(path)
        csp = res.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp, path
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert res.headers["x-content-type-options"] == "nosniff"
        if res.headers.get("content-type", "").startswith("text/html"):
            assert not re.search(r"<script(?![^>]*\bsrc=)", res.text), path
            assert not re.search(r"\son[a-z]+\s*=", res.text.replace("onerror=", "")), path
    templates = Path(__file__).parent.parent / "src/secprio/web/templates"
    for t in templates.glob("*.html"):
        text = t.read_text(encoding="utf-8")
        assert not re.search(r"\son[a-z]+=", text) and "style=" not in text, t.name


def test_session_cookie_is_httponly_and_samesite_and_dies_at_logout(site) -> None:
    _, url, _ = site
    b = client(url)
    token = re.findall(r'name="csrf" value="([^"]*)"', b.get("/login").text)[0]
    res = b.post("/login", data={"csrf": token, "name": "cem", "password": PASSWORD})
    cookie = res.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    b.page("/")
    old = dict(b.cookies)
    assert b.post_form("/logout", {}).status_code == 303
    replay = client(url)
    replay.cookies.update(old)
    assert replay.get("/").status_code == 303  # the old token opens nothing


def test_logins_are_rate_limited(site) -> None:
    _, url, _ = site
    b = client(url)
    codes = []
    for pw in ["wrong"] * 6 + [PASSWORD]:
        token = re.findall(r'name="csrf" value="([^"]*)"', b.get("/login").text)[0]
        codes.append(
            b.post("/login", data={"csrf": token, "name": "vera", "password": pw}).status_code
        )
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]  # even the right password waits


def test_no_open_redirect_and_no_paths_from_requests(site) -> None:
    _, url, _ = site
    b = client(url)
    token = re.findall(r'name="csrf" value="([^"]*)"', b.get("/login?next=//evil.example").text)[0]
    res = b.post(
        "/login",
        data={"csrf": token, "name": "cem", "password": PASSWORD, "next": "//evil.example/x"},
    )
    assert res.headers["location"] == "/"
    for path in (
        "/static/../secprio.yaml",
        "/static/%2e%2e/%2e%2e/secprio.yaml",
        "/static/..%2fapp.py",
        "/doc/../../etc/passwd",
    ):
        r = b.get(path)
        assert r.status_code in (303, 404), path
        assert "store:" not in r.text and "import" not in r.text


def test_oversized_and_malformed_bodies_are_refused(site) -> None:
    _, url, _ = site
    coder = login(url, "cem")
    big = coder.post(
        "/api/decide",
        content=b"{" + b" " * 400_000 + b"}",
        headers={"X-CSRF-Token": coder.csrf, "Content-Type": "application/json"},
    )
    assert big.status_code == 413
    bad = coder.post(
        "/api/decide",
        content=b"[not json",
        headers={"X-CSRF-Token": coder.csrf, "Content-Type": "application/json"},
    )
    assert bad.status_code == 400 and "JSON" in bad.json()["error"]
