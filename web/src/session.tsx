// The signed-in session: who, which workspaces, the CSRF token. Loaded once at start (GET
// /api/app/session); a 401 from any call clears it, which shows the sign-in page again.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useParams } from "react-router";
import type { SessionAnswer, WorkspaceSummary } from "@contract/session.contract";
import { ApiError, SIGNED_OUT_EVENT, apiGet, apiSend, setCsrfToken } from "./api/client";

interface SessionState {
  session: SessionAnswer | null;
  /** True until the first GET /session has answered. */
  loading: boolean;
  signIn(email: string, password: string): Promise<void>;
  signOut(): Promise<void>;
  /** Asks for the session again: after a change that shows in it (a workspace switched to live). */
  refresh(): Promise<void>;
}

const SessionContext = createContext<SessionState | null>(null);

/**
 * The session is asked for as soon as this module runs, not after React's first render: every
 * page needs it first, and the request then overlaps React's start (a cold load's first render
 * is budgeted at 1 s: test/dashboard-web.test.ts).
 */
const firstSession: Promise<SessionAnswer | null> = apiGet<SessionAnswer>("/session").catch((err: unknown) => {
  if (!(err instanceof ApiError) || err.status !== 401) console.error(err);
  return null;
});

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<SessionAnswer | null>(null);
  const [loading, setLoading] = useState(true);

  const adopt = useCallback((answer: SessionAnswer | null) => {
    setCsrfToken(answer?.csrfToken ?? "");
    setSession(answer);
  }, []);

  useEffect(() => {
    void firstSession.then((answer) => {
      adopt(answer);
      setLoading(false);
    });
    const signedOut = () => adopt(null);
    window.addEventListener(SIGNED_OUT_EVENT, signedOut);
    return () => window.removeEventListener(SIGNED_OUT_EVENT, signedOut);
  }, [adopt]);

  const value = useMemo<SessionState>(
    () => ({
      session,
      loading,
      signIn: async (email, password) => adopt(await apiSend<SessionAnswer>("POST", "/session", { email, password })),
      signOut: async () => {
        await apiSend("DELETE", "/session").catch(() => undefined);
        adopt(null);
      },
      refresh: async () => adopt(await apiGet<SessionAnswer>("/session")),
    }),
    [session, loading, adopt],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error("useSession outside SessionProvider");
  return state;
}

/** The signed-in session (pages are only drawn inside one). */
export function useSignedIn(): SessionAnswer {
  const { session } = useSession();
  if (!session) throw new Error("no session");
  return session;
}

/** Whether the signed-in user may change things (admins) or only look (viewers). */
export function useCanChange(): boolean {
  return useSignedIn().user.role === "admin";
}

export function findWorkspace(session: SessionAnswer, id: string | undefined): WorkspaceSummary | undefined {
  return session.workspaces.find((w) => w.id === id);
}

/** The workspace the page is about: the one the address names (/w/<id>/…). */
export function useWorkspace(): WorkspaceSummary {
  const session = useSignedIn();
  const { workspaceId } = useParams();
  const workspace = findWorkspace(session, workspaceId);
  if (!workspace) throw new Error("no workspace in the address");
  return workspace;
}
