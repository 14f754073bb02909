// One template: its fields in plain textareas, a live preview rendered by the server with a test
// model the user edits, syntax errors beside the part they are in, and — for admins — save,
// delete and "send a test". Viewers see the same page read-only, preview included.
import { useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { TemplateDetail, TemplateEditBody, TemplatePreviewBody, TemplatesAnswer } from "@contract/templates.contract";
import { apiGet, apiSend, workspacePath } from "../../api/client";
import { useCanChange, useWorkspace } from "../../session";
import { PageHeader } from "../../ui/page";
import { ErrorNotice, Loading, Notice } from "../../ui/states";
import { Time } from "../../ui/time";
import { PartErrors, PreviewPanel, useTemplatePreview } from "./template-preview";
import { TemplateTestSend } from "./template-test-send";
import "./templates.css";

export default function TemplatePage() {
  const workspace = useWorkspace();
  const { templateId } = useParams();
  const template = useQuery({
    queryKey: ["template", workspace.id, templateId],
    queryFn: ({ signal }) => apiGet<TemplateDetail>(workspacePath(workspace.id, `/templates/${encodeURIComponent(templateId ?? "")}`), {}, { signal }),
    // Refetching while someone types would not change the draft, only the "unsaved" mark.
    refetchOnWindowFocus: false,
  });
  if (template.isPending) return <Loading label="Loading the template" />;
  if (template.isError) {
    return (
      <>
        <PageHeader title="Template" />
        <ErrorNotice error={template.error} title="No template" />
        <Link to={`/w/${workspace.id}/templates`}>All templates</Link>
      </>
    );
  }
  // Keyed by id: a save refetches the template without resetting the editor's test model.
  return <TemplateEditor key={template.data.id} workspaceId={workspace.id} saved={template.data} />;
}

type Draft = Required<{ [K in keyof TemplateEditBody]: string }>;

function draftOf(t: TemplateDetail): Draft {
  return { name: t.name, alias: t.alias ?? "", subject: t.subject, htmlBody: t.htmlBody ?? "", textBody: t.textBody ?? "", layoutAlias: t.layoutAlias ?? "" };
}

/** An empty field is an absent one: the domain stores null for no alias, no layout, no body. */
function editOf(d: Draft, isLayout: boolean): TemplateEditBody {
  return {
    name: d.name,
    alias: d.alias || null,
    htmlBody: d.htmlBody || null,
    textBody: d.textBody || null,
    ...(isLayout ? {} : { subject: d.subject, layoutAlias: d.layoutAlias || null }),
  };
}

function parseModel(text: string): { model: Record<string, unknown> | null; error: string | null } {
  if (text.trim() === "") return { model: null, error: null };
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null || Array.isArray(value)) return { model: null, error: "The test model must be a JSON object, e.g. {\"name\": \"Ada\"}." };
    return { model: value as Record<string, unknown>, error: null };
  } catch (err) {
    return { model: null, error: `Not JSON: ${(err as Error).message}` };
  }
}

