import type { LiveStatus } from "../live/socket";

export function OfflineBanner({ status }: { status: LiveStatus }) {
  if (status === "online") return null;
  return (
    <div className={`banner banner-${status}`} role="alert" aria-live="assertive">
      {status === "offline"
        ? "You are offline. New messages will arrive when the connection is back."
        : "Connecting…"}
    </div>
  );
}
