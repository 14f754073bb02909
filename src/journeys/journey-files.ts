// Journeys as code (POSTHORN_JOURNEYS_DIR): each *.json, *.yaml or *.yml file of the folder is one
// journey document with a `workspace` key naming its workspace, so journeys can live in version
// control beside the code that sends the events. Read when the worker role starts: every problem
// in every file (a bad document, with the field; an unknown workspace; a segment the workspace
// lacks) is listed in one error and the start fails, as a bad configuration key does, rather than
// run with some journeys silently missing. A new file makes a live journey, a changed file a new
// version (runs stay on theirs unless moved), a removed file archives its journey (its runs end).
// The App API refuses to change a file journey (JOURNEY_STATE_CONFLICT): change the file.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { isPosthornError } from "../shared/errors.js";
import { readDocument, JOURNEY_LIMITS } from "./journey-document.js";
import type { JourneysService } from "./journeys.service.js";

export class JourneyFilesError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid journey files:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "JourneyFilesError";
  }
}

export interface JourneyFile {
  fileKey: string;
  workspace: string;
  document: Record<string, unknown>;
}

const EXTENSIONS = /\.(json|ya?ml)$/;
/** Files read from the folder; more is a mistake (a wrong folder), not a workload. */
const MAX_FILES = 1_000;

/** Reads every journey file of the folder (sorted by name); throws JourneyFilesError listing every problem. */
export function readJourneyFiles(dir: string): JourneyFile[] {
  const { files, problems } = readFiles(dir);
  if (problems.length > 0) throw new JourneyFilesError(problems);
  return files;
}

function readFiles(dir: string): { files: JourneyFile[]; problems: string[] } {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => EXTENSIONS.test(n)).sort();
  } catch (err) {
    throw new JourneyFilesError([`${dir}: ${(err as Error).message}`]);
  }
  if (names.length > MAX_FILES) throw new JourneyFilesError([`${dir}: ${names.length} journey files (at most ${MAX_FILES})`]);
  const problems: string[] = [];
  const files: JourneyFile[] = [];
  for (const name of names) {
    try {
      const path = join(dir, name);
      if (statSync(path).size > JOURNEY_LIMITS.documentBytes) throw new Error(`the file must be at most ${JOURNEY_LIMITS.documentBytes / 1024} KB`);
      const { value } = readDocument(readFileSync(path, "utf8"), name.endsWith(".json") ? "json" : "yaml");
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("must be one journey document (an object with workspace, name, trigger, steps)");
      const { workspace, ...document } = value as Record<string, unknown>;
      if (typeof workspace !== "string" || workspace === "") throw new Error("workspace: must name a workspace");
      files.push({ fileKey: name, workspace, document });
    } catch (err) {
      problems.push(`${name}: ${isPosthornError(err) || err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { files, problems };
}

/**
 * Makes the file-defined journeys of every workspace those of the folder. Every file is checked
 * (parsed, its workspace resolved by `workspaceIdOf`, its segments looked up) before anything is
 * changed, so a bad folder changes nothing.
 */
export async function loadJourneyFiles(
  dir: string,
  deps: { workspaceIdOf: (name: string) => Promise<string>; journeys: Pick<JourneysService, "check" | "syncFiles" | "workspacesWithFiles"> },
): Promise<{ created: number; updated: number; archived: number }> {
  const { files, problems } = readFiles(dir);
  const byWorkspace = new Map<string, JourneyFile[]>();
  for (const file of files) {
    let workspaceId: string;
    try {
      workspaceId = await deps.workspaceIdOf(file.workspace);
    } catch (err) {
      problems.push(`${file.fileKey}: workspace: ${(err as Error).message}`);
      continue;
    }
    try {
      await deps.journeys.check(workspaceId, file.document);
    } catch (err) {
      problems.push(`${file.fileKey}: ${(err as Error).message}`);
      continue;
    }
    const list = byWorkspace.get(workspaceId) ?? [];
    list.push(file);
    byWorkspace.set(workspaceId, list);
  }
  if (problems.length > 0) throw new JourneyFilesError(problems.sort());
  for (const workspaceId of await deps.journeys.workspacesWithFiles()) if (!byWorkspace.has(workspaceId)) byWorkspace.set(workspaceId, []);
  const total = { created: 0, updated: 0, archived: 0 };
  for (const [workspaceId, list] of byWorkspace) {
    const counts = await deps.journeys.syncFiles(workspaceId, list);
    total.created += counts.created;
    total.updated += counts.updated;
    total.archived += counts.archived;
  }
  return total;
}
