// One message (issue 13): envelope and headers, each recipient's state, one timeline, the HTML
// part in a sandboxed frame, the text part, and the raw MIME to download. For a sandbox
// workspace this is the developer inbox's reader, with the link check.
import { Fragment } from "react";
import { useQuery } from "@tanstack/react-query";
import { Link, useParams } from "react-router";
import type { MessageDetailAnswer } from "@contract/activity.contract";
import { apiGet, apiUrl, workspacePath } from "../../api/client";
import { useWorkspace } from "../../session";
import { PageHeader } from "../../ui/page";
import { ErrorNotice, Loading } from "../../ui/states";
import { StateBadge } from "../../ui/state-badge";
import { Time } from "../../ui/time";
import { CopyButton } from "../../ui/copy-button";
import { LinkChecks, MessageHtml, MessageText } from "./message-content";
import { MessageTimeline } from "./message-timeline";
import { POLL_MS } from "./use-activity";
import "./activity.css";

const mailboxes = (list: Array<{ email: string; name: string }>) => list.map((m) => (m.name ? `${m.name} <${m.email}>` : m.email)).join(", ");

export default function MessagePage() {
  const workspace = useWorkspace();
  const messageId = useParams().messageId ?? "";
  const path = workspacePath(workspace.id, `/messages/${encodeURIComponent(messageId)}`);
  const detail = useQuery({
    queryKey: ["message", workspace.id, messageId],
    queryFn: ({ signal }) => apiGet<MessageDetailAnswer>(path, {}, { signal }),
    // A message on its way is watched until its recipients reach an outcome.
    refetchInterval: (query) => (query.state.data && !["queued", "deferred"].includes(query.state.data.state) ? false : POLL_MS),
  });
  const back = <Link to={`/w/${workspace.id}/activity`}>Activity</Link>;
  if (detail.isPending) return <Loading label="Loading the message" />;
  if (detail.error) return (<><p>{back}</p><ErrorNotice error={detail.error} title="Could not show the message" /></>);
  const m = detail.data;
  return (
    <>
      <p className="muted">{back} /</p>
      <PageHeader
        title={m.subject || "(no subject)"}
        subtitle={<><StateBadge state={m.sandboxed ? "captured" : m.state} /> <span className="header-value">{m.id}</span> <CopyButton value={m.id} label="Copy id" /></>}
        actions={m.bodyRemovedAt === null ? <a className="button" href={apiUrl(`${path}/raw`)} download={`${m.id}.eml`}>Download raw</a> : undefined}
      />
      <dl className="message-grid" aria-label="Envelope">
        <dt>Accepted</dt><dd><Time at={m.acceptedAt} /></dd>
        <dt>From</dt><dd>{mailboxes([m.from])}</dd>
        <dt>To</dt><dd>{mailboxes(m.to) || "—"}</dd>
        {m.cc.length > 0 && <><dt>Cc</dt><dd>{mailboxes(m.cc)}</dd></>}
        {m.bcc.length > 0 && <><dt>Bcc</dt><dd>{mailboxes(m.bcc)}</dd></>}
        <dt>Envelope from</dt><dd>{m.envelopeFrom || "<> (null sender)"}</dd>
        <dt>Stream</dt><dd>{m.stream}</dd>
        <dt>Tag</dt><dd>{m.tag ?? "—"}</dd>
        {Object.entries(m.metadata).map(([k, v]) => <Fragment key={k}><dt>Metadata {k}</dt><dd>{v}</dd></Fragment>)}
        {m.attachments.length > 0 && <><dt>Attachments</dt><dd>{m.attachments.join(", ")}</dd></>}
        {m.bodyRemovedAt === null
          ? <><dt>Size</dt><dd>{(m.mimeBytes / 1024).toFixed(1)} KB</dd></>
          : <><dt>Body</dt><dd>No longer kept: removed <Time at={m.bodyRemovedAt} /> (content retention)</dd></>}
      </dl>

      {m.recipients.length > 0 && (
        <section className="message-section" aria-labelledby="recipients-heading">
          <h2 id="recipients-heading">Recipients</h2>
          <div className="table-wrap">
            <table className="table" aria-label="Recipients">
              <thead><tr><th scope="col">Recipient</th><th scope="col">State</th><th scope="col" className="num">Attempts</th><th scope="col">Last reply</th></tr></thead>
              <tbody>
                {m.recipients.map((r) => (
                  <tr key={r.email}><td>{r.email}</td><td><StateBadge state={r.state} /></td><td className="num">{r.attempts}</td><td className="header-value">{r.lastReply ?? "—"}</td></tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}

      <section className="message-section" aria-labelledby="timeline-heading">
        <h2 id="timeline-heading">Timeline</h2>
        <MessageTimeline entries={m.timeline} />
      </section>

      {m.hasHtml && (
        <section className="message-section" aria-labelledby="html-heading">
          <h2 id="html-heading">HTML</h2>
          <MessageHtml workspaceId={workspace.id} messageId={m.id} />
        </section>
      )}
      {(m.sandboxed || m.links.some((l) => l.problem)) && m.hasHtml && (
        <section className="message-section" aria-labelledby="links-heading">
          <h2 id="links-heading">Link check</h2>
          <LinkChecks links={m.links} />
        </section>
      )}
      <section className="message-section" aria-labelledby="text-heading">
        <h2 id="text-heading">Text</h2>
        <MessageText text={m.textBody} />
      </section>
      <details className="message-section">
        <summary>Headers ({m.headers.length})</summary>
        <div className="table-wrap">
          <table className="table" aria-label="Headers">
            <tbody>
              {m.headers.map((h, i) => <tr key={i}><th scope="row">{h.name}</th><td className="header-value">{h.value}</td></tr>)}
            </tbody>
          </table>
        </div>
      </details>
    </>
  );
}
