#!/usr/bin/env python3
"""OpenID Connect relying party built on Authlib, run against a tokenward example server.

Discovery, authorization code flow with PKCE (S256), state, nonce and the RFC 9207 `iss`
authorization response parameter, ID Token validation by Authlib (signature from the JWKS, iss,
aud, exp, iat, nonce, at_hash, azp), UserInfo, refresh-token rotation and replay refusal, and
revocation (RFC 7009) of the access token.

Usage (Python with tests/interop/oidc/requirements.txt installed):

    OIDC_ISSUER=http://127.0.0.1:PORT OIDC_CLIENT_ID=interop OIDC_CLIENT_SECRET=... \
    OIDC_REDIRECT_URI=http://127.0.0.1:9/cb OIDC_USERNAME=interop-user OIDC_PASSWORD=... \
    python authlib_rp.py

Optional: OIDC_CLIENT_AUTH=client_secret_basic (default, Authlib's own default) |
client_secret_post; OIDC_EMAIL=<the user's expected email>.

The redirect URI is never served: the login form is driven over plain HTTP with a separate
`requests.Session` (the "browser"), and the `Location` of the final 303 is handed to Authlib's
`fetch_token(authorization_response=...)` as the callback URL.

Prints one line per step; on failure prints what failed, with the HTTP exchanges of that step
(secrets redacted), and exits 1 (2 for a configuration error).

Notes on Authlib (1.9.x) that shape this program; none of them is a server deviation:
- Authlib's client_secret_basic sends `client_id:client_secret` without the
  application/x-www-form-urlencoded step that RFC 6749 §2.3.1 requires before Basic encoding.
  It only matters for ids or secrets with characters that form-encoding changes; the harness
  uses secrets made of unreserved characters only (which encode to themselves), so this does
  not hide anything about the server. tokenward (correctly) URL-decodes the Basic credentials,
  so it refuses Authlib's client_secret_basic (401 invalid_client) for a secret such as "a+b%c"
  while accepting the RFC form. Authlib fixed this once and reverted it (authlib/authlib PR
  #594); client_secret_post, or such characters avoided in secrets, sidesteps it.
- Authlib does not check the RFC 9207 `iss` response parameter itself; this program does.
- Authlib (OAuth2Client) keeps the old refresh token when a refresh response carries none, so
  the rotation check reads the raw token response, not `session.token`.
- `authlib.jose` is deprecated since Authlib 1.7 in favour of joserfc (same author, an Authlib
  dependency). ID Token validation therefore follows Authlib's own relying-party code
  (`authlib.integrations.base_client.sync_openid.OpenIDMixin.parse_id_token`): joserfc verifies
  the JWS against the JWKS, then Authlib's `CodeIDToken` claims class validates the claims.
"""

from __future__ import annotations

import html.parser
import os
import sys
import time
import urllib.parse

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.requests_client import OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

SCOPE = "openid profile email items:read"
LEEWAY = 5  # seconds: server and relying party run on the same machine
HTTP_TIMEOUT = 30


# ---------------------------------------------------------------------------------------------
# configuration


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if not value:
        print(f"FAIL: environment variable {name} is required", file=sys.stderr)
        sys.exit(2)
    return value


ISSUER = env("OIDC_ISSUER")
CLIENT_ID = env("OIDC_CLIENT_ID")
CLIENT_SECRET = env("OIDC_CLIENT_SECRET")
REDIRECT_URI = env("OIDC_REDIRECT_URI")
USERNAME = env("OIDC_USERNAME")
PASSWORD = env("OIDC_PASSWORD")
CLIENT_AUTH = env("OIDC_CLIENT_AUTH", "client_secret_basic")
EXPECTED_EMAIL = os.environ.get("OIDC_EMAIL") or None
if CLIENT_AUTH not in ("client_secret_basic", "client_secret_post"):
    print(f"FAIL: OIDC_CLIENT_AUTH={CLIENT_AUTH!r} is not supported", file=sys.stderr)
    sys.exit(2)

