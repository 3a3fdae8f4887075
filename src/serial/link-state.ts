/**
 * The state of a serial link: `closed` (not asked to be open), `opening`, `open`, or `unavailable`
 * (the device went away; the link retries until it is back or is closed).
 */
export type LinkState = "closed" | "opening" | "open" | "unavailable";
