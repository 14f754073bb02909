// Every page of the dashboard and its address. Each page is its own chunk, loaded when first
// visited, so a page's libraries (charts, the journey graph) cost nothing elsewhere.
import { lazy, Suspense, type ComponentType } from "react";
import { Navigate, Route, Routes, useParams } from "react-router";
import { findWorkspace, useSignedIn } from "./session";
import { Shell } from "./shell/shell";
import { Loading, Notice } from "./ui/states";

const page = (load: () => Promise<{ default: ComponentType }>) => {
  const Page = lazy(load);
  return (
    <Suspense fallback={<Loading />}>
      <Page />
    </Suspense>
  );
};

export function DashboardRoutes() {
  return (
    <Routes>
      <Route path="/" element={<FirstWorkspace />} />
      <Route path="/w/:workspaceId" element={<WorkspaceShell />}>
        <Route index element={<Navigate to="activity" replace />} />
        <Route path="activity" element={page(() => import("./pages/activity/activity.page"))} />
        <Route path="messages/:messageId" element={page(() => import("./pages/activity/message.page"))} />
        <Route path="stats" element={page(() => import("./pages/stats/stats.page"))} />
        <Route path="suppressions" element={page(() => import("./pages/suppressions/suppressions.page"))} />
        <Route path="queue" element={page(() => import("./pages/queue/queue.page"))} />
        <Route path="domains" element={page(() => import("./pages/domains/domains.page"))} />
        <Route path="templates" element={page(() => import("./pages/templates/templates.page"))} />
        <Route path="templates/:templateId" element={page(() => import("./pages/templates/template.page"))} />
        <Route path="settings" element={page(() => import("./pages/settings/settings.page"))} />
        <Route path="people" element={page(() => import("./pages/people/people.page"))} />
        <Route path="people/:personId" element={page(() => import("./pages/people/person.page"))} />
        <Route path="segments" element={page(() => import("./pages/segments/segments.page"))} />
        <Route path="segments/:segmentId" element={page(() => import("./pages/segments/segment.page"))} />
        <Route path="journeys" element={page(() => import("./pages/journeys/journeys.page"))} />
        <Route path="journeys/:journeyId" element={page(() => import("./pages/journeys/journey.page"))} />
        <Route path="*" element={<Notice title="No such page">The address names no page of the dashboard.</Notice>} />
      </Route>
      <Route path="*" element={<FirstWorkspace />} />
    </Routes>
  );
}

/** After sign-in: the first workspace the user may see (the last one used, when remembered). */
function FirstWorkspace() {
  const session = useSignedIn();
  const remembered = localStorage.getItem("posthorn.workspace") ?? undefined;
  const workspace = findWorkspace(session, remembered) ?? session.workspaces[0];
  if (!workspace) return <Shell><Notice title="No workspace">This user is not granted any workspace yet. An administrator grants one with <code>posthorn user grant</code>.</Notice></Shell>;
  return <Navigate to={`/w/${workspace.id}/activity`} replace />;
}

function WorkspaceShell() {
  const session = useSignedIn();
  const { workspaceId } = useParams();
  const workspace = findWorkspace(session, workspaceId);
  if (!workspace) return <Shell><Notice title="Workspace not found">This session is not granted that workspace.</Notice></Shell>;
  localStorage.setItem("posthorn.workspace", workspace.id);
  return <Shell workspace={workspace} />;
}
