#!/usr/bin/env python3
"""Writes jwt_vectors.json: a tokenward key file made with `cryptography`, and access tokens
signed by PyJWT with those keys. tests/token_interop.rs checks each token gets the expected
verdict. Regenerate with (the versions the committed file was made with):

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install pyjwt==2.15.1 cryptography==50.0.2
    /tmp/venv/bin/python tests/interop/generate_jwt_vectors.py
"""
import base64
import json
import os
import pathlib

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

ISS, AUD, IAT = "https://pyjwt.example", "interop-api", 1_800_000_000


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkcs8(key) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


ed_key = ed25519.Ed25519PrivateKey.generate()
ec_key = ec.generate_private_key(ec.SECP256R1())
rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
hs_secret = os.urandom(32)

keys = [
    ("py-ed", "EdDSA", pkcs8(ed_key), ed_key),
    ("py-ec", "ES256", pkcs8(ec_key), ec_key),
    ("py-rsa", "RS256", pkcs8(rsa_key), rsa_key),
    ("py-hs", "HS256", hs_secret, hs_secret),
]
key_file = {
    "format": "tokenward-keys/1",
    "active": "py-ed",
    "keys": [{"kid": kid, "alg": alg, "key": b64url(raw), "created": IAT} for kid, alg, raw, _ in keys],
}


def claims(**override):
    c = {"iss": ISS, "sub": "user-7", "aud": AUD, "iat": IAT, "nbf": IAT, "exp": IAT + 3600,
         "jti": b64url(os.urandom(16)), "scope": "items:read items:write", "sid": "session-7"}
    c.update(override)
    return {k: v for k, v in c.items() if v is not None}


tokens = []
for kid, alg, _, signing_key in keys:
    for typ in ["at+jwt", "application/at+jwt"]:
        tokens.append({"name": f"{alg} typ {typ}", "expect": "ok",
                       "token": jwt.encode(claims(), signing_key, algorithm=alg,
                                           headers={"kid": kid, "typ": typ})})
    tokens.append({"name": f"{alg} typ JWT", "expect": "WrongType",
                   "token": jwt.encode(claims(), signing_key, algorithm=alg,
                                       headers={"kid": kid, "typ": "JWT"})})
    tokens.append({"name": f"{alg} wrong audience", "expect": "WrongAudience",
                   "token": jwt.encode(claims(aud="someone-else"), signing_key, algorithm=alg,
                                       headers={"kid": kid, "typ": "at+jwt"})})
    tokens.append({"name": f"{alg} expired", "expect": "Expired",
                   "token": jwt.encode(claims(exp=IAT + 10), signing_key, algorithm=alg,
                                       headers={"kid": kid, "typ": "at+jwt"})})

tokens.append({"name": "PyJWT alg none", "expect": "UnsupportedAlgorithm",
               "token": jwt.encode(claims(), None, algorithm="none",
                                   headers={"kid": "py-ed", "typ": "at+jwt"})})
tokens.append({"name": "HS256 keyed with the Ed25519 public key", "expect": "AlgorithmMismatch",
               "token": jwt.api_jws.PyJWS().encode(
                   json.dumps(claims()).encode(),
                   key=ed_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                        serialization.PublicFormat.Raw),
                   algorithm="HS256", headers={"kid": "py-ed", "typ": "at+jwt"})})

out = pathlib.Path(__file__).with_name("jwt_vectors.json")
out.write_text(json.dumps({"generated_by": "tests/interop/generate_jwt_vectors.py",
                           "issuer": ISS, "audience": AUD, "validate_at": IAT + 60,
                           "key_file": key_file, "tokens": tokens}, indent=2) + "\n")
print(f"wrote {len(tokens)} tokens to {out}")
