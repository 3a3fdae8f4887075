/**
 * The log page's live lines over its WebSockets (/log/ws): on open, the lines the ring kept (the page
 * starts with recent history), then each new line, gathered per tick into one message. Lines are kept by
 * the ring as pino wrote them (already redacted, src/core/logger.ts); they are parsed here, and only while
 * a page is open. The page filters them by level and device itself (log-script.ts).
 */
import { formatLine } from "../core/log-format.ts";
import type { LogRing } from "../core/log-ring.ts";
import type { FeedSocket } from "./console-feed.ts";

/** One line as the page shows it: its level and device (to filter on) and its text as a person reads it. */
export interface LogLine {
  level: string;
  device: string | undefined;
  text: string;
}

/** What the page's script is sent: lines to add, oldest first. */
export interface LogMessage {
  type: "lines";
  lines: LogLine[];
}

/** A pino JSON line as the page shows it; a line cut by the ring (no longer JSON) keeps its text, its level read from its start. */
export function logLineOf(line: string): LogLine {
  let entry: Record<string, unknown> | undefined;
  try {
    entry = JSON.parse(line);
  } catch {
    entry = undefined;
  }
  if (entry === undefined || typeof entry !== "object" || entry === null) {
    return { level: /^\{"level":"(\w+)"/.exec(line)?.[1] ?? "info", device: undefined, text: line };
  }
  return {
    level: typeof entry.level === "string" ? entry.level : "info",
    device: typeof entry.device === "string" ? entry.device : undefined,
    text: formatLine(line, false).trimEnd(),
  };
}

export class LogFeed {
  private readonly ring: LogRing;
  private readonly sockets = new Set<FeedSocket>();
  private pending: string[] = [];
  private unlisten: (() => void) | undefined;

  constructor(ring: LogRing) {
    this.ring = ring;
  }

  /** Listens for new lines. Safe twice. */
  start(): void {
    this.unlisten ??= this.ring.listen((line) => this.added(line));
  }

  /** Stops listening and closes the open sockets. Safe twice. */
  stop(): void {
    this.unlisten?.();
    this.unlisten = undefined;
    for (const socket of this.sockets) socket.close(1001, "hearth is stopping");
    this.sockets.clear();
    this.pending = [];
  }

  /** A page's socket opened: it is sent the lines kept, then the new ones. */
  open(socket: FeedSocket): void {
    this.sockets.add(socket);
    this.send(socket, JSON.stringify({ type: "lines", lines: this.ring.lines().map(logLineOf) } satisfies LogMessage));
  }

  /** A session ended (signed out): its log pages stop being live. */
  endSession(token: string): void {
    for (const socket of this.sockets) {
      if (socket.data.session?.token !== token) continue;
      socket.close(1008, "signed out");
      this.sockets.delete(socket);
    }
  }

  closed(socket: FeedSocket): void {
    this.sockets.delete(socket);
  }

  /** Called inside the logger's write: keeps the line for the tick's message and returns; with no page open, does nothing. */
  private added(line: string): void {
    if (this.sockets.size === 0) return;
    this.pending.push(line);
    if (this.pending.length === 1) queueMicrotask(() => this.flush());
  }

  private flush(): void {
    // More lines in one tick than the ring keeps: a page would have kept only the last ones anyway.
    const lines = this.pending.slice(-this.ring.capacity);
    this.pending = [];
    if (lines.length === 0 || this.sockets.size === 0) return;
    const text = JSON.stringify({ type: "lines", lines: lines.map(logLineOf) } satisfies LogMessage);
    for (const socket of this.sockets) this.send(socket, text);
  }

  /** A socket that cannot be sent to is forgotten; not logged, since a log line would come back here. */
  private send(socket: FeedSocket, text: string): void {
    try {
      socket.send(text);
    } catch {
      this.sockets.delete(socket);
    }
  }
}
