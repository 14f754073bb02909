// The workspace's message streams with their tracking defaults (null follows the workspace); for
// admins, each row's edit and archive buttons (stream-actions.tsx). Viewers get no such column.
import type { LinkTracking, StreamView } from "@contract/settings.contract";
import { Empty } from "../../ui/states";
import { Time } from "../../ui/time";
import { StreamActions } from "./stream-actions";

const LINKS: Record<LinkTracking, string> = { none: "off", "html-and-text": "HTML and text", "html-only": "HTML only", "text-only": "text only" };

export function StreamsTable({ streams, workspaceId, canChange }: { streams: StreamView[]; workspaceId: string; canChange: boolean }) {
  if (streams.length === 0) return <Empty>No message streams.</Empty>;
  return (
    <div className="table-wrap">
      <table className="table">
        <thead>
          <tr>
            <th>ID</th>
            <th>Name</th>
            <th>Type</th>
            <th>Open tracking</th>
            <th>Link tracking</th>
            <th>Unsubscribes</th>
            <th>Created</th>
            {canChange && <th>Change</th>}
          </tr>
        </thead>
        <tbody>
          {streams.map((s) => (
            <tr key={s.id} data-stream={s.id}>
              <td className="mono">
                {s.id} {s.archivedAt !== null && <span className="badge badge-neutral">archived</span>}
              </td>
              <td>
                {s.name}
                {s.description && <div className="muted">{s.description}</div>}
              </td>
              <td>{s.type}</td>
              <td>{s.type === "inbound" ? <span className="muted">—</span> : s.trackOpens === null ? <span className="muted">workspace default</span> : s.trackOpens ? "on" : "off"}</td>
              <td>{s.type === "inbound" ? <span className="muted">—</span> : s.trackLinks === null ? <span className="muted">workspace default</span> : LINKS[s.trackLinks]}</td>
              <td>{s.unsubscribeHandling}</td>
              <td>
                <Time at={s.createdAt} />
              </td>
              {canChange && (
                <td>
                  <StreamActions workspaceId={workspaceId} stream={s} />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
