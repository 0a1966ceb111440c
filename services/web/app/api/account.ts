// The account's own data and its deletion: one download gathering every service's export
// (issue 12: "an export of one's own data, JSON + media, before deletion"), and the deletion
// itself, which auth confirms with the password and every service then erases.
import type { ApiClient } from "./client";

// Each service answers GET /api/v1/<service>/export with the caller's data as JSON.
export const EXPORT_SERVICES = ["users", "messages", "groups", "media", "relay", "notifications", "websocket"] as const;

export interface Erasure {
  erasure_id: string;
  complete: boolean;
  services: Record<string, { state: "pending" | "confirmed"; confirmed_at: string | null }>;
}

/** Every service's export (and auth's account record) in one document. Media blobs come as
 * short-lived presigned links (`urls_valid_seconds`), fetched with the file while they last. */
export async function exportEverything(api: ApiClient): Promise<Record<string, unknown>> {
  const [account, ...parts] = await Promise.all([
    api.get<unknown>("/api/v1/auth/me"),
    ...EXPORT_SERVICES.map((service) => api.get<unknown>(`/api/v1/${service}/export`)),
  ]);
  const bundle: Record<string, unknown> = { exported_at: new Date().toISOString(), auth: account };
  EXPORT_SERVICES.forEach((service, index) => (bundle[service] = parts[index]));
  return bundle;
}

export const deleteAccount = (api: ApiClient, password: string) =>
  api.request<Erasure>("DELETE", "/api/v1/auth/me", { body: { password } });

export function downloadJson(name: string, document: unknown): void {
  const blob = new Blob([JSON.stringify(document, null, 2)], { type: "application/json" });
  const link = Object.assign(window.document.createElement("a"), {
    href: URL.createObjectURL(blob),
    download: name,
  });
  link.click();
  URL.revokeObjectURL(link.href);
}
