// Segments: every segment of the workspace with its kind and its size now.
import { Link } from "react-router";
import { useQuery } from "@tanstack/react-query";
import type { SegmentsAnswer } from "@contract/segments.contract";
import { apiGet, workspacePath } from "../../api/client";
import { useWorkspace } from "../../session";
import { PageHeader } from "../../ui/page";
import { Empty, ErrorNotice, Loading } from "../../ui/states";
import { Time } from "../../ui/time";
import "../people/people.css";

export default function SegmentsPage() {
  const workspace = useWorkspace();
  const segments = useQuery({ queryKey: ["segments", workspace.id], queryFn: ({ signal }) => apiGet<SegmentsAnswer>(workspacePath(workspace.id, "/segments"), {}, { signal }) });
  return (
    <>
      <PageHeader title="Segments" subtitle="Data-driven segments keep their own members; manual ones are filled through the Track API." />
      {segments.isPending && <Loading />}
      {segments.isError && <ErrorNotice error={segments.error} />}
      {segments.data && segments.data.segments.length === 0 && <Empty>No segments yet. Define them with the App API or the segments folder.</Empty>}
      {segments.data && segments.data.segments.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Segment</th>
                <th>Kind</th>
                <th className="num">Size</th>
                <th>Changed</th>
              </tr>
            </thead>
            <tbody>
              {segments.data.segments.map((s) => (
                <tr key={s.segmentId}>
                  <td>
                    <Link to={`/w/${workspace.id}/segments/${s.segmentId}`}>{s.name}</Link>
                    {s.description && <div className="muted ellipsis">{s.description}</div>}
                  </td>
                  <td>
                    <span className={`badge ${s.kind === "data" ? "badge-info" : "badge-neutral"}`}>{s.kind === "data" ? "data-driven" : "manual"}</span>
                  </td>
                  <td className="num">{s.size.toLocaleString()}</td>
                  <td>
                    <Time at={s.updatedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