SECRETS = [s for s in (PASSWORD, CLIENT_SECRET) if s]


# ---------------------------------------------------------------------------------------------
# step runner and HTTP trace


class Fail(Exception):
    pass


def check(condition: object, message: str) -> None:
    if not condition:
        raise Fail(message)


exchanges: list[requests.Response] = []


def record(response: requests.Response, *args, **kwargs) -> None:
    exchanges.append(response)


def redact(text: str) -> str:
    for secret in SECRETS:
        for form in {secret, urllib.parse.quote_plus(secret), urllib.parse.quote(secret, safe="")}:
            text = text.replace(form, "<redacted>")
    return text


def shorten(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


def describe(response: requests.Response) -> str:
    request = response.request
    lines = [f"  > {request.method} {request.url}"]
    for name, value in request.headers.items():
        if name.lower() in ("authorization", "cookie"):
            value = value.split(" ", 1)[0] + " <redacted>" if name.lower() == "authorization" else "<redacted>"
        lines.append(f"  > {name}: {value}")
    if request.body:
        body = request.body.decode("utf-8", "replace") if isinstance(request.body, bytes) else str(request.body)
        lines.append(f"  > {shorten(redact(body))}")
    lines.append(f"  < {response.status_code} {response.reason}")
    for name, value in response.headers.items():
        lines.append(f"  < {name}: {value}")
    if response.text:
        lines.append(f"  < {shorten(response.text)}")
    return "\n".join(lines)


step_no = 0


def step(name: str, fn):
    """Runs one step; prints `ok` with a summary, or the failure and the step's HTTP trace."""
    global step_no
    step_no += 1
    first = len(exchanges)
    try:
        summary = fn()
    except Exception as error:  # noqa: BLE001 - every failure ends the run with its context
        kind = "" if isinstance(error, Fail) else f"{type(error).__name__}: "
        print(f"step {step_no} {name}: FAILED: {kind}{error}", flush=True)
        if exchanges[first:]:
            print("HTTP exchanges of this step:")
            for response in exchanges[first:]:
                print(describe(response))
        sys.exit(1)
    print(f"step {step_no} {name}: ok" + (f" ({summary})" if summary else ""), flush=True)


def new_http_session(cls=requests.Session, **kwargs) -> requests.Session:
    session = cls(**kwargs)
    session.trust_env = False  # loopback only: no proxy from the environment
    session.hooks["response"].append(record)
    return session


def get(session: requests.Session, url: str, **kwargs) -> requests.Response:
    return session.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT, **kwargs)


def json_body(response: requests.Response, what: str) -> dict:
    ctype = response.headers.get("Content-Type", "")
    check(ctype.split(";")[0].strip().lower() == "application/json", f"{what}: Content-Type is {ctype!r}, not application/json")
    try:
        body = response.json()
    except ValueError as error:
        raise Fail(f"{what}: body is not JSON: {error}") from None
    check(isinstance(body, dict), f"{what}: body is not a JSON object")
    return body


# ---------------------------------------------------------------------------------------------
# HTML login form (html.parser, no regular expressions)


