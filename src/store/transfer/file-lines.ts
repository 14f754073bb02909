// Reads an export file back as lines, each parsed, with the running SHA-256 the footer is checked
// against. Any fault of the file itself — not gzip, cut short, a line that is not JSON — becomes
// a BadExportFile that names the file and the line.
import { createReadStream } from "node:fs";
import { createHash, type Hash } from "node:crypto";
import { StringDecoder } from "node:string_decoder";
import { createGunzip } from "node:zlib";
import { BadExportFile } from "./format.js";

export interface FileLine {
  /** 1-based. */
  number: number;
  text: string;
  value: unknown;
}

export interface LineReader {
  lines: AsyncGenerator<FileLine>;
  /** The SHA-256 of every line (with its newline) above the footer, once the footer was read; of every line so far before. */
  digestSoFar(): string;
}

export function readLines(file: string): LineReader {
  const hash = createHash("sha256");
  let hashed: Hash | null = null;
  async function* lines(): AsyncGenerator<FileLine> {
    const gunzip = createGunzip();
    const input = createReadStream(file);
    input.on("error", (err) => gunzip.destroy(err));
    input.pipe(gunzip);
    const decoder = new StringDecoder("utf8");
    let rest = "";
    let number = 0;
    try {
      for await (const chunk of gunzip) {
        rest += decoder.write(chunk as Buffer);
        let newline: number;
        while ((newline = rest.indexOf("\n")) >= 0) {
          const text = rest.slice(0, newline);
          rest = rest.slice(newline + 1);
          number++;
          // Kept before the footer's own line, which its sha256 does not cover (one copy per file, not per row).
          if (text.startsWith('{"footer"')) hashed = hash.copy();
          hash.update(`${text}\n`);
          yield { number, text, value: parse(text, number) };
        }
      }
    } catch (err) {
      if (err instanceof BadExportFile) throw err;
      const e = err as NodeJS.ErrnoException;
      if (e.code?.startsWith("Z_")) throw new BadExportFile(`${file} is not a whole export file (gzip: ${e.message}); it may be cut short or damaged`);
      throw err;
    } finally {
      input.destroy();
    }
    rest += decoder.end();
    if (rest.length > 0) throw new BadExportFile(`${file} ends in the middle of line ${number + 1}: it is cut short`);
  }
  return { lines: lines(), digestSoFar: () => (hashed ?? hash).copy().digest("hex") };
}

function parse(text: string, number: number): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BadExportFile(`line ${number} of the export file is not JSON: the file is damaged`);
  }
}
