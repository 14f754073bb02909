// Queue: the workspace's deliveries by state, the destinations with mail waiting (oldest, next
// attempt, the remote's last reply), each one's waiting deliveries, and "retry now" (admins).
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { DestinationAnswer, QueueAnswer, RetryAnswer, RetryBody } from "@contract/queue.contract";
import { apiGet, apiSend, workspacePath } from "../../api/client";
import { useCanChange, useWorkspace } from "../../session";
import { PageHeader } from "../../ui/page";
import { StateBadge } from "../../ui/state-badge";
import { Empty, ErrorNotice, Loading, Notice } from "../../ui/states";
import { Time } from "../../ui/time";
import "./queue.css";

/** The queue changes by itself: look again now and then while the page is open. */
const REFRESH_MS = 5_000;

export default function QueuePage() {
  const workspace = useWorkspace();
  const canChange = useCanChange();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState<string | null>(null);
  const [retried, setRetried] = useState<{ what: string; count: number } | null>(null);
  const queue = useQuery({
    queryKey: ["queue", workspace.id],
    queryFn: ({ signal }) => apiGet<QueueAnswer>(workspacePath(workspace.id, "/queue"), {}, { signal }),
    refetchInterval: REFRESH_MS,
  });
  const retry = useMutation({
    mutationFn: (body: RetryBody & { what: string }) => apiSend<RetryAnswer>("POST", workspacePath(workspace.id, "/queue/retry"), { domain: body.domain, deliveryId: body.deliveryId }),
    onSuccess: (answer, body) => {
      setRetried({ what: body.what, count: answer.retried });
      void queryClient.invalidateQueries({ queryKey: ["queue", workspace.id] });
    },
  });
  const doRetry = canChange ? (body: RetryBody & { what: string }) => retry.mutate(body) : null;

  return (
    <>
      <PageHeader title="Queue" subtitle="Deliveries of this workspace waiting for their next attempt, by destination. Delivered and bounced mail is counted on the Stats page." />
      {queue.isPending && <Loading label="Loading the queue" />}
      {queue.isError && <ErrorNotice error={queue.error} />}
      {retry.isError && <ErrorNotice error={retry.error} />}
      {retried && (
        <Notice title="Retrying now">
          {retried.count === 0 ? `Nothing of ${retried.what} was waiting for a retry (deliveries mid-attempt finish first).` : `${retried.count} deferred ${retried.count === 1 ? "delivery" : "deliveries"} of ${retried.what} will be tried now.`}
        </Notice>
      )}
      {queue.data && (
        <>
          <div className="cards" aria-label="Waiting deliveries">
            <div className="card">
              <div className="value">{queue.data.waiting.queued.toLocaleString()}</div>
              <div className="label">
                <StateBadge state="queued" /> not tried yet
              </div>
            </div>
            <div className="card">
              <div className="value">{queue.data.waiting.deferred.toLocaleString()}</div>
              <div className="label">
                <StateBadge state="deferred" /> to retry
              </div>
            </div>
            <div className="card">
              <div className="value">{queue.data.waiting.inFlight.toLocaleString()}</div>
              <div className="label">being tried now</div>
            </div>
          </div>
          <h2>Backlogged destinations</h2>
          {queue.data.destinations.length === 0 ? (
            <Empty>No mail of this workspace is waiting.</Empty>
          ) : (
            <div className="table-wrap">
              <table className="table" aria-label="Backlogged destinations">
                <thead>
                  <tr>
                    <th>Destination</th>
                    <th className="num">Queued</th>
                    <th className="num">Deferred</th>
                    <th>Oldest</th>
                    <th>Next attempt</th>
                    <th>Last reply</th>
                    <th aria-label="Actions" />
                  </tr>
                </thead>
                <tbody>
                  {queue.data.destinations.map((d) => (
                    <tr key={d.domain}>
                      <td>{d.domain}</td>
                      <td className="num">{d.queued}</td>
                      <td className="num">{d.deferred}</td>
                      <td>
                        <Time at={d.oldestCreatedAt} />
                      </td>
                      <td>
                        <Time at={d.nextAttemptAt} />
                      </td>
                      <td className="queue-reply">{d.lastReply ?? <span className="muted">—</span>}</td>
                      <td className="queue-actions">
                        <button type="button" className="button button-small" aria-expanded={open === d.domain} onClick={() => setOpen(open === d.domain ? null : d.domain)} aria-label={`Deliveries to ${d.domain}`}>
                          {open === d.domain ? "Hide" : "Deliveries"}
                        </button>
                        {doRetry && (
                          <button type="button" className="button button-small button-primary" disabled={retry.isPending} onClick={() => doRetry({ domain: d.domain, what: d.domain })} aria-label={`Retry ${d.domain} now`}>
                            Retry now
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {open && <Destination domain={open} onRetry={doRetry} pending={retry.isPending} />}
        </>
      )}
    </>
  );
}

function Destination({ domain, onRetry, pending }: { domain: string; onRetry: ((body: RetryBody & { what: string }) => void) | null; pending: boolean }) {
  const workspace = useWorkspace();
  const waiting = useQuery({
    queryKey: ["queue", workspace.id, "destination", domain],
    queryFn: ({ signal }) => apiGet<DestinationAnswer>(workspacePath(workspace.id, `/queue/destinations/${encodeURIComponent(domain)}`), {}, { signal }),
    refetchInterval: REFRESH_MS,
  });
  return (
    <section aria-label={`Waiting for ${domain}`}>
      <h2>Waiting for {domain}</h2>
      {waiting.isPending && <Loading label="Loading deliveries" />}
      {waiting.isError && <ErrorNotice error={waiting.error} />}
      {waiting.data &&
        (waiting.data.deliveries.length === 0 ? (
          <Empty>Nothing is waiting for {domain} now.</Empty>
        ) : (
          <div className="table-wrap">
            <table className="table" aria-label={`Deliveries to ${domain}`}>
              <thead>
                <tr>
                  <th>Recipient</th>
                  <th>State</th>
                  <th className="num">Attempts</th>
                  <th>Next attempt</th>
                  <th>Last reply</th>
                  {onRetry && <th aria-label="Actions" />}
                </tr>
              </thead>
              <tbody>
                {waiting.data.deliveries.map((d) => (
                  <tr key={d.id}>
                    <td className="ellipsis">{d.recipient}</td>
                    <td>
                      <StateBadge state={d.state} />
                    </td>
                    <td className="num">{d.attempts}</td>
                    <td>
                      <Time at={d.nextAttemptAt} />
                    </td>
                    <td className="queue-reply">{d.lastReply ?? <span className="muted">—</span>}</td>
                    {onRetry && (
                      <td>
                        {d.state === "deferred" && (
                          <button type="button" className="button button-small" disabled={pending} onClick={() => onRetry({ deliveryId: d.id, what: d.recipient })} aria-label={`Retry ${d.recipient} now`}>
                            Retry now
                          </button>
                        )}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
    </section>
  );
}
