// The workspace's bounce records on a stream: type, the remote's description, and each one's
// detail with the report it came from (when one was kept). Admins can activate an address a
// bounce made inactive, as Postmark's "activate bounce" does.
import { useState } from "react";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { BounceAnswer, BouncesAnswer } from "@contract/suppressions.contract";
import { apiGet, apiSend, workspacePath } from "../../api/client";
import { useCanChange, useWorkspace } from "../../session";
import { Empty, ErrorNotice, Loading } from "../../ui/states";
import { Time } from "../../ui/time";
import { OffsetPager } from "../../ui/pager";

const PAGE = 25;

export function BouncesSection({ stream }: { stream: string }) {
  const workspace = useWorkspace();
  const [offset, setOffset] = useState(0);
  const [open, setOpen] = useState<number | null>(null);
  const query = { stream, count: PAGE, offset };
  const list = useQuery({
    queryKey: ["bounces", workspace.id, query],
    placeholderData: keepPreviousData,
    queryFn: ({ signal }) => apiGet<BouncesAnswer>(workspacePath(workspace.id, "/bounces"), query, { signal }),
  });
  return (
    <section aria-labelledby="bounces-heading">
      <h2 id="bounces-heading">Bounces</h2>
      {list.isPending && <Loading label="Loading bounces" />}
      {list.isError && <ErrorNotice error={list.error} />}
      {list.data &&
        (list.data.bounces.length === 0 ? (
          <Empty>No bounces on this stream.</Empty>
        ) : (
          <>
            <div className="table-wrap">
              <table className="table" aria-label="Bounces">
                <thead>
                  <tr>
                    <th>Address</th>
                    <th>Type</th>
                    <th>Description</th>
                    <th>When</th>
                    <th aria-label="Detail" />
                  </tr>
                </thead>
                <tbody>
                  {list.data.bounces.map((b) => (
                    <tr key={b.id}>
                      <td className="ellipsis">{b.email}</td>
                      <td>
                        {b.type} {b.inactive && <span className="badge badge-bad">inactive</span>}
                      </td>
                      <td>{b.description}</td>
                      <td>
                        <Time at={b.bouncedAt} />
                      </td>
                      <td>
                        <button type="button" className="button button-small" aria-expanded={open === b.id} onClick={() => setOpen(open === b.id ? null : b.id)} aria-label={`Details of the bounce of ${b.email}`}>
                          {open === b.id ? "Hide" : "Details"}
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <OffsetPager offset={offset} shown={list.data.bounces.length} total={list.data.total} onMove={setOffset} size={PAGE} />
          </>
        ))}
      {open !== null && <BounceDetail id={open} />}
    </section>
  );
}

function BounceDetail({ id }: { id: number }) {
  const workspace = useWorkspace();
  const canChange = useCanChange();
  const queryClient = useQueryClient();
  const detail = useQuery({
    queryKey: ["bounces", workspace.id, "detail", id],
    queryFn: ({ signal }) => apiGet<BounceAnswer>(workspacePath(workspace.id, `/bounces/${id}`), {}, { signal }),
  });
  const activate = useMutation({
    mutationFn: () => apiSend<BounceAnswer>("POST", workspacePath(workspace.id, `/bounces/${id}/activate`)),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["bounces", workspace.id] });
      void queryClient.invalidateQueries({ queryKey: ["suppressions", workspace.id] });
    },
  });
  if (detail.isPending) return <Loading label="Loading the bounce" />;
  if (detail.isError) return <ErrorNotice error={detail.error} />;
  const { bounce, dump } = detail.data;
  return (
    <div className="bounce-detail" role="region" aria-label="Bounce detail">
      <h3>
        {bounce.type} for {bounce.email}
      </h3>
      <dl>
        <dt>Message</dt>
        <dd>
          <code>{bounce.messageId}</code> — {bounce.subject || <span className="muted">no subject</span>}
        </dd>
        <dt>From</dt>
        <dd>{bounce.from}</dd>
        <dt>Stream</dt>
        <dd>{bounce.stream}</dd>
        {bounce.tag && (
          <>
            <dt>Tag</dt>
            <dd>{bounce.tag}</dd>
          </>
        )}
        <dt>Remote said</dt>
        <dd>
          <pre>{bounce.details || bounce.description}</pre>
        </dd>
        <dt>Address</dt>
        <dd>{bounce.inactive ? "Inactive: not sent to on this stream" : "Active"}</dd>
      </dl>
      {canChange && bounce.inactive && bounce.canActivate && (
        <button type="button" className="button" disabled={activate.isPending} onClick={() => activate.mutate()}>
          Activate {bounce.email}
        </button>
      )}
      {activate.isError && <ErrorNotice error={activate.error} />}
      <h4>Report</h4>
      {bounce.dumpAvailable && dump ? <pre className="bounce-dump">{dump}</pre> : <Empty>No report was kept: the remote refused the mail during Posthorn's own SMTP session.</Empty>}
    </div>
  );
}
