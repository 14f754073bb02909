// New credentials for the workspace, made by the same services as `posthorn token create`. The
// server stores only hashes, so the values exist in this one answer: they stay on screen until
// dismissed, each with a copy button, and are never fetched again.
import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { CredentialAnswer, CredentialKind, TokenView } from "@contract/settings.contract";
import { apiSend, workspacePath } from "../../api/client";
import { CopyButton } from "../../ui/copy-button";
import { ErrorNotice, Notice } from "../../ui/states";
import { TokensTable } from "./tokens-table";

const KINDS: Array<{ kind: CredentialKind; button: string; what: string }> = [
  { kind: "server", button: "Create server token", what: "for the Postmark API (X-Postmark-Server-Token) and SMTP (as username and password)" },
  { kind: "track", button: "Create Track API credentials", what: "a site id and API key for the Track API, with a pipeline write key and an App API key" },
  { kind: "app", button: "Create App API key", what: "a Bearer key for the App API" },
];

export function Credentials({ workspaceId, canChange, tokens }: { workspaceId: string; canChange: boolean; tokens: TokenView[] }) {
  const queries = useQueryClient();
  const [shown, setShown] = useState<CredentialAnswer | null>(null);
  const create = useMutation({
    mutationFn: (kind: CredentialKind) => apiSend<CredentialAnswer>("POST", workspacePath(workspaceId, "/credentials"), { kind }),
    onSuccess: async (answer) => {
      setShown(answer);
      await queries.invalidateQueries({ queryKey: ["settings", workspaceId] });
    },
  });
  return (
    <section aria-labelledby="credentials-title">
      <h2 id="credentials-title">Tokens and API keys</h2>
      <p className="muted">Posthorn keeps only a hash of each secret: it is shown once, when it is made. Older tokens stay valid until they are revoked.</p>
      {!canChange ? (
        <p className="muted">Only admins create tokens.</p>
      ) : (
        <ul className="settings-kinds">
          {KINDS.map((k) => (
            <li key={k.kind}>
              <button type="button" className="button" onClick={() => create.mutate(k.kind)} disabled={create.isPending}>
                {k.button}
              </button>{" "}
              <span className="muted">{k.what}</span>
            </li>
          ))}
        </ul>
      )}
      {create.isError && <ErrorNotice error={create.error} title="Not created" />}
      {shown && (
        <Notice title="Copy these now: they are not shown again">
          <dl className="settings-secrets">
            {shown.values.map((v) => (
              <div key={v.label}>
                <dt>{v.label}</dt>
                <dd>
                  <code>{v.value}</code> <CopyButton value={v.value} label={`Copy ${v.label}`} />
                </dd>
              </div>
            ))}
          </dl>
          <button type="button" className="button button-small" onClick={() => setShown(null)}>
            Done
          </button>
        </Notice>
      )}
      <h3 className="settings-subtitle">Existing tokens</h3>
      <TokensTable tokens={tokens} workspaceId={workspaceId} canChange={canChange} />
    </section>
  );
}
