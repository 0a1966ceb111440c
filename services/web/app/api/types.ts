// Shapes of the services' JSON (see services/README.md and services/EVENTS.md).

export interface Profile {
  user_id: string;
  username: string;
  display_name: string;
  avatar_media_id: string | null;
  status_text: string;
  email?: string | null;
  // Only on your own profile: who sees when you are online (contacts by default).
  presence_visibility?: PresenceVisibility | null;
}

export type PresenceVisibility = "contacts" | "everyone" | "nobody";

// Being put into a group by someone you have not accepted as a contact asks you first.
export interface GroupInvitation {
  id: string;
  group_id: string;
  group_name: string;
  inviter_id: string;
  role: string;
  status: string;
  created_at: string;
}

export interface Invitation {
  id: string;
  inviter_id: string;
  invitee_id: string;
  message: string;
  status: string;
  created_at: string;
}

export interface DeviceKey {
  user_id: string;
  device_id: string;
  algorithm: string;
  public_key: string;
}

export interface DirectMessage {
  id: string;
  seq: number;
  conversation_id: string;
  sender_id: string;
  recipient_id: string;
  ciphertext: string | null;
  nonce: string | null;
  wrapped_key: string | null;
  created_at: string;
  read_at: string | null;
  deleted: boolean;
}

export interface GroupMessage {
  id: string;
  seq: number;
  group_id: string;
  sender_id: string;
  ciphertext: string;
  nonce: string;
  wrapped_key: string | null;
  created_at: string;
}

export interface Conversation {
  conversation_id: string;
  peer_id: string;
  last_seq: number;
  last_message_at: string;
}

export interface GroupSummary {
  id: string;
  name: string;
  role: string;
}

export interface GroupDetail {
  id: string;
  name: string;
  members: { user_id: string; role: string }[];
}

export interface Attachment {
  id: string;
  thumbnail_status: string;
  content_type: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}
