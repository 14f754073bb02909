// Keyset paging for a list whose answer carries an opaque `next` cursor: the cursors seen so far
// are kept, so "Previous page" goes back without the server keeping anything.
import { useState } from "react";

export interface CursorPages {
  cursor: string | undefined;
  page: number;
  back(): void;
  forward(next: string): void;
  reset(): void;
}

export function useCursorPages(): CursorPages {
  const [cursors, setCursors] = useState<string[]>([]);
  return {
    cursor: cursors[cursors.length - 1],
    page: cursors.length + 1,
    back: () => setCursors((c) => c.slice(0, -1)),
    forward: (next) => setCursors((c) => [...c, next]),
    reset: () => setCursors([]),
  };
}

export function Pager({ pages, next }: { pages: CursorPages; next: string | null }) {
  if (pages.page === 1 && next === null) return null;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" className="button" disabled={pages.page === 1} onClick={pages.back}>
        Previous page
      </button>
      <span className="muted">Page {pages.page}</span>
      <button type="button" className="button" disabled={next === null} onClick={() => next !== null && pages.forward(next)}>
        Next page
      </button>
    </nav>
  );
}
