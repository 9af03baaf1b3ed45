#!/usr/bin/env python3
"""Load figures for the example servers, written to docs/PERFORMANCE.md.

Usage: python3 scripts/load.py [--runs 3] [--duration 10] [--out docs/PERFORMANCE.md]

Builds both servers in release mode with the `load-baseline` feature, then for each server, on
loopback with wrk (Debian package `wrk`), `--runs` times:
  (a) GET /users/me with a valid token vs the same handler without auth (/baseline/users/me),
  (b) p99 latency of GET /users/me while 32 connections send POST /token with wrong passwords,
  (c) peak resident memory (VmHWM) of the server during that login storm.
Reports the median of the runs. Standard library only.
"""

import argparse
import base64
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/tokenward-target"))
SERVERS = ["axum", "actix"]
ARGON2_MIB = 19  # the library's default argon2id memory
KEEP_MARKER = "<!-- kept: text below this line survives a rerun of scripts/load.py -->"


def build():
    features = ",".join(f"tokenward-{s}/load-baseline" for s in SERVERS)
    packages = [arg for s in SERVERS for arg in ("-p", f"tokenward-{s}")]
    subprocess.run(
        ["cargo", "build", "--release", *packages, "--features", features],
        cwd=ROOT, check=True, env={**os.environ, "CARGO_TARGET_DIR": TARGET},
    )


class Server:
    def __init__(self, name, workdir):
        self.name = name
        binary = os.path.join(TARGET, "release", f"tokenward-{name}")
        self.log = open(os.path.join(workdir, f"{name}.log"), "w+")
        self.process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1:0",
             "--database-url", f"sqlite://{workdir}/{name}.db",
             # The storm must hash every attempt, not be answered 429 by the throttles.
             "--max-failed-logins", "4000000000",
             "--max-logins-per-client", "4000000000"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir,
            env={**os.environ, "TOKENWARD_LOAD_BASELINE": "1"},
        )
        deadline = time.time() + 60
        self.base = self.password = None
        while time.time() < deadline and not (self.base and self.password):
            self.log.seek(0)
            text = self.log.read()
            if m := re.search(r"^listening on (\S+)", text, re.M):
                self.base = m.group(1)
            if m := re.search(r"^created user johndoe with password (\S+)", text, re.M):
                self.password = m.group(1)
            if self.process.poll() is not None:
                sys.exit(f"{name} exited:\n{text}")
            time.sleep(0.05)
        if not self.base:
            sys.exit(f"{name} did not start")

    def login(self):
        body = urllib.parse.urlencode(
            {"grant_type": "password", "username": "johndoe", "password": self.password}
        ).encode()
        with urllib.request.urlopen(f"{self.base}/token", body) as response:
            return json.load(response)["access_token"]

    def peak_rss_mib(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=20)


def wrk(url, duration, connections, headers=(), script=None, latency=False):
    args = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "30s"]
    for header in headers:
        args += ["-H", header]
    if script:
        args += ["-s", script]
    if latency:
        args.append("--latency")
    return subprocess.run(args + [url], check=True, capture_output=True, text=True).stdout


def requests_per_sec(output):
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def percentile_ms(output, pct):
    m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def non_2xx(output):
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return int(m.group(1)) if m else 0


def measure(name, runs, duration, workdir):
    storm = os.path.join(workdir, "wrong_password.lua")
    with open(storm, "w") as f:
        f.write('wrk.method = "POST"\n'
                'wrk.body = "grant_type=password&username=johndoe&password=not-the-password"\n'
                'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n')
    results = []
    for run in range(runs):
        server = Server(name, tempfile.mkdtemp(dir=workdir))
        token = server.login()
        payload = token.split(".")[1]
        sub = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]
        auth = wrk(f"{server.base}/users/me", duration, 16, [f"Authorization: Bearer {token}"])
        base = wrk(f"{server.base}/baseline/users/me", duration, 16, [f"X-User-Id: {sub}"])
        assert non_2xx(auth) == 0 and non_2xx(base) == 0, (auth, base)

        storm_process = subprocess.Popen(
            ["wrk", "-t1", "-c32", f"-d{duration + 2}s", "--timeout", "30s", "-s", storm,
             f"{server.base}/token"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        time.sleep(1)  # let the storm fill the hashing queue before probing
        probe = wrk(f"{server.base}/users/me", duration, 1, [f"Authorization: Bearer {token}"],
                    latency=True)
        storm_output, _ = storm_process.communicate(timeout=duration + 60)
        result = {
            "auth_rps": requests_per_sec(auth),
            "base_rps": requests_per_sec(base),
            "probe_p50_ms": percentile_ms(probe, 50),
            "probe_p99_ms": percentile_ms(probe, 99),
            "storm_rps": requests_per_sec(storm_output),
            "peak_rss_mib": server.peak_rss_mib(),
        }
        result["ratio"] = result["auth_rps"] / result["base_rps"]
        server.stop()
        print(name, run, json.dumps(result), flush=True)
        results.append(result)
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "PERFORMANCE.md"))
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    build()
    cores = os.cpu_count()
    permits = cores  # the hasher's default: one argon2 at a time per core
    budget = permits * ARGON2_MIB + 64
    with tempfile.TemporaryDirectory() as workdir:
        figures = {name: measure(name, args.runs, args.duration, workdir) for name in SERVERS}
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = re.search(r"model name\s*:\s*(.+)", f.read()).group(1)
    except (OSError, AttributeError):
        pass
    rows = []
    for name, f in figures.items():
        rows.append(
            f"| {name} | {f['auth_rps']:.0f} | {f['base_rps']:.0f} | {f['ratio']:.2f} (>= 0.85) "
            f"| {f['probe_p50_ms']:.2f} / {f['probe_p99_ms']:.2f} (< 10) | {f['storm_rps']:.0f} "
            f"| {f['peak_rss_mib']:.0f} (<= {budget}) |"
        )
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    kept = ""
    if os.path.exists(args.out):
        previous = open(args.out).read()
        if KEEP_MARKER in previous:
            kept = previous[previous.index(KEEP_MARKER) + len(KEEP_MARKER):]
    with open(args.out, "w") as out:
        out.write(f"""# Example server load figures

Written by `python3 scripts/load.py --runs {args.runs} --duration {args.duration}`; medians of
{args.runs} runs, each on a fresh SQLite database. Machine: {cores} cores ({cpu}), wrk on the same
machine over loopback, so wrk and the server share the cores. Release builds with the
`load-baseline` feature (which adds the unauthenticated `/baseline/users/me` only when
`TOKENWARD_LOAD_BASELINE=1`).

- (a) `wrk -t1 -c16 -d{args.duration}s` on `GET /users/me` with a valid EdDSA token, and on
  `GET /baseline/users/me` (the same handler and user lookup, no Bearer check).
- (b) while `wrk -t1 -c32 -s wrong_password.lua` sends `POST /token` with a wrong password
  (throttle disabled, so every attempt runs argon2id m=19 MiB, t=2), `wrk -t1 -c1 --latency` on
  `GET /users/me`: p50 / p99.
- (c) the server's peak resident memory (`VmHWM`) after the storm; budget = permits ({permits})
  x argon2 memory ({ARGON2_MIB} MiB) + 64 MiB.

| server | /users/me req/s | baseline req/s | ratio | /users/me p50 / p99 during storm (ms) | storm logins/s | peak RSS MiB |
|---|---|---|---|---|---|---|
""")
        out.write("\n".join(rows) + "\n\n" + KEEP_MARKER + kept)
    print(open(args.out).read())


if __name__ == "__main__":
    main()