class FormParser(html.parser.HTMLParser):
    """Collects every <form> with its method, action and <input> elements."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._current: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._current = {"method": attrs.get("method", "get").lower(), "action": attrs.get("action", ""), "inputs": []}
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None:
            self._current["inputs"].append(attrs)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def login_form(page: str) -> dict:
    parser = FormParser()
    parser.feed(page)
    parser.close()
    for form in parser.forms:
        names = {i.get("name") for i in form["inputs"]}
        if form["method"] == "post" and {"username", "password"} <= names:
            return form
    raise Fail(f"no POST form with username and password fields on the login page ({len(parser.forms)} forms)")


# ---------------------------------------------------------------------------------------------
# the flow

state: dict = {}


def discovery():
    browser = new_http_session()
    state["browser"] = browser
    url = f"{ISSUER}/.well-known/openid-configuration"
    response = get(browser, url)
    check(response.status_code == 200, f"GET {url}: {response.status_code}, expected 200")
    meta = json_body(response, "discovery")
    # OpenID Connect Discovery 1.0 §4.3: the issuer MUST be identical to the one used for discovery.
    check(meta.get("issuer") == ISSUER, f"issuer is {meta.get('issuer')!r}, expected exactly {ISSUER!r} (Discovery §4.3)")
    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint", "revocation_endpoint"):
        check(isinstance(meta.get(field), str) and meta[field].startswith(ISSUER + "/"), f"{field} is {meta.get(field)!r}")
    check("code" in meta.get("response_types_supported", []), "response_types_supported lacks 'code'")
    check("S256" in meta.get("code_challenge_methods_supported", []), "code_challenge_methods_supported lacks 'S256'")
    check("RS256" in meta.get("id_token_signing_alg_values_supported", []), "id_token_signing_alg_values_supported lacks 'RS256'")
    check("openid" in meta.get("scopes_supported", []), "scopes_supported lacks 'openid'")
    methods = meta.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
    check(CLIENT_AUTH in methods, f"token_endpoint_auth_methods_supported {methods} lacks {CLIENT_AUTH}")
    check(meta.get("authorization_response_iss_parameter_supported") is True, "authorization_response_iss_parameter_supported is not true (RFC 9207 §3)")
    state["meta"] = meta

    # The relying party proper: Authlib's requests client, configured from discovery.
    session = new_http_session(
        OAuth2Session,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scope=SCOPE,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method=CLIENT_AUTH,
        revocation_endpoint_auth_method=CLIENT_AUTH,
        default_timeout=HTTP_TIMEOUT,
    )
    state["rp"] = session
    token_responses: list[requests.Response] = []
    state["token_responses"] = token_responses

    def keep(response):
        token_responses.append(response)
        return response

    session.register_compliance_hook("access_token_response", keep)
    session.register_compliance_hook("refresh_token_response", keep)
    return f"issuer {meta['issuer']}"


def authorization_request():
    meta = state["meta"]
    session: OAuth2Session = state["rp"]
    code_verifier = generate_token(48)  # 48 characters of [A-Za-z0-9], RFC 7636 §4.1
    nonce = generate_token(24)
    url, st = session.create_authorization_url(meta["authorization_endpoint"], code_verifier=code_verifier, nonce=nonce)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    check(query.get("code_challenge_method") == "S256" and query.get("code_challenge"), f"Authlib built no S256 challenge: {url}")
    check(query.get("nonce") == nonce and query.get("state") == st, "Authlib dropped state or nonce")
    state.update(code_verifier=code_verifier, nonce=nonce, state=st, authorization_url=url)

    response = get(state["browser"], url)
    check(response.status_code == 200, f"GET authorization URL: {response.status_code}, expected 200 with the login page")
    ctype = response.headers.get("Content-Type", "")
    check(ctype.lower().startswith("text/html"), f"login page Content-Type is {ctype!r}")
    state["login_page"] = response
    return "login page served"


def login():
    page: requests.Response = state["login_page"]
    form = login_form(page.text)
    action = urllib.parse.urljoin(page.url, form["action"])
    check(action == f"{ISSUER}/authorize/login", f"login form posts to {action!r}, expected {ISSUER}/authorize/login")
    data = {}
    for field in form["inputs"]:
        if field.get("type", "text").lower() == "hidden" and field.get("name"):
            data[field["name"]] = field.get("value", "")
    check(data.get("pending") and data.get("csrf"), f"login form lacks hidden pending/csrf values (hidden fields: {sorted(data)})")
    data.update(username=USERNAME, password=PASSWORD)
    response = state["browser"].post(action, data=data, allow_redirects=False, timeout=HTTP_TIMEOUT)
    check(response.status_code == 303, f"POST {action}: {response.status_code}, expected 303 to the redirect URI")
    location = response.headers.get("Location", "")
    check(location, "303 without Location")
    state["callback"] = urllib.parse.urljoin(action, location)
    return "303 to the redirect URI"


def callback():
    url = state["callback"]
    parts = urllib.parse.urlsplit(url)
    expected = urllib.parse.urlsplit(REDIRECT_URI)
    check(
        (parts.scheme, parts.netloc, parts.path) == (expected.scheme, expected.netloc, expected.path),
        f"redirected to {url!r}, not to the redirect URI {REDIRECT_URI!r}",
    )
    check(not parts.fragment, "authorization response in a fragment (response_mode must be query)")
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    check("error" not in query, f"authorization error: {query}")
    for name in ("code", "state", "iss"):
        check(len(query.get(name, [])) == 1, f"callback has {len(query.get(name, []))} {name!r} parameters, expected 1")
    check(query["state"][0] == state["state"], "state in the callback differs from the one sent (RFC 6749 §4.1.2)")
    # RFC 9207 §2.4: the client MUST compare iss with the issuer identifier it expects.
    check(query["iss"][0] == ISSUER, f"iss in the callback is {query['iss'][0]!r}, expected {ISSUER!r} (RFC 9207 §2.4)")
    return "state and iss match"


def token_exchange():
    session: OAuth2Session = state["rp"]
    token = session.fetch_token(
        state["meta"]["token_endpoint"],
        authorization_response=state["callback"],
        state=state["state"],  # Authlib compares it again (MismatchingStateException)
        code_verifier=state["code_verifier"],
    )
    raw = state["token_responses"][-1]
    check(raw.status_code == 200, f"token endpoint answered {raw.status_code}")
    body = json_body(raw, "token response")
    # RFC 6749 §5.1
    check("no-store" in raw.headers.get("Cache-Control", "").lower(), "token response lacks Cache-Control: no-store (RFC 6749 §5.1)")
    check(str(body.get("token_type", "")).lower() == "bearer", f"token_type is {body.get('token_type')!r}")
    check(isinstance(body.get("expires_in"), int) and body["expires_in"] > 0, f"expires_in is {body.get('expires_in')!r}")
    for field in ("access_token", "refresh_token", "id_token"):
        check(isinstance(body.get(field), str) and body[field], f"token response lacks {field}")
    granted = set(str(body.get("scope", SCOPE)).split())
    check(granted == set(SCOPE.split()), f"granted scope {sorted(granted)} differs from the requested {sorted(SCOPE.split())}")
    state["token"] = dict(token)
    return f"{CLIENT_AUTH}, scope {' '.join(sorted(granted))}"


def jwks() -> KeySet:
    response = get(state["browser"], state["meta"]["jwks_uri"])
    check(response.status_code == 200, f"GET jwks_uri: {response.status_code}")
    body = json_body(response, "JWKS")
    keys = body.get("keys")
    check(isinstance(keys, list) and keys, "JWKS has no keys")
    for key in keys:
        check(key.get("kid"), f"JWKS key without kid: {key.get('kty')}")
    return KeySet.import_key_set(body)


def decode_id_token(id_token: str, key_set: KeySet, access_token: str, nonce: str | None, options: dict):
    """Authlib's relying-party validation (see OpenIDMixin.parse_id_token), with stricter options."""
    algorithms = state["meta"]["id_token_signing_alg_values_supported"]
    token = jwt.decode(id_token, key_set, registry=JWSRegistry(algorithms=algorithms, strict_check_header=False))
    params = {"client_id": CLIENT_ID, "access_token": access_token}
    if nonce is not None:
        params["nonce"] = nonce
    claims = CodeIDToken(token.claims, token.header, options, params)
    claims.validate(leeway=LEEWAY)
    return claims


