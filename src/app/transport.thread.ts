// The transport thread's composition root. Outbound SMTP — MX lookups, TLS, the protocol, the
// sockets and their writes — is a fifth of the main thread's work per message; here it runs on
// another core, as Postfix's smtp(8) runs beside its queue manager. The main thread keeps the
// queue and the database; it sends each job (envelope and signed message) and gets the attempt's
// result back (threaded.transport.ts). The thread holds all per-destination state (connection
// pools, limits, throttling) as the in-process transport did; on PostgreSQL it opens its own small
// pool for the shared connection slots.
import { parentPort, workerData } from "node:worker_threads";
import type { Config } from "../config/config.schema.js";
import { createLogger } from "../shared/logger.js";
import { openStore, type Store } from "../store/store.js";
import type { DeliveryJob } from "../mta/mta.types.js";
import type { TransportRequest, TransportResponse } from "../mta/smtp-client/threaded.transport.js";
import { createMtaTransport } from "./mta-transport.js";
import { batchPoster } from "../shared/thread-batches.js";

const config = workerData as Config;
const logger = createLogger(config.logLevel, config.logFormat ?? "json").child({ thread: "transport" });
const store: Store | null = config.databaseUrl ? openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, namedStatements: config.databaseNamedStatements, poolSize: 2 }) : null;
const transport = createMtaTransport(config, logger, store);
const port = parentPort!;
const post = batchPoster((batch: TransportResponse[]) => port.postMessage(batch));

port.on("message", (requests: TransportRequest[]) => {
  for (const request of requests) handle(request);
});

function handle(request: TransportRequest): void {
  if (request.type === "deliver") {
    const job: DeliveryJob = { ...request.job, raw: Buffer.from(request.job.raw.buffer, request.job.raw.byteOffset, request.job.raw.byteLength) };
    transport.deliver(job).then(
      (result) => post({ type: "result", id: request.id, result }),
      (err: unknown) => post({ type: "error", id: request.id, message: (err as Error)?.message ?? String(err) }),
    );
  } else if (request.type === "connections") {
    void (transport.openConnections?.() ?? Promise.resolve([])).then(
      (open) => post({ type: "connections", id: request.id, open }),
      () => post({ type: "connections", id: request.id, open: [] }),
    );
  } else if (request.type === "close") {
    void (async () => {
      await transport.close().catch((err: unknown) => logger.warn({ event: "mta.transport.close-failed", err }, "closing the transport failed"));
      await store?.close().catch(() => undefined);
      post({ type: "closed" });
    })();
  }
}
