import { useState, type FormEvent } from "react";
import { ApiError, type Tokens } from "../api/client";
import * as api from "../api/endpoints";
import { client, type Account } from "../session";

export function AuthScreen({
  onSignedIn,
}: {
  onSignedIn: (tokens: Tokens, account?: Account) => Promise<void>;
}) {
  const [mode, setMode] = useState<"login" | "register">("login");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const field = (name: string) => String(form.get(name) ?? "").trim();
    setBusy(true);
    setError(null);
    try {
      if (mode === "login") {
        await onSignedIn(await api.login(client, { login: field("login"), password: String(form.get("password")) }));
      } else {
        const made = await api.register(client, {
          email: field("email"),
          username: field("username"),
          password: String(form.get("password")),
          display_name: field("display_name") || undefined,
        });
        await onSignedIn(made.tokens, made.user);
      }
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : "Could not reach the server");
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="auth">
      <h1>Messaging</h1>
      <p className="muted">End-to-end encrypted: the server only ever sees ciphertext.</p>
      <div className="tabs" role="tablist" aria-label="Sign in or register">
        {(["login", "register"] as const).map((m) => (
          <button
            key={m}
            role="tab"
            aria-selected={mode === m}
            aria-controls="auth-form"
            onClick={() => setMode(m)}
            type="button"
          >
            {m === "login" ? "Log in" : "Register"}
          </button>
        ))}
      </div>
      <form id="auth-form" role="tabpanel" onSubmit={submit} aria-label={mode === "login" ? "Log in" : "Register"}>
        {mode === "login" ? (
          <label>
            Email or username
            <input name="login" autoComplete="username" required />
          </label>
        ) : (
          <>
            <label>
              Email
              <input name="email" type="email" autoComplete="email" required />
            </label>
            <label>
              Username
              <input name="username" autoComplete="username" required pattern="[A-Za-z0-9_.]{3,32}" title="3 to 32 letters, digits, dots or underscores" />
            </label>
            <label>
              Display name
              <input name="display_name" autoComplete="name" />
            </label>
          </>
        )}
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={mode === "login" ? "current-password" : "new-password"}
            required
            minLength={mode === "register" ? 8 : 1}
          />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {mode === "login" ? "Log in" : "Create account"}
        </button>
      </form>
    </main>
  );
}
