import { useEffect, useState } from "react";
import type { Erasure } from "./api/account";
import type { Tokens } from "./api/client";
import { AccountDeleted } from "./components/AccountDeleted";
import { AuthScreen } from "./components/AuthScreen";
import { Messenger } from "./components/Messenger";
import { UnlockLogin } from "./components/UnlockLogin";
import { VerifyEmail } from "./components/VerifyEmail";
import { endSession, onSignedOut, startSession, tokens, type Account, type Session } from "./session";

const INTERACTIVE_MARK = "app-interactive";

const VERIFY_PATH = "/verify-email";
const UNLOCK_PATH = "/unlock-login";

export function App() {
  const [verifying, setVerifying] = useState(() => window.location.pathname === VERIFY_PATH);
  const [unlocking, setUnlocking] = useState(() => window.location.pathname === UNLOCK_PATH);
  const [session, setSession] = useState<Session | null>(null);
  const [deleted, setDeleted] = useState<Erasure | null>(null);
  const [restoring, setRestoring] = useState(() => tokens.get() !== null);

  useEffect(() => onSignedOut(() => setSession(null)), []);
  // The first screen that answers input has rendered: the e2e test reads this as time to interactive.
  useEffect(() => {
    if (!restoring && performance.getEntriesByName(INTERACTIVE_MARK).length === 0) performance.mark(INTERACTIVE_MARK);
  }, [restoring]);
  useEffect(() => {
    if (!restoring) return;
    startSession()
      .then(setSession)
      .catch(() => tokens.set(null))
      .finally(() => setRestoring(false));
  }, [restoring]);

  if (verifying) {
    const token = new URLSearchParams(window.location.search).get("token");
    return (
      <VerifyEmail
        token={token}
        onDone={() => {
          window.history.replaceState(null, "", "/");
          setVerifying(false);
        }}
      />
    );
  }
  if (unlocking) {
    const token = new URLSearchParams(window.location.search).get("token");
    return (
      <UnlockLogin
        token={token}
        onDone={() => {
          window.history.replaceState(null, "", "/");
          setUnlocking(false);
        }}
      />
    );
  }
  if (deleted) return <AccountDeleted erasure={deleted} onDone={() => setDeleted(null)} />;
  if (restoring) return <p className="splash" role="status">Loading…</p>;
  if (!session) {
    return <AuthScreen
        onSignedIn={async (fresh: Tokens, account?: Account) => setSession(await startSession(fresh, account))}
      />;
  }
  return (
    <Messenger
      key={session.me.user_id}
      session={session}
      onProfile={(me) => setSession({ ...session, me })}
      onLogout={async () => {
        await endSession();
        setSession(null);
      }}
      onDeleted={(erasure) => {
        // First: the sign-out the erasure causes must find the confirmation already up.
        setDeleted(erasure);
        setSession(null);
        void endSession(); // the refresh token is already revoked; this forgets it here
      }}
    />
  );
}
