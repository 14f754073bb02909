// Configuration of open and click tracking and of unsubscribe links: where their URLs point, and
// the local geo database that places readers.
import { z } from "zod";
import { configFragment } from "../config/config.fragment.js";

export interface TrackingConfigPart {
  tracking: {
    /** Base of tracking and unsubscribe URLs; null: http://<POSTHORN_HOSTNAME>:<POSTHORN_HTTP_PORT>. */
    baseUrl: string | null;
    /** A MaxMind-format city database (.mmdb); null: no geo. */
    geoipDatabase: string | null;
    /** How long an open pixel is kept loading to measure read time, in seconds; 0: not measured. */
    readSeconds: number;
    /** Most pixels kept loading at once; past it, pixels are answered at once (no read time). */
    readHoldMax: number;
  };
}

export const trackingConfig = configFragment({
  name: "tracking",
  keys: {
    /**
     * Base URL of open pixels, tracked links and unsubscribe links (https://track.example.com); it
     * must reach the API listener, whose /t/ paths serve them. Unset: http://<POSTHORN_HOSTNAME>:<POSTHORN_HTTP_PORT>.
     */
    POSTHORN_TRACKING_BASE_URL: z
      .string()
      .max(200)
      .regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~/-]*)?$/, "must be an http(s) URL with no query or fragment")
      .optional(),
    /** Path of a MaxMind-format city database (GeoLite2-City.mmdb) that places opens and clicks; unset: no geo. */
    POSTHORN_GEOIP_DATABASE: z.string().min(1).optional(),
    /** Seconds an open pixel keeps loading (an animated GIF sent a frame a second) to measure how long the message stays open; 0: not measured. */
    POSTHORN_TRACKING_READ_SECONDS: z.coerce.number().int().min(0).max(60).optional(),
    /** Most open pixels kept loading at once; past it, pixels are answered at once and their opens have no read time. */
    POSTHORN_TRACKING_READ_HOLD_MAX: z.coerce.number().int().min(1).max(100_000).optional(),
  },
  toConfig: (e): TrackingConfigPart => ({
    tracking: {
      baseUrl: e.POSTHORN_TRACKING_BASE_URL ?? null,
      geoipDatabase: e.POSTHORN_GEOIP_DATABASE ?? null,
      readSeconds: e.POSTHORN_TRACKING_READ_SECONDS ?? 20,
      readHoldMax: e.POSTHORN_TRACKING_READ_HOLD_MAX ?? 1_000,
    },
  }),
});
