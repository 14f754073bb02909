// /readyz: whether this process can do its roles' work now. Each check names itself in the JSON
// answer, with ok and a detail; the process is ready when every check is. The checks a process
// runs depend on its roles (built in src/app/observability.ts): the database for all, the roles'
// start, the SMTP listeners for smtp, the outbox consumers' lag for worker, the queue's oldest due
// delivery for mta. A lag check fails when the backlog is older than its threshold, so an
// orchestrator stops routing to (or an operator is paged about) a process that is behind.
export interface CheckResult {
  ok: boolean;
  detail: string;
}

export interface ReadinessCheck {
  name: string;
  run(): Promise<CheckResult>;
}

export interface ReadinessAnswer {
  ready: boolean;
  body: { status: "ready" | "not ready"; roles: readonly string[]; failed: string[]; checks: Record<string, CheckResult> };
}

/** A check that takes longer than this has failed: a probe must answer within its own timeout. */
const CHECK_TIMEOUT_MS = 2_000;

export async function checkReadiness(roles: readonly string[], checks: readonly ReadinessCheck[]): Promise<ReadinessAnswer> {
  const results = await Promise.all(checks.map(async (c) => [c.name, await withTimeout(c)] as const));
  const failed = results.filter(([, r]) => !r.ok).map(([name]) => name);
  const ready = failed.length === 0;
  return { ready, body: { status: ready ? "ready" : "not ready", roles, failed, checks: Object.fromEntries(results) } };
}

async function withTimeout(check: ReadinessCheck): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${CHECK_TIMEOUT_MS} ms` }), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([check.run().catch((err: unknown) => ({ ok: false, detail: err instanceof Error ? err.message : String(err) })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
