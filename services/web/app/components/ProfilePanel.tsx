import { useState, type ChangeEvent, type FormEvent } from "react";
import { ApiError } from "../api/client";
import * as api from "../api/endpoints";
import type { PresenceVisibility, Profile } from "../api/types";
import { client } from "../session";
import { ImageThumb } from "./ImageThumb";

export function ProfilePanel({ me, onProfile }: { me: Profile; onProfile: (me: Profile) => void }) {
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    try {
      onProfile(
        await api.updateMe(client, {
          display_name: String(form.get("display_name") ?? ""),
          status_text: String(form.get("status_text") ?? ""),
          presence_visibility: String(form.get("presence_visibility") ?? "contacts") as PresenceVisibility,
        }),
      );
      setEditing(false);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  }

  async function avatar(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    if (!file) return;
    try {
      const attachment = await api.uploadMedia(client, file, file.name, { participantIds: [] });
      onProfile(await api.updateMe(client, { avatar_media_id: attachment.id }));
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  }

  return (
    <section className="profile" aria-labelledby="profile-heading">
      <h2 id="profile-heading" className="visually-hidden">
        Your profile
      </h2>
      <div className="row">
        <span className="avatar" aria-hidden={!me.avatar_media_id}>
          {me.avatar_media_id ? (
            <ImageThumb key={me.avatar_media_id} mediaId={me.avatar_media_id} name="your avatar" />
          ) : (
            me.display_name.slice(0, 1).toUpperCase()
          )}
        </span>
        <span>
          <strong data-testid="me">{me.display_name}</strong> <span className="muted">@{me.username}</span>
          {me.status_text && <span className="status-text">{me.status_text}</span>}
        </span>
        <button type="button" className="secondary" onClick={() => setEditing(!editing)} aria-expanded={editing}>
          Edit profile
        </button>
      </div>
      {editing && (
        <form onSubmit={save} aria-label="Edit profile">
          <label>
            Display name
            <input name="display_name" defaultValue={me.display_name} maxLength={100} required />
          </label>
          <label>
            Status
            <input name="status_text" defaultValue={me.status_text} maxLength={200} />
          </label>
          <label>
            Who sees when you are online
            <select name="presence_visibility" defaultValue={me.presence_visibility ?? "contacts"}>
              <option value="contacts">Your contacts</option>
              <option value="everyone">Everyone</option>
              <option value="nobody">Nobody</option>
            </select>
          </label>
          <label>
            Avatar image
            <input type="file" accept="image/png,image/jpeg,image/gif,image/webp" onChange={avatar} />
          </label>
          <button type="submit">Save</button>
        </form>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
