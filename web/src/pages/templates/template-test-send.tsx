// "Send a test": the saved template rendered with the test model and accepted like any message
// (the one acceptance: suppressions, the From rule, the stream), so it shows in activity.
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { useMutation, useQuery } from "@tanstack/react-query";
import type { SettingsAnswer } from "@contract/settings.contract";
import type { TemplateTestAnswer, TemplateTestBody } from "@contract/templates.contract";
import { apiGet, apiSend, workspacePath } from "../../api/client";
import { ErrorNotice, Notice } from "../../ui/states";

interface Props {
  workspaceId: string;
  templateId: number;
  /** The parsed test model, or null to render with an empty one. */
  testModel: Record<string, unknown> | null;
  /** Unsaved edits: a test sends the saved template, so it waits for a save. */
  unsaved: boolean;
}

export function TemplateTestSend({ workspaceId, templateId, testModel, unsaved }: Props) {
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [stream, setStream] = useState("");
  // The same answer as the settings page's, so the two share one cache entry.
  const settings = useQuery({
    queryKey: ["settings", workspaceId],
    queryFn: ({ signal }) => apiGet<SettingsAnswer>(workspacePath(workspaceId, "/settings"), {}, { signal }),
  });
  const sendable = (settings.data?.streams ?? []).filter((s) => s.type !== "inbound" && s.archivedAt === null);
  const send = useMutation({
    mutationFn: (body: TemplateTestBody) => apiSend<TemplateTestAnswer>("POST", workspacePath(workspaceId, `/templates/${templateId}/test`), body),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    send.mutate({ from, to, testModel, ...(stream ? { stream } : {}) });
  };
  return (
    <form className="template-test" onSubmit={submit} aria-labelledby="test-send-title">
      <h2 id="test-send-title">Send a test</h2>
      <div className="filters">
        <label className="field">
          From
          <input type="email" required value={from} onChange={(e) => setFrom(e.target.value)} placeholder="you@your-domain.example" />
        </label>
        <label className="field">
          To
          <input type="email" required value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <label className="field">
          Stream
          <select value={stream} onChange={(e) => setStream(e.target.value)}>
            <option value="">Default (outbound)</option>
            {sendable.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name} ({s.id})
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="button" disabled={send.isPending || unsaved}>
          {send.isPending ? "Sending…" : "Send test"}
        </button>
      </div>
      {unsaved && <p className="muted">Save first: a test sends the saved template, with the test model above.</p>}
      {send.isError && <ErrorNotice error={send.error} title="Not accepted" />}
      {send.isSuccess && (
        <Notice title="Accepted">
          Message <Link to={`/w/${workspaceId}/messages/${send.data.messageId}`}>{send.data.messageId}</Link> to {send.data.to.join(", ")}
          {send.data.suppressed.length > 0 && ` (not attempted for ${send.data.suppressed.join(", ")}: inactive on the stream)`}.
        </Notice>
      )}
    </form>
  );
}