def id_token_options(**extra) -> dict:
    options = {
        "iss": {"essential": True, "value": ISSUER},
        "aud": {"essential": True, "value": CLIENT_ID},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "auth_time": {"essential": True},
        # OIDC Core §3.1.3.6 makes at_hash OPTIONAL for the code flow; the tokenward contract
        # promises it, and Authlib checks it when present.
        "at_hash": {"essential": True},
    }
    options.update(extra)
    return options


def id_token():
    token = state["token"]
    raw = token["id_token"]
    key_set = jwks()
    state["key_set"] = key_set
    claims = decode_id_token(
        raw, key_set, token["access_token"], state["nonce"], id_token_options(nonce={"essential": True, "value": state["nonce"]})
    )
    header = claims.header
    check(header.get("alg") == "RS256", f"id_token alg is {header.get('alg')!r}, expected RS256 (the client registered no other)")
    check(header.get("kid"), "id_token header has no kid")
    check(header.get("typ") in (None, "JWT"), f"id_token typ is {header.get('typ')!r} (absent or JWT expected)")
    now = time.time()
    check(isinstance(claims["sub"], str) and claims["sub"], "sub is not a non-empty string (OIDC Core §2)")
    check(claims["iat"] <= now + LEEWAY and claims["iat"] >= now - 300, f"iat {claims['iat']} is not current")
    check(claims["auth_time"] <= now + LEEWAY and claims["auth_time"] >= now - 300, f"auth_time {claims['auth_time']} is not the login just made")
    check(claims["exp"] > claims["iat"], "exp is not after iat")

    # Authlib must actually be validating: the same token with another nonce, or checked as the
    # token of another access token, has to be refused.
    for what, nonce, access_token in (("a wrong nonce", "not-" + state["nonce"], token["access_token"]), ("a wrong at_hash", state["nonce"], token["access_token"] + "x")):
        try:
            decode_id_token(raw, key_set, access_token, nonce, id_token_options(nonce={"essential": True, "value": nonce}))
        except JoseError:
            pass
        else:
            raise Fail(f"self-check: Authlib accepted the id_token with {what}; the validation is not running")
    state["claims"] = claims
    return f"RS256 kid {header['kid']}, sub {claims['sub']}, nonce and at_hash verified by Authlib"


