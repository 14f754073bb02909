// One segment: its definition, its size over time and its members a page at a time.
import { useState } from "react";
import { Link, useParams } from "react-router";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { MembersAnswer, SegmentAnswer, SizesAnswer } from "@contract/segments.contract";
import { apiGet, workspacePath } from "../../api/client";
import { useWorkspace } from "../../session";
import { PageHeader } from "../../ui/page";
import { Empty, ErrorNotice, Loading, Notice } from "../../ui/states";
import { Time } from "../../ui/time";
import { CursorPager, useCursorPages } from "../../ui/pager";
import { SizeChart } from "./size-chart";
import "../people/people.css";

export default function SegmentPage() {
  const workspace = useWorkspace();
  const segmentId = useParams().segmentId ?? "";
  const path = workspacePath(workspace.id, `/segments/${encodeURIComponent(segmentId)}`);
  const segment = useQuery({ queryKey: ["segment", workspace.id, segmentId], queryFn: ({ signal }) => apiGet<SegmentAnswer>(path, {}, { signal }) });

  if (segment.isPending) return <Loading />;
  if (segment.isError) return <ErrorNotice error={segment.error} title="Segment not shown" />;
  const s = segment.data.segment;
  return (
    <>
      <PageHeader
        title={s.name}
        subtitle={
          <>
            <Link to={`/w/${workspace.id}/segments`}>All segments</Link> · {s.kind === "data" ? "data-driven" : "manual"} · {s.size.toLocaleString()} {s.size === 1 ? "member" : "members"}
          </>
        }
      />
      {!s.filled && <Notice title="Still filling">The people known when this segment was defined are still being evaluated; the size grows until they all are.</Notice>}
      <div className="detail-grid">
        <section aria-labelledby="definition">
          <h2 id="definition">Definition</h2>
          {s.description && <p>{s.description}</p>}
          {s.conditions === null ? <Empty>A manual segment: people are added and removed through the Track API.</Empty> : <pre className="json">{JSON.stringify(s.conditions, null, 2)}</pre>}
        </section>
        <Sizes path={path} />
      </div>
      <Members path={path} workspaceId={workspace.id} />
    </>
  );
}

function Sizes({ path }: { path: string }) {
  const [bucket, setBucket] = useState<"day" | "hour">("day");
  const sizes = useQuery({ queryKey: ["segment-sizes", path, bucket], queryFn: ({ signal }) => apiGet<SizesAnswer>(`${path}/sizes`, { bucket }, { signal }) });
  return (
    <section aria-labelledby="sizes">
      <h2 id="sizes">Size over time</h2>
      <label className="field size-bucket">
        Per
        <select aria-label="Size per" value={bucket} onChange={(e) => setBucket(e.target.value === "hour" ? "hour" : "day")}>
          <option value="day">day (30 days)</option>
          <option value="hour">hour (48 hours)</option>
        </select>
      </label>
      {sizes.isPending && <Loading />}
      {sizes.isError && <ErrorNotice error={sizes.error} />}
      {sizes.data && <SizeChart sizes={sizes.data} />}
    </section>
  );
}

function Members({ path, workspaceId }: { path: string; workspaceId: string }) {
  const pages = useCursorPages();
  const members = useQuery({ queryKey: ["segment-members", path, pages.cursor], placeholderData: keepPreviousData, queryFn: ({ signal }) => apiGet<MembersAnswer>(`${path}/members`, { cursor: pages.cursor, limit: 50 }, { signal }) });
  return (
    <section aria-labelledby="members">
      <h2 id="members" className="section-title">
        Members
      </h2>
      {members.isPending && <Loading />}
      {members.isError && <ErrorNotice error={members.error} />}
      {members.data && members.data.members.length === 0 && <Empty>No members.</Empty>}
      {members.data && members.data.members.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Person</th>
                <th>Email</th>
                <th>Entered</th>
              </tr>
            </thead>
            <tbody>
              {members.data.members.map((m) => (
                <tr key={m.personId}>
                  <td>
                    <Link to={`/w/${workspaceId}/people/${encodeURIComponent(m.personId)}`}>{m.id ?? m.email ?? m.personId}</Link>
                  </td>
                  <td>{m.email ?? <span className="muted">—</span>}</td>
                  <td>
                    <Time at={m.enteredAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {members.data && <CursorPager pages={pages} next={members.data.next} />}
    </section>
  );
}
