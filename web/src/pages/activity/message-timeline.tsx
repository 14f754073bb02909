// A message's one timeline: accepted, each attempt with its MX host, the remote reply and what was
// done about DKIM, outcomes, opens and clicks, and each webhook attempt with what the endpoint
// answered, in the order they happened. An endpoint's answer is the endpoint's text: it is shown
// as text (React escapes it), folded away, never as markup.
import type { TimelineEntry } from "@contract/activity.contract";
import { StateBadge } from "../../ui/state-badge";
import { Time } from "../../ui/time";

export function MessageTimeline({ entries }: { entries: TimelineEntry[] }) {
  return (
    <ol className="timeline" aria-label="Timeline">
      {entries.map((e, i) => (
        <li key={i}>
          <Time at={e.at} /> <StateBadge state={e.kind} /> {e.recipient && <strong>{e.recipient}</strong>} <span>{e.summary}</span>
          {e.remoteHost && <span className="muted"> · {e.remoteHost}</span>}
          {e.reply && <code className="reply">{e.reply}</code>}
          {e.dkim && <span className={`dkim ${e.dkim.signed ? "signed" : "unsigned"}`}>DKIM: {e.dkim.summary}</span>}
          {e.webhook && <WebhookAnswer webhook={e.webhook} />}
        </li>
      ))}
    </ol>
  );
}

function WebhookAnswer({ webhook }: { webhook: NonNullable<TimelineEntry["webhook"]> }) {
  if (webhook.response === null || webhook.response === "") return webhook.status === null ? null : <span className="muted"> · empty answer</span>;
  return (
    <details className="webhook-answer">
      <summary>
        Response{webhook.status !== null ? ` (HTTP ${webhook.status})` : ""}
        {webhook.responseCut ? `: the first 1 KB of ${webhook.responseBytes === null ? "an answer of unknown size" : sizeOf(webhook.responseBytes)}` : ""}
      </summary>
      <pre className="reply">{webhook.response}</pre>
    </details>
  );
}

function sizeOf(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
