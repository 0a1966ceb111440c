// The chat state as a pure reducer: chats (direct by peer, groups by id), their decrypted
// messages ordered by seq, unread counts, read receipts and who is typing.

export type ChatKey = string; // "u:<peer id>" or "g:<group id>"

export const directKey = (peerId: string): ChatKey => `u:${peerId}`;
export const groupKey = (groupId: string): ChatKey => `g:${groupId}`;

export type Content =
  | { kind: "text"; text: string }
  | { kind: "image"; mediaId: string; name: string }
  | { kind: "unreadable"; reason: string };

export interface ChatMessage {
  id: string;
  seq: number;
  senderId: string;
  createdAt: string;
  readAt: string | null;
  content: Content;
}

export interface Chat {
  key: ChatKey;
  title: string;
  messages: ChatMessage[];
  unread: number;
  lastAt: string | null;
  typing: Record<string, number>; // user id -> until (ms)
}

export interface ChatState {
  me: string;
  chats: Record<ChatKey, Chat>;
  open: ChatKey | null;
}

export type ChatAction =
  | { type: "chat-known"; key: ChatKey; title: string; lastAt?: string | null }
  | { type: "history"; key: ChatKey; messages: ChatMessage[] }
  | { type: "message"; key: ChatKey; message: ChatMessage }
  | { type: "read"; key: ChatKey; messageId: string; readAt: string }
  | { type: "deleted"; key: ChatKey; messageId: string }
  | { type: "typing"; key: ChatKey; from: string; active: boolean; now: number }
  | { type: "open"; key: ChatKey | null }
  | { type: "signed-out" };

export const TYPING_SHOWN_MS = 5000;

export function initialChatState(me: string): ChatState {
  return { me, chats: {}, open: null };
}

function emptyChat(key: ChatKey, title: string): Chat {
  return { key, title, messages: [], unread: 0, lastAt: null, typing: {} };
}

function merge(existing: ChatMessage[], incoming: ChatMessage[]): ChatMessage[] {
  const byId = new Map(existing.map((m) => [m.id, m]));
  for (const m of incoming) byId.set(m.id, { ...byId.get(m.id), ...m });
  return [...byId.values()].sort((a, b) => a.seq - b.seq);
}

function unreadIn(messages: ChatMessage[], me: string): number {
  return messages.filter((m) => m.senderId !== me && m.readAt === null).length;
}

function update(state: ChatState, key: ChatKey, change: (chat: Chat) => Chat): ChatState {
  const chat = state.chats[key] ?? emptyChat(key, "");
  return { ...state, chats: { ...state.chats, [key]: change(chat) } };
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case "chat-known":
      return update(state, action.key, (chat) => ({
        ...chat,
        title: action.title || chat.title,
        lastAt: action.lastAt ?? chat.lastAt,
      }));
    case "history":
      return update(state, action.key, (chat) => {
        const messages = merge(chat.messages, action.messages);
        const last = messages[messages.length - 1];
        const unread = state.open === action.key ? 0 : unreadIn(messages, state.me);
        return { ...chat, messages, unread, lastAt: last?.createdAt ?? chat.lastAt };
      });
    case "message":
      return update(state, action.key, (chat) => {
        const known = chat.messages.some((m) => m.id === action.message.id);
        const fromOther = action.message.senderId !== state.me;
        const unread = !known && fromOther && state.open !== action.key ? chat.unread + 1 : chat.unread;
        const typing = { ...chat.typing };
        delete typing[action.message.senderId];
        return {
          ...chat,
          messages: merge(chat.messages, [action.message]),
          unread,
          typing,
          lastAt: action.message.createdAt,
        };
      });
    case "read":
      return update(state, action.key, (chat) => ({
        ...chat,
        messages: chat.messages.map((m) => (m.id === action.messageId ? { ...m, readAt: action.readAt } : m)),
      }));
    case "deleted":
      return update(state, action.key, (chat) => ({
        ...chat,
        messages: chat.messages.filter((m) => m.id !== action.messageId),
      }));
    case "typing":
      return update(state, action.key, (chat) => {
        const typing = { ...chat.typing };
        if (action.active) typing[action.from] = action.now + TYPING_SHOWN_MS;
        else delete typing[action.from];
        return { ...chat, typing };
      });
    case "open":
      if (action.key === null) return { ...state, open: null };
      return { ...update(state, action.key, (chat) => ({ ...chat, unread: 0 })), open: action.key };
    case "signed-out":
      return initialChatState("");
  }
}

/** Who is typing in `chat` at `now` (ms). */
export function typingNow(chat: Chat, now: number): string[] {
  return Object.entries(chat.typing)
    .filter(([, until]) => until > now)
    .map(([user]) => user);
}

/** Chats with the most recent activity first. */
export function sortedChats(state: ChatState): Chat[] {
  return Object.values(state.chats).sort((a, b) => (b.lastAt ?? "").localeCompare(a.lastAt ?? ""));
}
