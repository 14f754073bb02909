// Journeys: each journey's state, version and trigger; admins create one from a JSON or YAML document.
import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { JourneyAnswer, JourneysAnswer } from "@contract/journeys.contract";
import { apiGet, apiSend, workspacePath } from "../../api/client";
import { useCanChange, useWorkspace } from "../../session";
import { PageHeader } from "../../ui/page";
import { Empty, ErrorNotice, Loading } from "../../ui/states";
import { StateBadge } from "../../ui/state-badge";
import { Time } from "../../ui/time";
import { JourneyEditor } from "./journey-editor";
import "../people/people.css";
import "./journeys.css";

const STARTER = `name: Welcome
trigger:
  event:
    name: signed_up
steps:
  - id: pause
    type: delay
    duration: 1d
  - id: hello
    type: email
    subject: "Welcome, {{ customer.first_name }}"
    text: Glad to have you.
`;

export default function JourneysPage() {
  const workspace = useWorkspace();
  const canChange = useCanChange();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [creating, setCreating] = useState(false);
  const journeys = useQuery({ queryKey: ["journeys", workspace.id], queryFn: ({ signal }) => apiGet<JourneysAnswer>(workspacePath(workspace.id, "/journeys"), {}, { signal }) });

  const create = async (document: string) => {
    const made = await apiSend<JourneyAnswer>("POST", workspacePath(workspace.id, "/journeys"), { document });
    await queryClient.invalidateQueries({ queryKey: ["journeys", workspace.id] });
    void navigate(`/w/${workspace.id}/journeys/${made.journey.journeyId}`);
  };

  return (
    <>
      <PageHeader
        title="Journeys"
        subtitle="Workflows that people enter by an event, a segment, a date or a broadcast."
        actions={
          canChange &&
          !creating && (
            <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
              New journey
            </button>
          )
        }
      />
      {creating && <JourneyEditor workspaceId={workspace.id} initial={STARTER} saveLabel="Create journey" onSave={create} onCancel={() => setCreating(false)} />}
      {journeys.isPending && <Loading />}
      {journeys.isError && <ErrorNotice error={journeys.error} />}
      {journeys.data && journeys.data.journeys.length === 0 && <Empty>No journeys yet.</Empty>}
      {journeys.data && journeys.data.journeys.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Journey</th>
                <th>State</th>
                <th className="num">Version</th>
                <th>Trigger</th>
                <th>Changed</th>
              </tr>
            </thead>
            <tbody>
              {journeys.data.journeys.map((j) => (
                <tr key={j.journeyId}>
                  <td>
                    <Link to={`/w/${workspace.id}/journeys/${j.journeyId}`}>{j.name}</Link>
                  </td>
                  <td>
                    <StateBadge state={j.state} />
                  </td>
                  <td className="num">{j.version}</td>
                  <td>{j.trigger}</td>
                  <td>
                    <Time at={j.updatedAt} />
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
