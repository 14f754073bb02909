// A new message stream. The streams service holds Postmark's rules (ID syntax, at most 10 streams,
// one inbound stream); its refusal is shown as it words it.
import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { LinkTracking, StreamCreateBody, StreamType, StreamView } from "@contract/settings.contract";
import { apiSend, workspacePath } from "../../api/client";
import { ErrorNotice, Notice } from "../../ui/states";

export function NewStreamForm({ workspaceId }: { workspaceId: string }) {
  const queries = useQueryClient();
  const [id, setId] = useState("");
  const [name, setName] = useState("");
  const [type, setType] = useState<StreamType>("transactional");
  const [opens, setOpens] = useState<"" | "on" | "off">("");
  const [links, setLinks] = useState<LinkTracking | "">("");
  const create = useMutation({
    mutationFn: (body: StreamCreateBody) => apiSend<StreamView>("POST", workspacePath(workspaceId, "/streams"), body),
    onSuccess: async () => {
      setId("");
      setName("");
      await queries.invalidateQueries({ queryKey: ["settings", workspaceId] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const tracking = type === "inbound" ? {} : { trackOpens: opens === "" ? null : opens === "on", trackLinks: links === "" ? null : links };
    create.mutate({ id, name, type, ...tracking });
  };
  return (
    <form onSubmit={submit} aria-labelledby="new-stream-title" className="settings-form">
      <h3 id="new-stream-title">New stream</h3>
      <div className="filters">
        <label className="field">
          Stream ID
          <input required value={id} onChange={(e) => setId(e.target.value)} maxLength={30} pattern="[a-z0-9][a-z0-9_\-]*" title="Lower-case letters, digits, '-' and '_'" className="mono" />
        </label>
        <label className="field">
          Stream name
          <input required value={name} onChange={(e) => setName(e.target.value)} maxLength={100} />
        </label>
        <label className="field">
          Stream type
          <select value={type} onChange={(e) => setType(e.target.value as StreamType)}>
            <option value="transactional">Transactional</option>
            <option value="broadcast">Broadcast</option>
            <option value="inbound">Inbound</option>
          </select>
        </label>
        {type !== "inbound" && (
          <>
            <label className="field">
              Open tracking
              <select value={opens} onChange={(e) => setOpens(e.target.value as "" | "on" | "off")}>
                <option value="">Workspace default</option>
                <option value="on">On</option>
                <option value="off">Off</option>
              </select>
            </label>
            <label className="field">
              Link tracking
              <select value={links} onChange={(e) => setLinks(e.target.value as LinkTracking | "")}>
                <option value="">Workspace default</option>
                <option value="none">Off</option>
                <option value="html-and-text">HTML and text</option>
                <option value="html-only">HTML only</option>
                <option value="text-only">Text only</option>
              </select>
            </label>
          </>
        )}
        <button type="submit" className="button button-primary" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create stream"}
        </button>
      </div>
      {create.isError && <ErrorNotice error={create.error} title="Stream not created" />}
      {create.isSuccess && <Notice title="Stream created">{create.data.id} is ready.</Notice>}
    </form>
  );
}
