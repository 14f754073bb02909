// posthorn queue | queue retry | queue purge: what waits where, retrying deferred mail now, and
// ending a destination's waiting mail (the same operations as the app API's /app/queue).
import { UsageError } from "./usage.js";
import { withContainer, type Command } from "./command.js";

export const queue: Command = async ({ args, options, config, out }) => {
  const [sub] = args;
  if (args.length > 1 || (sub !== undefined && sub !== "retry" && sub !== "purge")) {
    throw new UsageError("queue | queue retry [--domain D] | queue purge --domain D [--reason R]", "queue");
  }
  if (sub === "purge" && !options.domain) throw new UsageError("queue purge needs --domain D", "queue");
  return withContainer(config, async ({ queue }) => {
    if (sub === undefined) {
      const summary = await queue.summary();
      if (options.json) {
        out(`${JSON.stringify(summary)}\n`);
        return;
      }
      const states = Object.entries(summary.states).map(([state, n]) => `${state} ${n}`);
      out(`deliveries: ${states.length > 0 ? states.join(", ") : "none"}\n`);
      if (summary.destinations.length > 0) out("waiting by destination:\n");
      for (const d of summary.destinations) {
        out(`  ${d.domain}\tqueued ${d.queued}\tdeferred ${d.deferred}\toldest ${new Date(d.oldestCreatedAt).toISOString()}\n`);
      }
    } else if (sub === "retry") {
      out(`${await queue.retryNow({ domain: options.domain })} deferred deliveries are due now\n`);
    } else {
      out(`${await queue.purge({ domain: options.domain!, reason: options.reason })} deliveries purged\n`);
    }
  });
};
