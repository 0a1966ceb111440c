import { describe, expect, it } from "vitest";
import { NotForThisDevice, createDeviceIdentity, decodeBundle, fromBase64, open, seal, toBase64 } from "../app/crypto/e2e";

describe("end-to-end encryption", () => {
  it("wraps the message key for every device of every reader, and each can open it", async () => {
    const alicePhone = await createDeviceIdentity("a-phone");
    const aliceLaptop = await createDeviceIdentity("a-laptop");
    const bob = await createDeviceIdentity("b-1");
    const sealed = await seal("hello, Bob", [
      { userId: "bob", devices: [{ deviceId: bob.deviceId, publicKey: bob.publicKey }] },
      {
        userId: "alice",
        devices: [alicePhone, aliceLaptop].map((d) => ({ deviceId: d.deviceId, publicKey: d.publicKey })),
      },
    ]);
    expect(Object.keys(sealed.keys).sort()).toEqual(["alice", "bob"]);
    expect(Object.keys(decodeBundle(sealed.keys.alice).d).sort()).toEqual(["a-laptop", "a-phone"]);
    expect(atob(sealed.ciphertext)).not.toContain("hello");

    expect(await open({ ...sealed, wrapped_key: sealed.keys.bob }, bob)).toBe("hello, Bob");
    expect(await open({ ...sealed, wrapped_key: sealed.keys.alice }, aliceLaptop)).toBe("hello, Bob");
    expect(await open({ ...sealed, wrapped_key: sealed.keys.alice }, alicePhone)).toBe("hello, Bob");
  });

  it("refuses a device it was not sealed for, and tampered ciphertext", async () => {
    const bob = await createDeviceIdentity("b-1");
    const eve = await createDeviceIdentity("e-1");
    const sealed = await seal("secret", [{ userId: "bob", devices: [{ deviceId: "b-1", publicKey: bob.publicKey }] }]);
    await expect(open({ ...sealed, wrapped_key: sealed.keys.bob }, eve)).rejects.toBeInstanceOf(NotForThisDevice);
    // Eve claiming Bob's device id still cannot derive Bob's key-encryption key.
    await expect(
      open({ ...sealed, wrapped_key: sealed.keys.bob }, { ...eve, deviceId: "b-1" }),
    ).rejects.toThrow();
    const bytes = fromBase64(sealed.ciphertext);
    bytes[0] ^= 1;
    await expect(open({ ...sealed, ciphertext: toBase64(bytes), wrapped_key: sealed.keys.bob }, bob)).rejects.toThrow();
  });

  it("leaves out readers with no device, and keeps bundles within the messages service's 4096 characters", async () => {
    const devices = await Promise.all(
      Array.from({ length: 20 }, (_, i) => createDeviceIdentity(crypto.randomUUID()).then((d) => ({ d, i }))),
    );
    const sealed = await seal("x", [
      { userId: "many", devices: devices.map(({ d }) => ({ deviceId: d.deviceId, publicKey: d.publicKey })) },
      { userId: "nobody", devices: [] },
    ]);
    expect(Object.keys(sealed.keys)).toEqual(["many"]);
    expect(sealed.keys.many.length).toBeLessThanOrEqual(4096);
    expect(sealed.keys.many).toMatch(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
  });
});
