import { useEffect, useRef, useState, type ChangeEvent, type FormEvent } from "react";
import * as api from "../api/endpoints";
import { client } from "../session";
import { typingNow, type Chat, type ChatMessage, type Content } from "../state/chat";
import { chatTitle } from "./ChatList";
import { ImageThumb } from "./ImageThumb";

interface Props {
  chat: Chat;
  me: string;
  names: Record<string, string>;
  direct: boolean;
  scope: { conversationId?: string; groupId?: string; participantIds: string[] } | null;
  onSend: (content: Content) => Promise<void>;
  onTyping: () => void;
  onBack: () => void;
}

function Body({ message }: { message: ChatMessage }) {
  const content = message.content;
  if (content.kind === "text") return <span className="text">{content.text}</span>;
  if (content.kind === "image") return <ImageThumb mediaId={content.mediaId} name={content.name} />;
  return <em className="muted">Locked: {content.reason}</em>;
}

export function ChatView({ chat, me, names, direct, scope, onSend, onTyping, onBack }: Props) {
  const [draft, setDraft] = useState("");
  const [uploading, setUploading] = useState(false);
  const [, tick] = useState(0);
  const list = useRef<HTMLOListElement>(null);
  const title = chatTitle(chat.key, chat.title, names);
  const typers = typingNow(chat, Date.now());

  useEffect(() => {
    list.current?.lastElementChild?.scrollIntoView({ block: "end" });
  }, [chat.messages.length]);
  // Re-render while someone types, so the indicator goes away on its own.
  useEffect(() => {
    if (typers.length === 0) return;
    const timer = setTimeout(() => tick((n) => n + 1), 1000);
    return () => clearTimeout(timer);
  });

  async function submit(event: FormEvent) {
    event.preventDefault();
    const text = draft.trim();
    if (!text) return;
    setDraft("");
    await onSend({ kind: "text", text });
  }

  async function attach(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    event.target.value = "";
    if (!file || !scope) return;
    setUploading(true);
    try {
      // The conversation id is known after the first message; before it, the named
      // participants decide who may download (see services/media/README.md).
      const attachment = await api.uploadMedia(client, file, file.name, scope);
      await onSend({ kind: "image", mediaId: attachment.id, name: file.name });
    } finally {
      setUploading(false);
    }
  }

  return (
    <section className="chat" aria-labelledby="chat-heading">
      <header className="chat-header">
        <button type="button" className="back" onClick={onBack} aria-label="Back to chats">
          ←
        </button>
        <h2 id="chat-heading">{title}</h2>
      </header>
      <ol className="messages" ref={list} aria-label={`Messages with ${title}`} aria-live="polite">
        {chat.messages.map((m) => {
          const mine = m.senderId === me;
          return (
            <li key={m.id} className={mine ? "mine" : "theirs"} data-testid="message">
              {!direct && !mine && <span className="sender">{names[m.senderId] ?? "Someone"}</span>}
              <Body message={m} />
              <span className="meta">
                <time dateTime={m.createdAt}>
                  {new Date(m.createdAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}
                </time>
                {mine && direct && (
                  <span className="receipt" data-testid="receipt">
                    {m.readAt ? "Read" : "Sent"}
                  </span>
                )}
              </span>
            </li>
          );
        })}
      </ol>
      <p className="typing" aria-live="polite" data-testid="typing">
        {typers.length > 0 ? `${typers.map((u) => names[u] ?? "Someone").join(", ")} is typing…` : ""}
      </p>
      <form className="composer" onSubmit={submit}>
        <label className="visually-hidden" htmlFor="draft">
          Message
        </label>
        <input
          id="draft"
          value={draft}
          onChange={(e) => {
            setDraft(e.target.value);
            onTyping();
          }}
          placeholder="Write a message"
          autoComplete="off"
          maxLength={4000}
        />
        <label className="attach" title="Attach an image">
          <span className="visually-hidden">Attach an image</span>
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <path
              d="M16.5 6.5 8.6 14.4a2 2 0 1 0 2.8 2.8l7.8-7.8a4 4 0 0 0-5.6-5.6L5.7 11.7a6 6 0 0 0 8.5 8.5l6.3-6.3"
              fill="none"
              stroke="currentColor"
              strokeWidth="2"
              strokeLinecap="round"
            />
          </svg>
          <input type="file" accept="image/png,image/jpeg,image/gif,image/webp" onChange={attach} disabled={uploading} />
        </label>
        <button type="submit" disabled={!draft.trim()}>
          Send
        </button>
      </form>
    </section>
  );
}
