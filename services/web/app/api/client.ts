// Same-origin HTTP client: bearer tokens, problem+json errors, and a silent refresh through
// auth's /refresh when an access token is refused or about to expire. Concurrent callers
// share one refresh, because a refresh token is single use (a second use revokes the family).

export interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

export interface TokenStore {
  get(): Tokens | null;
  set(tokens: Tokens | null): void;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly title: string,
    readonly detail: string | null,
  ) {
    super(detail || title);
  }
  /** The slug of `urn:messaging:problem:<slug>`. */
  get slug(): string {
    return this.type.split(":").pop() ?? "";
  }
}

export interface RequestOptions {
  body?: unknown;
  form?: FormData;
  auth?: boolean;
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

const REFRESH_PATH = "/api/v1/auth/refresh";
const EXPIRY_MARGIN_SECONDS = 30;

/** Seconds since the epoch when a JWT expires, or null when it cannot be read. */
export function tokenExpiry(jwt: string): number | null {
  try {
    const part = jwt.split(".")[1];
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const exp = JSON.parse(json).exp;
    return typeof exp === "number" ? exp : null;
  } catch {
    return null;
  }
}

export async function problemOf(response: Response): Promise<ApiError> {
  try {
    const body = await response.json();
    return new ApiError(
      response.status,
      String(body.type ?? "about:blank"),
      String(body.title ?? response.statusText),
      body.detail ?? null,
    );
  } catch {
    return new ApiError(response.status, "about:blank", response.statusText || "Request failed", null);
  }
}

export function createApiClient(opts: {
  fetch: Fetch;
  store: TokenStore;
  onSignedOut: () => void;
  now?: () => number;
}) {
  const { fetch, store, onSignedOut } = opts;
  const now = opts.now ?? (() => Date.now() / 1000);
  let refreshing: Promise<boolean> | null = null;

  function refresh(): Promise<boolean> {
    if (!refreshing) {
      refreshing = (async () => {
        const tokens = store.get();
        if (!tokens) return false;
        try {
          const response = await fetch(REFRESH_PATH, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ refresh_token: tokens.refresh_token }),
          });
          if (response.ok) {
            store.set((await response.json()) as Tokens);
            return true;
          }
          if (response.status >= 500) return false; // auth blinked: keep the session
        } catch {
          return false; // offline: keep the session, try again later
        }
        store.set(null);
        onSignedOut();
        return false;
      })().finally(() => {
        refreshing = null;
      });
    }
    return refreshing;
  }

  /** An access token valid for at least a little while (refreshing first when needed). */
  async function accessToken(): Promise<string | null> {
    let tokens = store.get();
    if (!tokens) return null;
    const exp = tokenExpiry(tokens.access_token);
    if (exp !== null && exp - now() < EXPIRY_MARGIN_SECONDS) {
      await refresh();
      tokens = store.get();
    }
    return tokens?.access_token ?? null;
  }

  async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const auth = options.auth ?? true;
    const send = async () => {
      const headers: Record<string, string> = { Accept: "application/json" };
      let body: BodyInit | undefined;
      if (options.form) body = options.form;
      else if (options.body !== undefined) {
        headers["Content-Type"] = "application/json";
        body = JSON.stringify(options.body);
      }
      if (auth) {
        const token = await accessToken();
        if (token) headers.Authorization = `Bearer ${token}`;
      }
      return fetch(path, { method, headers, body });
    };
    let response = await send();
    if (response.status === 401 && auth && store.get()) {
      if (await refresh()) response = await send();
    }
    if (!response.ok) throw await problemOf(response);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  return {
    request,
    refresh,
    accessToken,
    get: <T>(path: string) => request<T>("GET", path),
    post: <T>(path: string, body?: unknown) => request<T>("POST", path, { body }),
    put: <T>(path: string, body?: unknown) => request<T>("PUT", path, { body }),
    patch: <T>(path: string, body?: unknown) => request<T>("PATCH", path, { body }),
    del: <T>(path: string) => request<T>("DELETE", path),
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;

/** Tokens kept in localStorage so a reload stays signed in. */
export function localTokenStore(key = "mp.tokens"): TokenStore {
  return {
    get() {
      const raw = localStorage.getItem(key);
      return raw ? (JSON.parse(raw) as Tokens) : null;
    },
    set(tokens) {
      if (tokens) localStorage.setItem(key, JSON.stringify(tokens));
      else localStorage.removeItem(key);
    },
  };
}
