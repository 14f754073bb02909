// Segment definitions kept as files (POSTHORN_SEGMENTS_DIR, *.json), so they can live in version
// control beside the code that sends the events. Each file holds one definition or an array of
// them: {workspace, name, description?, conditions?} (no conditions: a manual segment). Read at
// the worker role's start: every problem in every file is listed in one error and the start fails,
// as a bad configuration key does, rather than run with some segments silently missing. A file
// segment is changed by changing its file (the App API refuses to), and removed with it.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isPosthornError } from "../shared/errors.js";
import { parseConditions } from "./segment-definition.js";
import type { SegmentDefinitionInput, SegmentsService } from "./segments.service.js";

export interface FileDefinition extends SegmentDefinitionInput {
  workspace: string;
  fileKey: string;
}

export class SegmentFilesError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid segment definitions:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "SegmentFilesError";
  }
}

/** Reads and checks every *.json file of the folder (sorted by name); throws SegmentFilesError listing every problem. */
export function readSegmentFiles(dir: string): FileDefinition[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".json")).sort();
  } catch (err) {
    throw new SegmentFilesError([`${dir}: ${(err as Error).message}`]);
  }
  const problems: string[] = [];
  const definitions: FileDefinition[] = [];
  for (const name of names) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(join(dir, name), "utf8"));
    } catch (err) {
      problems.push(`${name}: not JSON (${(err as Error).message})`);
      continue;
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    list.forEach((item, i) => {
      const where = Array.isArray(parsed) ? `${name}[${i}]` : name;
      try {
        definitions.push(checkDefinition(item, Array.isArray(parsed) ? `${name}#${i}` : name));
      } catch (err) {
        problems.push(`${where}: ${isPosthornError(err) || err instanceof SegmentFilesError ? err.message : String(err)}`);
      }
    });
  }
  if (problems.length > 0) throw new SegmentFilesError(problems);
  return definitions;
}

function checkDefinition(item: unknown, fileKey: string): FileDefinition {
  if (typeof item !== "object" || item === null || Array.isArray(item)) throw new Error("must be an object {workspace, name, description?, conditions?}");
  const record = item as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!["workspace", "name", "description", "conditions"].includes(key)) throw new Error(`${key}: unknown key (expected workspace, name, description, conditions)`);
  if (typeof record.workspace !== "string" || record.workspace === "") throw new Error("workspace: must name a workspace");
  if (typeof record.name !== "string" || record.name.trim() === "") throw new Error("name: must be a non-empty string");
  if (record.description !== undefined && typeof record.description !== "string") throw new Error("description: must be a string");
  if (record.conditions !== undefined && record.conditions !== null) parseConditions(record.conditions);
  return { workspace: record.workspace, name: record.name, description: record.description as string | undefined, conditions: record.conditions ?? null, fileKey };
}

/**
 * Makes the file-defined segments of every workspace those of the folder: each file's workspace
 * is named (resolved by `workspaceIdOf`, which throws for an unknown one), and a workspace whose
 * files all went loses its file segments.
 */
export async function loadSegmentFiles(
  dir: string,
  deps: { workspaceIdOf: (name: string) => Promise<string>; segments: Pick<SegmentsService, "syncFiles" | "workspacesWithFiles"> },
): Promise<{ created: number; updated: number; deleted: number }> {
  const definitions = readSegmentFiles(dir);
  const byWorkspace = new Map<string, FileDefinition[]>();
  const problems: string[] = [];
  for (const definition of definitions) {
    let workspaceId: string;
    try {
      workspaceId = await deps.workspaceIdOf(definition.workspace);
    } catch (err) {
      problems.push(`${definition.fileKey}: workspace: ${(err as Error).message}`);
      continue;
    }
    const list = byWorkspace.get(workspaceId) ?? [];
    list.push(definition);
    byWorkspace.set(workspaceId, list);
  }
  if (problems.length > 0) throw new SegmentFilesError(problems);
  for (const workspaceId of await deps.segments.workspacesWithFiles()) if (!byWorkspace.has(workspaceId)) byWorkspace.set(workspaceId, []);
  const total = { created: 0, updated: 0, deleted: 0 };
  for (const [workspaceId, list] of byWorkspace) {
    const counts = await deps.segments.syncFiles(workspaceId, list);
    total.created += counts.created;
    total.updated += counts.updated;
    total.deleted += counts.deleted;
  }
  return total;
}
