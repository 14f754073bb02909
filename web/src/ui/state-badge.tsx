// A message's or delivery's state in Posthorn's words (DESIGN.md § Words), coloured by outcome.
const TONE: Record<string, string> = {
  accepted: "neutral",
  queued: "neutral",
  deferred: "warn",
  delivered: "good",
  bounced: "bad",
  suppressed: "bad",
  expired: "bad",
  failed: "bad",
  captured: "info",
  opened: "good",
  clicked: "good",
};

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge badge-${TONE[state] ?? "neutral"}`}>{state}</span>;
}
