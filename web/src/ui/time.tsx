// A moment shown as "3 min ago" (or the date, when older than a day), the exact time on hover.
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const day = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function formatMoment(at: string | number | Date, now = Date.now()): string {
  const t = new Date(at).getTime();
  const seconds = Math.round((t - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 60) return relative.format(seconds, "second");
  if (abs < 3_600) return relative.format(Math.round(seconds / 60), "minute");
  if (abs < 86_400) return relative.format(Math.round(seconds / 3_600), "hour");
  return day.format(t);
}

export function Time({ at }: { at: string | number | Date | null | undefined }) {
  if (at === null || at === undefined) return <span className="muted">—</span>;
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return <span className="muted">—</span>;
  return (
    <time dateTime={date.toISOString()} title={full.format(date)}>
      {formatMoment(date)}
    </time>
  );
}
