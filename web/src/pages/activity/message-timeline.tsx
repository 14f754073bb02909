// A message's one timeline: accepted, each attempt with its MX host and the remote reply,
// outcomes, opens and clicks, webhook posts, in the order they happened.
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
        </li>
      ))}
    </ol>
  );
}
