// Configuration of the HTTP edge: where the API listens.
import { z } from "zod";
import { configFragment, port } from "../config/config.fragment.js";

export interface HttpConfigPart {
  http: { port: number; host: string };
}

export const httpConfig = configFragment({
  name: "http",
  keys: {
    /** API port (0 picks a free one). */
    POSTHORN_HTTP_PORT: port.default(8080),
    /** API listen address. */
    POSTHORN_HTTP_HOST: z.string().min(1).default("0.0.0.0"),
  },
  toConfig: (e): HttpConfigPart => ({ http: { port: e.POSTHORN_HTTP_PORT, host: e.POSTHORN_HTTP_HOST } }),
});
