// Configuration of segments: the folder of file-defined segments, and how often the worker role's
// segment loops (timers of time-windowed conditions, filling new segments) look for work.
import { z } from "zod";
import { parseDuration } from "../shared/durations.js";
import { configFragment, duration } from "../config/config.fragment.js";

export interface SegmentsConfigPart {
  segments: {
    /** null: no file-defined segments. */
    dir: string | null;
    pollMs: number;
  };
}

export const segmentsConfig = configFragment({
  name: "segments",
  keys: {
    /** A folder of segment definitions (*.json: {workspace, name, description?, conditions?}), loaded when the worker role starts. */
    POSTHORN_SEGMENTS_DIR: z.string().min(1).optional(),
    /** How often the segment timers (windows closing) and the filling of new segments are looked at; a timer fires at most this late. */
    POSTHORN_SEGMENTS_POLL: duration.default(parseDuration("1s")),
  },
  toConfig(env): SegmentsConfigPart {
    return { segments: { dir: env.POSTHORN_SEGMENTS_DIR ?? null, pollMs: env.POSTHORN_SEGMENTS_POLL } };
  },
});
