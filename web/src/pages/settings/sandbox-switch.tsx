// Sandbox or live. A sandbox captures every message (readable in activity, nothing leaves the
// machine); live delivers. The switch asks first, in the page (not window.confirm); the session is
// asked for again after it, so the header's workspace list and badge follow at once.
import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { SandboxAnswer, SandboxBody, SettingsAnswer } from "@contract/settings.contract";
import { apiSend, workspacePath } from "../../api/client";
import { ErrorNotice, Notice } from "../../ui/states";
import { useSession } from "../../session";

export function SandboxSwitch({ workspace, canChange }: { workspace: SettingsAnswer["workspace"]; canChange: boolean }) {
  const queries = useQueryClient();
  const { refresh } = useSession();
  const [asking, setAsking] = useState(false);
  const target = !workspace.sandbox;
  const change = useMutation({
    mutationFn: (body: SandboxBody) => apiSend<SandboxAnswer>("PUT", workspacePath(workspace.id, "/sandbox"), body),
    onSuccess: async () => {
      setAsking(false);
      await Promise.all([queries.invalidateQueries({ queryKey: ["settings", workspace.id] }), refresh()]);
    },
  });
  return (
    <section aria-labelledby="mode-title" className="settings-mode">
      <h2 id="mode-title">Sending mode</h2>
      <p>
        This workspace is{" "}
        <strong>
          <span className={`badge ${workspace.sandbox ? "badge-warn" : "badge-good"}`}>{workspace.sandbox ? "sandbox" : "live"}</span>
        </strong>
        : {workspace.sandbox ? "messages are captured and shown in activity; none is delivered." : "messages are delivered to their recipients."}
      </p>
      {canChange && !asking && (
        <button type="button" className="button" onClick={() => setAsking(true)}>
          {target ? "Switch to sandbox" : "Switch to live"}
        </button>
      )}
      {asking && (
        <Notice title={target ? "Switch to sandbox?" : "Switch to live?"}>
          <p>{target ? "From now on this workspace's messages are captured, not delivered." : "From now on this workspace's messages are delivered to real recipients."}</p>
          <div className="settings-actions">
            <button type="button" className="button button-primary" onClick={() => change.mutate({ sandbox: target })} disabled={change.isPending}>
              {target ? "Yes, switch to sandbox" : "Yes, switch to live"}
            </button>
            <button type="button" className="button" onClick={() => setAsking(false)}>
              Cancel
            </button>
          </div>
        </Notice>
      )}
      {change.isError && <ErrorNotice error={change.error} title="Not switched" />}
      {change.isSuccess && (
        <Notice title="Switched">
          The workspace is now {change.data.workspace.sandbox ? "a sandbox" : "live"}.
        </Notice>
      )}
    </section>
  );
}
