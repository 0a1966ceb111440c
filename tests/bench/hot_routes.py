"""The hot routes of issue 19, each under wrk at 16 connections (closed loop): p95 < 200 ms.

    login            POST /api/v1/auth/login (auth, bench argon2 cost; and auth at its defaults)
    /me              GET  /api/v1/users/me
    search           GET  /api/v1/users/search?q=<prefix>
    send             POST /api/v1/messages
    history          GET  /api/v1/conversations/{id}/messages (a page of 50)
    group post       POST /api/v1/groups/{id}/messages
    upload           POST /api/v1/media/upload (a few-KB PNG, multipart)

On a `services_bench.Stack` that is up (auth, users, messages): starts what it lacks (groups,
media on MinIO, and a second auth with the production argon2 cost on the same database), each
on a database of its own migrated to head, registers its own users, makes the data the routes
read (a conversation with history, groups, a few thousand profiles to search), checks every
request once (2xx, or the route is reported as failing without load), then runs wrk per route.
The processes it started are stopped before it returns (Stack.down stops them too on an error:
they are in stack.children), the bucket is emptied and removed, their queues are deleted.

    rows, data = hot_route_rows(stack, workdir, quick)
"""

from __future__ import annotations

import base64
import io
import json
import os
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from common import BENCH_DIR, Child, Row, free_port, say, summary, wait_until

if TYPE_CHECKING:
    from services_bench import Stack

CONNECTIONS = 16  # the issue's
GOAL_MS = 200.0
PASSWORD = "correct horse"
USERS = 8  # bench users: senders, group members, searchers, logins
PROFILES = 3000  # extra profiles in users' database, for search to walk
HISTORY_MESSAGES = 120
GROUPS = 4  # each with every bench user: group posts rotate over groups and senders
UPLOAD = "/api/v1/media/upload"
SEARCHES = ("p0", "p12", "p2", "p1", "p27", "b")  # broad and narrow prefixes, in rotation


def hot_route_rows(stack: Stack, workdir: Path, quick: bool) -> tuple[list[Row], dict[str, Any]]:
    """One Row per hot route (p95 at c=16 against 200 ms), and the raw runs for results.json."""
    workdir.mkdir(parents=True, exist_ok=True)
    bench = HotRoutes(stack, workdir, quick)
    try:
        bench.run()
    except Exception as error:  # the benchmarks after this one still run
        say(f"hot routes: failed: {error!r}")
        bench.data["error"] = repr(error)
        bench.rows.append(
            Row(
                "hot routes",
                "hot routes (login, /me, search, send, history, group post, upload)",
                "ms",
                summary([]),
                goal=f"p95 < {GOAL_MS:.0f} ms",
                verdict="n/a",
                note=f"not measured: the harness failed: {error!r}"[:600],
            )
        )
    finally:
        bench.stop()
    return bench.rows, bench.data


