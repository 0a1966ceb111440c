import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import type { Erasure } from "../api/account";
import * as api from "../api/endpoints";
import type { GroupDetail, GroupInvitation, Invitation, Profile } from "../api/types";
import { LiveSocket, type EventFrame, type LiveStatus, type TypingFrame } from "../live/socket";
import { readMessage, sendDirect, sendToGroup, type StoredMessage } from "../messenger";
import { client, type Session } from "../session";
import { chatReducer, directKey, groupKey, initialChatState, type ChatKey, type Content } from "../state/chat";
import { ChatList } from "./ChatList";
import { ChatView } from "./ChatView";
import { OfflineBanner } from "./OfflineBanner";
import { PeoplePanel } from "./PeoplePanel";
import { AccountPanel } from "./AccountPanel";
import { ProfilePanel } from "./ProfilePanel";

const POLL_MS = 3000;
const TYPING_EVERY_MS = 2000;

interface Props {
  session: Session;
  onProfile: (me: Profile) => void;
  onLogout: () => void;
  onDeleted: (erasure: Erasure) => void;
}

export function Messenger({ session, onProfile, onLogout, onDeleted }: Props) {
  const { me, device } = session;
  const [state, dispatch] = useReducer(chatReducer, me.user_id, initialChatState);
  const [status, setStatus] = useState<LiveStatus>("connecting");
  const [contacts, setContacts] = useState<Profile[]>([]);
  const [incoming, setIncoming] = useState<Invitation[]>([]);
  const [outgoing, setOutgoing] = useState<Invitation[]>([]);
  const [groupInvites, setGroupInvites] = useState<GroupInvitation[]>([]);
  const [groups, setGroups] = useState<Record<string, GroupDetail>>({});
  const [names, setNames] = useState<Record<string, string>>({ [me.user_id]: me.display_name });
  const [error, setError] = useState<string | null>(null);
  const socket = useRef<LiveSocket | null>(null);
  const openRef = useRef<ChatKey | null>(null);
  const conversationPeers = useRef(new Map<string, string>());
  const lastTyping = useRef(0);
  openRef.current = state.open;

  const namesRef = useRef(names);
  namesRef.current = names;
  const nameOf = useCallback(async (userId: string) => {
    const known = namesRef.current[userId];
    if (known) return known;
    const profile = await api.profile(client, userId).catch(() => null);
    const name = profile?.display_name ?? "Someone";
    setNames((all) => ({ ...all, [userId]: name }));
    return name;
  }, []);

  const refreshLists = useCallback(async () => {
    const [people, inbox, sent, mine, convs, asked] = await Promise.all([
      api.contacts(client),
      api.invitations(client, "incoming"),
      api.invitations(client, "outgoing"),
      api.groups(client),
      api.conversations(client),
      // A groups service from before group invitations answers this path with an error.
      api.groupInvitations(client).catch((): GroupInvitation[] => []),
    ]);
    setContacts(people);
    setGroupInvites(asked);
    await Promise.all(asked.map((i) => nameOf(i.inviter_id)));
    setIncoming(inbox.filter((i) => i.status === "pending"));
    await Promise.all(inbox.filter((i) => i.status === "pending").map((i) => nameOf(i.inviter_id)));
    setOutgoing(sent.filter((i) => i.status === "pending"));
    setNames((known) => ({ ...known, ...Object.fromEntries(people.map((p) => [p.user_id, p.display_name])) }));
    for (const p of people) dispatch({ type: "chat-known", key: directKey(p.user_id), title: p.display_name });
    for (const g of mine) dispatch({ type: "chat-known", key: groupKey(g.id), title: g.name });
    for (const c of convs.items) {
      conversationPeers.current.set(c.conversation_id, c.peer_id);
      dispatch({ type: "chat-known", key: directKey(c.peer_id), title: "", lastAt: c.last_message_at });
    }
    await Promise.all(convs.items.map((c) => nameOf(c.peer_id)));
    return { convs: convs.items, groups: mine };
  }, [nameOf]);

  const loadDirect = useCallback(
    async (peerId: string, markAsRead: boolean) => {
      const { conversation_id } = await api.conversationWith(client, peerId);
      // A conversation exists from its first message on (listed, or heard of live); before
      // that its history would be a 404.
      if (!conversationPeers.current.has(conversation_id)) await refreshLists();
      if (!conversationPeers.current.has(conversation_id)) return;
      const page = await api.history(client, conversation_id);
      const messages = await Promise.all(page.items.map((m) => readMessage(device, m)));
      dispatch({ type: "history", key: directKey(peerId), messages });
      if (markAsRead) {
        const unread = page.items.filter((m) => m.sender_id !== me.user_id && !m.read_at);
        await Promise.all(unread.map((m) => api.markRead(client, m.id)));
      }
    },
    [device, me.user_id, refreshLists],
  );

  const loadGroup = useCallback(
    async (groupId: string) => {
      const [detail, page] = await Promise.all([api.group(client, groupId), api.groupHistory(client, groupId)]);
      setGroups((known) => ({ ...known, [groupId]: detail }));
      const messages = await Promise.all(page.items.map((m) => readMessage(device, m)));
      dispatch({ type: "history", key: groupKey(groupId), messages });
    },
    [device],
  );


  // First load: lists, then every chat's recent history (unread counts and previews).
  useEffect(() => {
    let stopped = false;
    refreshLists()
      .then(async ({ convs, groups: mine }) => {
        await Promise.all([
          ...convs.map((c) => loadDirect(c.peer_id, false)),
          ...mine.map((g) => loadGroup(g.id)),
        ]);
      })
      .catch((e) => !stopped && setError(String(e.message ?? e)));
    // Contacts and invitations have no live event: poll them (not while offline).
    const timer = setInterval(() => navigator.onLine && void refreshLists().catch(() => undefined), POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [refreshLists, loadDirect, loadGroup]);

  const handleEvent = useCallback(
    async ({ event }: EventFrame) => {
      const data = event.data as Record<string, string> & { seq: number };
      switch (event.type) {
        case "message.created": {
          const peer = data.sender_id === me.user_id ? data.recipient_id : data.sender_id;
          conversationPeers.current.set(data.conversation_id, peer);
          const stored: StoredMessage = { ...data, id: data.message_id, read_at: null } as unknown as StoredMessage;
          const message = await readMessage(device, stored);
          dispatch({ type: "chat-known", key: directKey(peer), title: await nameOf(peer) });
          dispatch({ type: "message", key: directKey(peer), message });
          if (openRef.current === directKey(peer) && data.sender_id !== me.user_id && document.visibilityState === "visible") {
            await api.markRead(client, data.message_id);
          }
          break;
        }
        case "message.read": {
          const peer = data.sender_id === me.user_id ? data.reader_id : data.sender_id;
          dispatch({ type: "read", key: directKey(peer), messageId: data.message_id, readAt: data.read_at });
          break;
        }
        case "message.deleted": {
          const peer = conversationPeers.current.get(data.conversation_id);
          if (peer) dispatch({ type: "deleted", key: directKey(peer), messageId: data.message_id });
          break;
        }
        case "group.message.created": {
          const message = await readMessage(device, { ...data, id: data.message_id } as unknown as StoredMessage);
          dispatch({ type: "message", key: groupKey(data.group_id), message });
          void nameOf(data.sender_id);
          break;
        }
        case "group.created":
        case "group.renamed":
        case "group.member.added":
        case "group.member.removed":
          dispatch({ type: "chat-known", key: groupKey(data.group_id), title: data.name ?? "" });
          await loadGroup(data.group_id).catch(() => undefined);
          break;
      }
    },
    [device, me.user_id, nameOf, loadGroup],
  );

  const handleTyping = useCallback((frame: TypingFrame) => {
    const key = frame.group_id ? groupKey(frame.group_id) : directKey(frame.from);
    dispatch({ type: "typing", key, from: frame.from, active: frame.active, now: Date.now() });
  }, []);

  // Latest handlers without reconnecting the socket on every render.
  const handlers = useRef({ handleEvent, handleTyping, loadDirect, loadGroup });
  handlers.current = { handleEvent, handleTyping, loadDirect, loadGroup };

  useEffect(() => {
    const reloadOpenChat = () => {
      const open = openRef.current;
      if (open?.startsWith("u:")) void handlers.current.loadDirect(open.slice(2), true).catch(() => undefined);
      if (open?.startsWith("g:")) void handlers.current.loadGroup(open.slice(2)).catch(() => undefined);
    };
    const cursorKey = `mp.cursor.${me.user_id}.${device.deviceId}`;
    const live = new LiveSocket({
      url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`,
      token: () => client.accessToken(),
      refresh: () => client.refresh(),
      cursor: { load: () => localStorage.getItem(cursorKey), save: (c) => localStorage.setItem(cursorKey, c) },
      onEvent: (frame) => handlers.current.handleEvent(frame),
      onTyping: (frame) => handlers.current.handleTyping(frame),
      onStatus: setStatus,
      // The stream no longer holds our cursor: reload what is on screen over HTTP.
      onGap: reloadOpenChat,
      // Back online: the stream replays what we missed; history fills in anything older.
      onReady: reloadOpenChat,
    });
    socket.current = live;
    live.start();
    return () => live.stop();
  }, [me.user_id, device.deviceId]);

  const openChat = useCallback(
    (key: ChatKey | null) => {
      dispatch({ type: "open", key });
      setError(null);
      if (key?.startsWith("u:")) void loadDirect(key.slice(2), true).catch((e) => setError(e.message));
      if (key?.startsWith("g:")) void loadGroup(key.slice(2)).catch((e) => setError(e.message));
    },
    [loadDirect, loadGroup],
  );

  const open = state.open ? state.chats[state.open] : null;
  const openGroup = state.open?.startsWith("g:") ? groups[state.open.slice(2)] : undefined;

  const send = useCallback(
    async (content: Content) => {
      if (!state.open) return;
      setError(null);
      try {
        if (state.open.startsWith("u:")) {
          const peer = state.open.slice(2);
          socket.current?.send({ type: "typing", to: peer, active: false });
          lastTyping.current = 0;
          const stored = await sendDirect(client, me.user_id, peer, content);
          dispatch({ type: "message", key: state.open, message: await readMessage(device, stored) });
        } else {
          const groupId = state.open.slice(2);
          const detail = groups[groupId] ?? (await api.group(client, groupId));
          const stored = await sendToGroup(client, groupId, detail.members.map((m) => m.user_id), content);
          dispatch({ type: "message", key: state.open, message: await readMessage(device, stored) });
        }
      } catch (e) {
        setError(e instanceof Error ? e.message : String(e));
      }
    },
    [state.open, groups, me.user_id, device],
  );

  const typing = useCallback(() => {
    if (!state.open || Date.now() - lastTyping.current < TYPING_EVERY_MS) return;
    lastTyping.current = Date.now();
    const target = state.open.startsWith("u:") ? { to: state.open.slice(2) } : { group_id: state.open.slice(2) };
    socket.current?.send({ type: "typing", ...target });
  }, [state.open]);

  const scope = useMemo(() => {
    if (!state.open) return null;
    if (state.open.startsWith("g:")) {
      return { groupId: state.open.slice(2), participantIds: openGroup?.members.map((m) => m.user_id) ?? [] };
    }
    const peer = state.open.slice(2);
    const conversationId = [...conversationPeers.current].find(([, p]) => p === peer)?.[0];
    return { conversationId, participantIds: [peer] };
  }, [state.open, openGroup]);

  return (
    <div className={`shell ${open ? "chat-open" : ""}`}>
      <header className="topbar">
        <h1>Messaging</h1>
        <span className={`status status-${status}`} role="status" aria-label={`Connection: ${status}`}>
          {status}
        </span>
        <button type="button" onClick={onLogout}>
          Log out
        </button>
      </header>
      <OfflineBanner status={status} />
      <nav className="sidebar" aria-label="Chats and people">
        <ProfilePanel me={me} onProfile={onProfile} />
        <AccountPanel username={me.username} onDeleted={onDeleted} />
        <PeoplePanel
          me={me}
          contacts={contacts}
          incoming={incoming}
          outgoing={outgoing}
          groupInvites={groupInvites}
          names={names}
          onChanged={() => void refreshLists()}
          onGroupCreated={(g) => {
            setGroups((known) => ({ ...known, [g.id]: g }));
            dispatch({ type: "chat-known", key: groupKey(g.id), title: g.name });
            openChat(groupKey(g.id));
          }}
        />
        <ChatList state={state} names={names} onOpen={openChat} />
      </nav>
      <main className="main">
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        {open ? (
          <ChatView
            chat={open}
            me={me.user_id}
            names={names}
            direct={open.key.startsWith("u:")}
            scope={scope}
            onSend={send}
            onTyping={typing}
            onBack={() => openChat(null)}
          />
        ) : (
          <p className="placeholder">Pick a chat, or find someone to invite.</p>
        )}
      </main>
    </div>
  );
}
