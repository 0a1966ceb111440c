import { useEffect, useState } from "react";
import { ApiError } from "../api/client";
import { verifyEmail } from "../api/endpoints";
import { client } from "../session";

// The page the verification mail links to (auth's PUBLIC_BASE_URL + /verify-email?token=...).
// No login needed: the link may be opened in another browser than the one that registered.
export function VerifyEmail({ token, onDone }: { token: string | null; onDone: () => void }) {
  const [state, setState] = useState<"checking" | "verified" | "failed">("checking");
  const [detail, setDetail] = useState("");

  useEffect(() => {
    if (!token) {
      setState("failed");
      setDetail("This link has no token in it.");
      return;
    }
    verifyEmail(client, token)
      .then(() => setState("verified"))
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
        {state === "verified" && "Your email address is verified."}
        {state === "failed" && `This link did not work: ${detail} Ask for a new one from your profile.`}
      </p>
      {state !== "checking" && (
        <button type="button" onClick={onDone}>
          Continue
        </button>
      )}
    </main>
  );
}
