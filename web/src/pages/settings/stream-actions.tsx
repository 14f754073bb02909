// An admin's changes to one stream, as Postmark's API allows them: rename and describe it (ID and
// type never change), archive it (asked in the page first: an archived stream refuses mail) and
// unarchive it. Default streams cannot be archived, so they get no archive button; an archived
// stream is not edited until it is unarchived (the streams service refuses both either way).
import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { StreamEditBody, StreamView } from "@contract/settings.contract";
import { apiSend, workspacePath } from "../../api/client";
import { ErrorNotice, Notice } from "../../ui/states";

/** Postmark's default streams (src/workspaces/default-streams.ts): never archived. */
const DEFAULT_STREAMS = new Set(["outbound", "inbound", "broadcast"]);

export function StreamActions({ workspaceId, stream }: { workspaceId: string; stream: StreamView }) {
  const queries = useQueryClient();
  const [mode, setMode] = useState<"idle" | "editing" | "archiving">("idle");
  const path = workspacePath(workspaceId, `/streams/${encodeURIComponent(stream.id)}`);
  const done = async () => {
    setMode("idle");
    await queries.invalidateQueries({ queryKey: ["settings", workspaceId] });
  };
  const edit = useMutation({ mutationFn: (body: StreamEditBody) => apiSend<StreamView>("PATCH", path, body), onSuccess: done });
  const archive = useMutation({ mutationFn: (action: "archive" | "unarchive") => apiSend<StreamView>("POST", `${path}/${action}`), onSuccess: done });
  const archived = stream.archivedAt !== null;

  return (
    <div className="stream-actions">
      {mode === "idle" && (
        <div className="settings-actions">
          {!archived && (
            <button type="button" className="button button-small" onClick={() => setMode("editing")} aria-label={`Edit stream ${stream.id}`}>
              Edit
            </button>
          )}
          {archived ? (
            <button type="button" className="button button-small" onClick={() => archive.mutate("unarchive")} disabled={archive.isPending} aria-label={`Unarchive stream ${stream.id}`}>
              Unarchive
            </button>
          ) : (
            !DEFAULT_STREAMS.has(stream.id) && (
              <button type="button" className="button button-small" onClick={() => setMode("archiving")} aria-label={`Archive stream ${stream.id}`}>
                Archive
              </button>
            )
          )}
        </div>
      )}
      {mode === "editing" && <StreamEditForm stream={stream} pending={edit.isPending} onSave={(body) => edit.mutate(body)} onCancel={() => setMode("idle")} />}
      {mode === "archiving" && (
        <Notice title={`Archive ${stream.id}?`}>
          <p>An archived stream refuses every message sent to it until it is unarchived. Its messages and settings are kept.</p>
          <div className="settings-actions">
            <button type="button" className="button button-primary" onClick={() => archive.mutate("archive")} disabled={archive.isPending}>
              Yes, archive it
            </button>
            <button type="button" className="button" onClick={() => setMode("idle")}>
              Cancel
            </button>
          </div>
        </Notice>
      )}
      {edit.isError && <ErrorNotice error={edit.error} title="Not saved" />}
      {archive.isError && <ErrorNotice error={archive.error} title="Not changed" />}
    </div>
  );
}

function StreamEditForm({ stream, pending, onSave, onCancel }: { stream: StreamView; pending: boolean; onSave: (body: StreamEditBody) => void; onCancel: () => void }) {
  const [name, setName] = useState(stream.name);
  const [description, setDescription] = useState(stream.description ?? "");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSave({ name, description: description.trim() === "" ? null : description });
  };
  return (
    <form onSubmit={submit} className="stream-edit" aria-label={`Edit stream ${stream.id}`}>
      <label className="field">
        Name
        <input required value={name} onChange={(e) => setName(e.target.value)} maxLength={100} />
      </label>
      <label className="field">
        Description
        <input value={description} onChange={(e) => setDescription(e.target.value)} maxLength={1000} />
      </label>
      <div className="settings-actions">
        <button type="submit" className="button button-primary button-small" disabled={pending}>
          Save
        </button>
        <button type="button" className="button button-small" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
