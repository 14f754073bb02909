// What a page shows while it waits, when a call failed, and when there is nothing to list.
import type { ReactNode } from "react";
import { ApiError } from "../api/client";

export function Loading({ label = "Loading" }: { label?: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      {label}…
    </p>
  );
}

export function Notice({ title, children, tone = "info" }: { title: string; children?: ReactNode; tone?: "info" | "error" }) {
  return (
    <div className={`notice notice-${tone}`} role={tone === "error" ? "alert" : "note"}>
      <strong>{title}</strong>
      {children && <div>{children}</div>}
    </div>
  );
}

/** A failed call: the server's own message, and its code for a bug report. */
export function ErrorNotice({ error, title = "That did not work" }: { error: unknown; title?: string }) {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? error.code : null;
  return (
    <Notice title={title} tone="error">
      {message}
      {code && <small className="muted"> ({code})</small>}
    </Notice>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}
