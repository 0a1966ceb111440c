// This browser's device identity per user, in IndexedDB: CryptoKey objects are stored as they
// are (structured clone), so the non-extractable private key is never serialised by us.
import { createDeviceIdentity, type DeviceIdentity } from "./e2e";

const DB_NAME = "messaging-e2e";
const STORE = "devices";

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function run<T>(mode: IDBTransactionMode, action: (store: IDBObjectStore) => IDBRequest): Promise<T> {
  return openDb().then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const request = action(db.transaction(STORE, mode).objectStore(STORE));
        request.onsuccess = () => resolve(request.result as T);
        request.onerror = () => reject(request.error);
      }),
  );
}

/** The device identity of `userId` in this browser, made on first use. */
export async function deviceIdentityFor(userId: string): Promise<DeviceIdentity> {
  const known = await run<DeviceIdentity | undefined>("readonly", (s) => s.get(userId));
  if (known) return known;
  const made = await createDeviceIdentity(crypto.randomUUID());
  await run("readwrite", (s) => s.put(made, userId));
  return made;
}
