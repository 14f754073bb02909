// Idempotency keys in acceptance: a submission whose key its workspace already accepted is not
// accepted again; its outcome is the earlier message, flagged duplicate. Three places decide it:
// - before the steps, one lookup per workspace finds keys accepted earlier (the common repeat: a
//   journey step run again after a crash), and a key repeated within one call is taken once;
// - in the writing transaction, keyed messages are inserted with ON CONFLICT DO NOTHING against
//   the unique index (workspace_id, idempotency_key), so two calls racing with one key (two
//   processes on PostgreSQL, or two calls grouped into one SQLite transaction) write one message:
//   the one that loses drops its deliveries and events and answers the winner's message.
// Candidates without a key take none of these paths: no lookup, no extra statement.
import type { Db } from "../../store/store.js";
import type { MessagesRepository } from "../messages.repository.js";
import type { AcceptedRows } from "./message-rows.js";
import type { Candidate } from "./candidate.js";
import { MESSAGE_INVALID } from "../messages.errors.js";

/** Characters of an idempotency key: room for a journey's run and step ids, not for a document. */
export const MOST_KEY_CHARS = 255;

export function anyKeyed(candidates: Candidate[]): boolean {
  for (const c of candidates) if (c.submission.idempotencyKey) return true;
  return false;
}

/** Marks candidates whose key was accepted before or repeats an earlier candidate's; returns the others. */
export async function settleRepeats(db: Db, messages: MessagesRepository, candidates: Candidate[]): Promise<Candidate[]> {
  const first = new Map<string, Candidate>();
  const byWorkspace = new Map<string, Candidate[]>();
  const fresh: Candidate[] = [];
  for (const c of candidates) {
    const key = c.submission.idempotencyKey;
    if (!key) {
      fresh.push(c);
      continue;
    }
    if (key.length > MOST_KEY_CHARS) {
      c.error = MESSAGE_INVALID(`The idempotency key is longer than ${MOST_KEY_CHARS} characters.`);
      fresh.push(c);
      continue;
    }
    const id = `${c.workspace.id}\u0000${key}`;
    const seen = first.get(id);
    if (seen) {
      c.repeatOf = seen;
      continue;
    }
    first.set(id, c);
    const list = byWorkspace.get(c.workspace.id) ?? [];
    list.push(c);
    byWorkspace.set(c.workspace.id, list);
  }
  for (const [workspaceId, list] of byWorkspace) {
    const found = await messages.byIdempotencyKeys(db, workspaceId, list.map((c) => c.submission.idempotencyKey!));
    for (const c of list) {
      const earlier = found.get(c.submission.idempotencyKey!);
      if (earlier) c.earlier = { messageId: earlier.id, submittedAt: earlier.createdAt };
      else fresh.push(c);
    }
  }
  return fresh.sort((a, b) => a.index - b.index);
}

/**
 * Inserts the keyed messages under the unique index and returns the rows still to write: the
 * unkeyed messages, and the deliveries and events of every message that was written. A candidate
 * whose key another transaction took first gets that message as `earlier`.
 */
export async function claimKeys(trx: Db, messages: MessagesRepository, candidates: Candidate[], rows: AcceptedRows): Promise<AcceptedRows> {
  for (const c of candidates) c.earlier = null;
  const keyed = rows.messages.filter((m) => m.idempotency_key);
  const inserted = await messages.insertKeyed(trx, keyed);
  if (inserted.size === keyed.length) return { ...rows, messages: rows.messages.filter((m) => !m.idempotency_key) };
  const lost = new Set(keyed.filter((m) => !inserted.has(m.id)).map((m) => m.id));
  const losers = candidates.filter((c) => lost.has(c.id));
  const byWorkspace = new Map<string, Candidate[]>();
  for (const c of losers) byWorkspace.set(c.workspace.id, [...(byWorkspace.get(c.workspace.id) ?? []), c]);
  for (const [workspaceId, list] of byWorkspace) {
    const found = await messages.byIdempotencyKeys(trx, workspaceId, list.map((c) => c.submission.idempotencyKey!));
    for (const c of list) {
      const earlier = found.get(c.submission.idempotencyKey!);
      // The conflict proves a row with the key exists; not finding it would be a bug in the store.
      if (!earlier) throw new Error(`idempotency key of message ${c.id} conflicted but no message holds it`);
      c.earlier = { messageId: earlier.id, submittedAt: earlier.createdAt };
    }
  }
  return {
    messages: rows.messages.filter((m) => !m.idempotency_key),
    deliveries: rows.deliveries.filter((d) => !lost.has(d.message_id)),
    events: rows.events.filter((e) => e.messageId === null || !lost.has(e.messageId)),
  };
}
