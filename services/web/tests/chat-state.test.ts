import { describe, expect, it } from "vitest";
import { backoffMs } from "../app/live/socket";
import { chatReducer, directKey, initialChatState, sortedChats, typingNow, type ChatMessage } from "../app/state/chat";

const ME = "me";
const BOB = directKey("bob");
const msg = (id: string, seq: number, senderId: string, readAt: string | null = null): ChatMessage => ({
  id,
  seq,
  senderId,
  createdAt: `2026-01-01T00:00:0${seq}Z`,
  readAt,
  content: { kind: "text", text: id },
});

describe("chat reducer", () => {
  it("orders by seq, drops repeats, and counts unread only for chats that are not open", () => {
    let s = initialChatState(ME);
    s = chatReducer(s, { type: "history", key: BOB, messages: [msg("b", 2, "bob"), msg("a", 1, "bob", "t")] });
    expect(s.chats[BOB].messages.map((m) => m.id)).toEqual(["a", "b"]);
    expect(s.chats[BOB].unread).toBe(1);
    s = chatReducer(s, { type: "message", key: BOB, message: msg("c", 3, "bob") });
    s = chatReducer(s, { type: "message", key: BOB, message: msg("c", 3, "bob") });
    expect(s.chats[BOB].messages).toHaveLength(3);
    expect(s.chats[BOB].unread).toBe(2);
    s = chatReducer(s, { type: "message", key: BOB, message: msg("mine", 4, ME) });
    expect(s.chats[BOB].unread).toBe(2);
    s = chatReducer(s, { type: "open", key: BOB });
    expect(s.chats[BOB].unread).toBe(0);
    s = chatReducer(s, { type: "message", key: BOB, message: msg("d", 5, "bob") });
    expect(s.chats[BOB].unread).toBe(0);
  });

  it("applies read receipts and deletes", () => {
    let s = chatReducer(initialChatState(ME), { type: "history", key: BOB, messages: [msg("a", 1, ME), msg("b", 2, ME)] });
    s = chatReducer(s, { type: "read", key: BOB, messageId: "a", readAt: "2026-01-01T00:01:00Z" });
    expect(s.chats[BOB].messages.map((m) => m.readAt)).toEqual(["2026-01-01T00:01:00Z", null]);
    s = chatReducer(s, { type: "deleted", key: BOB, messageId: "b" });
    expect(s.chats[BOB].messages.map((m) => m.id)).toEqual(["a"]);
  });

  it("shows typing for a while, until it stops or a message arrives", () => {
    let s = chatReducer(initialChatState(ME), { type: "typing", key: BOB, from: "bob", active: true, now: 1000 });
    expect(typingNow(s.chats[BOB], 2000)).toEqual(["bob"]);
    expect(typingNow(s.chats[BOB], 1000 + 6000)).toEqual([]);
    s = chatReducer(s, { type: "message", key: BOB, message: msg("a", 1, "bob") });
    expect(typingNow(s.chats[BOB], 2000)).toEqual([]);
    s = chatReducer(s, { type: "typing", key: BOB, from: "bob", active: true, now: 1000 });
    s = chatReducer(s, { type: "typing", key: BOB, from: "bob", active: false, now: 1100 });
    expect(typingNow(s.chats[BOB], 1200)).toEqual([]);
  });

  it("lists the most recently active chat first", () => {
    let s = chatReducer(initialChatState(ME), { type: "chat-known", key: "g:x", title: "Team", lastAt: "2026-01-02" });
    s = chatReducer(s, { type: "chat-known", key: BOB, title: "Bob", lastAt: "2026-01-01" });
    expect(sortedChats(s).map((c) => c.key)).toEqual(["g:x", BOB]);
    s = chatReducer(s, { type: "message", key: BOB, message: { ...msg("a", 1, "bob"), createdAt: "2026-01-03" } });
    expect(sortedChats(s).map((c) => c.key)).toEqual([BOB, "g:x"]);
  });

  it("backs off reconnects from half a second to eight", () => {
    expect([0, 1, 2, 3, 4, 10].map(backoffMs)).toEqual([500, 1000, 2000, 4000, 8000, 8000]);
  });
});
