// The dashboard API's calls (issue 13), one plugin per area of the dashboard, each given what it
// uses from the api role. Adding an area is a line here and a *.routes.ts file in src/api/dashboard/.
import type { FastifyPluginAsync } from "fastify";
import { sessionRoutes } from "../api/dashboard/session.routes.js";
import { activityRoutes } from "../api/dashboard/activity.routes.js";
import { statsRoutes } from "../api/dashboard/stats.routes.js";
import { suppressionsRoutes } from "../api/dashboard/suppressions.routes.js";
import { queueRoutes } from "../api/dashboard/queue.routes.js";
import { domainsRoutes } from "../api/dashboard/domains.routes.js";
import { templatesRoutes } from "../api/dashboard/templates.routes.js";
import { settingsRoutes } from "../api/dashboard/settings.routes.js";
import { peopleRoutes } from "../api/dashboard/people.routes.js";
import { segmentsRoutes } from "../api/dashboard/segments.routes.js";
import { journeysRoutes } from "../api/dashboard/journeys.routes.js";
import type { ApiRoleDeps } from "./roles/api.js";

export function dashboardRoutes(deps: ApiRoleDeps): FastifyPluginAsync[] {
  return [
    sessionRoutes({ users: deps.users, workspaces: deps.workspaces }),
    activityRoutes(deps),
    statsRoutes(deps),
    suppressionsRoutes(deps),
    queueRoutes(deps),
    domainsRoutes(deps),
    templatesRoutes(deps),
    settingsRoutes(deps),
    peopleRoutes(deps),
    segmentsRoutes(deps),
    journeysRoutes(deps),
  ];
}
