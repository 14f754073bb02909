// A journey document (JSON or YAML) in a textarea, checked by the server as it is typed (the
// journeys service's own parser: the same errors, with the path of the bad field, that saving
// would give), and saved by the caller.
import { useEffect, useState, type FormEvent } from "react";
import type { CheckAnswer } from "@contract/journeys.contract";
import { apiSend, workspacePath } from "../../api/client";
import { ErrorNotice, Notice } from "../../ui/states";

const CHECK_DELAY_MS = 400;

export function JourneyEditor({ workspaceId, initial, saveLabel, onSave, onCancel }: { workspaceId: string; initial: string; saveLabel: string; onSave: (document: string) => Promise<unknown>; onCancel: () => void }) {
  const [document, setDocument] = useState(initial);
  const [check, setCheck] = useState<CheckAnswer | null>(null);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    if (document.trim() === "") {
      setCheck(null);
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      apiSend<CheckAnswer>("POST", workspacePath(workspaceId, "/journeys/check"), { document })
        .then((answer) => current && setCheck(answer))
        .catch((err: unknown) => current && setError(err));
    }, CHECK_DELAY_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [document, workspaceId]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaving(true);
    setError(null);
    try {
      await onSave(document);
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  };

  return (
    <form className="journey-editor panel" onSubmit={(e) => void submit(e)}>
      <label className="field">
        Journey document (JSON or YAML)
        <textarea rows={18} spellCheck={false} value={document} onChange={(e) => setDocument(e.target.value)} aria-describedby="journey-check" aria-invalid={check?.ok === false} />
      </label>
      <div id="journey-check" aria-live="polite">
        {check?.ok === true && (
          <p className="check-ok">
            Valid: “{check.name}”, {check.steps} {check.steps === 1 ? "step" : "steps"}.
          </p>
        )}
        {check?.ok === false && (
          <Notice title="The document has a problem" tone="error">
            {check.field && (
              <>
                At <code>{check.field}</code>:{" "}
              </>
            )}
            {check.message}
          </Notice>
        )}
      </div>
      {error !== null && <ErrorNotice error={error} title="Not saved" />}
      <div className="page-actions">
        <button type="submit" className="button button-primary" disabled={saving || check?.ok === false}>
          {saveLabel}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
