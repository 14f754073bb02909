// Every page of the dashboard and its address. Each page is its own chunk, loaded when first
// visited, so a page's libraries (charts, the journey graph) cost nothing elsewhere.
import { lazy, Suspense, type ComponentType } from "react";
import { Navigate, Route, Routes, useParams } from "react-router";
import { findWorkspace, useSignedIn } from "./session";
import { Shell } from "./shell/shell";
import { Loading, Notice } from "./ui/states";

// The activity page is where sign-in lands and what most visits open: it is in the main chunk,
// so a first visit draws it without waiting for another script.
import ActivityPage from "./pages/activity/activity.page";

type PageModule = Promise<{ default: ComponentType }>;

/** Each page's chunk, by the first path segment after /w/<workspace>/. */
const PAGES = {
  activity: () => Promise.resolve({ default: ActivityPage }),
  message: () => import("./pages/activity/message.page"),
  stats: () => import("./pages/stats/stats.page"),
  suppressions: () => import("./pages/suppressions/suppressions.page"),
  queue: () => import("./pages/queue/queue.page"),
  domains: () => import("./pages/domains/domains.page"),
  templates: () => import("./pages/templates/templates.page"),
  template: () => import("./pages/templates/template.page"),
  settings: () => import("./pages/settings/settings.page"),
  people: () => import("./pages/people/people.page"),
  person: () => import("./pages/people/person.page"),
  segments: () => import("./pages/segments/segments.page"),
  segment: () => import("./pages/segments/segment.page"),
  journeys: () => import("./pages/journeys/journeys.page"),
  journey: () => import("./pages/journeys/journey.page"),
} satisfies Record<string, () => PageModule>;

/**
 * The chunk of the page the address names starts loading with the main script, not after the
 * session has answered and the routes have rendered: one round trip less on a first visit. A bare
 * address lands on the activity page.
 */
function prefetchPageOf(hash: string): void {
  const match = /^#\/w\/[^/]+\/([^/?]+)(?:\/([^/?]+))?/.exec(hash);
  const section = match ? match[1] : "activity";
  const item = match?.[2];
  const single: Record<string, keyof typeof PAGES> = { messages: "message", templates: "template", people: "person", segments: "segment", journeys: "journey" };
  const name = item && section && single[section] ? single[section] : section;
  const load = name && name in PAGES ? PAGES[name as keyof typeof PAGES] : undefined;
  void load?.().catch(() => undefined);
}
prefetchPageOf(window.location.hash);

const page = (load: () => PageModule) => {
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
        <Route path="activity" element={page(PAGES.activity)} />
        <Route path="messages/:messageId" element={page(PAGES.message)} />
        <Route path="stats" element={page(PAGES.stats)} />
        <Route path="suppressions" element={page(PAGES.suppressions)} />
        <Route path="queue" element={page(PAGES.queue)} />
        <Route path="domains" element={page(PAGES.domains)} />
        <Route path="templates" element={page(PAGES.templates)} />
        <Route path="templates/:templateId" element={page(PAGES.template)} />
        <Route path="settings" element={page(PAGES.settings)} />
        <Route path="people" element={page(PAGES.people)} />
        <Route path="people/:personId" element={page(PAGES.person)} />
        <Route path="segments" element={page(PAGES.segments)} />
        <Route path="segments/:segmentId" element={page(PAGES.segment)} />
        <Route path="journeys" element={page(PAGES.journeys)} />
        <Route path="journeys/:journeyId" element={page(PAGES.journey)} />
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
