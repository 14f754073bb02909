// One person: identifiers, subscription, attributes, devices, the segments they are in and their
// journeys, and one timeline of everything that happened to them, newest first.
import { Link, useParams } from "react-router";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import type { PersonAnswer, TimelineAnswer, TimelineItem } from "@contract/people.contract";
import { apiGet, workspacePath } from "../../api/client";
import { useWorkspace } from "../../session";
import { PageHeader } from "../../ui/page";
import { CopyButton } from "../../ui/copy-button";
import { Empty, ErrorNotice, Loading } from "../../ui/states";
import { StateBadge } from "../../ui/state-badge";
import { Time } from "../../ui/time";
import "./people.css";

const TIMELINE_PAGE = 50;

export default function PersonPage() {
  const workspace = useWorkspace();
  const personId = useParams().personId ?? "";
  const path = workspacePath(workspace.id, `/people/${encodeURIComponent(personId)}`);
  const person = useQuery({ queryKey: ["person", workspace.id, personId], queryFn: ({ signal }) => apiGet<PersonAnswer>(path, {}, { signal }) });

  if (person.isPending) return <Loading />;
  if (person.isError) return <ErrorNotice error={person.error} title="Person not shown" />;
  const { person: p, segments, runs } = person.data;
  const title = p.email ?? p.id ?? p.personId;

  return (
    <>
      <PageHeader title={title} subtitle={<Link to={`/w/${workspace.id}/people`}>All people</Link>} />
      <div className="detail-grid">
        <section aria-labelledby="identifiers">
          <h2 id="identifiers">Identifiers</h2>
          <dl className="pairs">
            <dt>cio_id</dt>
            <dd>
              {p.personId} <CopyButton value={p.personId} label="Copy cio_id" />
            </dd>
            <dt>id</dt>
            <dd>{p.id ?? "—"}</dd>
            <dt>email</dt>
            <dd>{p.email ?? "—"}</dd>
            {p.anonymousIds.length > 0 && (
              <>
                <dt>anonymous</dt>
                <dd>{p.anonymousIds.join(", ")}</dd>
              </>
            )}
            <dt>created</dt>
            <dd>
              <Time at={p.createdAt} />
            </dd>
          </dl>
        </section>
        <section aria-labelledby="subscription">
          <h2 id="subscription">Subscription</h2>
          <dl className="pairs">
            <dt>state</dt>
            <dd>{p.suppressed ? "suppressed" : p.unsubscribed ? "unsubscribed" : "subscribed"}</dd>
            {Object.entries(p.topics).map(([topic, on]) => (
              <Pair key={topic} name={topic} value={on ? "subscribed" : "unsubscribed"} />
            ))}
          </dl>
        </section>
        <section aria-labelledby="segments">
          <h2 id="segments">Segments</h2>
          {segments.length === 0 ? (
            <Empty>In no segment.</Empty>
          ) : (
            <ul className="plain-list">
              {segments.map((s) => (
                <li key={s.segmentId}>
                  <Link to={`/w/${workspace.id}/segments/${s.segmentId}`}>
                    {s.name}
                  </Link>{" "}
                  <span className="muted">
                    since <Time at={s.enteredAt} />
                  </span>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section aria-labelledby="journeys">
          <h2 id="journeys">Journeys</h2>
          {runs.length === 0 ? (
            <Empty>In no journey.</Empty>
          ) : (
            <ul className="plain-list">
              {runs.map((r) => (
                <li key={r.runId}>
                  <Link to={`/w/${workspace.id}/journeys/${r.journeyId}?person=${encodeURIComponent(p.personId)}`}>
                    {r.journeyName}
                  </Link>{" "}
                  <StateBadge state={r.state} /> <span className="muted">{r.stepId ? `at step ${r.stepId}` : ""}</span>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
      <div className="detail-grid">
        <section aria-labelledby="attributes">
          <h2 id="attributes">Attributes</h2>
          {Object.keys(p.attributes).length === 0 ? (
            <Empty>No attributes.</Empty>
          ) : (
            <dl className="pairs">
              {Object.entries(p.attributes)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([name, value]) => (
                  <Pair key={name} name={name} value={typeof value === "string" ? value : JSON.stringify(value)} />
                ))}
            </dl>
          )}
        </section>
        <section aria-labelledby="devices">
          <h2 id="devices">Devices</h2>
          {p.devices.length === 0 ? (
            <Empty>No devices.</Empty>
          ) : (
            <ul className="plain-list">
              {p.devices.map((d) => (
                <li key={d.deviceId}>
                  <code>{d.deviceId}</code> {d.platform}{" "}
                  <span className="muted">
                    used <Time at={d.lastUsedAt} />
                  </span>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
      <Timeline path={path} base={`/w/${workspace.id}`} />
    </>
  );
}

function Pair({ name, value }: { name: string; value: string }) {
  return (
    <>
      <dt>{name}</dt>
      <dd>{value}</dd>
    </>
  );
}

function Timeline({ path, base }: { path: string; base: string }) {
  const pages = useInfiniteQuery({
    queryKey: ["timeline", path],
    queryFn: ({ pageParam, signal }) => apiGet<TimelineAnswer>(`${path}/timeline`, { before: pageParam, limit: TIMELINE_PAGE }, { signal }),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => last.next ?? undefined,
  });
  const items = pages.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section aria-labelledby="timeline">
      <h2 id="timeline" className="section-title">
        Timeline
      </h2>
      {pages.isPending && <Loading label="Loading the timeline" />}
      {pages.isError && <ErrorNotice error={pages.error} />}
      {pages.isSuccess && items.length === 0 && <Empty>Nothing has happened to this person yet.</Empty>}
      {items.length > 0 && (
        <ol className="timeline" aria-label="Timeline">
          {items.map((item, i) => (
            <TimelineEntry key={`${item.kind}-${item.at}-${i}`} item={item} base={base} />
          ))}
        </ol>
      )}
      {pages.hasNextPage && (
        <button type="button" className="button" disabled={pages.isFetchingNextPage} onClick={() => void pages.fetchNextPage()}>
          Show older
        </button>
      )}
    </section>
  );
}

function TimelineEntry({ item, base }: { item: TimelineItem; base: string }) {
  const link = item.link;
  const to = link === null ? null : link.kind === "message" ? `${base}/messages/${link.messageId}` : link.kind === "segment" ? `${base}/segments/${link.segmentId}` : `${base}/journeys/${link.journeyId}`;
  return (
    <li className={`kind-${item.kind}`}>
      <span className="when">
        <Time at={item.at} />
      </span>
      {to === null ? (
        <span>{item.title}</span>
      ) : (
        <Link to={to}>{item.title}</Link>
      )}
      {item.kind !== "attribute_change" && Object.keys(item.detail).length > 0 && (
        <details>
          <summary>Details</summary>
          <pre>{JSON.stringify(item.detail, null, 2)}</pre>
        </details>
      )}
    </li>
  );
}
