// Sending and reading encrypted messages: who the readers' devices are, sealing a message's
// content for them, and turning a stored message back into content on this device.
import type { ApiClient } from "./api/client";
import * as api from "./api/endpoints";
import { NotForThisDevice, open, seal, type DeviceIdentity, type ReaderDevices } from "./crypto/e2e";
import type { ChatMessage, Content } from "./state/chat";

export async function readersFor(client: ApiClient, userIds: string[]): Promise<ReaderDevices[]> {
  const unique = [...new Set(userIds)];
  const lists = await Promise.all(unique.map((id) => api.devicesOf(client, id)));
  return unique.map((userId, i) => ({
    userId,
    devices: lists[i].map((d) => ({ deviceId: d.device_id, publicKey: d.public_key })),
  }));
}

function sendable(content: Content): string {
  if (content.kind === "unreadable") throw new Error("cannot send unreadable content");
  return JSON.stringify(content);
}

export async function sendDirect(client: ApiClient, me: string, peerId: string, content: Content) {
  const sealed = await seal(sendable(content), await readersFor(client, [peerId, me]));
  if (!sealed.keys[peerId]) throw new Error("They have not signed in on any device yet, so nothing can be encrypted for them.");
  return api.sendMessage(client, { recipient_id: peerId, idempotency_key: crypto.randomUUID(), ...sealed });
}

export async function sendToGroup(client: ApiClient, groupId: string, memberIds: string[], content: Content) {
  const sealed = await seal(sendable(content), await readersFor(client, memberIds));
  return api.postToGroup(client, groupId, { idempotency_key: crypto.randomUUID(), ...sealed });
}

export interface StoredMessage {
  id: string;
  seq: number;
  sender_id: string;
  created_at: string;
  read_at?: string | null;
  ciphertext: string | null;
  nonce: string | null;
  wrapped_key: string | null;
}

export async function readMessage(device: DeviceIdentity, stored: StoredMessage): Promise<ChatMessage> {
  let content: Content;
  try {
    if (!stored.ciphertext || !stored.nonce) throw new NotForThisDevice("deleted");
    const plain = await open({ ciphertext: stored.ciphertext, nonce: stored.nonce, wrapped_key: stored.wrapped_key }, device);
    content = JSON.parse(plain) as Content;
  } catch (error) {
    const reason =
      error instanceof NotForThisDevice ? "Sent before this device was set up" : "Could not be decrypted";
    content = { kind: "unreadable", reason };
  }
  return {
    id: stored.id,
    seq: stored.seq,
    senderId: stored.sender_id,
    createdAt: stored.created_at,
    readAt: stored.read_at ?? null,
    content,
  };
}