def userinfo():
    session: OAuth2Session = state["rp"]
    response = session.get(state["meta"]["userinfo_endpoint"])
    check(response.status_code == 200, f"GET userinfo: {response.status_code}, expected 200")
    info = json_body(response, "userinfo")
    # OIDC Core §5.3.2: the sub in the UserInfo response MUST match the sub of the ID Token.
    check(info.get("sub") == state["claims"]["sub"], f"userinfo sub {info.get('sub')!r} differs from the id_token sub")
    check(info.get("preferred_username") == USERNAME, f"preferred_username is {info.get('preferred_username')!r}, expected {USERNAME!r}")
    check(isinstance(info.get("name"), str) and info["name"], "userinfo lacks name (scope profile)")
    check(isinstance(info.get("email"), str) and info["email"], "userinfo lacks email (scope email)")
    if EXPECTED_EMAIL:
        check(info["email"] == EXPECTED_EMAIL, f"email is {info['email']!r}, expected {EXPECTED_EMAIL!r}")
    check(isinstance(info.get("email_verified"), bool), f"email_verified is {info.get('email_verified')!r}, not a boolean (OIDC Core §5.1)")

    items = session.get(f"{ISSUER}/items")
    check(items.status_code == 200, f"GET /items with the access token (scope items:read): {items.status_code}")
    return "sub, name, preferred_username, email; /items answers 200"


