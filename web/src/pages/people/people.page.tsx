// People: search by id, email or attribute value prefix (or a cio_id), a page at a time.
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { useQuery } from "@tanstack/react-query";
import type { PeopleAnswer } from "@contract/people.contract";
import { apiGet, workspacePath } from "../../api/client";
import { useWorkspace } from "../../session";
import { PageHeader } from "../../ui/page";
import { Empty, ErrorNotice, Loading } from "../../ui/states";
import { Time } from "../../ui/time";
import { Pager, useCursorPages } from "./paging";
import "./people.css";

export default function PeoplePage() {
  const workspace = useWorkspace();
  const [text, setText] = useState("");
  const [q, setQ] = useState("");
  const pages = useCursorPages();
  const people = useQuery({
    queryKey: ["people", workspace.id, q, pages.cursor],
    queryFn: ({ signal }) => apiGet<PeopleAnswer>(workspacePath(workspace.id, "/people"), { q, cursor: pages.cursor, limit: 25 }, { signal }),
  });
  const search = (event: FormEvent) => {
    event.preventDefault();
    setQ(text.trim());
    pages.reset();
  };

  return (
    <>
      <PageHeader title="People" subtitle="Everyone identified through the Track API, the pipeline API or the App API." />
      <form className="filters" role="search" onSubmit={search}>
        <label className="field">
          Search people
          <input type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="id, email or attribute value" />
        </label>
        <button type="submit" className="button button-primary">
          Search
        </button>
      </form>
      {people.isPending && <Loading />}
      {people.isError && <ErrorNotice error={people.error} />}
      {people.data && people.data.people.length === 0 && <Empty>{q ? `No one matches “${q}” here.` : "No people yet."}</Empty>}
      {people.data && people.data.people.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Person</th>
                <th>Email</th>
                <th>State</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {people.data.people.map((p) => (
                <tr key={p.personId}>
                  <td>
                    <Link to={`/w/${workspace.id}/people/${encodeURIComponent(p.personId)}`}>{p.id ?? p.email ?? p.personId}</Link>
                  </td>
                  <td>{p.email ?? <span className="muted">—</span>}</td>
                  <td>{p.suppressed ? "suppressed" : p.unsubscribed ? "unsubscribed" : "subscribed"}</td>
                  <td>
                    <Time at={p.updatedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {people.data && <Pager pages={pages} next={people.data.next} />}
    </>
  );
}
