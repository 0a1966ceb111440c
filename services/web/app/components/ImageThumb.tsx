import { useEffect, useState } from "react";
import * as api from "../api/endpoints";
import { client } from "../session";

// Thumbnails are made by media's worker after the upload: poll the metadata (a 200, not the
// thumbnail's 409, so the console stays clean) until it is ready, then show the presigned URL.
const TRIES = 40;
const EVERY_MS = 750;

export function ImageThumb({ mediaId, name }: { mediaId: string; name: string }) {
  const [url, setUrl] = useState<string | null>(null);
  const [state, setState] = useState<"pending" | "ready" | "none">("pending");

  useEffect(() => {
    let stopped = false;
    (async () => {
      for (let i = 0; i < TRIES && !stopped; i++) {
        const meta = await api.media(client, mediaId).catch(() => null);
        if (meta?.thumbnail_status === "ready") {
          const thumb = await api.thumbnail(client, mediaId);
          if (!stopped) {
            setUrl(thumb.url);
            setState("ready");
          }
          return;
        }
        if (meta && meta.thumbnail_status !== "pending") break;
        await new Promise((r) => setTimeout(r, EVERY_MS));
      }
      if (!stopped) setState("none");
    })();
    return () => {
      stopped = true;
    };
  }, [mediaId]);

  if (state === "ready" && url) return <img className="thumb" src={url} alt={`Image: ${name}`} />;
  return <span className="muted">{state === "pending" ? `Image ${name} (preparing…)` : `Image ${name}`}</span>;
}