class HotRoutes:
    def __init__(self, stack: Stack, workdir: Path, quick: bool) -> None:
        self.stack = stack
        self.workdir = workdir
        self.quick = quick
        self.seconds = 2 if quick else 5
        self.reps = 1 if quick else 2
        self.rows: list[Row] = []
        self.data: dict[str, Any] = {"connections": CONNECTIONS, "seconds": self.seconds}
        self.started: list[Child] = []
        self.urls: dict[str, str] = {}
        self.bucket = f"bench-media-{stack.run_id}"
        self.failed: dict[str, str] = {}  # service -> why it is not there

    # --- processes ---------------------------------------------------------------------------
    def spawn(self, name: str, service: str, env: dict[str, str]) -> Callable[[], str | None]:
        """Start messaging-<service> as `name` (its own log); the returned function waits until
        it is ready and gives its URL (None, and the reason in self.failed, if it is not)."""
        from services_bench import BIN

        port = free_port()
        full = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "INFO", **env}
        child = Child(
            name, [str(BIN / f"messaging-{service}"), "serve"], full, self.workdir / f"{name}.log"
        )
        self.stack.children.append(child)  # Stack.down stops it whatever happens here
        self.started.append(child)
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if not child.alive():
                raise RuntimeError(f"{name} exited: {child.tail(800)}")
            try:
                return httpx.get(url + "/ready", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        def wait() -> str | None:
            try:
                wait_until(ready, 90, f"{name} at {url}/ready", every=0.2)
            except (RuntimeError, TimeoutError) as error:
                self.failed[name] = str(error)
                say(f"hot routes: {name} did not start: {error}")
                return None
            self.urls[name] = url
            return url

        return wait

    def start_services(self) -> None:
        from messaging_kit.migrations import upgrade_head
        from services_bench import infra

        run = self.stack.run_id
        common = {
            "AMQP_URL": infra("MP_AMQP_URL"),
            "EVENTS_EXCHANGE": self.stack.exchange,
            "JWKS_URL": self.stack.jwks,
        }
        # The platform's service credential, when the stack gives its services one (internal
        # endpoints: auth's revocation snapshot).
        internal = getattr(self.stack, "envs", {}).get("users", {}).get("INTERNAL_TOKEN")
        if internal:
            common["INTERNAL_TOKEN"] = internal
        groups_db = self.stack.create_database("groups")
        media_db = self.stack.create_database("media")
        upgrade_head("groups_service", groups_db)
        upgrade_head("media_service", media_db)
        queues = {
            "groups": f"bench.groups.{run}",
            "media": f"bench.media.thumbnails.{run}",
            "memberships": f"bench.media.memberships.{run}",
            "auth": f"bench.auth-argon2-default.{run}",
        }
        self.queues = queues
        self.stack.queues.extend(queues.values())  # Stack.down deletes them (and their .dead)
        auth_env = dict(self.stack.envs["auth"]) if hasattr(self.stack, "envs") else {}
        if not auth_env:  # a Stack without envs: what Stack.up gives auth
            auth_env = {
                "AMQP_URL": infra("MP_AMQP_URL"),
                "EVENTS_EXCHANGE": self.stack.exchange,
                "DATABASE_URL": _database_url(f"bench_auth_{run}"),
                "REDIS_URL": infra("MP_REDIS_URL"),
                "SIGNING_KEYS_DIR": str(self.stack.workdir / "keys"),
                "ACCESS_TOKEN_TTL_SECONDS": "3600",
            }
        # auth at its own argon2 defaults (what production runs), same database and keys.
        for cheap in ("ARGON2_TIME_COST", "ARGON2_MEMORY_KIB", "ARGON2_PARALLELISM"):
            auth_env.pop(cheap, None)
        auth_env["REDIS_KEY_PREFIX"] = f"{self.stack.prefix}auth-default"
        auth_env["EVENTS_QUEUE"] = queues["auth"]
        waits = [
            self.spawn(
                "groups",
                "groups",
                {**common, "DATABASE_URL": groups_db, "EVENTS_QUEUE": queues["groups"]},
            ),
            self.spawn(
                "media",
                "media",
                {
                    **common,
                    "DATABASE_URL": media_db,
                    "S3_ENDPOINT_URL": os.environ.get("MP_S3_ENDPOINT", "http://127.0.0.1:19000"),
                    "S3_ACCESS_KEY": os.environ.get("MP_S3_ACCESS_KEY", "platform"),
                    "S3_SECRET_KEY": os.environ.get("MP_S3_SECRET_KEY", "platform-secret"),
                    "S3_BUCKET": self.bucket,
                    "EVENTS_QUEUE": queues["media"],
                    "MEMBERSHIPS_QUEUE": queues["memberships"],
                },
            ),
            self.spawn("auth-argon2-default", "auth", auth_env),
        ]
        for wait in waits:
            wait()

    def stop(self) -> None:
        for child in reversed(self.started):
            child.stop()
        # Their queues would keep receiving (and the broker storing) every later event.
        if hasattr(self.stack, "delete_queues") and getattr(self, "queues", None):
            self.stack.delete_queues(list(self.queues.values()))
        self.remove_bucket()

    def remove_bucket(self) -> None:
        try:
            from minio import Minio
            from minio.deleteobjects import DeleteObject

            endpoint = os.environ.get("MP_S3_ENDPOINT", "http://127.0.0.1:19000")
            client = Minio(
                endpoint.split("://", 1)[1],
                access_key=os.environ.get("MP_S3_ACCESS_KEY", "platform"),
                secret_key=os.environ.get("MP_S3_SECRET_KEY", "platform-secret"),
                secure=endpoint.startswith("https"),
            )
            if not client.bucket_exists(self.bucket):
                return
            names = [
                DeleteObject(o.object_name)
                for o in client.list_objects(self.bucket, recursive=True)
                if o.object_name
            ]
            for failure in client.remove_objects(self.bucket, names):
                say(f"hot routes: could not delete {failure}")
            client.remove_bucket(self.bucket)
        except Exception as error:  # cleanup must not hide the results
            say(f"hot routes: could not remove bucket {self.bucket}: {error!r}")

    # --- data --------------------------------------------------------------------------------
    def register(self, auth: str, wait_profile: bool = True) -> dict[str, str]:
        name = f"h{uuid.uuid4().hex[:10]}"
        response = httpx.post(
            self.url(auth) + "/api/v1/auth/register",
            json={"email": f"{name}@example.com", "username": name, "password": PASSWORD},
            timeout=30,
        )
        response.raise_for_status()
        body = response.json()
        user = {"id": body["user"]["id"], "token": body["tokens"]["access_token"], "name": name}
        if wait_profile:  # users makes the profile from auth's user.registered event
            wait_until(
                lambda: self.get("users", "/api/v1/users/me", user).status_code == 200,
                30,
                "the profile from user.registered",
                every=0.2,
            )
        return user

    def get(self, service: str, path: str, user: dict[str, str]) -> httpx.Response:
        return httpx.get(self.url(service) + path, headers=bearer(user), timeout=10)

    def post(self, service: str, path: str, user: dict[str, str], body: Any) -> httpx.Response:
        response = httpx.post(self.url(service) + path, json=body, headers=bearer(user), timeout=30)
        if response.status_code >= 300:
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:300]}")
        return response

    def url(self, service: str) -> str:
        return self.stack.urls.get(service) or self.urls[service]

    def add_profiles(self) -> None:
        """Profiles straight into users' table (registering thousands through auth would take
        minutes): usernames p00000x.. so prefixes match from one to all of them."""
        import psycopg2
        from psycopg2.extras import execute_values

        connection = psycopg2.connect(_database_url(f"bench_users_{self.stack.run_id}"))
        with connection, connection.cursor() as cursor:
            rows = [
                (str(uuid.uuid4()), f"p{i:05d}{uuid.uuid4().hex[:4]}", f"Person {i}", None)
                for i in range(PROFILES)
            ]
            execute_values(
                cursor,
                "INSERT INTO profiles (user_id, username, display_name, email) VALUES %s",
                rows,
            )
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE profiles")
        connection.close()

    def prepare(self) -> None:
        say(f"hot routes: registering {USERS} users, making data")
        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            self.users = list(pool.map(lambda _: self.register("auth"), range(USERS)))
        self.add_profiles()
        u = self.users

        def seed(i: int) -> str:
            sender, recipient = (u[0], u[1]) if i % 2 == 0 else (u[1], u[0])
            body = json.loads(message_body(sender, recipient).replace("KEY_HERE", f"seed-{i}"))
            conversation: str = self.post("messages", "/api/v1/messages", sender, body).json()[
                "conversation_id"
            ]
            return conversation

        # History: one conversation of u0 and u1 with HISTORY_MESSAGES messages.
        with ThreadPoolExecutor(4) as pool:
            conversations = set(pool.map(seed, range(HISTORY_MESSAGES)))
        if len(conversations) != 1:
            raise RuntimeError(f"history seeded into {len(conversations)} conversations")
        self.conversation = conversations.pop()
        # Sends: 8 other conversations (i -> i+2), none of them the history's.
        self.pairs = [(u[i], u[(i + 2) % USERS]) for i in range(USERS)]
        # Groups: every bench user in each (no CONTACTS_URL: groups adds them directly).
        self.groups: list[str] = []
        if "groups" in self.urls:
            for g in range(GROUPS):
                created = self.post(
                    "groups",
                    "/api/v1/groups",
                    u[g % USERS],
                    {"name": f"bench {g}", "member_ids": [x["id"] for x in u]},
                ).json()
                if len(created["members"]) != USERS:
                    raise RuntimeError(f"group {g}: members {created['members']}")
                self.groups.append(created["id"])
        # Logins at the production cost: users registered through that auth (hashed at its
        # cost), so neither auth rehashes a password at login.
        self.default_cost_users: list[dict[str, str]] = []
        if "auth-argon2-default" in self.urls:
            with ThreadPoolExecutor(4) as pool:
                self.default_cost_users = list(
                    pool.map(lambda _: self.register("auth-argon2-default", False), range(USERS))
                )
        self.data["setup_seconds"] = time.monotonic() - started
        say(f"hot routes: data made in {self.data['setup_seconds']:.0f}s")

    def upload_body(self) -> tuple[Path, str]:
        """A few-KB PNG (noise: it does not compress) as multipart/form-data; (file, type)."""
        from PIL import Image

        image = Image.frombytes("RGB", (40, 40), os.urandom(40 * 40 * 3))
        png = io.BytesIO()
        image.save(png, format="PNG")
        request = httpx.Request(
            "POST", "http://x/", files={"file": ("bench.png", png.getvalue(), "image/png")}
        )
        path = self.workdir / "upload-body.bin"
        path.write_bytes(request.read())
        self.data["upload_png_bytes"] = len(png.getvalue())
        return path, request.headers["content-type"]

    # --- routes ------------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        u = self.users
        routes = [
            Route(
                "login",
                "POST /api/v1/auth/login (bench argon2 cost)",
                "auth",
                "POST",
                [("/api/v1/auth/login", "", login_body(x)) for x in u],
                note=(
                    f"{USERS} users in rotation, right passwords (the throttle counts failures "
                    "only); argon2id at the bench's setup cost (t=1, 1 MiB), not production's"
                ),
            ),
        ]
        if self.default_cost_users:
            routes.append(
                Route(
                    "login-argon2-default",
                    "POST /api/v1/auth/login (argon2 at auth's defaults: t=2, 19 MiB)",
                    "auth-argon2-default",
                    "POST",
                    [("/api/v1/auth/login", "", login_body(x)) for x in self.default_cost_users],
                    # ~60 ms of hashing a login: a 2 s run would be a handful of requests.
                    min_seconds=5,
                    note=(
                        f"{USERS} users in rotation; auth's own argon2id defaults (time cost 2, "
                        "19 MiB, 1 lane: what production runs), a second auth process on the "
                        "same database"
                    ),
                )
            )
        else:
            routes.append(missing("login-argon2-default", self.failed))
        routes += [
            Route(
                "me",
                "GET /api/v1/users/me",
                "users",
                "GET",
                [("/api/v1/users/me", x["token"], "") for x in u],
                note=f"{USERS} users' tokens in rotation",
            ),
            Route(
                "search",
                "GET /api/v1/users/search?q=<prefix> (a page of up to 20)",
                "users",
                "GET",
                [
                    (f"/api/v1/users/search?q={q}", x["token"], "")
                    for x, q in zip(u, SEARCHES * 2, strict=False)
                ],
                note=(
                    f"{PROFILES + USERS} profiles ({PROFILES} inserted directly into users' "
                    f"table); prefixes {', '.join(SEARCHES)} in rotation"
                ),
            ),
            Route(
                "history",
                "GET /api/v1/conversations/{id}/messages (a page of 50)",
                "messages",
                "GET",
                [
                    (f"/api/v1/conversations/{self.conversation}/messages?limit=50", x["token"], "")
                    for x in u[:2]
                ],
                note=f"a conversation of {HISTORY_MESSAGES} messages, both members in rotation",
            ),
            Route(
                "send",
                "POST /api/v1/messages",
                "messages",
                "POST",
                [("/api/v1/messages", s["token"], message_body(s, r)) for s, r in self.pairs],
                note=f"{USERS} senders in {USERS} conversations in rotation, a fresh "
                "idempotency key per request",
            ),
        ]
        if self.groups:
            routes.append(
                Route(
                    "group-post",
                    "POST /api/v1/groups/{id}/messages",
                    "groups",
                    "POST",
                    [
                        (f"/api/v1/groups/{g}/messages", x["token"], group_body(u))
                        for x in u
                        for g in self.groups
                    ],
                    note=f"{GROUPS} groups of {USERS} members, every sender in every group in "
                    "rotation, keys wrapped for each member, a fresh idempotency key per request",
                )
            )
        else:
            routes.append(missing("group-post", self.failed))
        if "media" in self.urls:
            body, content_type = self.upload_body()
            routes.append(
                Route(
                    "upload",
                    "POST /api/v1/media/upload (a small PNG)",
                    "media",
                    "POST",
                    [
                        (f"{UPLOAD}?conversation_id={self.conversation}", x["token"], "")
                        for x in u[:2]
                    ],
                    body_file=body,
                    content_type=content_type,
                    note=f"a {self.data['upload_png_bytes']} B PNG (40x40) into the history's "
                    "conversation, both members in rotation; stored in MinIO, thumbnails made "
                    "by media's consumer meanwhile",
                )
            )
        else:
            routes.append(missing("upload", self.failed))
        return routes

    def probe(self, route: Route) -> str:
        """One request of each variant, outside the load: '' when all answer 2xx."""
        content = route.body_file.read_bytes() if route.body_file else None
        for path, token, body in route.variants:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            data: bytes | None = content
            if data is None and body:
                data = body.replace("KEY_HERE", f"probe-{uuid.uuid4().hex}").encode()
            if data is not None:
                headers["Content-Type"] = route.content_type
            url = self.url(route.service) + path
            response = httpx.request(route.method, url, content=data, headers=headers, timeout=30)
            if not 200 <= response.status_code < 300:
                return f"{route.method} {path}: {response.status_code} {response.text[:200]}"
        return ""

    def run(self) -> None:
        say("hot routes: starting groups, media, auth with default argon2 cost")
        self.start_services()
        self.prepare()
        routes = self.routes()
        probes = {r.key: (self.probe(r) if not r.unavailable else "") for r in routes}
        runs: dict[str, list[dict[str, float]]] = {r.key: [] for r in routes}
        live = [r for r in routes if not r.unavailable and not probes[r.key]]
        for route in live:  # warm up: pools, JWKS, code paths
            route.wrk(self.url(route.service), 1, self.workdir)
        for rep in range(self.reps):
            for route in live:
                seconds = max(self.seconds, route.min_seconds)
                result = route.wrk(self.url(route.service), seconds, self.workdir)
                runs[route.key].append(result)
                say(
                    f"hot routes rep {rep}: {route.key} {result['rps']:.0f}/s, p95 "
                    f"{result['p95_us'] / 1000:.1f} ms, errors {result['errors']:.0f}"
                )
        self.data["routes"] = {
            r.key: {"label": r.label, "probe": probes[r.key], "runs": runs[r.key]} for r in routes
        }
        try:
            depths = self.stack.queue_depths()
            self.data["queue_depths_after"] = depths
            backlog = depths.get(self.queues["media"], -1)
            for route in routes:
                if route.key == "upload" and backlog >= 0:
                    route.note += f" ({backlog} uploads still waiting for one at the end)"
        except Exception as error:  # a figure for the note only
            say(f"hot routes: no queue depths: {error!r}")
        for route in routes:
            self.rows.append(self.row(route, probes[route.key], runs[route.key]))

    def row(self, route: Route, probe: str, runs: list[dict[str, float]]) -> Row:
        name = f"hot route {route.key}: {route.label}, p95 at c={CONNECTIONS}"
        if route.unavailable or probe:
            why = route.unavailable or f"the request failed before any load: {probe}"
            return Row(
                "hot routes",
                name,
                "ms",
                summary([]),
                goal=f"p95 < {GOAL_MS:.0f} ms",
                verdict="missed" if probe else "n/a",
                note=f"not measured: {why}",
            )
        p95 = [r["p95_us"] / 1000 for r in runs]
        p99 = [r["p99_us"] / 1000 for r in runs]
        rps = [r["rps"] for r in runs]
        errors = sum(r["errors"] for r in runs)
        met = errors == 0 and max(p95) < GOAL_MS
        return Row(
            "hot routes",
            name,
            "ms",
            summary(p95),
            goal=f"p95 < {GOAL_MS:.0f} ms",
            verdict="met" if met else "missed",
            note=(
                f"wrk -t1 -c{CONNECTIONS}, {max(self.seconds, route.min_seconds):.0f}s x "
                f"{len(runs)}; "
                f"{statistics.median(rps):.0f} req/s (median; {min(rps):.0f}-{max(rps):.0f}); "
                f"p99 {statistics.median(p99):.1f} ms (median); errors {errors:.0f} "
                f"(4xx/5xx and socket errors, of {sum(r['requests'] for r in runs):.0f}); "
                f"{route.note}; one uvicorn worker, every process on this machine's cores"
            ),
            extra={
                "rps": summary(rps),
                "p99_ms": summary(p99),
                "p50_ms": summary([r["p50_us"] / 1000 for r in runs]),
                "errors": errors,
            },
        )


