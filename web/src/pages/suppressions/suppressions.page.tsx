// Suppressions and bounces: a stream's inactive addresses (search, page, add by hand, reactivate,
// export as CSV) and the workspace's bounce records with the remote's words and the report.
import { useState, type FormEvent } from "react";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { SuppressionChangeAnswer, SuppressionsAnswer } from "@contract/suppressions.contract";
import { apiGet, apiSend, apiUrl, workspacePath } from "../../api/client";
import { useCanChange, useWorkspace } from "../../session";
import { PageHeader } from "../../ui/page";
import { Empty, ErrorNotice, Loading, Notice } from "../../ui/states";
import { Time } from "../../ui/time";
import { BouncesSection } from "./bounces";
import { OffsetPager } from "../../ui/pager";
import "./suppressions.css";

const PAGE = 50;

export default function SuppressionsPage() {
  const workspace = useWorkspace();
  const canChange = useCanChange();
  const queryClient = useQueryClient();
  const [stream, setStream] = useState("outbound");
  const [search, setSearch] = useState("");
  const [searchInput, setSearchInput] = useState("");
  const [offset, setOffset] = useState(0);
  const [outcome, setOutcome] = useState<SuppressionChangeAnswer | null>(null);
  const query = { stream, email: search || undefined, count: PAGE, offset };
  const list = useQuery({
    queryKey: ["suppressions", workspace.id, query],
    placeholderData: keepPreviousData,
    queryFn: ({ signal }) => apiGet<SuppressionsAnswer>(workspacePath(workspace.id, "/suppressions"), query, { signal }),
  });
  const change = useMutation({
    mutationFn: ({ action, email }: { action: "add" | "reactivate"; email: string }) =>
      apiSend<SuppressionChangeAnswer>("POST", workspacePath(workspace.id, action === "add" ? "/suppressions" : "/suppressions/reactivate"), { stream, email }),
    onSuccess: (answer) => {
      setOutcome(answer);
      void queryClient.invalidateQueries({ queryKey: ["suppressions", workspace.id] });
      void queryClient.invalidateQueries({ queryKey: ["bounces", workspace.id] });
    },
  });

  const find = (e: FormEvent) => {
    e.preventDefault();
    setSearch(searchInput.trim());
    setOffset(0);
  };

  return (
    <>
      <PageHeader
        title="Suppressions"
        subtitle="Addresses Posthorn will not send to on a stream: hard bounces, spam complaints and those added by hand."
        actions={
          <a className="button" href={apiUrl(workspacePath(workspace.id, "/suppressions/export"), { stream })} download>
            Export CSV
          </a>
        }
      />
      <form className="filters" onSubmit={find} aria-label="Find suppressions">
        <label className="field">
          <span>Stream</span>
          <select
            value={stream}
            onChange={(e) => {
              setStream(e.target.value);
              setOffset(0);
            }}
          >
            {(list.data?.streams ?? [{ id: stream, name: stream }]).map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Address contains</span>
          <input type="search" value={searchInput} onChange={(e) => setSearchInput(e.target.value)} />
        </label>
        <button type="submit" className="button">
          Search
        </button>
      </form>
      {canChange && <AddSuppression pending={change.isPending} onAdd={(email) => change.mutate({ action: "add", email })} />}
      {change.isError && <ErrorNotice error={change.error} />}
      {outcome && (
        <Notice title={outcome.outcome === "failed" ? "Not changed" : outcome.outcome === "deleted" ? "Reactivated" : "Suppressed"} tone={outcome.outcome === "failed" ? "error" : "info"}>
          {outcome.email}
          {outcome.message ? `: ${outcome.message}` : ""}
        </Notice>
      )}
      {list.isPending && <Loading label="Loading suppressions" />}
      {list.isError && <ErrorNotice error={list.error} />}
      {list.data &&
        (list.data.suppressions.length === 0 ? (
          <Empty>{search ? `No suppressed address on this stream contains “${search}”.` : "No address is suppressed on this stream."}</Empty>
        ) : (
          <>
            <div className="table-wrap">
              <table className="table" aria-label="Suppressions">
                <thead>
                  <tr>
                    <th>Address</th>
                    <th>Reason</th>
                    <th>Origin</th>
                    <th>Since</th>
                    {canChange && <th aria-label="Actions" />}
                  </tr>
                </thead>
                <tbody>
                  {list.data.suppressions.map((s) => (
                    <tr key={s.email}>
                      <td className="ellipsis">{s.email}</td>
                      <td>{s.reason}</td>
                      <td>{s.origin}</td>
                      <td>
                        <Time at={s.createdAt} />
                      </td>
                      {canChange && (
                        <td>
                          {s.reason !== "SpamComplaint" && (
                            <button type="button" className="button button-small" disabled={change.isPending} onClick={() => change.mutate({ action: "reactivate", email: s.email })} aria-label={`Reactivate ${s.email}`}>
                              Reactivate
                            </button>
                          )}
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <OffsetPager offset={offset} shown={list.data.suppressions.length} total={list.data.total} onMove={setOffset} size={PAGE} />
          </>
        ))}
      <BouncesSection stream={stream} />
    </>
  );
}

function AddSuppression({ pending, onAdd }: { pending: boolean; onAdd: (email: string) => void }) {
  const [email, setEmail] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (email.trim() === "") return;
    onAdd(email.trim());
    setEmail("");
  };
  return (
    <form className="filters" onSubmit={submit} aria-label="Suppress an address">
      <label className="field">
        <span>Address to suppress</span>
        <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
      </label>
      <button type="submit" className="button" disabled={pending}>
        Suppress
      </button>
    </form>
  );
}
