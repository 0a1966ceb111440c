import { describe, expect, it } from "vitest";
import { createDeviceIdentity, seal } from "../app/crypto/e2e";
import { readMessage } from "../app/messenger";

const stored = { id: "m1", seq: 7, sender_id: "alice", created_at: "2026-01-01T00:00:00Z", read_at: null };

describe("reading stored messages", () => {
  it("turns a sealed message back into its content on a device it was sealed for", async () => {
    const bob = await createDeviceIdentity("b-1");
    const sealed = await seal(JSON.stringify({ kind: "image", mediaId: "x", name: "cat.png" }), [
      { userId: "bob", devices: [{ deviceId: bob.deviceId, publicKey: bob.publicKey }] },
    ]);
    const message = await readMessage(bob, { ...stored, ...sealed, wrapped_key: sealed.keys.bob });
    expect(message).toMatchObject({ id: "m1", seq: 7, senderId: "alice", readAt: null });
    expect(message.content).toEqual({ kind: "image", mediaId: "x", name: "cat.png" });
  });

  it("shows why a message cannot be read instead of failing", async () => {
    const bob = await createDeviceIdentity("b-1");
    const laterDevice = await createDeviceIdentity("b-2");
    const sealed = await seal('{"kind":"text","text":"hi"}', [
      { userId: "bob", devices: [{ deviceId: bob.deviceId, publicKey: bob.publicKey }] },
    ]);
    const onLater = await readMessage(laterDevice, { ...stored, ...sealed, wrapped_key: sealed.keys.bob });
    expect(onLater.content).toEqual({ kind: "unreadable", reason: "Sent before this device was set up" });
    const broken = await readMessage(bob, { ...stored, ...sealed, nonce: btoa("000000000000"), wrapped_key: sealed.keys.bob });
    expect(broken.content).toEqual({ kind: "unreadable", reason: "Could not be decrypted" });
    const withdrawn = await readMessage(bob, { ...stored, ciphertext: null, nonce: null, wrapped_key: null });
    expect(withdrawn.content.kind).toBe("unreadable");
  });
});
