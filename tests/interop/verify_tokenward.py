#!/usr/bin/env python3
"""Checks tokenward-made artefacts with the Python libraries other services use.

Usage: cargo run --example interop_vectors | python3 tests/interop/verify_tokenward.py
Needs argon2-cffi, pyjwt and cryptography. Exits non-zero on the first mismatch.
"""
import base64
import json
import sys

import argon2
import jwt

data = json.load(sys.stdin)

ph = argon2.PasswordHasher()
for item in data["password_hashes"]:
    if not ph.verify(item["hash"], item["password"]):
        sys.exit(f"argon2-cffi refused the right password for {item['hash'][:30]}...")
    try:
        ph.verify(item["hash"], item["password"] + "x")
        sys.exit("argon2-cffi accepted a wrong password")
    except argon2.exceptions.VerifyMismatchError:
        pass
print(f"interop: argon2-cffi verified {len(data['password_hashes'])} tokenward hashes (right and wrong password)")

for item in data["tokens"]:
    token, alg = item["token"], item["alg"]
    header = jwt.get_unverified_header(token)
    if header.get("typ") != "at+jwt" or header.get("alg") != alg or not header.get("kid"):
        sys.exit(f"{alg}: unexpected header {header}")
    if item["hmac_secret"]:
        secret = item["hmac_secret"]
        key = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
    else:
        jwk = next(k for k in item["jwks"]["keys"] if k["kid"] == header["kid"])
        key = jwt.PyJWK(jwk).key
    claims = jwt.decode(token, key, algorithms=[alg], audience=data["audience"],
                        issuer=data["issuer"],
                        options={"require": ["exp", "iat", "nbf", "jti", "sub", "aud", "iss"]})
    if claims["sub"] != "user-1" or claims["scope"] != "items:read items:write" or not claims["sid"]:
        sys.exit(f"{alg}: unexpected claims {claims}")
    try:
        jwt.decode(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"), key,
                   algorithms=[alg], audience=data["audience"])
        sys.exit(f"{alg}: PyJWT accepted a tampered signature")
    except jwt.DecodeError:  # InvalidSignatureError or a decode failure: either way refused
        pass
print(f"interop: PyJWT verified {len(data['tokens'])} tokenward access tokens (EdDSA, ES256, RS256 via JWKS; HS256)")
