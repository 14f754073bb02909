// Previous / next over a list the server pages (offset and count).
export function Pager({ offset, shown, total, onMove, size }: { offset: number; shown: number; total: number; onMove: (offset: number) => void; size: number }) {
  if (total <= size) return null;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" className="button button-small" disabled={offset === 0} onClick={() => onMove(Math.max(0, offset - size))}>
        Previous
      </button>
      <span className="muted">
        {offset + 1}–{offset + shown} of {total}
      </span>
      <button type="button" className="button button-small" disabled={offset + shown >= total} onClick={() => onMove(offset + size)}>
        Next
      </button>
    </nav>
  );
}
