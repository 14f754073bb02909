// What the dashboard's session calls answer. The web dashboard imports these types (web/src/…
// through "@contract/session.contract"), so a change here that the pages do not follow fails the
// type check of web/ in CI.
import { z } from "zod";

export const SignInBody = z.object({ email: z.string().max(320), password: z.string().max(1_024) });

export const WorkspaceSummary = z.object({ id: z.string(), name: z.string(), sandbox: z.boolean() });
export type WorkspaceSummary = z.infer<typeof WorkspaceSummary>;

export const SessionUser = z.object({ id: z.string(), email: z.string(), role: z.enum(["admin", "viewer"]), createdAt: z.number() });

export const SessionAnswer = z.object({
  user: SessionUser,
  /** Sent back in X-CSRF-Token on every change. */
  csrfToken: z.string(),
  /** Milliseconds since the epoch; moved forward while the session is used. */
  expiresAt: z.number(),
  workspaces: z.array(WorkspaceSummary),
});
export type SessionAnswer = z.infer<typeof SessionAnswer>;

/** Every refusal of the dashboard API. */
export interface DashboardErrorBody {
  error: { code: string; message: string };
}
