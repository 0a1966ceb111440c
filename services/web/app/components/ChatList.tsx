import { sortedChats, type ChatKey, type ChatState } from "../state/chat";

export function chatTitle(key: ChatKey, title: string, names: Record<string, string>): string {
  return title || (key.startsWith("u:") ? names[key.slice(2)] : "") || "…";
}

export function ChatList({
  state,
  names,
  onOpen,
}: {
  state: ChatState;
  names: Record<string, string>;
  onOpen: (key: ChatKey) => void;
}) {
  const chats = sortedChats(state);
  return (
    <section aria-labelledby="chats-heading">
      <h2 id="chats-heading">Chats</h2>
      {chats.length === 0 && <p className="muted">No chats yet.</p>}
      <ul className="chat-list">
        {chats.map((chat) => {
          const title = chatTitle(chat.key, chat.title, names);
          return (
            <li key={chat.key}>
              <button
                type="button"
                className={state.open === chat.key ? "active" : ""}
                aria-current={state.open === chat.key ? "true" : undefined}
                onClick={() => onOpen(chat.key)}
                aria-label={`${chat.key.startsWith("g:") ? "Group " : ""}${title}${chat.unread ? `, ${chat.unread} unread` : ""}`}
              >
                <span className="chat-title">
                  {chat.key.startsWith("g:") ? "# " : ""}
                  {title}
                </span>
                {chat.unread > 0 && (
                  <span className="badge" data-testid="unread">
                    {chat.unread}
                  </span>
                )}
              </button>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
