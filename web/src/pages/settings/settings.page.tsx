// Streams and tokens: the workspace's sending mode (sandbox or live, switched by an admin after a
// confirmation), its message streams with their tracking settings, a form for a new stream, and
// new credentials, each secret shown once with a copy button.
import { useQuery } from "@tanstack/react-query";
import type { SettingsAnswer } from "@contract/settings.contract";
import { apiGet, workspacePath } from "../../api/client";
import { useCanChange, useWorkspace } from "../../session";
import { PageHeader } from "../../ui/page";
import { ErrorNotice, Loading } from "../../ui/states";
import { SandboxSwitch } from "./sandbox-switch";
import { StreamsTable } from "./streams-table";
import { NewStreamForm } from "./new-stream-form";
import { Credentials } from "./credentials";
import "./settings.css";

export default function SettingsPage() {
  const workspace = useWorkspace();
  const canChange = useCanChange();
  const settings = useQuery({
    queryKey: ["settings", workspace.id],
    queryFn: ({ signal }) => apiGet<SettingsAnswer>(workspacePath(workspace.id, "/settings"), {}, { signal }),
  });
  return (
    <>
      <PageHeader title="Streams and tokens" subtitle={`Workspace ${workspace.name}`} />
      {settings.isPending ? (
        <Loading label="Loading the workspace" />
      ) : settings.isError ? (
        <ErrorNotice error={settings.error} />
      ) : (
        <>
          <SandboxSwitch workspace={settings.data.workspace} canChange={canChange} />
          <section aria-labelledby="streams-title">
            <h2 id="streams-title">Message streams</h2>
            <StreamsTable streams={settings.data.streams} workspaceId={workspace.id} canChange={canChange} />
            {canChange && <NewStreamForm workspaceId={workspace.id} />}
          </section>
          <Credentials workspaceId={workspace.id} canChange={canChange} tokens={settings.data.tokens} />
        </>
      )}
    </>
  );
}
