// Configuration of the Track API's HTTPS listener. customerio-node ignores the port and scheme of
// its `url` option and always speaks HTTPS (to port 443 unless given `port`), so a Posthorn that
// existing Customer.io code can point at needs an HTTPS listener: the same API as the HTTP port,
// on its own port, with a configured certificate or one generated on first start.
import { z } from "zod";
import { configFragment, port } from "../../config/config.fragment.js";

export interface TrackApiConfigPart {
  trackApi: {
    /** Port of the HTTPS listener (0 picks a free one); null: no HTTPS listener. */
    httpsPort: number | null;
    /** Certificate and key files (PEM); null: a self-signed pair kept in <dataDir>/track-tls/. */
    tls: { certFile: string; keyFile: string } | null;
  };
}

export const trackApiConfig = configFragment({
  name: "trackApi",
  keys: {
    /**
     * Port of an HTTPS listener serving the same API as POSTHORN_HTTP_PORT (off when unset), so
     * that customerio-node, which always speaks HTTPS, reaches Posthorn with its `url` and `port`
     * options (443 lets it run with `url` alone).
     */
    POSTHORN_TRACK_HTTPS_PORT: port.optional(),
    /** Certificate file (PEM) of the HTTPS listener; unset: a self-signed one is generated into the data directory. */
    POSTHORN_TRACK_TLS_CERT: z.string().min(1).optional(),
    /** Private key file (PEM) of POSTHORN_TRACK_TLS_CERT. */
    POSTHORN_TRACK_TLS_KEY: z.string().min(1).optional(),
  },
  check: (e) =>
    Boolean(e.POSTHORN_TRACK_TLS_CERT) !== Boolean(e.POSTHORN_TRACK_TLS_KEY) ? ["POSTHORN_TRACK_TLS_CERT and POSTHORN_TRACK_TLS_KEY: set both or neither"] : [],
  toConfig: (e): TrackApiConfigPart => ({
    trackApi: {
      httpsPort: e.POSTHORN_TRACK_HTTPS_PORT ?? null,
      tls: e.POSTHORN_TRACK_TLS_CERT && e.POSTHORN_TRACK_TLS_KEY ? { certFile: e.POSTHORN_TRACK_TLS_CERT, keyFile: e.POSTHORN_TRACK_TLS_KEY } : null,
    },
  }),
});
