// Dashboard users: created by an operator (`posthorn user create`), signed in with a password,
// kept signed in by a session cookie, and allowed into the workspaces they are granted. Roles:
// admin (may change things in those workspaces) and viewer (reads only). See README.md.
import { randomBytes } from "node:crypto";
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import { addressKey } from "../shared/email-address.js";
import { hashToken, newId } from "../shared/ids.js";
import type { Workspace } from "../workspaces/workspaces.repository.js";
import { hashPassword, UNKNOWN_USER_HASH, verifyPassword } from "./password-hash.js";
import type { UsersRepository } from "./users.repository.js";
import type { UserRow } from "./users.schema.js";
import { SignInFailed, SignInThrottled, UserExists, UserInvalid, UserNotFound } from "./users.errors.js";

export type Role = "admin" | "viewer";

export interface User {
  id: string;
  email: string;
  role: Role;
  createdAt: number;
}

export interface SignedIn {
  user: User;
  /** The workspaces the user may see (ids), in no order. */
  workspaceIds: string[];
  csrfToken: string;
  expiresAt: number;
}

/** Sessions end after this long without a request... */
export const SESSION_IDLE_MS = 12 * 60 * 60 * 1000;
/** ...and this long after sign-in in any case. */
export const SESSION_MAX_MS = 7 * 24 * 60 * 60 * 1000;
/** A session's expiry is moved forward at most this often (not a write per request). */
const TOUCH_EVERY_MS = 60_000;
/** Failed sign-ins counted per window, per address and per client address (a shared NAT gets more). */
export const SIGN_IN_WINDOW_MS = 15 * 60 * 1000;
export const MAX_FAILURES_PER_EMAIL = 10;
export const MAX_FAILURES_PER_IP = 50;
const MIN_PASSWORD = 12;
const MAX_PASSWORD = 1_024;
const MAX_EMAIL = 254;

export interface UsersDeps {
  store: Store;
  clock: Clock;
  repository: UsersRepository;
  workspaces: { get(name: string): Promise<Workspace> };
}

export class UsersService {
  constructor(private readonly deps: UsersDeps) {}

  async create(input: { email: string; password: string; role: Role; workspaces: string[] }): Promise<User> {
    const email = checkEmail(input.email);
    checkPassword(input.password);
    if (input.role !== "admin" && input.role !== "viewer") throw UserInvalid("The role must be admin or viewer.");
    const workspaceIds = await Promise.all(input.workspaces.map(async (name) => (await this.deps.workspaces.get(name)).id));
    const passwordHash = await hashPassword(input.password);
    const now = this.deps.clock.now();
    const row = { id: newId(), email, password_hash: passwordHash, role: input.role, created_at: now, updated_at: now };
    await this.deps.store.write(async (trx) => {
      if (await this.deps.repository.byEmail(trx, email)) throw UserExists(`A user ${email} already exists.`);
      await this.deps.repository.insert(trx, row);
      for (const id of workspaceIds) await this.deps.repository.grant(trx, row.id, id);
    });
    return toUser(row);
  }

  async list(): Promise<Array<User & { workspaceIds: string[] }>> {
    const db = this.deps.store.db;
    const rows = await this.deps.repository.list(db);
    return Promise.all(rows.map(async (r) => ({ ...toUser(r), workspaceIds: await this.deps.repository.grantedWorkspaces(db, r.id) })));
  }

  async grant(email: string, workspace: string): Promise<void> {
    const user = await this.existing(email);
    const { id } = await this.deps.workspaces.get(workspace);
    await this.deps.store.write((trx) => this.deps.repository.grant(trx, user.id, id));
  }

  async revoke(email: string, workspace: string): Promise<void> {
    const user = await this.existing(email);
    const { id } = await this.deps.workspaces.get(workspace);
    await this.deps.store.write((trx) => this.deps.repository.revoke(trx, user.id, id));
  }

  /** A new password ends every session of the user. */
  async setPassword(email: string, password: string): Promise<void> {
    checkPassword(password);
    const user = await this.existing(email);
    const passwordHash = await hashPassword(password);
    await this.deps.store.write(async (trx) => {
      await this.deps.repository.update(trx, user.id, { password_hash: passwordHash }, this.deps.clock.now());
      await this.deps.repository.deleteSessionsOf(trx, user.id);
    });
  }

  async delete(email: string): Promise<void> {
    const user = await this.existing(email);
    await this.deps.store.write((trx) => this.deps.repository.delete(trx, user.id));
  }

