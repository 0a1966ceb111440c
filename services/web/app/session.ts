// The signed-in session: one API client for the page, the user's profile and this browser's
// device identity (published to the users service on every sign-in; the PUT is idempotent).
import { createApiClient, localTokenStore, type Tokens } from "./api/client";
import * as api from "./api/endpoints";
import type { Profile } from "./api/types";
import { DEVICE_ALGORITHM, type DeviceIdentity } from "./crypto/e2e";
import { deviceIdentityFor } from "./crypto/keystore";

export const tokens = localTokenStore();
const signedOutListeners = new Set<() => void>();

export const client = createApiClient({
  fetch: (input, init) => fetch(input, init),
  store: tokens,
  onSignedOut: () => signedOutListeners.forEach((listener) => listener()),
});

export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

export interface Session {
  me: Profile;
  device: DeviceIdentity;
}

export interface Account {
  id: string;
  email: string;
  username: string;
  display_name: string | null;
}

/** users makes the profile from auth's user.registered event a moment after registering, so a
 * new account starts from what auth answered (asking users at once would meet a 404). */
function profileOf(account: Account): Profile {
  return {
    user_id: account.id,
    username: account.username,
    display_name: account.display_name || account.username,
    avatar_media_id: null,
    status_text: "",
    email: account.email,
  };
}

export async function startSession(fresh?: Tokens, account?: Account): Promise<Session> {
  if (fresh) tokens.set(fresh);
  const me = account ? profileOf(account) : await api.me(client);
  const device = await deviceIdentityFor(me.user_id);
  await api.publishDevice(client, device.deviceId, DEVICE_ALGORITHM, device.publicKey);
  return { me, device };
}

export async function endSession(): Promise<void> {
  const current = tokens.get();
  tokens.set(null);
  if (current) await api.logout(client, current.refresh_token).catch(() => undefined);
}
