// posthorn token create: another server token, an account token, or an SMTP token pair. Each is
// printed once; only its hash is stored.
import { UsageError } from "./usage.js";
import { withAdminServices, type Command } from "./command.js";

const FORMS = "token create --workspace NAME | token create --account | token create --smtp --workspace NAME [--stream ID] | token create --track --workspace NAME | token create --app --workspace NAME";

export const token: Command = async ({ args, options, config, out }) => {
  if (args[0] !== "create" || args.length !== 1 || (!options.workspace && !options.account)) throw new UsageError(FORMS, "token");
  if (options.smtp && !options.workspace) throw new UsageError("token create --smtp --workspace NAME [--stream ID]", "token");
  if (options.track && !options.workspace) throw new UsageError("token create --track --workspace NAME", "token");
  if (options.app && !options.workspace) throw new UsageError("token create --app --workspace NAME [--json]", "token");
  return withAdminServices(config, async ({ workspaces }) => {
    if (options.app) {
      // Only the key, so a script can take it as it is (`--json`: {"appKey": …}).
      const appKey = await workspaces.createAppKey(options.workspace!);
      out(options.json ? `${JSON.stringify({ appKey })}\n` : `${appKey}\n`);
      return;
    }
    if (options.track) {
      const c = await workspaces.createTrackCredentials(options.workspace!);
      if (options.json) out(`${JSON.stringify(c)}\n`);
      else
        out(
          `Track API site id (Basic username): ${c.siteId}\nTrack API key (Basic password, shown once): ${c.apiKey}\n` +
            `Pipeline write key (Segment spec, Basic username, shown once): ${c.writeKey}\nApp API key (Bearer, shown once): ${c.appKey}\n`,
        );
      return;
    }
    if (options.smtp) {
      const pair = await workspaces.createSmtpToken(options.workspace!, options.stream ?? "outbound");
      if (options.json) out(`${JSON.stringify(pair)}\n`);
      else out(`access key (SMTP username): ${pair.accessKey}\nsecret key (SMTP password, shown once): ${pair.secretKey}\nstream: ${pair.stream}\n`);
      return;
    }
    const created = options.account ? await workspaces.createAccountToken() : await workspaces.createServerToken(options.workspace!);
    out(`${created}\n`);
  });
};
