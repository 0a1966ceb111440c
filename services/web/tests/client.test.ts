import { describe, expect, it } from "vitest";
import { ApiError, createApiClient, type Tokens, type TokenStore } from "../app/api/client";

function jwt(exp: number): string {
  const part = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "");
  return `${part({ alg: "EdDSA" })}.${part({ exp })}.sig`;
}

function memoryStore(tokens: Tokens | null): TokenStore & { value: Tokens | null } {
  return {
    value: tokens,
    get() {
      return this.value;
    },
    set(t) {
      this.value = t;
    },
  };
}

const NOW = 1_000_000;
const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

/** A fake auth + API server: accepts only `valid` access tokens, rotates refresh tokens once. */
function server() {
  const calls: string[] = [];
  let valid = "old-access";
  let refreshToken = "r1";
  const fetch = async (path: string, init?: RequestInit) => {
    calls.push(path);
    if (path === "/api/v1/auth/refresh") {
      const body = JSON.parse(String(init?.body));
      if (body.refresh_token !== refreshToken) {
        return json(401, { type: "urn:messaging:problem:refresh-token-reused", title: "Refresh token reused" });
      }
      valid = jwt(NOW + 900);
      refreshToken = `r${calls.length}`;
      return json(200, { access_token: valid, refresh_token: refreshToken, expires_in: 900 });
    }
    const auth = (init?.headers as Record<string, string>).Authorization;
    if (auth !== `Bearer ${valid}`) return json(401, { type: "urn:messaging:problem:invalid-token", title: "Access token refused" });
    return json(200, { ok: true });
  };
  return { fetch, calls, expire: () => (valid = "rotated-away") };
}

describe("api client", () => {
  it("refreshes silently once when a token is refused, then retries the request", async () => {
    const s = server();
    const store = memoryStore({ access_token: jwt(NOW + 900), refresh_token: "r1", expires_in: 900 });
    const client = createApiClient({ fetch: s.fetch, store, onSignedOut: () => {}, now: () => NOW });
    expect(await client.get("/api/v1/users/me")).toEqual({ ok: true });
    expect(s.calls).toEqual(["/api/v1/users/me", "/api/v1/auth/refresh", "/api/v1/users/me"]);
    expect(store.value?.refresh_token).not.toBe("r1");
  });

  it("shares one refresh among concurrent requests (a refresh token is single use)", async () => {
    const s = server();
    const store = memoryStore({ access_token: jwt(NOW + 900), refresh_token: "r1", expires_in: 900 });
    const client = createApiClient({ fetch: s.fetch, store, onSignedOut: () => {}, now: () => NOW });
    await Promise.all([client.get("/a"), client.get("/b"), client.get("/c")]);
    expect(s.calls.filter((c) => c === "/api/v1/auth/refresh")).toHaveLength(1);
  });

  it("refreshes before sending when the access token is about to expire", async () => {
    const s = server();
    const store = memoryStore({ access_token: jwt(NOW + 5), refresh_token: "r1", expires_in: 900 });
    const client = createApiClient({ fetch: s.fetch, store, onSignedOut: () => {}, now: () => NOW });
    await client.get("/api/v1/users/me");
    expect(s.calls).toEqual(["/api/v1/auth/refresh", "/api/v1/users/me"]);
  });

  it("signs out when the refresh token is refused, and reports problem+json errors", async () => {
    const s = server();
    const store = memoryStore({ access_token: jwt(NOW + 900), refresh_token: "spent", expires_in: 900 });
    let signedOut = 0;
    const client = createApiClient({ fetch: s.fetch, store, onSignedOut: () => signedOut++, now: () => NOW });
    const error = (await client.get("/api/v1/users/me").catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(401);
    expect(error.slug).toBe("invalid-token");
    expect(signedOut).toBe(1);
    expect(store.value).toBeNull();
  });

  it("keeps the session when auth is unreachable", async () => {
    const store = memoryStore({ access_token: jwt(NOW + 1), refresh_token: "r1", expires_in: 900 });
    const fetch = async (path: string) => {
      if (path.endsWith("/refresh")) throw new TypeError("Failed to fetch");
      return json(200, {});
    };
    const client = createApiClient({ fetch, store, onSignedOut: () => {}, now: () => NOW });
    expect(await client.refresh()).toBe(false);
    expect(store.value?.refresh_token).toBe("r1");
  });
});
