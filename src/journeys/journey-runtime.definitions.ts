// Definitions by (journey, version), read once per process: a version never changes once
// written, so the cache needs no invalidation, only a bound.
import type { Db } from "../store/store.js";
import type { JourneyDefinition } from "./journey.model.js";
import type { JourneysRepository } from "./journeys.repository.js";

/** Versions kept in memory; a definition is a few KB, so this is a few MB at most. */
const KEPT_VERSIONS = 1_000;

export class JourneyDefinitions {
  private readonly kept = new Map<string, JourneyDefinition>();

  constructor(private readonly repository: JourneysRepository) {}

  async get(db: Db, journeyId: number, version: number): Promise<JourneyDefinition | null> {
    const key = `${journeyId}:${version}`;
    const known = this.kept.get(key);
    if (known) return known;
    const row = await this.repository.version(db, journeyId, version);
    if (!row) return null;
    const definition = JSON.parse(row.definition_json) as JourneyDefinition;
    if (this.kept.size >= KEPT_VERSIONS) this.kept.delete(this.kept.keys().next().value!);
    this.kept.set(key, definition);
    return definition;
  }
}
