// A message's content: the HTML part in a sandboxed frame (no scripts, no same-origin access; the
// server's own policy for the part blocks remote images until "Show remote content"), the text
// part, and the link check of the developer inbox.
import { useState } from "react";
import type { LinkCheck, MessageDetailAnswer } from "@contract/activity.contract";
import { apiUrl, workspacePath } from "../../api/client";
import { Empty } from "../../ui/states";

const PROBLEM: Record<NonNullable<LinkCheck["problem"]>, string> = {
  http: "plain http: (not encrypted)",
  empty: "empty link",
  placeholder: "placeholder (#)",
};

export function MessageHtml({ workspaceId, messageId }: { workspaceId: string; messageId: string }) {
  const [remote, setRemote] = useState(false);
  const src = apiUrl(workspacePath(workspaceId, `/messages/${encodeURIComponent(messageId)}/html`), remote ? { remote: 1 } : {});
  return (
    <>
      <div className="page-actions">
        {!remote && (
          <button type="button" className="button button-small" onClick={() => setRemote(true)}>
            Show remote content
          </button>
        )}
        {remote && <span className="muted">Remote images are shown: the sender can tell this message was viewed.</span>}
      </div>
      {/* No allow-scripts and no allow-same-origin: the sender's HTML can neither run nor reach the dashboard. */}
      <iframe key={src} className="message-frame" title="Message HTML" src={src} sandbox="allow-popups allow-popups-to-escape-sandbox" referrerPolicy="no-referrer" />
    </>
  );
}

export function MessageText({ text }: { text: string | null }) {
  if (text === null) return <Empty>The message has no text part.</Empty>;
  return <pre className="message-text">{text}</pre>;
}

export function LinkChecks({ links }: { links: MessageDetailAnswer["links"] }) {
  if (links.length === 0) return <Empty>The HTML part has no links.</Empty>;
  const problems = links.filter((l) => l.problem !== null).length;
  return (
    <>
      <p className="muted">{problems === 0 ? `All ${links.length} links look fine.` : `${problems} of ${links.length} links need a look.`}</p>
      <div className="table-wrap">
        <table className="table" aria-label="Links">
          <thead>
            <tr>
              <th scope="col">Link</th>
              <th scope="col">Text</th>
              <th scope="col">Check</th>
            </tr>
          </thead>
          <tbody>
            {links.map((l, i) => (
              <tr key={i}>
                <td className="header-value">{l.href || <span className="muted">(empty)</span>}</td>
                <td>{l.text}</td>
                <td>{l.problem ? <span className="badge badge-warn">{PROBLEM[l.problem]}</span> : <span className="badge badge-good">ok</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