  /**
   * Checks the password and opens a session: its token (for the cookie; stored only as a hash)
   * and what the session may do. Throttled per address and per client address before the password
   * is checked, so guessing costs the guesser, not the server.
   */
  async signIn(input: { email: string; password: string; clientAddress: string }): Promise<{ token: string; session: SignedIn }> {
    const now = this.deps.clock.now();
    const windowStart = now - SIGN_IN_WINDOW_MS;
    const email = typeof input.email === "string" && input.email.length <= MAX_EMAIL ? addressKey(input.email) : "";
    const keys = [`email:${email}`, `ip:${input.clientAddress}`];
    const db = this.deps.store.db;
    const [byEmail, byIp] = await Promise.all(keys.map((k) => this.deps.repository.failures(db, k, windowStart)));
    if (byEmail! >= MAX_FAILURES_PER_EMAIL || byIp! >= MAX_FAILURES_PER_IP) throw SignInThrottled(undefined, { retryAfterSeconds: Math.ceil(SIGN_IN_WINDOW_MS / 1000) });
    const password = typeof input.password === "string" ? input.password.slice(0, MAX_PASSWORD + 1) : "";
    const user = email === "" ? null : await this.deps.repository.byEmail(db, email);
    // An unknown address is checked against a hash too: both refusals take as long.
    const matches = await verifyPassword(password, user?.password_hash ?? UNKNOWN_USER_HASH);
    if (!user || !matches) {
      await this.deps.store.write(async (trx) => {
        for (const key of keys) await this.deps.repository.addFailure(trx, key, now, windowStart);
      }, { durability: "relaxed" });
      throw SignInFailed();
    }
    const token = randomBytes(32).toString("base64url");
    const csrfToken = randomBytes(24).toString("base64url");
    const expiresAt = now + SESSION_IDLE_MS;
    await this.deps.store.write(async (trx) => {
      await this.deps.repository.clearFailures(trx, keys[0]!);
      await this.deps.repository.insertSession(trx, { token_hash: hashToken(token), user_id: user.id, csrf_token: csrfToken, created_at: now, expires_at: expiresAt, last_seen_at: now });
    });
    return { token, session: { user: toUser(user), workspaceIds: await this.deps.repository.grantedWorkspaces(db, user.id), csrfToken, expiresAt } };
  }

  /** The session a cookie's token opens, or null (unknown, expired, or past its maximum age). */
  async session(token: string): Promise<SignedIn | null> {
    if (token.length === 0 || token.length > 128) return null;
    const now = this.deps.clock.now();
    const tokenHash = hashToken(token);
    const db = this.deps.store.db;
    const found = await this.deps.repository.session(db, tokenHash, now);
    if (!found) return null;
    const createdAt = Number(found.session.created_at);
    if (now - createdAt > SESSION_MAX_MS) return null;
    let expiresAt = Number(found.session.expires_at);
    if (now - Number(found.session.last_seen_at) > TOUCH_EVERY_MS) {
      expiresAt = Math.min(now + SESSION_IDLE_MS, createdAt + SESSION_MAX_MS);
      await this.deps.store.write((trx) => this.deps.repository.touchSession(trx, tokenHash, now, expiresAt), { durability: "relaxed" });
    }
    return { user: toUser(found.user), workspaceIds: await this.deps.repository.grantedWorkspaces(db, found.user.id), csrfToken: found.session.csrf_token, expiresAt };
  }

  async signOut(token: string): Promise<void> {
    await this.deps.store.write((trx) => this.deps.repository.deleteSession(trx, hashToken(token)));
  }

  /** Forgets expired sessions (the worker's upkeep). */
  async prune(): Promise<number> {
    return this.deps.store.write((trx) => this.deps.repository.pruneSessions(trx, this.deps.clock.now()), { durability: "relaxed" });
  }

  private async existing(email: string): Promise<UserRow> {
    const user = await this.deps.repository.byEmail(this.deps.store.db, addressKey(email));
    if (!user) throw UserNotFound(`No user has the address ${email}.`);
    return user;
  }
}

function toUser(row: UserRow): User {
  return { id: row.id, email: row.email, role: row.role, createdAt: Number(row.created_at) };
}

function checkEmail(email: string): string {
  const key = addressKey(email);
  if (key.length > MAX_EMAIL || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(key)) throw UserInvalid(`'${email}' is not an email address.`);
  return key;
}

function checkPassword(password: string): void {
  if (typeof password !== "string" || [...password].length < MIN_PASSWORD || password.length > MAX_PASSWORD) throw UserInvalid(`A password has ${MIN_PASSWORD} to ${MAX_PASSWORD} characters.`);
}
