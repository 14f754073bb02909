// The part of the composition root that the administration commands use (`posthorn workspace`,
// `token`, `user`): workspaces, dashboard users and the encryption key. buildContainer builds
// these through here and the rest around them; the commands build only these, so that they do
// not load every domain's code (and libmime's and nodemailer's) to create a token: a command cost
// ~330 ms of CPU, about half of it loading the whole container's modules.
import type { Config } from "../config/config.schema.js";
import type { Logger } from "../shared/logger.js";
import type { Clock } from "../shared/clock.js";
import type { Store } from "../store/store.js";
import { WorkspacesService } from "../workspaces/workspaces.service.js";
import { UsersService } from "../users/users.service.js";
import { UsersRepository } from "../users/users.repository.js";
import { loadEncryptionKey } from "./encryption-key.js";

export interface AdminServices {
  workspaces: WorkspacesService;
  users: UsersService;
  /** The installation's encryption key (made on first use, encryption-key.ts). */
  encryptionKey: Buffer;
}

export function buildAdminServices(store: Store, config: Config, logger: Logger, clock: Clock): AdminServices {
  const workspaces = new WorkspacesService({ store, clock });
  const users = new UsersService({ store, clock, repository: new UsersRepository(), workspaces });
  const encryptionKey = loadEncryptionKey({ configured: config.encryptionKey, dataDir: config.dataDir });
  if (encryptionKey.looseFileMode) logger.warn({ event: "process.encryption-key.loose-mode", path: encryptionKey.path }, "the encryption key file is readable by other users; chmod 600 it");
  return { workspaces, users, encryptionKey: encryptionKey.key };
}
