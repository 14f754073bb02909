// The one pager of the dashboard, for both kinds of list the server pages: keyset lists whose
// answer carries an opaque `next` cursor (people, segment members) and offset lists with a total
// (suppressions, bounces). One look ("Previous page", where we are, "Next page") and one keyboard
// behaviour: the buttons are real buttons (Tab, Enter, Space), and with focus anywhere in the
// pager the left and right arrow keys move a page back and on. Focus stays in the pager when a
// button it was on becomes disabled (the first or last page), so the keyboard is not thrown back to
// the top of the page. Where we are is announced politely to screen readers.
import { useEffect, useRef, useState, type KeyboardEvent } from "react";

interface PagerNavProps {
  where: string;
  canBack: boolean;
  canForward: boolean;
  onBack: () => void;
  onForward: () => void;
}

function PagerNav({ where, canBack, canForward, onBack, onForward }: PagerNavProps) {
  const back = useRef<HTMLButtonElement>(null);
  const forward = useRef<HTMLButtonElement>(null);
  const move = (direction: "back" | "forward") => {
    if (direction === "back" && canBack) onBack();
    if (direction === "forward" && canForward) onForward();
  };
  const onKeyDown = (event: KeyboardEvent<HTMLElement>) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (event.key === "ArrowLeft") go("back");
    else if (event.key === "ArrowRight") go("forward");
    else return;
    event.preventDefault();
  };
  // The button last used by the keyboard or a click: when the move disabled it (first or last page),
  // focus goes to the other one instead of falling back to the page's body.
  const pressed = useRef<"back" | "forward" | null>(null);
  useEffect(() => {
    if (pressed.current === "forward" && !canForward) back.current?.focus();
    if (pressed.current === "back" && !canBack) forward.current?.focus();
  }, [canBack, canForward]);
  const go = (direction: "back" | "forward") => {
    pressed.current = direction;
    move(direction);
  };
  return (
    <nav className="pager" aria-label="Pages" onKeyDown={onKeyDown}>
      <button ref={back} type="button" className="button button-small" disabled={!canBack} onClick={() => go("back")} aria-keyshortcuts="ArrowLeft">
        Previous page
      </button>
      <span className="muted" aria-live="polite">
        {where}
      </span>
      <button ref={forward} type="button" className="button button-small" disabled={!canForward} onClick={() => go("forward")} aria-keyshortcuts="ArrowRight">
        Next page
      </button>
    </nav>
  );
}

/** Keyset pages: the cursors seen so far are kept, so "Previous page" goes back without the server keeping anything. */
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

/** A keyset list's pager; nothing when everything fits on the first page. */
export function CursorPager({ pages, next }: { pages: CursorPages; next: string | null }) {
  if (pages.page === 1 && next === null) return null;
  return <PagerNav where={`Page ${pages.page}`} canBack={pages.page > 1} canForward={next !== null} onBack={pages.back} onForward={() => next !== null && pages.forward(next)} />;
}

/** An offset list's pager (offset and count, with the total); nothing when everything fits on one page. */
export function OffsetPager({ offset, shown, total, onMove, size }: { offset: number; shown: number; total: number; onMove: (offset: number) => void; size: number }) {
  if (total <= size) return null;
  return (
    <PagerNav
      where={`${offset + 1}–${offset + shown} of ${total}`}
      canBack={offset > 0}
      canForward={offset + shown < total}
      onBack={() => onMove(Math.max(0, offset - size))}
      onForward={() => onMove(offset + size)}
    />
  );
}
