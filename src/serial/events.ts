import type { LinkState } from "./link-state.ts";

/** Events of the serial layer, added to the hub's event map. */
declare module "../core/hub-events.ts" {
  interface HubEvents {
    /** A serial link changed state (opening, open, unavailable, closed). */
    serial_link_state: { path: string; state: LinkState; previous: LinkState; reason?: string; code?: string };
    /** A link that went away failed to reopen and will try again in `delayMs`. */
    serial_link_retry: { path: string; attempt: number; delayMs: number; reason: string; code?: string };
    /** A frame arrived on a link (the same frame its onFrame listeners get). */
    serial_frame: { path: string; frame: Uint8Array };
  }
}