def refresh():
    session: OAuth2Session = state["rp"]
    old = state["token"]
    new = session.refresh_token(state["meta"]["token_endpoint"])
    raw = state["token_responses"][-1]
    check(raw.status_code == 200, f"refresh answered {raw.status_code}")
    body = json_body(raw, "refresh response")
    check("no-store" in raw.headers.get("Cache-Control", "").lower(), "refresh response lacks Cache-Control: no-store (RFC 6749 §5.1)")
    check(isinstance(body.get("refresh_token"), str) and body["refresh_token"], "refresh response carries no new refresh token (rotation expected)")
    check(body["refresh_token"] != old["refresh_token"], "the refresh token did not rotate")
    check(body.get("access_token") and body["access_token"] != old["access_token"], "no new access token")
    note = "no id_token"
    if body.get("id_token"):
        # OIDC Core §12.2: same iss, sub, aud (and azp); iat new; auth_time of the original
        # authentication; a nonce, if any, equal to the original one (errata, issue 1025).
        claims = decode_id_token(body["id_token"], state["key_set"], body["access_token"], None, id_token_options(auth_time={"essential": False}))
        first = state["claims"]
        for name in ("iss", "sub", "aud"):
            check(claims.get(name) == first.get(name), f"refreshed id_token {name} {claims.get(name)!r} differs from the original {first.get(name)!r} (OIDC Core §12.2)")
        check(claims.get("azp") == first.get("azp"), "refreshed id_token azp differs (OIDC Core §12.2)")
        if "auth_time" in claims:
            check(claims["auth_time"] == first["auth_time"], "refreshed id_token auth_time is not the original authentication time (OIDC Core §12.2)")
        if "nonce" in claims:
            check(claims["nonce"] == state["nonce"], "refreshed id_token carries another nonce")
        note = "id_token re-validated (OIDC Core §12.2)"
    state["old_refresh_token"] = old["refresh_token"]
    state["token"] = dict(new)

    response = session.get(state["meta"]["userinfo_endpoint"])
    check(response.status_code == 200, f"userinfo with the new access token: {response.status_code}")
    check(json_body(response, "userinfo").get("sub") == state["claims"]["sub"], "userinfo sub changed after refresh")
    return f"refresh token rotated, {note}, new access token accepted"


def revoke():
    session: OAuth2Session = state["rp"]
    access_token = state["token"]["access_token"]
    response = session.revoke_token(state["meta"]["revocation_endpoint"], token=access_token, token_type_hint="access_token")
    check(response.status_code == 200, f"revocation answered {response.status_code}, expected 200 (RFC 7009 §2.2)")
    response = session.get(state["meta"]["userinfo_endpoint"])
    check(response.status_code == 401, f"userinfo with the revoked access token: {response.status_code}, expected 401")
    challenge = response.headers.get("WWW-Authenticate", "")
    check(challenge.lower().startswith("bearer") and 'error="invalid_token"' in challenge, f"WWW-Authenticate is {challenge!r} (RFC 6750 §3.1: Bearer error=\"invalid_token\")")
    return "access token revoked, userinfo answers 401 invalid_token"


def replay():
    session: OAuth2Session = state["rp"]
    try:
        session.refresh_token(state["meta"]["token_endpoint"], refresh_token=state["old_refresh_token"])
    except OAuthError as error:
        raw = exchanges[-1]
        check(raw.status_code == 400, f"replayed refresh token: {raw.status_code}, expected 400 (RFC 6749 §5.2)")
        check(error.error == "invalid_grant", f"replayed refresh token: error {error.error!r}, expected invalid_grant (RFC 6749 §5.2)")
        return "used refresh token refused: 400 invalid_grant"
    raise Fail("the server accepted a refresh token that had already been used (RFC 9700 §4.14.2)")


def main() -> None:
    print(f"Authlib relying party against {ISSUER} ({CLIENT_AUTH})", flush=True)
    step("discovery", discovery)
    step("authorization request", authorization_request)
    step("login form", login)
    step("callback", callback)
    step("token exchange", token_exchange)
    step("id_token", id_token)
    step("userinfo", userinfo)
    step("refresh", refresh)
    step("revocation", revoke)
    step("refresh token replay", replay)
    print("authlib: all steps ok", flush=True)


if __name__ == "__main__":
    main()
