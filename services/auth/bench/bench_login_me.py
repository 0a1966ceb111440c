"""Requests/s and p95 of POST /login and GET /me against a real `messaging-auth serve`.

Run from the repository root with the shared infrastructure up (`make infra-up`):
    uv run python services/auth/bench/bench_login_me.py [--seconds 15] [--connections 8]
The server runs with production argon2id parameters, one uvicorn worker; wrk (Debian's
package) is the load generator, in its own process, on loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from auth_service.core.keys import generate_ed25519_pem
from messaging_kit.migrations import upgrade_head
from messaging_testing.infra import delete_broker_objects, free_port, fresh_database, infra_url

HERE = Path(__file__).resolve().parent


def wrk(url: str, seconds: int, connections: int, script: Path | None, env: dict[str, str]) -> str:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    scripts = [HERE / "report.lua"] if script is None else [script, HERE / "report.lua"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as combined:
        for part in scripts:
            combined.write(part.read_text() + "\n")
    try:
        result = subprocess.run(  # noqa: S603 - wrk with our own arguments
            [*command, "-s", combined.name, url],
            env=os.environ | env,
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(combined.name)
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT"))
    return line.removeprefix("RESULT ")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as keys, fresh_database("auth_bench") as db_url:
        Path(keys, "bench.pem").write_bytes(generate_ed25519_pem())
        upgrade_head("auth_service", db_url)
        env = os.environ | {
            "DATABASE_URL": db_url,
            "REDIS_URL": infra_url("MP_REDIS_URL"),
            "AMQP_URL": infra_url("MP_AMQP_URL"),
            "SIGNING_KEYS_DIR": keys,
            "PORT": str(port),
            "LOG_LEVEL": "WARNING",
            "EVENTS_EXCHANGE": f"bench.events.{port}",
            "REDIS_KEY_PREFIX": f"bench-{port}",
            "LOGIN_MAX_FAILURES_PER_ADDRESS": "1000000",
        }
        server = subprocess.Popen([sys.executable, "-m", "auth_service", "serve"], env=env)
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            credentials = {"login": "bench", "password": "benchmark password"}
            registered = httpx.post(
                f"{base}/api/v1/auth/register",
                json={
                    "email": "bench@example.com",
                    "username": "bench",
                    "password": "benchmark password",
                },
                timeout=10,
            ).json()
            token = registered["tokens"]["access_token"]
            login = wrk(
                f"{base}/api/v1/auth/login",
                args.seconds,
                args.connections,
                HERE / "login.lua",
                {"BENCH_LOGIN_BODY": json.dumps(credentials)},
            )
            me_script = Path(tempfile.mktemp(suffix=".lua"))  # noqa: S306 - our own temp file
            me_script.write_text(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
            try:
                me = wrk(f"{base}/api/v1/auth/me", args.seconds, args.connections, me_script, {})
            finally:
                me_script.unlink()
        finally:
            server.terminate()
            server.wait(30)
            delete_broker_objects(env["AMQP_URL"], exchanges=(env["EVENTS_EXCHANGE"],))
    print(f"POST /api/v1/auth/login  {login}")
    print(f"GET  /api/v1/auth/me     {me}")
    return 0 if re.search(r"non2xx=0", login + me) else 1


if __name__ == "__main__":
    sys.exit(main())
