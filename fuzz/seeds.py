#!/usr/bin/env python3
"""Writes the seed corpora, fuzz/corpus/<target>/seed-*, from the repository's test vectors
(tests/interop/*.json) and the formats the tests use. Deterministic: running it again rewrites
the same files. Needs Python 3 and `cryptography` (for the public halves of the interop keys).

    python3 fuzz/seeds.py

Only files named seed-* are kept in git (fuzz/.gitignore); what a fuzzing run adds is not.
"""
import base64
import json
import pathlib
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

FUZZ = pathlib.Path(__file__).resolve().parent
ROOT = FUZZ.parent
CORPUS = FUZZ / "corpus"
JWT = json.loads((ROOT / "tests/interop/jwt_vectors.json").read_text())
PASSWORDS = json.loads((ROOT / "tests/interop/password_vectors.json").read_text())

written = {}


def seed(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    name = "seed-" + "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip("-")
    path = directory / name
    assert path.name not in written.setdefault(target, set()), path
    written[target].add(path.name)
    path.write_bytes(data)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- jwt_validate: raw tokens (mode byte even) and mutations of genuine ones (odd).
for i, t in enumerate(JWT["tokens"]):
    seed("jwt_validate", f"raw-{i:02}-{t['name']}", b"\x00" + t["token"].encode())
# Odd mode: byte 1 picks one of the fixture's genuine tokens (22 PyJWT vectors, then an
# issued access and refresh token per key); then 4-byte edits (op, position u16le, argument).
for pick in range(0, 30, 3):
    seed("jwt_validate", f"mutate-base-{pick:02}", bytes([1, pick]))
edits = [
    (5, 0, 0),  # header of another genuine token
    (5, 2, 1),  # payload of another
    (6, 8, ord("X")),  # a byte of the decoded header
    (3, 100, 3),  # a flipped bit
    (4, 60, 0),  # truncated
]
for n, edit in enumerate(edits):
    seed("jwt_validate", f"mutate-edit-{n}", bytes([1, 22 + n]) + struct.pack("<BHB", *edit))

# --- jwt_claims: header \0 payload, signed by the target as the header asks.
for t in JWT["tokens"]:
    header_b64, payload_b64, _ = t["token"].split(".")
    header, payload = unb64url(header_b64), unb64url(payload_b64)
    if t["expect"] == "ok" and b"application" not in header:
        seed("jwt_claims", f"vector-{t['name']}", header + b"\x00" + payload)
now = JWT["validate_at"]
base_claims = {
    "iss": JWT["issuer"], "sub": "user-7", "aud": JWT["audience"], "iat": now, "nbf": now,
    "exp": now + 900, "jti": "jti-1", "scope": "items:read items:write", "sid": "session-7",
}
variants = {
    "minimal": base_claims,
    "aud-array": {**base_claims, "aud": ["other", JWT["audience"]]},
    "client": {**base_claims, "sub_kind": "client", "client_id": "svc", "gen": 4, "epoch": 2},
    "extra": {**base_claims, "tenant": "t1", "roles": ["a", "b"], "n": {"deep": [1, 2.5, None]}},
    "no-scope": {k: v for k, v in base_claims.items() if k != "scope"},
}
for name, claims in variants.items():
    seed("jwt_claims", f"payload-{name}", json.dumps(claims, separators=(",", ":")))
refresh = {
    "iss": JWT["issuer"], "sub": "user-7", "aud": JWT["issuer"], "exp": now + 3600, "iat": now,
    "jti": "r-1", "sid": "session-7", "scope": "items:read", "gen": 1, "epoch": 3,
    "session_exp": now + 7200, "client_id": "app",
}
for kid, alg in [("py-hs", "HS256"), ("py-ed", "EdDSA")]:
    header = json.dumps({"alg": alg, "kid": kid, "typ": "rt+jwt"}, separators=(",", ":"))
    seed("jwt_claims", f"refresh-{alg}", header + "\x00" + json.dumps(refresh))
confused = json.dumps({"alg": "HS256", "kid": "py-ed", "typ": "at+jwt"}, separators=(",", ":"))
seed("jwt_claims", "confusion-hs256-ed-key", confused + "\x00" + json.dumps(base_claims))
crit = json.dumps({"alg": "HS256", "kid": "py-hs", "typ": "at+jwt", "crit": ["exp"]})
seed("jwt_claims", "crit", crit + "\x00" + json.dumps(base_claims))

# --- jwks_verifier: the interop keys' public halves as a JWKS, and variants.
jwks = []
for entry in JWT["key_file"]["keys"]:
    if entry["alg"].startswith("HS"):
        continue
    key = serialization.load_der_private_key(unb64url(entry["key"]), password=None)
    public = key.public_key()
    jwk = {"kid": entry["kid"], "alg": entry["alg"], "use": "sig"}
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk.update(kty="OKP", crv="Ed25519", x=b64url(raw))
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        numbers = public.public_numbers()
        jwk.update(kty="EC", crv="P-256", x=b64url(numbers.x.to_bytes(32, "big")),
                   y=b64url(numbers.y.to_bytes(32, "big")))
    elif isinstance(key, rsa.RSAPrivateKey):
        numbers = public.public_numbers()
        jwk.update(kty="RSA", n=b64url(numbers.n.to_bytes(256, "big")),
                   e=b64url(numbers.e.to_bytes(3, "big")))
    jwks.append(jwk)
seed("jwks_verifier", "interop", json.dumps({"keys": jwks}))
for jwk in jwks:
    seed("jwks_verifier", f"one-{jwk['alg']}", json.dumps({"keys": [jwk]}))
seed("jwks_verifier", "mixed", json.dumps({"keys": [
    {"kty": "oct", "kid": "hs", "alg": "HS256", "use": "sig", "k": "c2VjcmV0"},
    {**jwks[0], "use": "enc"},
    {**jwks[1], "kid": "py-ed"},
]}))
seed("jwks_verifier", "empty", '{"keys": []}')

# --- stored_hash: parse mode (0) "hash \0 password", construct mode (1).
for i, v in enumerate(PASSWORDS["vectors"]):
    seed("stored_hash", f"vector-{i:02}-{v['source']}",
         b"\x00" + v["hash"].encode() + b"\x00" + v["password"].encode())
seed("stored_hash", "argon2id-small", b"\x00$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$"
     b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x00password")
seed("stored_hash", "bcrypt-cost-17", b"\x00$2b$17$" + b"a" * 53)
seed("stored_hash", "argon2-huge-m", b"\x00$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAA")
salt = bytes(range(16))
for pick, name in enumerate(["django", "passlib", "bcrypt", "argon2", "argon2-peppered"]):
    for n, params in enumerate([bytes([pick, 7, 1, 9]), bytes([pick, 200, 3, 250])]):
        seed("stored_hash", f"construct-{name}-{n}", b"\x01" + params + salt + b"correct horse")
seed("stored_hash", "construct-bcrypt-long", b"\x01" + bytes([2, 1, 0, 0]) + salt + b"x" * 80)

# --- token_form / revocation_form: content-type byte (0 = the form type), then the body.
token_bodies = {
    "password": "grant_type=password&username=johndoe&password=p%26ss&scope=items%3Aread",
    "refresh": "grant_type=refresh_token&refresh_token=abc&scope=",
    "repeated": "grant_type=password&username=a&username=b&password=c",
    "empty-username": "grant_type=password&username=&password=b",
    "bad-scope": "grant_type=password&username=a&password=b&scope=%22quoted%22",
    "unknown-grant": "grant_type=client_credentials&client_id=x",
}
for name, body in token_bodies.items():
    seed("token_form", name, b"\x00" + body.encode())
seed("token_form", "content-type-charset", b"\x01grant_type=refresh_token&refresh_token=t")
seed("token_form", "content-type-custom", b"\x04text/plain\ngrant_type=password&username=a&password=b")
revocation_bodies = {
    "access-hint": "token=eyJhbGciOi.x.y&token_type_hint=access_token",
    "refresh-hint": "token=abc&token_type_hint=refresh_token",
    "unknown-hint": "token=abc&token_type_hint=id_token",
    "repeated": "token=a&token=b",
    "missing": "token_type_hint=access_token",
}
for name, body in revocation_bodies.items():
    seed("revocation_form", name, b"\x00" + body.encode())
seed("revocation_form", "content-type-custom", b"\x04application/json\ntoken=abc")

# --- bearer_header: flags (bits 0-1 header count, 2 form id, 3 form secret, 4-5 build mode).
token = JWT["tokens"][0]["token"]
seed("bearer_header", "bearer", b"\x01Bearer " + token.encode())
seed("bearer_header", "bearer-lowercase-spaces", b"\x01bearer   abc.def-ghi_~+/==")
seed("bearer_header", "bearer-built", b"\x21" + token.encode())
seed("bearer_header", "two-headers", b"\x02Bearer a\x00Bearer b")
seed("bearer_header", "basic", b"\x01Basic " + base64.b64encode(b"my%20app:s3cr%2Bet"))
seed("bearer_header", "basic-built", b"\x11app:secret")
seed("bearer_header", "basic-and-form-id", b"\x15app:secret\x00\x00app")
seed("bearer_header", "post", b"\x0c\x00\x00app\x00secret")
seed("bearer_header", "public", b"\x04\x00\x00app")

# --- client_address: byte 0 = peer (bits 0-2) and trusted-proxy count (bits 3+).
for pick, name, forwarded in [
    (0 | 1 << 3, "proxy", b"203.0.113.9, 198.51.100.7"),
    (0 | 2 << 3, "chain", b"198.51.100.7\n10.0.0.2"),
    (3 | 1 << 3, "mapped-peer", b"198.51.100.7:4711"),
    (4 | 4 << 3, "v6", b"[2001:db8::2]:443, 2001:db8::1"),
    (2 | 1 << 3, "untrusted", b"10.0.0.9"),
    (0 | 1 << 3, "garbage", b"nonsense, \xff\xfe"),
]:
    seed("client_address", name, bytes([pick]) + forwarded)

# --- authorize_request: query strings against the target's fixed clients.
verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
base = (f"response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"
        f"&state=s%26t&code_challenge={challenge}&code_challenge_method=S256")
queries = {
    "ok": base,
    "ok-verifier": base + f"&code_verifier={verifier}&scope=openid+items%3Aread&nonce=n-1&prompt=login&max_age=60",
    "own-query": base.replace("cb&", "cb2%3Ftenant%3Da%2520b&"),
    "loopback-port": base.replace("https%3A%2F%2Fapp.example%2Fcb", "http%3A%2F%2F127.0.0.1%3A5555%2Fnative"),
    "v6-loopback": base.replace("https%3A%2F%2Fapp.example%2Fcb", "http%3A%2F%2F%5B%3A%3A1%5D%2Fcb"),
    "unregistered": base.replace("app.example", "evil.example"),
    "plain-pkce": base.replace("S256", "plain"),
    "repeated-state": base + "&state=again",
    "bad-scope": base + "&scope=admin",
    "not-code-flow": base.replace("client_id=app", "client_id=svc").replace("app.example", "svc.example"),
    "no-client": "response_type=code",
}
for name, query in queries.items():
    seed("authorize_request", name, query)

# --- redirect_uri: registered URIs (newline-separated) \0 presented URI.
for name, registered, presented in [
    ("exact", "https://app.example/cb", "https://app.example/cb"),
    ("loopback-port", "http://127.0.0.1/cb\nhttp://[::1]:8080/cb", "http://127.0.0.1:51004/cb"),
    ("v6-port", "http://[::1]:8080/cb", "http://[::1]/cb"),
    ("prefix", "https://app.example/cb", "https://app.example/cb/../evil"),
    ("normalised", "HTTPS://app.example:443/cb", "https://app.example/cb"),
    ("refused", "https://*.example/cb\nhttp://localhost/cb\nhttps://u@app.example/\nhttps://a.example/#f", ""),
]:
    seed("redirect_uri", name, registered + "\0" + presented)

# --- clients_file.
phc = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0W2xRJmDNjQ5Jj6R3gQqYc7fRZkBvKJK8Qw0yQmQmQk"
seed("clients_file", "two", json.dumps([
    {"client_id": "svc", "client_secret_hash": phc, "grant_types": ["client_credentials"], "scopes": ["items:read"]},
    {"client_id": "spa", "redirect_uris": ["https://spa.example/cb"], "grant_types": ["authorization_code", "refresh_token"],
     "scopes": ["openid"], "name": "SPA", "first_party": True},
]))
seed("clients_file", "native", json.dumps([
    {"client_id": "cli", "redirect_uris": ["http://127.0.0.1/callback", "http://[::1]/callback"],
     "grant_types": ["authorization_code"], "scopes": ["items:read", "items:write"]},
]))
seed("clients_file", "public-credentials", '[{"client_id": "x", "grant_types": ["client_credentials"]}]')
seed("clients_file", "bcrypt-secret", '[{"client_id": "x", "client_secret_hash": "$2b$10$abcdefghijklmnopqrstuv", "grant_types": ["client_credentials"]}]')
seed("clients_file", "wildcard", '[{"client_id": "x", "redirect_uris": ["https://*.example/cb"], "grant_types": ["authorization_code"]}]')
seed("clients_file", "duplicate", '[{"client_id": "x", "redirect_uris": ["https://a.example/cb"], "grant_types": ["authorization_code"]}, {"client_id": "x", "redirect_uris": ["https://a.example/cb"], "grant_types": ["authorization_code"]}]')
seed("clients_file", "unknown-field", '[{"client_id": "x", "grant_types": [], "secret": "hunter2"}]')

# --- users_file.
hashes = [v["hash"] for v in PASSWORDS["vectors"]]
seed("users_file", "vectors", json.dumps([
    {"username": f"user{i}", "password_hash": h, "scopes": ["items:read"], "disabled": i % 5 == 0,
     "full_name": f"User {i}" if i % 2 else None, "email": f"u{i}@example.com" if i % 3 else None}
    for i, h in enumerate(hashes[:8])
]))
bcrypt_hash = "$2b$04$zzI1QM4PRk1fAq3Zh9fKO.8dvUCZ1LWb5Hh6/1ho/3Ps5Fz0fNDb6"
seed("users_file", "one", json.dumps([{"username": "alice", "password_hash": bcrypt_hash, "scopes": ["items:read"]}]))
seed("users_file", "unknown-hash", json.dumps([{"username": "alice", "password_hash": "$2b$04$zzI"},
                                               {"username": "bob", "password_hash": "md5:5f4dcc3b5aa765d61d8327deb882cf99"}]))
seed("users_file", "duplicate", json.dumps([{"username": "a", "password_hash": bcrypt_hash}] * 2))
seed("users_file", "wrong-type", json.dumps([{"username": "a", "password_hash": bcrypt_hash, "disabled": bcrypt_hash}]))

# --- key_file.
key_file = JWT["key_file"]
seed("key_file", "interop", json.dumps(key_file))
seed("key_file", "id-token", json.dumps({**key_file, "id_token": "py-rsa"}))
small = {"format": "tokenward-keys/1", "active": "py-hs",
         "keys": [k for k in key_file["keys"] if k["kid"] in ("py-hs", "py-ed")]}
seed("key_file", "hmac-active", json.dumps(small))
seed("key_file", "rsa-active", json.dumps({**key_file, "active": "py-rsa"}))
seed("key_file", "bad-alg", json.dumps({**small, "keys": [{**small["keys"][0], "alg": "HS1"}]}))

for target, names in sorted(written.items()):
    print(f"{target}: {len(names)} seeds")
