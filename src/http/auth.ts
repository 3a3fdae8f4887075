/**
 * Sign-in for the web server: one user and a password, sessions in memory (a restart signs everyone out),
 * a CSRF token per session, and failed attempts slowed down per source address. Passwords are compared in
 * constant time and never logged; a session's token is its cookie and is never shown either.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** A browser's session: signed in (`user`) or not yet (the login form's, or any page's when no sign-in is needed). */
export interface Session {
  readonly token: string;
  /** The token every request that changes something must carry (a form's `csrf` field, or the X-CSRF-Token header). */
  readonly csrf: string;
  readonly user: string | undefined;
  expiresAt: number;
}

export interface AuthOptions {
  /** Sign-in is required when a password is given; without one every session is anonymous. */
  username: string;
  password: string | undefined;
  /** Seconds a session lasts without use. */
  sessionSeconds?: number;
  /** The delay after the first failed attempt from an address, ms; each further one doubles it, up to `maxDelayMs`. */
  firstDelayMs?: number;
  maxDelayMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Sessions kept at most, of each kind: the oldest goes first. */
const MAX_SIGNED_IN = 64;
const MAX_ANONYMOUS = 256;
/** Attempts waiting their turn from one address, at most; more are refused at once. */
const MAX_WAITING_ATTEMPTS = 8;
/** An address's failures are forgotten this long after its last one. */
const FORGET_FAILURES_MS = 15 * 60_000;
const MAX_ADDRESSES = 4096;

interface Attempts {
  failures: number;
  last: number;
  waiting: number;
  turn: Promise<unknown>;
}

/** Whether two secrets are equal, in time that depends on neither (both are hashed to one length first). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest());
}

export class Auth {
  readonly username: string;
  private readonly password: string | undefined;
  private readonly sessionMs: number;
  private readonly firstDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly signedIn = new Map<string, Session>();
  private readonly anonymous = new Map<string, Session>();
  private readonly attempts = new Map<string, Attempts>();

  constructor(options: AuthOptions) {
    this.username = options.username;
    this.password = options.password;
    this.sessionMs = (options.sessionSeconds ?? 12 * 3600) * 1000;
    this.firstDelayMs = options.firstDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 8000;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => Bun.sleep(ms));
  }

  /** Whether requests must be signed in (a password is set). */
  get required(): boolean {
    return this.password !== undefined;
  }

  /** The live session of a token (a cookie's value), its expiry moved on; undefined for an unknown or expired one. */
  session(token: string | undefined): Session | undefined {
    if (token === undefined) return undefined;
    for (const sessions of [this.signedIn, this.anonymous]) {
      const session = sessions.get(token);
      if (session === undefined) continue;
      if (session.expiresAt <= this.now()) {
        sessions.delete(token);
        return undefined;
      }
      session.expiresAt = this.now() + this.sessionMs;
      // Map order is use order: the least recently used goes first when full.
      sessions.delete(token);
      sessions.set(token, session);
      return session;
    }
    return undefined;
  }

  /** A new session without a user: for the login form, and for every browser when no sign-in is needed. */
  anonymousSession(): Session {
    return this.add(this.anonymous, MAX_ANONYMOUS, undefined);
  }

  /** Ends a session (signing out). */
  end(token: string): void {
    this.signedIn.delete(token);
    this.anonymous.delete(token);
  }

  /**
   * Checks a user name and password from `address` in its turn: one attempt at a time per address, a
   * failed one answered only after a delay that doubles with each failure in a row (so guessing is slow
   * even from many connections at once). A new session for the user when right; undefined when wrong, or
   * when too many attempts from the address wait already.
   */
  async signIn(address: string, username: string, password: string): Promise<Session | undefined> {
    return (await this.attempt(address, username, password)) ? this.add(this.signedIn, MAX_SIGNED_IN, this.username) : undefined;
  }

  /** HTTP Basic credentials (Prometheus's `basic_auth`) from `address`, checked and slowed as a sign-in is. */
  async basic(address: string, header: string | null): Promise<boolean> {
    const match = header === null ? null : /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (match === null) return false;
    const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return false;
    return this.attempt(address, decoded.slice(0, colon), decoded.slice(colon + 1));
  }

  private async attempt(address: string, username: string, password: string): Promise<boolean> {
    if (this.password === undefined) return false;
    const expected = this.password;
    const entry = this.attemptsOf(address);
    if (entry.waiting >= MAX_WAITING_ATTEMPTS) return false;
    entry.waiting++;
    const turn = entry.turn.then(async () => {
      // Both compared whatever the first says, so the time tells nothing of which was wrong.
      const right = sameSecret(username, this.username) && sameSecret(password, expected);
      entry.last = this.now();
      if (right) {
        entry.failures = 0;
        return true;
      }
      entry.failures++;
      await this.sleep(Math.min(this.maxDelayMs, this.firstDelayMs * 2 ** (entry.failures - 1)));
      return false;
    });
    entry.turn = turn.catch(() => {});
    try {
      return await turn;
    } finally {
      entry.waiting--;
    }
  }

  private attemptsOf(address: string): Attempts {
    const now = this.now();
    let entry = this.attempts.get(address);
    if (entry !== undefined && entry.waiting === 0 && now - entry.last > FORGET_FAILURES_MS) entry.failures = 0;
    if (entry === undefined) {
      if (this.attempts.size >= MAX_ADDRESSES) {
        for (const [key, old] of this.attempts) if (old.waiting === 0 && (old.failures === 0 || now - old.last > FORGET_FAILURES_MS)) this.attempts.delete(key);
        // Still full (failures from that many addresses at once): the oldest idle one goes, so memory stays bounded.
        for (const [key, old] of this.attempts) {
          if (this.attempts.size < MAX_ADDRESSES) break;
          if (old.waiting === 0) this.attempts.delete(key);
        }
      }
      entry = { failures: 0, last: now, waiting: 0, turn: Promise.resolve() };
      this.attempts.set(address, entry);
    }
    return entry;
  }

  private add(sessions: Map<string, Session>, max: number, user: string | undefined): Session {
    while (sessions.size >= max) sessions.delete(sessions.keys().next().value as string);
    const session: Session = { token: randomBytes(32).toString("base64url"), csrf: randomBytes(24).toString("base64url"), user, expiresAt: this.now() + this.sessionMs };
    sessions.set(session.token, session);
    return session;
  }
}
