// Dashboard users, their workspace grants, sessions and failed sign-ins (migration 033_users).
import type { Selectable } from "kysely";

export interface UsersTable {
  id: string;
  /** Lower-cased; unique. */
  email: string;
  /** scrypt, with its parameters and salt (password-hash.ts). */
  password_hash: string;
  role: "admin" | "viewer";
  created_at: number;
  updated_at: number;
}

export interface UserWorkspacesTable {
  user_id: string;
  workspace_id: string;
}

export interface SessionsTable {
  /** sha256 of the cookie's token: a stolen table opens no session. */
  token_hash: string;
  user_id: string;
  /** The token a change must echo in X-CSRF-Token (not secret from the signed-in page, secret from other sites). */
  csrf_token: string;
  created_at: number;
  expires_at: number;
  last_seen_at: number;
}

export interface SignInFailuresTable {
  /** "email:<address>" or "ip:<address>". */
  key: string;
  window_start: number;
  failures: number;
}

export type UserRow = Selectable<UsersTable>;
export type SessionRow = Selectable<SessionsTable>;

declare module "../store/schema.js" {
  interface Database {
    users: UsersTable;
    user_workspaces: UserWorkspacesTable;
    sessions: SessionsTable;
    sign_in_failures: SignInFailuresTable;
  }
}
