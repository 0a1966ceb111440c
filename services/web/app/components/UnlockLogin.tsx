import { useEffect, useState } from "react";
import { ApiError } from "../api/client";
import { unlockLogin } from "../api/endpoints";
import { client } from "../session";

// The page the "someone is trying to log in" mail links to (auth's PUBLIC_BASE_URL +
// /unlock-login?token=...). Opened on the device the owner wants to log in from: auth then
// lets this address past the account-wide limit that guessers elsewhere ran into.
export function UnlockLogin({ token, onDone }: { token: string | null; onDone: () => void }) {
  const [state, setState] = useState<"checking" | "unlocked" | "failed">("checking");
  const [detail, setDetail] = useState("");

  useEffect(() => {
    if (!token) {
      setState("failed");
      setDetail("This link has no token in it.");
      return;
    }
    unlockLogin(client, token)
      .then(() => setState("unlocked"))
      .catch((failure) => {
        setState("failed");
        setDetail(failure instanceof ApiError ? failure.message : "Could not reach the server");
      });
  }, [token]);

  return (
    <main className="auth">
      <h1>Messaging</h1>
      <p role="status" aria-live="polite">
        {state === "checking" && "Checking your link…"}
        {state === "unlocked" && "You can log in from this device now."}
        {state === "failed" && `This link did not work: ${detail} Logins from devices you used before still work.`}
      </p>
      {state !== "checking" && (
        <button type="button" onClick={onDone}>
          Continue
        </button>
      )}
    </main>
  );
}
