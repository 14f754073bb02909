// The frame around every page: the workspace switcher, the navigation, who is signed in. At phone
// width the navigation folds behind a menu button.
import { useState, type ReactNode } from "react";
import { NavLink, Outlet, useLocation, useNavigate } from "react-router";
import type { WorkspaceSummary } from "@contract/session.contract";
import { useSession, useSignedIn } from "../session";
import "./shell.css";

const SECTIONS: Array<{ title: string; links: Array<{ to: string; label: string }> }> = [
  {
    title: "Email",
    links: [
      { to: "activity", label: "Activity" },
      { to: "stats", label: "Stats" },
      { to: "suppressions", label: "Suppressions" },
      { to: "templates", label: "Templates" },
      { to: "queue", label: "Queue" },
      { to: "domains", label: "Domains" },
    ],
  },
  {
    title: "Behavioral",
    links: [
      { to: "people", label: "People" },
      { to: "segments", label: "Segments" },
      { to: "journeys", label: "Journeys" },
    ],
  },
  { title: "Workspace", links: [{ to: "settings", label: "Streams and tokens" }] },
];

export function Shell({ workspace, children }: { workspace?: WorkspaceSummary; children?: ReactNode }) {
  const session = useSignedIn();
  const { signOut } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);

  const switchTo = (id: string) => {
    // Keep the same page in the other workspace (but not one item's page, which is not there).
    const section = /^\/w\/[^/]+\/([^/]+)/.exec(location.pathname)?.[1] ?? "activity";
    const listPage = section === "messages" ? "activity" : section;
    navigate(`/w/${id}/${listPage}`);
  };

  return (
    <div className="shell">
      <header className="shell-bar">
        <button type="button" className="button shell-menu" aria-expanded={menuOpen} aria-controls="shell-nav" onClick={() => setMenuOpen(!menuOpen)}>
          Menu
        </button>
        <span className="shell-brand">Posthorn</span>
        {workspace && session.workspaces.length > 0 && (
          <label className="shell-workspace">
            <span className="visually-hidden">Workspace</span>
            <select value={workspace.id} onChange={(e) => switchTo(e.target.value)} aria-label="Workspace">
              {session.workspaces.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.name}
                  {w.sandbox ? " (sandbox)" : ""}
                </option>
              ))}
            </select>
          </label>
        )}
        {workspace?.sandbox && <span className="badge badge-warn" title="Mail is captured, not delivered">Sandbox</span>}
        <span className="shell-user">
          <span title={session.user.role}>{session.user.email}</span>
          <button type="button" className="button button-quiet" onClick={() => void signOut()}>
            Sign out
          </button>
        </span>
      </header>
      <div className="shell-body">
        {workspace && (
          <nav id="shell-nav" className={menuOpen ? "shell-nav open" : "shell-nav"} aria-label="Dashboard" onClick={() => setMenuOpen(false)}>
            {SECTIONS.map((section) => (
              <div key={section.title} className="shell-section">
                <h2>{section.title}</h2>
                <ul>
                  {section.links.map((link) => (
                    <li key={link.to}>
                      <NavLink to={`/w/${workspace.id}/${link.to}`}>{link.label}</NavLink>
                    </li>
                  ))}
                </ul>
              </div>
            ))}
          </nav>
        )}
        <main className="shell-main" id="main">
          {children ?? <Outlet />}
        </main>
      </div>
    </div>
  );
}
