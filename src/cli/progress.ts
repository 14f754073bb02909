// Progress of a long command on stderr (stdout keeps the result, for scripts). On a terminal one
// line rewritten in place, at most ten times a second; otherwise (a log, a pipe) one plain line
// per table that holds rows, when it is done, so a log holds no carriage returns and a stalled table still shows
// which one it was by the last line before it.
import type { TransferProgress } from "../store/transfer/export.js";

const REDRAW_MS = 100;

export interface ProgressLine extends TransferProgress {
  /** Clears the line in place (terminal), before the command prints its result. */
  done(): void;
}

export function progressLine(stream: NodeJS.WriteStream, verb: string): ProgressLine {
  const tty = stream.isTTY === true;
  let lastDraw = 0;
  let tables = 0;
  let current = "";
  let drawn = false;
  return {
    table(name, done, total) {
      const changed = name !== current;
      if (changed) {
        current = name;
        tables++;
      }
      const finished = done >= total;
      if (!tty) {
        if (finished && total > 0) stream.write(`${verb} ${name}: ${total} rows\n`);
        return;
      }
      const now = Date.now();
      if (!finished && !changed && now - lastDraw < REDRAW_MS) return;
      lastDraw = now;
      const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
      stream.write(`\r\x1b[K${verb} table ${tables}: ${name} ${done.toLocaleString("en")}/${total.toLocaleString("en")} (${percent}%)`);
      drawn = true;
    },
    done() {
      if (tty && drawn) stream.write("\r\x1b[K");
    },
  };
}
