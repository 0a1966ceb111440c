import type { Erasure } from "../api/account";

// Shown once the account is deleted, outside the signed-in screens: the session is already over.
export function AccountDeleted({ erasure, onDone }: { erasure: Erasure; onDone: () => void }) {
  return (
    <main className="splash">
      <section className="account" aria-label="Account deleted">
        <p role="status">
          Your account is deleted; every service is erasing what it held (erasure {erasure.erasure_id}).
        </p>
        <button type="button" onClick={onDone}>
          Done
        </button>
      </section>
    </main>
  );
}
