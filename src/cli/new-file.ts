// The check every command that writes a new file makes before it reads anything (backup, export):
// said in the operator's words, so that a long copy does not fail at its end for a reason known
// at its start.
import { existsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { CommandFailed } from "./command.js";

/** Every reason a new file cannot be written at `target`; `writer` names the command ("export", "a backup"). */
export function checkNewFile(target: string, writer: string): void {
  if (existsSync(target)) throw new CommandFailed(`${target} already exists; ${writer} does not overwrite a file (remove it or choose another name)`);
  const dir = dirname(target);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new CommandFailed(`cannot write ${target}: the directory ${dir} does not exist`);
  }
  if (!isDir) throw new CommandFailed(`cannot write ${target}: ${dir} is not a directory`);
}
