import { useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import * as api from "../api/endpoints";
import type { GroupDetail, GroupInvitation, Invitation, Profile } from "../api/types";
import { client } from "../session";

interface Props {
  me: Profile;
  contacts: Profile[];
  incoming: Invitation[];
  outgoing: Invitation[];
  groupInvites: GroupInvitation[];
  names: Record<string, string>;
  onChanged: () => void;
  onGroupCreated: (group: GroupDetail) => void;
}

export function PeoplePanel(props: Props) {
  const { me, contacts, incoming, outgoing, groupInvites, names, onChanged, onGroupCreated } = props;
  const [query, setQuery] = useState("");
  const [results, setResults] = useState<Profile[] | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [groupName, setGroupName] = useState("");
  const [members, setMembers] = useState<string[]>([]);
  const contactIds = new Set(contacts.map((c) => c.user_id));
  const invited = new Set(outgoing.map((i) => i.invitee_id));

  async function find(event: FormEvent) {
    event.preventDefault();
    if (!query.trim()) return;
    const page = await api.search(client, query.trim());
    setResults(page.items.filter((p) => p.user_id !== me.user_id));
  }

  async function act(action: () => Promise<unknown>, done: string) {
    setMessage(null);
    try {
      await action();
      setMessage(done);
      onChanged();
    } catch (e) {
      setMessage(e instanceof ApiError ? e.message : String(e));
    }
  }

  async function createGroup(event: FormEvent) {
    event.preventDefault();
    if (!groupName.trim()) return;
    try {
      const group = await api.createGroup(client, groupName.trim(), members);
      setGroupName("");
      setMembers([]);
      onGroupCreated(group);
    } catch (e) {
      setMessage(e instanceof ApiError ? e.message : String(e));
    }
  }

  return (
    <section aria-labelledby="people-heading">
      <h2 id="people-heading">People</h2>
      <form role="search" onSubmit={find} className="row">
        <label className="visually-hidden" htmlFor="people-search">
          Search people by username or name
        </label>
        <input
          id="people-search"
          type="search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          placeholder="Search people"
        />
        <button type="submit">Search</button>
      </form>
      {results && (
        <ul className="people" aria-label="Search results">
          {results.length === 0 && <li className="muted">Nobody found.</li>}
          {results.map((p) => (
            <li key={p.user_id}>
              <span>
                {p.display_name} <span className="muted">@{p.username}</span>
              </span>
              {contactIds.has(p.user_id) ? (
                <span className="muted">Contact</span>
              ) : invited.has(p.user_id) ? (
                <span className="muted">Invited</span>
              ) : (
                <button
                  type="button"
                  onClick={() => act(() => api.invite(client, p.user_id), `Invitation sent to ${p.display_name}`)}
                  aria-label={`Invite ${p.display_name}`}
                >
                  Invite
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {message && (
        <p className="note" role="status">
          {message}
        </p>
      )}
      {incoming.length > 0 && (
        <>
          <h3>Invitations</h3>
          <ul className="people" aria-label="Invitations to you">
            {incoming.map((i) => (
              <li key={i.id}>
                <span>{names[i.inviter_id] ?? "Someone"} invites you</span>
                <button
                  type="button"
                  onClick={() => act(() => api.answerInvitation(client, i.id, "accept"), "Invitation accepted")}
                  aria-label={`Accept invitation from ${names[i.inviter_id] ?? "someone"}`}
                >
                  Accept
                </button>
                <button
                  type="button"
                  className="secondary"
                  onClick={() => act(() => api.answerInvitation(client, i.id, "decline"), "Invitation declined")}
                >
                  Decline
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      {groupInvites.length > 0 && (
        <>
          <h3>Group invitations</h3>
          <ul className="people" aria-label="Group invitations to you">
            {groupInvites.map((i) => (
              <li key={i.id}>
                <span>
                  {names[i.inviter_id] ?? "Someone"} invites you to {i.group_name}
                </span>
                <button
                  type="button"
                  onClick={() => act(() => api.answerGroupInvitation(client, i.id, "accept"), `You joined ${i.group_name}`)}
                  aria-label={`Join ${i.group_name}`}
                >
                  Join
                </button>
                <button
                  type="button"
                  className="secondary"
                  onClick={() => act(() => api.answerGroupInvitation(client, i.id, "decline"), "Invitation declined")}
                  aria-label={`Decline ${i.group_name}`}
                >
                  Decline
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      {contacts.length > 0 && (
        <details>
          <summary>New group</summary>
          <form onSubmit={createGroup} aria-label="New group">
            <label>
              Group name
              <input value={groupName} onChange={(e) => setGroupName(e.target.value)} required maxLength={100} />
            </label>
            <fieldset>
              <legend>Members</legend>
              {contacts.map((c) => (
                <label key={c.user_id} className="check">
                  <input
                    type="checkbox"
                    checked={members.includes(c.user_id)}
                    onChange={(e) =>
                      setMembers((m) => (e.target.checked ? [...m, c.user_id] : m.filter((id) => id !== c.user_id)))
                    }
                  />
                  {c.display_name}
                </label>
              ))}
            </fieldset>
            <button type="submit">Create group</button>
          </form>
        </details>
      )}
    </section>
  );
}
