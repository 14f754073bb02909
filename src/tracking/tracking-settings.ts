// What tracking and unsubscribe handling apply to a workspace's mail, read from its settings
// (migration 011: workspaces.track_opens / track_links, streams.unsubscribe_handling), looked up
// once per acceptance call and cached briefly: acceptance runs thousands of times a second, and a
// read per call would slow mail that has no tracking at all. A change of the settings (PUT
// /server, PATCH /message-streams) applies within SETTINGS_CACHE_MS.
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { LinkTracking } from "../messages/message.types.js";
import { TrackingRepository } from "./tracking.repository.js";

export const SETTINGS_CACHE_MS = 5_000;
const CACHE_MAX = 10_000;

export interface WorkspaceTracking {
  trackOpens: boolean;
  trackLinks: LinkTracking;
  /** Unsubscribe handling of its Broadcasts streams, by stream id: none, posthorn or custom. */
  unsubscribe: Map<string, string>;
  /** The streams that set their own tracking defaults, by stream id (null: the workspace's applies). */
  streams: Map<string, { trackOpens: boolean | null; trackLinks: LinkTracking | null }>;
}

const LINK_TRACKING = new Set<string>(["none", "html-and-text", "html-only", "text-only"]);

export class TrackingSettings {
  private readonly repo = new TrackingRepository();
  private readonly cache = new Map<string, { value: WorkspaceTracking; until: number }>();

  constructor(private readonly deps: { store: Store; clock: Clock }) {}

  async forWorkspaces(ids: string[]): Promise<Map<string, WorkspaceTracking>> {
    const now = this.deps.clock.now();
    const out = new Map<string, WorkspaceTracking>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const hit = this.cache.get(id);
      if (hit && hit.until > now) out.set(id, hit.value);
      else missing.push(id);
    }
    if (missing.length === 0) return out;
    const db = this.deps.store.db;
    const [workspaces, streams, tracked] = await Promise.all([this.repo.workspaceSettings(db, missing), this.repo.unsubscribeHandling(db, missing), this.repo.streamTracking(db, missing)]);
    if (this.cache.size + missing.length > CACHE_MAX) this.cache.clear();
    for (const id of missing) {
      const row = workspaces.get(id);
      const unsubscribe = new Map<string, string>();
      for (const [key, handling] of streams) if (key.startsWith(`${id}\u0000`)) unsubscribe.set(key.slice(id.length + 1), handling);
      const streamDefaults: WorkspaceTracking["streams"] = new Map();
      for (const [key, t] of tracked) {
        if (!key.startsWith(`${id}\u0000`)) continue;
        streamDefaults.set(key.slice(id.length + 1), {
          trackOpens: t.track_opens === null ? null : t.track_opens === 1,
          trackLinks: t.track_links !== null && LINK_TRACKING.has(t.track_links) ? (t.track_links as LinkTracking) : null,
        });
      }
      const value: WorkspaceTracking = {
        trackOpens: row?.track_opens === 1,
        trackLinks: row && LINK_TRACKING.has(row.track_links) ? (row.track_links as LinkTracking) : "none",
        unsubscribe,
        streams: streamDefaults,
      };
      this.cache.set(id, { value, until: now + SETTINGS_CACHE_MS });
      out.set(id, value);
    }
    return out;
  }
}
