// The streams every workspace starts with (Postmark's defaults); they cannot be archived.
import type { StreamsTable } from "../store/schema.js";

// Every row names every column: a multi-row insert writes NULL, not the default, for a key one row lacks.
export const DEFAULT_STREAMS: Array<Pick<StreamsTable, "id" | "name" | "type"> & { unsubscribe_handling: string }> = [
  { id: "outbound", name: "Default Transactional Stream", type: "Transactional", unsubscribe_handling: "none" },
  { id: "inbound", name: "Default Inbound Stream", type: "Inbound", unsubscribe_handling: "none" },
  { id: "broadcast", name: "Default Broadcast Stream", type: "Broadcasts", unsubscribe_handling: "posthorn" },
];

export const DEFAULT_STREAM_IDS: readonly string[] = DEFAULT_STREAMS.map((s) => s.id);