function TemplateEditor({ workspaceId, saved }: { workspaceId: string; saved: TemplateDetail }) {
  const canChange = useCanChange();
  const queries = useQueryClient();
  const navigate = useNavigate();
  const isLayout = saved.kind === "layout";
  const [draft, setDraft] = useState<Draft>(() => draftOf(saved));
  const [modelText, setModelText] = useState("");
  const [confirmDelete, setConfirmDelete] = useState(false);
  const set = (field: keyof Draft) => (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [field]: e.target.value }));

  const model = useMemo(() => parseModel(modelText), [modelText]);
  const unsaved = JSON.stringify(draft) !== JSON.stringify(draftOf(saved));
  const previewRequest = useMemo<TemplatePreviewBody | null>(
    () =>
      model.error
        ? null
        : {
            kind: saved.kind,
            subject: isLayout ? null : draft.subject,
            htmlBody: draft.htmlBody || null,
            textBody: draft.textBody || null,
            layoutAlias: isLayout ? null : draft.layoutAlias || null,
            testModel: model.model,
            inlineCss: true,
          },
    [draft, model, saved.kind, isLayout],
  );
  const preview = useTemplatePreview(workspaceId, previewRequest);
  const layouts = useQuery({
    queryKey: ["templates", workspaceId, "layout"],
    queryFn: ({ signal }) => apiGet<TemplatesAnswer>(workspacePath(workspaceId, "/templates"), { kind: "layout" }, { signal }),
    enabled: !isLayout,
  });

  const save = useMutation({
    mutationFn: () => apiSend<TemplateDetail>("PUT", workspacePath(workspaceId, `/templates/${saved.id}`), editOf(draft, isLayout)),
    onSuccess: async (updated) => {
      queries.setQueryData(["template", workspaceId, String(saved.id)], updated);
      await queries.invalidateQueries({ queryKey: ["templates", workspaceId] });
    },
  });
  const remove = useMutation({
    mutationFn: () => apiSend<void>("DELETE", workspacePath(workspaceId, `/templates/${saved.id}`)),
    onSuccess: async () => {
      await queries.invalidateQueries({ queryKey: ["templates", workspaceId] });
      navigate(`/w/${workspaceId}/templates`);
    },
  });

  const answer = preview.data;
  const readOnly = !canChange;
  return (
    <>
      <PageHeader
        title={saved.name}
        subtitle={
          <>
            <Link to={`/w/${workspaceId}/templates`}>Templates</Link> · {isLayout ? "Layout" : "Standard template"} · id {saved.id} · updated <Time at={saved.updatedAt} />
          </>
        }
        actions={
          canChange && (
            <div className="template-actions">
              {unsaved && <span className="muted">Unsaved changes</span>}
              <button type="button" className="button button-primary" onClick={() => save.mutate()} disabled={save.isPending}>
                {save.isPending ? "Saving…" : "Save"}
              </button>
              {!confirmDelete && (
                <button type="button" className="button button-danger" onClick={() => setConfirmDelete(true)}>
                  Delete
                </button>
              )}
            </div>
          )
        }
      />
      {confirmDelete && (
        <Notice title="Delete this template?">
          <p>Messages already accepted keep their content; sending with this template's id or alias will fail.</p>
          <div className="template-actions">
            <button type="button" className="button button-danger" onClick={() => remove.mutate()} disabled={remove.isPending}>
              Yes, delete it
            </button>
            <button type="button" className="button" onClick={() => setConfirmDelete(false)}>
              Cancel
            </button>
          </div>
        </Notice>
      )}
      {save.isError && <ErrorNotice error={save.error} title="Not saved" />}
      {save.isSuccess && !unsaved && <Notice title="Saved">The template is saved.</Notice>}
      {remove.isError && <ErrorNotice error={remove.error} title="Not deleted" />}
      <div className="template-editor">
        <div className="template-fields">
          <div className="row">
            <label className="field">
              Name
              <input value={draft.name} onChange={set("name")} readOnly={readOnly} maxLength={255} />
            </label>
            <label className="field">
              Alias
              <input value={draft.alias} onChange={set("alias")} readOnly={readOnly} maxLength={255} className="mono" />
            </label>
            {!isLayout && (
              <label className="field">
                Layout
                <select value={draft.layoutAlias} onChange={set("layoutAlias")} disabled={readOnly}>
                  <option value="">No layout</option>
                  {layouts.data?.templates.filter((l) => l.alias).map((l) => (
                    <option key={l.id} value={l.alias!}>
                      {l.name} ({l.alias})
                    </option>
                  ))}
                </select>
              </label>
            )}
          </div>
          {!isLayout && (
            <div>
              <label className="field">
                Subject
                <input value={draft.subject} onChange={set("subject")} readOnly={readOnly} aria-describedby="subject-errors" />
              </label>
              <PartErrors id="subject-errors" errors={answer?.subject.errors} />
            </div>
          )}
          {/* Errors sit beside their field, outside its label, so that the field's name stays its own. */}
          <div>
            <label className="field">
              HTML body
              <textarea rows={14} value={draft.htmlBody} onChange={set("htmlBody")} readOnly={readOnly} spellCheck={false} aria-describedby="html-errors" />
            </label>
            <PartErrors id="html-errors" errors={answer?.htmlBody.errors} />
          </div>
          <div>
            <label className="field">
              Text body
              <textarea rows={6} value={draft.textBody} onChange={set("textBody")} readOnly={readOnly} spellCheck={false} aria-describedby="text-errors" />
            </label>
            <PartErrors id="text-errors" errors={answer?.textBody.errors} />
          </div>
          <div>
            <label className="field">
              Test model (JSON)
              <textarea rows={6} value={modelText} onChange={(e) => setModelText(e.target.value)} spellCheck={false} placeholder="Empty: the model the template suggests" aria-describedby="model-errors" />
            </label>
            {model.error && (
              <ul className="template-errors" id="model-errors">
                <li>{model.error}</li>
              </ul>
            )}
          </div>
          {answer && (
            <div className="template-actions">
              <button type="button" className="button button-small" onClick={() => setModelText(JSON.stringify(answer.suggestedModel, null, 2))}>
                Use the suggested model
              </button>
            </div>
          )}
          {canChange && !isLayout && <TemplateTestSend workspaceId={workspaceId} templateId={saved.id} testModel={model.model} unsaved={unsaved} />}
        </div>
        <PreviewPanel preview={preview} showSubject={!isLayout} />
      </div>
    </>
  );
}
