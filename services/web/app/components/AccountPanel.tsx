import { useState, type FormEvent } from "react";
import { deleteAccount, downloadJson, exportEverything, type Erasure } from "../api/account";
import { ApiError } from "../api/client";
import { client } from "../session";

// "Your data": download everything the platform holds about you, or delete the account (the
// password confirms it; each service then erases its part and auth shows the progress).
// onDeleted gets the erasure: the app ends the session and confirms it on a screen of its own,
// since the erasure closes this session's socket and refresh token within a second.
export function AccountPanel({
  username,
  onDeleted,
}: {
  username: string;
  onDeleted: (erasure: Erasure) => void;
}) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);

  async function download() {
    setBusy(true);
    try {
      downloadJson(`messaging-export-${username}.json`, await exportEverything(client));
      setMessage("Your data was downloaded.");
    } catch (e) {
      setMessage(e instanceof ApiError ? e.message : "Could not gather your data");
    } finally {
      setBusy(false);
    }
  }

  async function remove(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const password = String(new FormData(event.currentTarget).get("password") ?? "");
    setBusy(true);
    try {
      onDeleted(await deleteAccount(client, password));
    } catch (e) {
      setMessage(e instanceof ApiError ? e.message : "Could not delete the account");
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="account" aria-labelledby="account-heading">
      <button type="button" className="secondary" onClick={() => setOpen(!open)} aria-expanded={open}>
        <span id="account-heading">Your data</span>
      </button>
      {open && (
        <>
          <button type="button" onClick={download} disabled={busy}>
            Download my data
          </button>
          <form onSubmit={remove} aria-label="Delete account">
            <label>
              Password (to delete the account)
              <input name="password" type="password" autoComplete="current-password" required />
            </label>
            <button type="submit" className="danger" disabled={busy}>
              Delete my account
            </button>
          </form>
        </>
      )}
      {message && <p role="status">{message}</p>}
    </section>
  );
}
