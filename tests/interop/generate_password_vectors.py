#!/usr/bin/env python3
"""Writes password_vectors.json: hashes made by the Python libraries services migrate from.

The Rust test tests/password_interop.rs verifies every vector with the right password and with a
wrong one. Regenerate with (the versions the committed file was made with):

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install argon2-cffi==25.1.0 passlib==1.7.4 bcrypt==4.0.1
    /tmp/venv/bin/python tests/interop/generate_password_vectors.py

Each run makes new salts, so the file changes; the checks do not.
"""
import json
import pathlib

import argon2
import bcrypt as pyca_bcrypt
from argon2.low_level import Type, hash_secret
from passlib.hash import bcrypt as passlib_bcrypt
from passlib.hash import django_pbkdf2_sha256, pbkdf2_sha256

PASSWORDS = ["correct horse battery staple", "p\u00e4ssw\u00f6rd-\u65e5\u672c\u8a9e-\U0001f510"]
WRONG = "correct horse battery stapler"
LONG = "L" * 72 + "-tail-that-bcrypt-ignores"  # 97 bytes

vectors = []


def add(source, fmt, password, hash_, **extra):
    vectors.append({"source": source, "format": fmt, "password": password,
                    "wrong_password": WRONG, "hash": hash_, **extra})


for pw in PASSWORDS:
    # argon2-cffi's own defaults (RFC 9106 low-memory profile: m=64 MiB, t=3, p=4).
    add("argon2-cffi PasswordHasher()", "argon2id", pw, argon2.PasswordHasher().hash(pw))
    for type_, fmt in [(Type.ID, "argon2id"), (Type.I, "argon2i"), (Type.D, "argon2d")]:
        cheap = argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=2, type=type_)
        add(f"argon2-cffi {fmt} m=64 t=1 p=2", fmt, pw, cheap.hash(pw))
    salt = b"sixteen-byte-slt"
    v10 = hash_secret(pw.encode(), salt, time_cost=2, memory_cost=256, parallelism=1,
                      hash_len=32, type=Type.I, version=0x10).decode()
    add("argon2-cffi argon2i version 0x10", "argon2i", pw, v10)
    # Hashes from before the PHC string had a version field: no v= means 0x10.
    add("argon2i version 0x10 without v=", "argon2i", pw, v10.replace("v=16$", ""))

    add("passlib bcrypt (2b)", "bcrypt", pw, passlib_bcrypt.using(rounds=5).hash(pw))
    add("passlib bcrypt (2a)", "bcrypt", pw, passlib_bcrypt.using(rounds=5, ident="2a").hash(pw))
    b = pyca_bcrypt.hashpw(pw.encode(), pyca_bcrypt.gensalt(rounds=5)).decode()
    add("pyca bcrypt (2b)", "bcrypt", pw, b)
    # PHP's crypt() writes $2y$ for the same algorithm.
    add("pyca bcrypt as $2y$ (PHP)", "bcrypt", pw, "$2y$" + b[4:])

    add("passlib pbkdf2_sha256", "pbkdf2-sha256 (passlib)", pw,
        pbkdf2_sha256.using(rounds=29000).hash(pw))
    add("Django pbkdf2_sha256 (via passlib)", "pbkdf2_sha256 (Django)", pw,
        django_pbkdf2_sha256.using(rounds=20000).hash(pw))

# Django 5.0's default iteration count, once, so the realistic cost is covered.
add("Django pbkdf2_sha256 720000 iterations", "pbkdf2_sha256 (Django)", PASSWORDS[0],
    django_pbkdf2_sha256.using(rounds=720000).hash(PASSWORDS[0]))

# passlib truncates bcrypt input at 72 bytes: a password that differs only after byte 72 matches.
long_hash = passlib_bcrypt.using(rounds=5).hash(LONG)
assert passlib_bcrypt.verify("L" * 72 + "-something-else", long_hash)
add("passlib bcrypt, 97-byte password", "bcrypt", LONG, long_hash,
    also_matches="L" * 72 + "-something-else")

for v in vectors:
    assert v["hash"], v

out = pathlib.Path(__file__).with_name("password_vectors.json")
out.write_text(json.dumps({"generated_by": "tests/interop/generate_password_vectors.py",
                           "vectors": vectors}, indent=2, ensure_ascii=False) + "\n")
print(f"wrote {len(vectors)} vectors to {out}")
