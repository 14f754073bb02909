// Drives dkimpy (Debian's python3-dkim), a DKIM verifier written independently of mailauth, so
// tests can show that our signatures verify with something other than the library that made
// them. DNS answers come from the test, not the network.
import { spawnSync } from "node:child_process";

const SCRIPT = `
import base64, json, sys
import dkim
from dkim.util import parse_tag_value
data = json.load(sys.stdin)
message = base64.b64decode(data["message"])
records = data["records"]
def dnsfunc(name, timeout=5):
    key = (name.decode() if isinstance(name, bytes) else name).rstrip(".").lower()
    value = records.get(key)
    return value.encode() if value is not None else None
verifier = dkim.DKIM(message)
signatures = [value for (name, value) in verifier.headers if name.lower() == b"dkim-signature"]
results = []
for index, value in enumerate(signatures):
    tags = parse_tag_value(b"".join(value.split()))
    try:
        ok = bool(verifier.verify(idx=index, dnsfunc=dnsfunc))
    except dkim.DKIMException:
        ok = False
    results.append({"selector": tags[b"s"].decode(), "algorithm": tags[b"a"].decode(), "ok": ok})
print(json.dumps(results))
`;

/** A python interpreter that can import dkim (Debian installs it for /usr/bin/python3), or null. */
export function findDkimpy(): string | null {
  for (const python of ["/usr/bin/python3", "python3"]) {
    const probe = spawnSync(python, ["-c", "import dkim, nacl"], { stdio: "ignore" });
    if (probe.status === 0) return python;
  }
  return null;
}

export interface DkimpyResult {
  selector: string;
  algorithm: string;
  ok: boolean;
}

/** Verifies every DKIM-Signature of the message, in order, against the given TXT records by host. */
export function dkimpyVerify(python: string, message: Buffer, records: Record<string, string>): DkimpyResult[] {
  const run = spawnSync(python, ["-c", SCRIPT], {
    input: JSON.stringify({ message: message.toString("base64"), records }),
    encoding: "utf8",
    timeout: 30_000,
  });
  if (run.status !== 0) throw new Error(`dkimpy failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as DkimpyResult[];
}
