"""The shared-token server (TokenIdentityProvider + SharedServerAuthorizer) on a real jupyter-server
with JupyterLab and terminals loaded: only the server token's owner runs code or touches files;
token users get the governance API and JupyterLab's page read-only; login cookies are bound to
the token that logged in; the /login form works for every token."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest

from mlgov_jupyter.server.identity import (
    SharedServerAuthorizer,
    TokenIdentityProvider,
    handler_resource,
    non_owner_may,
)

from conftest import TOKENS

BOB = {"Authorization": "token bob-token"}
NO_TOKEN = {"Authorization": ""}  # jp_fetch adds the server token unless the header is set


@pytest.fixture
def jp_server_config(jp_server_config):
    config = json.loads(json.dumps(jp_server_config))
    config["ServerApp"]["jpserver_extensions"].update(
        {"jupyterlab": True, "jupyter_server_terminals": True})
    # the OS user's name is also a token user here ("root"): a token never makes its user the owner
    config["TokenIdentityProvider"]["owner"] = "root"
    return config


@pytest.fixture
def notebook(jp_root_dir):
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# secret plan"}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (jp_root_dir / "plan.ipynb").write_text(json.dumps(nb))
    (jp_root_dir / "secret.txt").write_text("the owner's secret")
    return "plan.ipynb"


async def fetch(jp_fetch, *parts, headers=None, **kwargs):
    kwargs.setdefault("raise_error", False)
    kwargs.setdefault("follow_redirects", False)
    return await jp_fetch(*parts, headers=dict(headers or {}), **kwargs)


def cookies_of(resp) -> dict[str, str]:
    jar = SimpleCookie()
    for header in resp.headers.get_list("Set-Cookie"):
        jar.load(header)
    return {k: m.value for k, m in jar.items()}


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items() if v)


async def login_form(jp_fetch, password: str):
    """GET /login for the xsrf token, POST the form; returns (response, cookies)."""
    page = await fetch(jp_fetch, "login", headers=NO_TOKEN)
    assert page.code == 200, page.code
    xsrf = cookies_of(page)["_xsrf"]
    body = urlencode({"password": password, "_xsrf": xsrf})
    resp = await fetch(jp_fetch, "login", method="POST", body=body,
                       headers={**NO_TOKEN, "Cookie": f"_xsrf={xsrf}",
                                "Content-Type": "application/x-www-form-urlencoded"})
    return resp, cookies_of(resp)


def login_cookie(cookies: dict[str, str]) -> dict[str, str]:
    found = {k: v for k, v in cookies.items() if k.startswith("username-") and v}
    assert len(found) == 1, cookies
    return found


async def whoami(jp_fetch, headers):
    resp = await fetch(jp_fetch, "api", "mlgov", "whoami", headers=headers)
    return resp.code, (json.loads(resp.body) if resp.code == 200 else None)


# -- non-owners: no code, no files -------------------------------------------------------------

DENIED_TO_TOKEN_USERS = [
    ("POST", ("api", "kernels"), json.dumps({"name": "python3"})),
    ("GET", ("api", "kernels"), None),
    ("GET", ("api", "contents"), None),
    ("GET", ("api", "contents", "plan.ipynb"), None),
    ("PUT", ("api", "contents", "evil.py"), json.dumps({"type": "file", "format": "text", "content": "x"})),
    ("GET", ("files", "secret.txt"), None),
    ("GET", ("view", "secret.txt"), None),
    ("GET", ("api", "terminals"), None),
    ("POST", ("api", "terminals"), "{}"),
    ("GET", ("api", "sessions"), None),
    ("POST", ("api", "sessions"), json.dumps({"path": "a.ipynb", "type": "notebook",
                                                "kernel": {"name": "python3"}})),
    ("GET", ("api", "kernelspecs"), None),
    ("GET", ("nbconvert", "html", "plan.ipynb"), None),
    ("GET", ("api", "nbconvert"), None),
    ("POST", ("api", "events"), json.dumps({"schema_id": "x", "version": "1", "data": {}})),
    ("GET", ("api", "resolvePath"), None),
    ("PATCH", ("api", "config", "notebook"), json.dumps({"load_extensions": {"evil": True}})),
    ("GET", ("metrics",), None),
    ("POST", ("api", "shutdown"), ""),
    ("PUT", ("lab", "api", "settings", "@jupyterlab/shortcuts-extension:shortcuts"),
     json.dumps({"raw": "{}"})),
    ("PUT", ("lab", "api", "settings", "@jupyterlab/apputils-extension:sanitizer"),
     json.dumps({"raw": "{}"})),
    ("GET", ("lab", "api", "workspaces"), None),
    ("PUT", ("lab", "api", "workspaces", "default"), json.dumps({"data": {}, "metadata": {"id": "default"}})),
    # harmless commands, so that a regression does not start a real pip install or build
    ("POST", ("lab", "api", "extensions"), json.dumps({"cmd": "no-such-command"})),
    ("DELETE", ("lab", "api", "build"), None),
    ("POST", ("lab", "api", "plugins"), json.dumps({"cmd": "no-such-command"})),
]


@pytest.mark.parametrize("method,parts,body", DENIED_TO_TOKEN_USERS,
                         ids=lambda v: v if isinstance(v, str) and len(v) < 8 else None)
async def test_token_user_gets_403(jp_fetch, notebook, method, parts, body):
    resp = await fetch(jp_fetch, *parts, method=method, body=body, headers=BOB, allow_nonstandard_methods=True)
    assert resp.code == 403, (method, parts, resp.code, resp.body[:300])


async def test_token_user_named_like_the_owner_runs_no_code(jp_fetch, jp_serverapp):
    # "root" is the owner's name, but root-token is a token of the map, not the server's token
    assert jp_serverapp.identity_provider.owner == "root" and TOKENS["root-token"] == "root"
    resp = await fetch(jp_fetch, "api", "kernels", method="POST", body="{}",
                       headers={"Authorization": "token root-token"})
    assert resp.code == 403
    code, me = await whoami(jp_fetch, {"Authorization": "token root-token"})
    assert code == 200 and me["name"] == "root"


async def test_owner_may_do_it_all(jp_fetch, notebook):
    """The server token (jp_fetch's default header) is the owner's."""
    resp = await fetch(jp_fetch, "api", "kernels", method="POST", body=json.dumps({"name": "python3"}))
    assert resp.code == 201, resp.body
    kernel = json.loads(resp.body)["id"]
    try:
        for parts in [("api", "contents"), ("api", "contents", "plan.ipynb"), ("files", "secret.txt"),
                      ("api", "terminals"), ("api", "sessions"), ("api", "kernelspecs"),
                      ("nbconvert", "html", "plan.ipynb"), ("api", "kernels")]:
            resp = await fetch(jp_fetch, *parts)
            assert resp.code == 200, (parts, resp.code)
        resp = await fetch(jp_fetch, "files", "secret.txt")
        assert resp.body == b"the owner's secret"
    finally:
        await fetch(jp_fetch, "api", "kernels", kernel, method="DELETE")
    code, me = await whoami(jp_fetch, {})
    assert code == 200 and me["name"] == "root"


async def test_token_user_keeps_governance_and_lab_page(jp_fetch, jp_serverapp):
    code, me = await whoami(jp_fetch, BOB)
    assert code == 200 and me["name"] == "bob"
    resp = await fetch(jp_fetch, "api", "mlgov", "openapi.json", headers=BOB)
    assert resp.code == 200
    # JupyterLab renders, read-only, without the server token in its page
    resp = await fetch(jp_fetch, "lab", headers=BOB)
    assert resp.code == 200 and b"jupyter-config-data" in resp.body
    assert jp_serverapp.identity_provider.token.encode() not in resp.body
    for parts in [("api", "me"), ("api", "status"), ("lab", "api", "settings"),
                  ("lab", "api", "settings", "@jupyterlab/shortcuts-extension:shortcuts"),
                  ("lab", "api", "translations"), ("api", "spec.yaml")]:
        resp = await fetch(jp_fetch, *parts, headers=BOB)
        assert resp.code == 200, (parts, resp.code)
    # the theme is the one shared setting a token user may change
    resp = await fetch(jp_fetch, "lab", "api", "settings", "@jupyterlab/apputils-extension:themes",
                       method="PUT", body=json.dumps({"raw": '{"theme": "JupyterLab Dark"}'}), headers=BOB)
    assert resp.code == 204, (resp.code, resp.body)
    me = json.loads((await fetch(jp_fetch, "api", "me", headers=BOB,
                                 params={"permissions": json.dumps({"kernels": ["execute", "read"],
                                                                    "mlgov:assets": ["write"]})})).body)
    assert me["identity"]["username"] == "bob" and "token_fingerprint" not in me["identity"]
    assert me["permissions"]["kernels"] == [] and me["permissions"]["mlgov:assets"] == ["write"]


# -- the login form, and cookies bound to their token -------------------------------------------

async def test_login_form_with_a_user_token_then_the_cookie_works(jp_fetch):
    resp, cookies = await login_form(jp_fetch, "bob-token")
    assert resp.code == 302, (resp.code, resp.body[:300])
    cookie = {"Cookie": cookie_header(login_cookie(cookies)), **NO_TOKEN}
    code, me = await whoami(jp_fetch, cookie)
    assert code == 200 and me["name"] == "bob"
    # the cookie carries bob's rights, not more
    assert (await fetch(jp_fetch, "api", "contents", headers=cookie)).code == 403
    # no token, no cookie: nobody
    assert (await whoami(jp_fetch, NO_TOKEN))[0] == 403


async def test_removing_a_token_logs_its_browser_out(jp_fetch, jp_serverapp):
    _, cookies = await login_form(jp_fetch, "bob-token")
    cookie = {"Cookie": cookie_header(login_cookie(cookies)), **NO_TOKEN}
    assert (await whoami(jp_fetch, cookie))[1]["name"] == "bob"
    idp = jp_serverapp.identity_provider
    idp.tokens = {k: v for k, v in idp.tokens.items() if v != "bob"}
    resp = await fetch(jp_fetch, "api", "mlgov", "whoami", headers=cookie)
    assert resp.code in (401, 403)
    assert any(v == "" for v in cookies_of(resp).values())  # and the stale cookie is cleared
    # a page request goes back to the login form
    resp = await fetch(jp_fetch, "lab", headers=cookie)
    assert resp.code == 302 and "/login" in resp.headers["Location"]
    # alice's cookie is untouched
    _, alice = await login_form(jp_fetch, "alice-token")
    assert (await whoami(jp_fetch, {"Cookie": cookie_header(login_cookie(alice)), **NO_TOKEN}))[1]["name"] == "alice"


async def test_changing_a_token_logs_its_browser_out(jp_fetch, jp_serverapp):
    _, cookies = await login_form(jp_fetch, "bob-token")
    cookie = {"Cookie": cookie_header(login_cookie(cookies)), **NO_TOKEN}
    idp = jp_serverapp.identity_provider
    idp.tokens = {("bob-new-token" if v == "bob" else k): v for k, v in idp.tokens.items()}
    assert (await whoami(jp_fetch, cookie))[0] in (401, 403)
    resp, new = await login_form(jp_fetch, "bob-new-token")
    assert resp.code == 302
    assert (await whoami(jp_fetch, {"Cookie": cookie_header(login_cookie(new)), **NO_TOKEN}))[1]["name"] == "bob"
    # moving a token to another user does not carry the old user's cookie over either
    idp.tokens = {k: ("alice" if k == "bob-new-token" else v) for k, v in idp.tokens.items()}
    assert (await whoami(jp_fetch, {"Cookie": cookie_header(login_cookie(new)), **NO_TOKEN}))[0] in (401, 403)


async def test_token_in_url_sets_a_bound_cookie(jp_fetch, jp_serverapp):
    resp = await fetch(jp_fetch, "lab", headers=NO_TOKEN, params={"token": "bob-token"})
    assert resp.code == 200
    cookie = {"Cookie": cookie_header(login_cookie(cookies_of(resp))), **NO_TOKEN}
    assert (await whoami(jp_fetch, cookie))[1]["name"] == "bob"
    jp_serverapp.identity_provider.tokens = {k: v for k, v in TOKENS.items() if v != "bob"}
    assert (await whoami(jp_fetch, cookie))[0] in (401, 403)


async def test_cookie_expires_after_login_lifetime(jp_fetch, jp_serverapp):
    _, cookies = await login_form(jp_fetch, "bob-token")
    cookie = {"Cookie": cookie_header(login_cookie(cookies)), **NO_TOKEN}
    assert (await whoami(jp_fetch, cookie))[0] == 200
    jp_serverapp.identity_provider.login_lifetime_hours = 1e-9
    assert (await whoami(jp_fetch, cookie))[0] in (401, 403)


async def test_a_forged_or_old_style_cookie_is_refused(jp_fetch, jp_serverapp):
    """A cookie signed with the server's secret but without a current token's fingerprint (e.g.
    an old login, before fingerprints) is refused."""
    from tornado.web import create_signed_value

    secret = jp_serverapp.web_app.settings["cookie_secret"]
    page = await fetch(jp_fetch, "login", headers=NO_TOKEN)
    _, bob = await login_form(jp_fetch, "bob-token")
    name = next(iter(login_cookie(bob)))
    for value in [json.dumps({"username": "bob", "name": "bob", "display_name": "bob", "initials": "BO",
                              "avatar_url": None, "color": None}),
                  json.dumps({"username": "root", "tfp": "0" * 32}),
                  "not json"]:
        forged = create_signed_value(secret, name, value).decode()
        assert (await whoami(jp_fetch, {"Cookie": f"{name}={forged}", **NO_TOKEN}))[0] in (401, 403)
    assert page.code == 200


async def test_login_form_with_the_server_token_is_the_owner(jp_fetch, jp_serverapp, notebook):
    resp, cookies = await login_form(jp_fetch, jp_serverapp.identity_provider.token)
    assert resp.code == 302, (resp.code, resp.body[:300])
    cookie = {"Cookie": cookie_header(login_cookie(cookies)), **NO_TOKEN}
    code, me = await whoami(jp_fetch, cookie)
    assert code == 200 and me["name"] == "root"
    assert (await fetch(jp_fetch, "api", "contents", headers=cookie)).code == 200
    # rotating the server token logs the owner's browser out too
    jp_serverapp.identity_provider.token = "a-new-server-token"
    assert (await fetch(jp_fetch, "api", "contents", headers=cookie)).code in (401, 403)


@pytest.mark.parametrize("password", ["wrong-token", "", "bob", "bob-token ", "x" * 5000])
async def test_login_form_with_a_wrong_token_shows_the_form_again(jp_fetch, password):
    resp, cookies = await login_form(jp_fetch, password)
    if password == "bob-token ":  # surrounding blanks (a paste) are forgiven
        assert resp.code == 302
        return
    assert resp.code == 401, resp.code
    assert b"Invalid credentials" in resp.body and b"<form" in resp.body
    assert not any(k.startswith("username-") and v for k, v in cookies.items())


# -- the policy itself --------------------------------------------------------------------------

def test_policy_table():
    for resource in ["mlgov", "mlgov:assets", "mlgov:openapi"]:
        for action in ["read", "write", "execute"]:
            assert non_owner_may(action, resource)
    for resource in ["kernels", "kernelspecs", "sessions", "terminals", "contents", "nbconvert", "events",
                     "server", "config", "lsp", "metrics", "csp", "lab:build", "lab:extensions",
                     "lab:plugins", "lab:workspaces", "mlgovx", "unknown:foo.Bar", ""]:
        for action in ["read", "write", "execute"]:
            assert not non_owner_may(action, resource), (action, resource)
    for resource in ["lab", "api", "lab:settings", "lab:themes", "static", "page",
                     "lab:settings:@jupyterlab/shortcuts-extension:shortcuts"]:
        assert non_owner_may("read", resource)
        assert not non_owner_may("write", resource)
    # the one shared write: lab's theme (the browser tests switch to dark as token users)
    assert non_owner_may("write", "lab:settings:@jupyterlab/apputils-extension:themes")


def test_every_handler_of_lab_and_the_server_has_a_named_resource(jp_serverapp):
    """A handler nobody named is refused to non-owners; list the installed ones so a new
    JupyterLab handler shows up here (and gets a deliberate decision)."""
    unnamed = []
    app = jp_serverapp.web_app
    for router in (app.default_router, app.wildcard_router):
        for rule in router.rules:
            for r in getattr(rule.target, "rules", [rule]):
                cls = r.target
                if not isinstance(cls, type):
                    continue
                fake = cls.__new__(cls)
                if handler_resource(fake).startswith("unknown:"):
                    unnamed.append(f"{cls.__module__}.{cls.__qualname__}")
    assert unnamed == [], unnamed


def test_authorizer_is_the_configured_one(jp_serverapp):
    assert isinstance(jp_serverapp.authorizer, SharedServerAuthorizer)
    assert isinstance(jp_serverapp.identity_provider, TokenIdentityProvider)


def test_bad_configuration_is_refused():
    from traitlets import TraitError

    with pytest.raises(TraitError):
        TokenIdentityProvider(tokens={"": "bob"})
    with pytest.raises(TraitError):
        TokenIdentityProvider(login_lifetime_hours=0)
