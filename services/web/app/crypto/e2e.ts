// End-to-end encryption with WebCrypto. Each device has an ECDH P-256 key pair (the private
// key never leaves the browser, non-extractable). A message is AES-256-GCM encrypted under a
// fresh key; that key is wrapped for every device of every reader (the recipient's devices and
// the sender's own, so their other devices can read it too) with AES-KW under a key derived by
// ECDH between one ephemeral key pair per message and the device's public key (HKDF-SHA256).
//
// The messages and groups services keep `keys` as user id -> one opaque base64 value, so the
// per-device wrapped keys of one user travel inside it as a "bundle":
//   base64(JSON {"v": 1, "epk": base64(raw ephemeral public key), "d": {device id: base64(wrapped)}})

export const DEVICE_ALGORITHM = "ECDH-P256";
const ECDH = { name: "ECDH", namedCurve: "P-256" } as const;
const INFO_PREFIX = "mp-e2e-v1:";

export interface DeviceIdentity {
  deviceId: string;
  privateKey: CryptoKey;
  publicKey: string; // base64 raw
}

export interface ReaderDevices {
  userId: string;
  devices: { deviceId: string; publicKey: string }[];
}

export interface Sealed {
  ciphertext: string;
  nonce: string;
  keys: Record<string, string>;
}

export interface KeyBundle {
  v: 1;
  epk: string;
  d: Record<string, string>;
}

const subtle = () => globalThis.crypto.subtle;
const encoder = new TextEncoder();

export function toBase64(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = "";
  for (let i = 0; i < view.length; i += 0x8000) {
    binary += String.fromCharCode(...view.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export function encodeBundle(bundle: KeyBundle): string {
  return btoa(JSON.stringify(bundle));
}

export function decodeBundle(value: string): KeyBundle {
  const bundle = JSON.parse(atob(value));
  if (bundle?.v !== 1 || typeof bundle.epk !== "string" || typeof bundle.d !== "object") {
    throw new Error("not a key bundle of version 1");
  }
  return bundle as KeyBundle;
}

export async function createDeviceIdentity(deviceId: string): Promise<DeviceIdentity> {
  const pair = (await subtle().generateKey(ECDH, false, ["deriveBits"])) as CryptoKeyPair;
  const raw = await subtle().exportKey("raw", pair.publicKey);
  return { deviceId, privateKey: pair.privateKey, publicKey: toBase64(raw) };
}

function importPublicKey(raw: string): Promise<CryptoKey> {
  return subtle().importKey("raw", fromBase64(raw), ECDH, false, []);
}

/** The AES-KW key shared by `privateKey` and `publicKey`, bound to the device and the epk. */
async function keyEncryptionKey(
  privateKey: CryptoKey,
  publicKey: CryptoKey,
  epk: string,
  deviceId: string,
  usage: "wrapKey" | "unwrapKey",
): Promise<CryptoKey> {
  const secret = await subtle().deriveBits({ name: "ECDH", public: publicKey }, privateKey, 256);
  const hkdf = await subtle().importKey("raw", secret, "HKDF", false, ["deriveKey"]);
  return subtle().deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: fromBase64(epk), info: encoder.encode(INFO_PREFIX + deviceId) },
    hkdf,
    { name: "AES-KW", length: 256 },
    false,
    [usage],
  );
}

/** Encrypt `plaintext` for every listed device; readers without devices get no entry. */
export async function seal(plaintext: string, readers: ReaderDevices[]): Promise<Sealed> {
  const messageKey = await subtle().generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt"]);
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await subtle().encrypt({ name: "AES-GCM", iv: nonce }, messageKey, encoder.encode(plaintext));
  const ephemeral = (await subtle().generateKey(ECDH, false, ["deriveBits"])) as CryptoKeyPair;
  const epk = toBase64(await subtle().exportKey("raw", ephemeral.publicKey));
  const keys: Record<string, string> = {};
  for (const reader of readers) {
    const d: Record<string, string> = {};
    for (const device of reader.devices) {
      const kek = await keyEncryptionKey(
        ephemeral.privateKey,
        await importPublicKey(device.publicKey),
        epk,
        device.deviceId,
        "wrapKey",
      );
      d[device.deviceId] = toBase64(await subtle().wrapKey("raw", messageKey, kek, "AES-KW"));
    }
    if (Object.keys(d).length > 0) keys[reader.userId] = encodeBundle({ v: 1, epk, d });
  }
  return { ciphertext: toBase64(ciphertext), nonce: toBase64(nonce), keys };
}

export class NotForThisDevice extends Error {}

/** Decrypt with this device's key; throws NotForThisDevice when nothing was wrapped for it. */
export async function open(
  message: { ciphertext: string; nonce: string; wrapped_key: string | null },
  device: DeviceIdentity,
): Promise<string> {
  if (!message.wrapped_key) throw new NotForThisDevice("no key for this user");
  const bundle = decodeBundle(message.wrapped_key);
  const wrapped = bundle.d[device.deviceId];
  if (!wrapped) throw new NotForThisDevice("no key for this device");
  const kek = await keyEncryptionKey(
    device.privateKey,
    await importPublicKey(bundle.epk),
    bundle.epk,
    device.deviceId,
    "unwrapKey",
  );
  const messageKey = await subtle().unwrapKey("raw", fromBase64(wrapped), kek, "AES-KW", "AES-GCM", false, [
    "decrypt",
  ]);
  const plain = await subtle().decrypt(
    { name: "AES-GCM", iv: fromBase64(message.nonce) },
    messageKey,
    fromBase64(message.ciphertext),
  );
  return new TextDecoder().decode(plain);
}
