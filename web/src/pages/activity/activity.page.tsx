// Activity (issue 13): every message of the workspace, newest first, live. Filters and search
// live in the address; new messages appear at the top without a reload and the states of rows
// still on their way refresh. In a sandbox workspace this is the developer inbox: every captured
// message, readable in full.
import { Link, useSearchParams } from "react-router";
import { useWorkspace } from "../../session";
import { PageHeader } from "../../ui/page";
import { Empty, ErrorNotice, Loading, Notice } from "../../ui/states";
import { StateBadge } from "../../ui/state-badge";
import { Time } from "../../ui/time";
import { ActivityFilters } from "./activity-filters";
import { filtersOf, hasFilters, type Filters } from "./filters";
import { useActivityList } from "./use-activity";
import "./activity.css";

export default function ActivityPage() {
  const workspace = useWorkspace();
  const [params, setParams] = useSearchParams();
  const filters = filtersOf(params);
  const { first, list, loadOlder, loadingOlder, pollError } = useActivityList(workspace.id, filters);
  const apply = (next: Filters) => setParams(next as Record<string, string>);
  const filtered = hasFilters(filters);

  return (
    <>
      <PageHeader
        title="Activity"
        subtitle={workspace.sandbox ? "Developer inbox: this sandbox workspace delivers nothing; every message it accepted is captured here." : "Every message the workspace accepted, newest first. New ones appear as they arrive."}
      />
      <ActivityFilters key={params.toString()} filters={filters} onApply={apply} />
      {filters.q && (
        // Search is indexed by the worker, not by acceptance (docs/dashboard/activity.md): say so.
        <p className="muted activity-search-note">
          Search finds whole words of the subject and the addresses, about a second after a message is accepted.
          {list?.searchIndexing && " Older messages are still being indexed: some may be missing from the results for now."}
        </p>
      )}
      {first.isPending && !list && <Loading label="Loading messages" />}
      {first.error && <ErrorNotice error={first.error} title="Could not list the messages" />}
      {pollError !== null && <ErrorNotice error={pollError} title="Could not refresh the list" />}
      {list && list.rows.length === 0 && !list.partial && <Empty>{filtered ? "No message matches these filters." : "No messages yet. They appear here as soon as they are accepted."}</Empty>}
      {list && list.rows.length > 0 && (
        <div className="table-wrap">
          <table className="table" aria-label="Messages">
            <thead>
              <tr>
                <th scope="col">Accepted</th>
                <th scope="col">Subject</th>
                <th scope="col">To</th>
                <th scope="col">From</th>
                <th scope="col">Tag</th>
                <th scope="col">Stream</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody aria-live="polite">
              {list.rows.map((m) => (
                <tr key={m.id} className={list.arrived.has(m.id) ? "activity-new" : undefined}>
                  <td>
                    <Time at={m.acceptedAt} />
                  </td>
                  <td className="ellipsis">
                    <Link to={`/w/${workspace.id}/messages/${encodeURIComponent(m.id)}`}>{m.subject || "(no subject)"}</Link>
                  </td>
                  <td className="ellipsis">{m.recipients.join(", ")}</td>
                  <td className="ellipsis">{m.from}</td>
                  <td>{m.tag ?? <span className="muted">—</span>}</td>
                  <td>{m.stream}</td>
                  <td>
                    <StateBadge state={m.sandboxed ? "captured" : m.state} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list && (list.next || list.partial) && (
        <div className="activity-more">
          {list.partial && <Notice title="Searched part of the list">The newest messages were searched; older ones may match too.</Notice>}
          {list.next && (
            <button type="button" className="button" onClick={() => void loadOlder()} disabled={loadingOlder}>
              {loadingOlder ? "Loading…" : list.partial ? "Search older messages" : "Load older"}
            </button>
          )}
        </div>
      )}
    </>
  );
}
