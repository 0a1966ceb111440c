// The websocket client (protocol in services/EVENTS.md): auth frame with the last cursor,
// heartbeats, reconnect with backoff, and going quiet while the browser is offline. The
// cursor is saved only after an event was handled, so a reconnect resumes where we were.

export interface EventFrame {
  type: "event";
  cursor: string;
  event: { id: string; type: string; occurred_at: string; data: Record<string, unknown> };
}

export interface TypingFrame {
  type: "typing";
  from: string;
  active: boolean;
  to?: string;
  group_id?: string;
}

export type LiveStatus = "connecting" | "online" | "offline";

export interface LiveOptions {
  url: string;
  token: () => Promise<string | null>;
  refresh: () => Promise<boolean>;
  cursor: { load(): string | null; save(cursor: string): void };
  onEvent: (frame: EventFrame) => Promise<void> | void;
  onTyping: (frame: TypingFrame) => void;
  onStatus: (status: LiveStatus) => void;
  onGap?: () => void;
  onReady?: () => void;
}

/** Delay before reconnect attempt `attempt` (0-based): 0.5 s doubling up to 8 s. */
export function backoffMs(attempt: number): number {
  return Math.min(8000, 500 * 2 ** attempt);
}

export class LiveSocket {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private stopped = false;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private seen = new Set<string>();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly opts: LiveOptions) {
    window.addEventListener("offline", this.wentOffline);
    window.addEventListener("online", this.cameOnline);
  }

  start(): void {
    this.stopped = false;
    if (navigator.onLine) void this.connect();
    else this.opts.onStatus("offline");
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener("offline", this.wentOffline);
    window.removeEventListener("online", this.cameOnline);
    this.teardown();
  }

  send(frame: Record<string, unknown>): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  private wentOffline = () => {
    this.teardown();
    this.opts.onStatus("offline");
  };

  private cameOnline = () => {
    this.attempt = 0;
    if (!this.stopped) void this.connect();
  };

  private teardown(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.pingTimer = this.retryTimer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = socket.onmessage = socket.onerror = null;
      socket.close();
    }
  }

  private async connect(): Promise<void> {
    this.teardown();
    this.opts.onStatus("connecting");
    const token = await this.opts.token();
    if (!token || this.stopped) return;
    const socket = new WebSocket(this.opts.url);
    this.socket = socket;
    socket.onopen = () => {
      const cursor = this.opts.cursor.load();
      socket.send(JSON.stringify({ type: "auth", token, ...(cursor ? { cursor } : {}) }));
    };
    socket.onmessage = (message) => this.receive(JSON.parse(String(message.data)));
    socket.onclose = (close) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.pingTimer) clearInterval(this.pingTimer);
      this.opts.onStatus("offline");
      if (this.stopped) return;
      const again = () => {
        this.retryTimer = setTimeout(() => void this.connect(), backoffMs(this.attempt++));
      };
      if (close.code === 4001) void this.opts.refresh().then(again);
      else again();
    };
  }

  private receive(frame: { type: string } & Record<string, unknown>): void {
    switch (frame.type) {
      case "ready": {
        this.attempt = 0;
        const every = Math.max(1, Number(frame.heartbeat_seconds) || 20) * 500;
        this.pingTimer = setInterval(() => this.send({ type: "ping" }), every);
        this.opts.onStatus("online");
        this.opts.onReady?.();
        break;
      }
      case "event": {
        const event = frame as unknown as EventFrame;
        // Handled one after another, in order; repeats (at-least-once) are dropped by id.
        this.queue = this.queue.then(async () => {
          if (!this.seen.has(event.event.id)) {
            this.seen.add(event.event.id);
            try {
              await this.opts.onEvent(event);
            } catch (error) {
              console.warn("event not handled", event.event.type, error);
            }
          }
          this.opts.cursor.save(event.cursor);
        });
        break;
      }
      case "typing":
        this.opts.onTyping(frame as unknown as TypingFrame);
        break;
      case "gap":
        this.opts.onGap?.();
        break;
    }
  }
}
