// One journey: its graph with per-step counts, a person's path through it, its versions, and for
// admins its state and a new version from an edited document.
import { useState, type FormEvent } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { JourneyAnswer, JourneyState, MetricsAnswer, PathAnswer, VersionsAnswer } from "@contract/journeys.contract";
import { apiGet, apiSend, workspacePath } from "../../api/client";
import { useCanChange, useWorkspace } from "../../session";
import { PageHeader } from "../../ui/page";
import { Empty, ErrorNotice, Loading, Notice } from "../../ui/states";
import { StateBadge } from "../../ui/state-badge";
import { Time } from "../../ui/time";
import { JourneyEditor } from "./journey-editor";
import { JourneyGraph, type Highlight } from "./journey-graph";
import "../people/people.css";
import "./journeys.css";

/** Counts move while people go through: the page looks again this often. */
const METRICS_REFRESH_MS = 5_000;
const STATES: JourneyState[] = ["draft", "live", "paused", "archived"];

export default function JourneyPage() {
  const workspace = useWorkspace();
  const canChange = useCanChange();
  const journeyId = useParams().journeyId ?? "";
  const [search, setSearch] = useSearchParams();
  const person = search.get("person") ?? "";
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const path = workspacePath(workspace.id, `/journeys/${encodeURIComponent(journeyId)}`);
  const journey = useQuery({ queryKey: ["journey", path], queryFn: ({ signal }) => apiGet<JourneyAnswer>(path, {}, { signal }) });
  const metrics = useQuery({ queryKey: ["journey-metrics", path], queryFn: ({ signal }) => apiGet<MetricsAnswer>(`${path}/metrics`, {}, { signal }), refetchInterval: METRICS_REFRESH_MS });
  const run = useQuery({ queryKey: ["journey-path", path, person], queryFn: ({ signal }) => apiGet<PathAnswer>(`${path}/path`, { person }, { signal }), enabled: person !== "" });

  if (journey.isPending) return <Loading />;
  if (journey.isError) return <ErrorNotice error={journey.error} title="Journey not shown" />;
  const j = journey.data.journey;
  const refresh = () => queryClient.invalidateQueries({ predicate: (q) => typeof q.queryKey[1] === "string" && q.queryKey[1].startsWith(path) });
  const save = async (document: string) => {
    await apiSend<JourneyAnswer>("PUT", path, { document });
    setEditing(false);
    await refresh();
  };
  const latestRun = run.data?.runs[0];
  const highlight: Highlight | null = latestRun ? { passed: new Map(latestRun.path.map((p) => [p.stepId, p.at])), current: latestRun.state === "ended" ? null : latestRun.stepId } : null;

  return (
    <>
      <PageHeader
        title={j.name}
        subtitle={
          <>
            <Link to={`/w/${workspace.id}/journeys`}>All journeys</Link> · <StateBadge state={j.state} /> · version {j.version} · trigger: {j.trigger}
            {j.origin === "file" && " · from the journeys folder"}
          </>
        }
        actions={
          canChange &&
          j.origin === "api" &&
          !editing && (
            <button type="button" className="button" onClick={() => setEditing(true)}>
              Edit
            </button>
          )
        }
      />
      {j.description && <p>{j.description}</p>}
      {canChange && <StateForm path={path} state={j.state} onChanged={refresh} />}
      {editing && <JourneyEditor workspaceId={workspace.id} initial={j.source} saveLabel="Save as new version" onSave={save} onCancel={() => setEditing(false)} />}
      {metrics.data && (
        <div className="cards">
          <Card label="Entered" value={metrics.data.entered} />
          <Card label="Active" value={metrics.data.active} />
          <Card label="Completed" value={metrics.data.completed} />
          <Card label="Exited" value={metrics.data.exited} />
          <Card label="Converted" value={metrics.data.converted} />
        </div>
      )}
      {metrics.isError && <ErrorNotice error={metrics.error} />}
      <JourneyGraph steps={journey.data.steps} trigger={j.trigger} metrics={metrics.data} highlight={highlight} />
      <PersonPath initial={person} onShow={(p) => setSearch(p ? { person: p } : {})} answer={run.data} error={run.error} />
      {metrics.data && <StepTable metrics={metrics.data} />}
      <Versions path={path} />
    </>
  );
}