class Route:
    def __init__(
        self,
        key: str,
        label: str,
        service: str,
        method: str,
        variants: list[tuple[str, str, str]],
        note: str = "",
        body_file: Path | None = None,
        content_type: str = "application/json",
        unavailable: str = "",
        min_seconds: float = 0,
    ) -> None:
        self.key = key
        self.label = label
        self.service = service
        self.method = method
        self.variants = variants  # (path, token, body with KEY_HERE)
        self.note = note
        self.body_file = body_file
        self.content_type = content_type
        self.unavailable = unavailable
        self.min_seconds = min_seconds

    def wrk(self, base: str, seconds: float, workdir: Path) -> dict[str, float]:
        variants = workdir / f"wrk-{self.key}.tsv"
        variants.write_text("".join(f"{p}\t{t}\t{b}\n" for p, t, b in self.variants))
        env = {
            **os.environ,
            "HOT_VARIANTS": str(variants),
            "HOT_METHOD": self.method,
            "HOT_CONTENT_TYPE": self.content_type,
            "HOT_BODY_FILE": str(self.body_file or ""),
            "HOT_RUN": uuid.uuid4().hex[:12],
        }
        argv = [
            "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(BENCH_DIR / "hot_routes.lua"),
            base + self.variants[0][0],
        ]
        out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=seconds + 60)
        line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH ")), None)
        if line is None:
            raise RuntimeError(f"wrk failed: {out.stdout[-500:]} {out.stderr[-500:]}")
        result = {k: float(v) for k, v in (part.split("=") for part in line.split()[1:])}
        result["rps"] = result["requests"] / result["seconds"]
        result["errors"] = sum(result[k] for k in ("non2xx", "connect", "read", "write", "timeout"))
        return result


def missing(key: str, failed: dict[str, str]) -> Route:
    why = "; ".join(f"{name}: {error[:300]}" for name, error in failed.items()) or "not started"
    return Route(key, key, "", "GET", [], unavailable=f"its service did not start ({why})")


def bearer(user: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {user['token']}"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def login_body(user: dict[str, str]) -> str:
    return json.dumps({"login": user["name"], "password": PASSWORD})


def message_body(sender: dict[str, str], recipient: dict[str, str]) -> str:
    return json.dumps(
        {
            "recipient_id": recipient["id"],
            "idempotency_key": "KEY_HERE",
            "ciphertext": b64(os.urandom(48)),
            "nonce": b64(os.urandom(12)),
            "keys": {recipient["id"]: b64(os.urandom(40)), sender["id"]: b64(os.urandom(40))},
        }
    )


def group_body(members: list[dict[str, str]]) -> str:
    return json.dumps(
        {
            "idempotency_key": "KEY_HERE",
            "ciphertext": b64(os.urandom(48)),
            "nonce": b64(os.urandom(12)),
            "keys": {m["id"]: b64(os.urandom(40)) for m in members},
        }
    )


def _database_url(name: str) -> str:
    from services_bench import database_url

    return database_url(name)
