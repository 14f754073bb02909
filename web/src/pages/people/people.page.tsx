// People: search by cio_id, or id or email prefix, from indexes (full pages at any size); or, when
// asked, attribute values too, by a bounded scan whose pages may come back short.
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { PeopleAnswer } from "@contract/people.contract";
import { apiGet, workspacePath } from "../../api/client";
import { useWorkspace } from "../../session";
import { PageHeader } from "../../ui/page";
import { Empty, ErrorNotice, Loading } from "../../ui/states";
import { Time } from "../../ui/time";
import { CursorPager, useCursorPages } from "../../ui/pager";
import "./people.css";

export default function PeoplePage() {
  const workspace = useWorkspace();
  const [text, setText] = useState("");
  const [q, setQ] = useState("");
  const [withAttributes, setWithAttributes] = useState(false);
  const [inAttributes, setInAttributes] = useState(false);
  const pages = useCursorPages();
  const people = useQuery({
    queryKey: ["people", workspace.id, q, inAttributes, pages.cursor],
    // The page on screen stays while the next loads, so the pager (and the keyboard's focus in it) stays too.
    placeholderData: keepPreviousData,
    queryFn: ({ signal }) => apiGet<PeopleAnswer>(workspacePath(workspace.id, "/people"), { q, in: inAttributes ? "attributes" : "identifiers", cursor: pages.cursor, limit: 25 }, { signal }),
  });
  const search = (event: FormEvent) => {
    event.preventDefault();
    setQ(text.trim());
    setInAttributes(withAttributes);
    pages.reset();
  };

  return (
    <>
      <PageHeader title="People" subtitle="Everyone identified through the Track API, the pipeline API or the App API." />
      <form className="filters" role="search" onSubmit={search}>
        <label className="field">
          Search people
          <input type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder={withAttributes ? "id, email or attribute value" : "id, email or cio_id"} />
        </label>
        <label className="field-inline">
          <input type="checkbox" checked={withAttributes} onChange={(e) => setWithAttributes(e.target.checked)} /> Attribute values too (slower: scans, pages may be short)
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
      {people.data && <CursorPager pages={pages} next={people.data.next} />}
    </>
  );
}