function Card({ label, value }: { label: string; value: number }) {
  return (
    <div className="card">
      <div className="value">{value.toLocaleString()}</div>
      <div className="label">{label}</div>
    </div>
  );
}

function StateForm({ path, state, onChanged }: { path: string; state: JourneyState; onChanged: () => Promise<void> }) {
  const [wanted, setWanted] = useState<JourneyState>(state);
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      await apiSend("PUT", `${path}/state`, { state: wanted });
      await onChanged();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="filters" onSubmit={(e) => void submit(e)}>
      <label className="field">
        State
        <select value={wanted} onChange={(e) => setWanted(e.target.value as JourneyState)}>
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="button" disabled={wanted === state}>
        Change state
      </button>
      {error !== null && <ErrorNotice error={error} title="State not changed" />}
    </form>
  );
}

function PersonPath({ initial, onShow, answer, error }: { initial: string; onShow: (person: string) => void; answer: PathAnswer | undefined; error: unknown }) {
  const [text, setText] = useState(initial);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onShow(text.trim());
  };
  return (
    <section aria-labelledby="person-path" className="panel" style={{ marginBottom: "1rem" }}>
      <h2 id="person-path">A person’s path</h2>
      <form className="filters" onSubmit={submit}>
        <label className="field">
          Person
          <input value={text} onChange={(e) => setText(e.target.value)} placeholder="id, email or cio_id" />
        </label>
        <button type="submit" className="button">
          Show path
        </button>
      </form>
      {error !== null && error !== undefined && <ErrorNotice error={error} />}
      {answer && answer.person === null && <Notice title="No such person">No person of this workspace has that id, email or cio_id.</Notice>}
      {answer?.person && answer.runs.length === 0 && <Empty>{answer.person.email ?? answer.person.id} has not entered this journey.</Empty>}
      {answer?.person &&
        answer.runs.map((r, i) => (
          <div key={r.runId}>
            <p>
              {i === 0 ? "Latest run" : "Earlier run"} (version {r.version}): <StateBadge state={r.state} /> entered <Time at={r.enteredAt} />
              {r.stepId && r.state !== "ended" && <> · now at step <code>{r.stepId}</code></>}
              {r.endReason && <> · ended: {r.endReason}</>}
            </p>
            <ol className="run-path" aria-label={`Steps of run ${r.runId}`}>
              {r.path.map((p, k) => (
                <li key={k}>
                  <code>{p.stepId}</code> {p.outcome} <Time at={p.at} />
                </li>
              ))}
            </ol>
          </div>
        ))}
    </section>
  );
}

function StepTable({ metrics }: { metrics: MetricsAnswer }) {
  if (metrics.steps.length === 0) return null;
  return (
    <section aria-labelledby="step-counts">
      <h2 id="step-counts" className="section-title">
        Step counts
      </h2>
      <div className="table-wrap" style={{ marginBottom: "1rem" }}>
        <table className="table">
          <thead>
            <tr>
              <th>Step</th>
              <th className="num">Entered</th>
              <th className="num">Waiting</th>
              <th className="num">Went on</th>
              <th className="num">Failed</th>
              <th className="num">Converted</th>
              <th className="num" title="Runs that left the journey at this step: went past it as their last, or met an exit condition, a conversion exit, an archive or a deletion there">
                Exited here
              </th>
            </tr>
          </thead>
          <tbody>
            {metrics.steps.map((s) => (
              <tr key={s.stepId}>
                <th scope="row">{s.stepId}</th>
                <td className="num">{s.entered}</td>
                <td className="num">{s.waiting}</td>
                <td className="num">{s.completed}</td>
                <td className="num">{s.failed}</td>
                <td className="num">{s.converted}</td>
                <td className="num">{s.exited}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Versions({ path }: { path: string }) {
  const versions = useQuery({ queryKey: ["journey-versions", path], queryFn: ({ signal }) => apiGet<VersionsAnswer>(`${path}/versions`, {}, { signal }) });
  return (
    <section aria-labelledby="versions">
      <h2 id="versions" className="section-title">
        Versions
      </h2>
      {versions.isPending && <Loading />}
      {versions.isError && <ErrorNotice error={versions.error} />}
      {versions.data && (
        <ul className="plain-list">
          {versions.data.versions.map((v) => (
            <li key={v.version}>
              <details>
                <summary>
                  Version {v.version}, <Time at={v.createdAt} />
                </summary>
                <pre className="json">{v.source}</pre>
              </details>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
