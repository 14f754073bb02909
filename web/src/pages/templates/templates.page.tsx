// Templates: the workspace's templates and layouts (name, alias, type, layout, last change), a type
// filter, and — for admins — a short form that creates one and opens it in the editor.
import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { TemplateDetail, TemplateKind, TemplatesAnswer } from "@contract/templates.contract";
import { apiGet, apiSend, workspacePath } from "../../api/client";
import { useCanChange, useWorkspace } from "../../session";
import { PageHeader } from "../../ui/page";
import { Empty, ErrorNotice, Loading } from "../../ui/states";
import { Time } from "../../ui/time";
import { STARTER_HTML, STARTER_LAYOUT, STARTER_SUBJECT } from "./template-starters";
import "./templates.css";

export default function TemplatesPage() {
  const workspace = useWorkspace();
  const canChange = useCanChange();
  const [kind, setKind] = useState<TemplateKind | "">("");
  const [creating, setCreating] = useState(false);
  const list = useQuery({
    queryKey: ["templates", workspace.id, kind],
    queryFn: ({ signal }) => apiGet<TemplatesAnswer>(workspacePath(workspace.id, "/templates"), { kind }, { signal }),
  });

  return (
    <>
      <PageHeader
        title="Templates"
        subtitle="Postmark templates and layouts of this workspace, rendered by the same engine as /email/withTemplate."
        actions={canChange && !creating && (
          <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
            New template
          </button>
        )}
      />
      {creating && <NewTemplateForm workspaceId={workspace.id} onCancel={() => setCreating(false)} />}
      <div className="filters">
        <label className="field">
          Type
          <select value={kind} onChange={(e) => setKind(e.target.value as TemplateKind | "")}>
            <option value="">All</option>
            <option value="standard">Standard</option>
            <option value="layout">Layout</option>
          </select>
        </label>
      </div>
      {list.isPending ? (
        <Loading label="Loading templates" />
      ) : list.isError ? (
        <ErrorNotice error={list.error} />
      ) : list.data.templates.length === 0 ? (
        <Empty>{kind ? "No templates of this type." : "No templates yet."}</Empty>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Alias</th>
                <th>Type</th>
                <th>Layout</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {list.data.templates.map((t) => (
                <tr key={t.id}>
                  <td>
                    <Link to={`/w/${workspace.id}/templates/${t.id}`}>{t.name}</Link>
                  </td>
                  <td className="mono">{t.alias ?? <span className="muted">—</span>}</td>
                  <td>
                    <span className={`badge ${t.kind === "layout" ? "badge-info" : "badge-neutral"}`}>{t.kind}</span>
                  </td>
                  <td className="mono">{t.layoutAlias ?? <span className="muted">—</span>}</td>
                  <td>
                    <Time at={t.updatedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

/** Name, alias and type; the bodies start from a small example and are edited on the template's page. */
function NewTemplateForm({ workspaceId, onCancel }: { workspaceId: string; onCancel: () => void }) {
  const navigate = useNavigate();
  const queries = useQueryClient();
  const [name, setName] = useState("");
  const [alias, setAlias] = useState("");
  const [kind, setKind] = useState<TemplateKind>("standard");
  const create = useMutation({
    mutationFn: () =>
      apiSend<TemplateDetail>("POST", workspacePath(workspaceId, "/templates"), {
        name,
        alias: alias || null,
        kind,
        subject: kind === "layout" ? null : STARTER_SUBJECT,
        htmlBody: kind === "layout" ? STARTER_LAYOUT : STARTER_HTML,
      }),
    onSuccess: async (created) => {
      await queries.invalidateQueries({ queryKey: ["templates", workspaceId] });
      navigate(`/w/${workspaceId}/templates/${created.id}`);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <form className="template-new" onSubmit={submit} aria-label="New template">
      <div className="filters">
        <label className="field">
          Name
          <input required value={name} onChange={(e) => setName(e.target.value)} maxLength={255} />
        </label>
        <label className="field">
          Alias
          <input value={alias} onChange={(e) => setAlias(e.target.value)} placeholder="welcome-email" maxLength={255} />
        </label>
        <label className="field">
          Template type
          <select value={kind} onChange={(e) => setKind(e.target.value as TemplateKind)}>
            <option value="standard">Standard</option>
            <option value="layout">Layout</option>
          </select>
        </label>
        <button type="submit" className="button button-primary" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create template"}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
      {create.isError && <ErrorNotice error={create.error} title="Not created" />}
    </form>
  );
}
