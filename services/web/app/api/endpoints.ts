// One typed function per HTTP call the app makes, all under the same origin's /api/v1.
import type { Account } from "../session";
import type { ApiClient, Tokens } from "./client";
import type {
  Attachment,
  Conversation,
  DeviceKey,
  DirectMessage,
  GroupDetail,
  GroupInvitation,
  GroupMessage,
  GroupSummary,
  Invitation,
  Page,
  Profile,
} from "./types";

const q = encodeURIComponent;

export const register = (api: ApiClient, body: { email: string; username: string; password: string; display_name?: string }) =>
  api.request<{ tokens: Tokens; user: Account }>("POST", "/api/v1/auth/register", { body, auth: false });
export const login = (api: ApiClient, body: { login: string; password: string }) =>
  api.request<Tokens>("POST", "/api/v1/auth/login", { body, auth: false });
export const logout = (api: ApiClient, refreshToken: string) =>
  api.request<void>("POST", "/api/v1/auth/logout", { body: { refresh_token: refreshToken }, auth: false });

export const verifyEmail = (api: ApiClient, token: string) =>
  api.request<Account>("POST", "/api/v1/auth/verify-email", { body: { token }, auth: false });
export const unlockLogin = (api: ApiClient, token: string) =>
  api.request<void>("POST", "/api/v1/auth/unlock", { body: { token }, auth: false });

export const me = (api: ApiClient) => api.get<Profile>("/api/v1/users/me");
export const updateMe = (
  api: ApiClient,
  changes: Partial<Pick<Profile, "display_name" | "status_text" | "avatar_media_id" | "presence_visibility">>,
) =>
  api.patch<Profile>("/api/v1/users/me", changes);
export const profile = (api: ApiClient, userId: string) => api.get<Profile>(`/api/v1/users/${q(userId)}`);
export const search = (api: ApiClient, text: string) =>
  api.get<Page<Profile>>(`/api/v1/users/search?q=${q(text)}&limit=10`);
export const contacts = (api: ApiClient) => api.get<Profile[]>("/api/v1/contacts");
export const invitations = (api: ApiClient, direction: "incoming" | "outgoing") =>
  api.get<Invitation[]>(`/api/v1/invitations?direction=${direction}`);
export const invite = (api: ApiClient, inviteeId: string) =>
  api.post<Invitation>("/api/v1/invitations", { invitee_id: inviteeId });
export const answerInvitation = (api: ApiClient, id: string, answer: "accept" | "decline") =>
  api.post<Invitation>(`/api/v1/invitations/${q(id)}/${answer}`);

export const publishDevice = (api: ApiClient, deviceId: string, algorithm: string, publicKey: string) =>
  api.put<DeviceKey>(`/api/v1/users/me/devices/${q(deviceId)}`, { algorithm, public_key: publicKey });
export const devicesOf = (api: ApiClient, userId: string) => api.get<DeviceKey[]>(`/api/v1/users/${q(userId)}/devices`);

export const conversations = (api: ApiClient) => api.get<Page<Conversation>>("/api/v1/conversations?limit=50");
export const conversationWith = (api: ApiClient, peerId: string) =>
  api.get<{ conversation_id: string }>(`/api/v1/conversations/with/${q(peerId)}`);
export const history = (api: ApiClient, conversationId: string, after?: number) =>
  api.get<Page<DirectMessage>>(
    `/api/v1/conversations/${q(conversationId)}/messages?limit=50${after !== undefined ? `&after=${after}` : ""}`,
  );
export const sendMessage = (api: ApiClient, body: Record<string, unknown>) => api.post<DirectMessage>("/api/v1/messages", body);
export const markRead = (api: ApiClient, messageId: string) => api.post<DirectMessage>(`/api/v1/messages/${q(messageId)}/read`);

export const groups = (api: ApiClient) => api.get<GroupSummary[]>("/api/v1/groups");
export const group = (api: ApiClient, id: string) => api.get<GroupDetail>(`/api/v1/groups/${q(id)}`);
export const createGroup = (api: ApiClient, name: string, memberIds: string[]) =>
  api.post<GroupDetail>("/api/v1/groups", { name, member_ids: memberIds });
export const groupInvitations = (api: ApiClient) => api.get<GroupInvitation[]>("/api/v1/groups/invitations");
export const answerGroupInvitation = (api: ApiClient, id: string, answer: "accept" | "decline") =>
  api.post<GroupInvitation>(`/api/v1/groups/invitations/${q(id)}/${answer}`);
export const groupHistory = (api: ApiClient, id: string) =>
  api.get<Page<GroupMessage>>(`/api/v1/groups/${q(id)}/messages?limit=50`);
export const postToGroup = (api: ApiClient, id: string, body: Record<string, unknown>) =>
  api.post<GroupMessage>(`/api/v1/groups/${q(id)}/messages`, body);

export function uploadMedia(api: ApiClient, file: Blob, name: string, scope: { conversationId?: string; groupId?: string; participantIds: string[] }) {
  const params = new URLSearchParams();
  if (scope.conversationId) params.set("conversation_id", scope.conversationId);
  if (scope.groupId) params.set("group_id", scope.groupId);
  for (const id of scope.participantIds) params.append("participant_id", id);
  const form = new FormData();
  form.append("file", file, name);
  return api.request<Attachment>("POST", `/api/v1/media/upload?${params}`, { form });
}
export const thumbnail = (api: ApiClient, mediaId: string) =>
  api.get<{ url: string; expires_at: string }>(`/api/v1/media/${q(mediaId)}/thumbnail`);
export const media = (api: ApiClient, mediaId: string) =>
  api.get<Attachment & { url: string }>(`/api/v1/media/${q(mediaId)}`);
