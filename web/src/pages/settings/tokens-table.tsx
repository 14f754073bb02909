// The workspace's existing tokens and keys: what each is, its last characters and when it was
// made. Their secrets are not kept, so this is all there is to show. Admins revoke one after a
// confirmation in the page; the API refuses it at once. The last server token cannot be revoked
// (the server answers TOKEN_LAST_SERVER), so its button is not offered: make another first.
import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { TokenRevokeAnswer, TokenView } from "@contract/settings.contract";
import { apiSend, workspacePath } from "../../api/client";
import { Empty, ErrorNotice, Notice } from "../../ui/states";
import { Time } from "../../ui/time";

const KIND: Record<TokenView["kind"], string> = {
  server: "Server token",
  smtp: "SMTP token pair",
  track: "Track API site id + key",
  pipeline: "Pipeline write key",
  app: "App API key",
};

export function TokensTable({ tokens, workspaceId, canChange }: { tokens: TokenView[]; workspaceId: string; canChange: boolean }) {
  const queries = useQueryClient();
  const [asking, setAsking] = useState<TokenView | null>(null);
  const revoke = useMutation({
    mutationFn: (token: TokenView) => apiSend<TokenRevokeAnswer>("DELETE", workspacePath(workspaceId, `/tokens/${encodeURIComponent(token.id)}`)),
    onSuccess: async () => {
      setAsking(null);
      await queries.invalidateQueries({ queryKey: ["settings", workspaceId] });
    },
  });
  if (tokens.length === 0) return <Empty>No tokens.</Empty>;
  const servers = tokens.filter((t) => t.kind === "server").length;
  return (
    <>
      {asking && (
        <Notice title={`Revoke the ${KIND[asking.kind].toLowerCase()} ending …${asking.hint}?`}>
          <p>Every request that uses it is refused from now on. This cannot be undone; a new one can be made.</p>
          <div className="settings-actions">
            <button type="button" className="button button-primary" onClick={() => revoke.mutate(asking)} disabled={revoke.isPending}>
              Yes, revoke it
            </button>
            <button type="button" className="button" onClick={() => setAsking(null)}>
              Cancel
            </button>
          </div>
        </Notice>
      )}
      {revoke.isError && <ErrorNotice error={revoke.error} title="Not revoked" />}
      {revoke.isSuccess && !asking && <Notice title="Revoked">The {KIND[revoke.data.revoked.kind].toLowerCase()} ending …{revoke.data.revoked.hint} no longer works.</Notice>}
      <div className="table-wrap">
        <table className="table" aria-label="Existing tokens">
          <thead>
            <tr>
              <th>Kind</th>
              <th>Ends with</th>
              <th>Stream</th>
              <th>Created</th>
              {canChange && <th>Revoke</th>}
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => (
              <tr key={t.id}>
                <td>{KIND[t.kind]}</td>
                <td className="mono">…{t.hint}</td>
                <td className="mono">{t.stream ?? <span className="muted">any</span>}</td>
                <td>
                  <Time at={t.createdAt} />
                </td>
                {canChange && (
                  <td>
                    {t.kind === "server" && servers <= 1 ? (
                      <span className="muted">the last server token</span>
                    ) : (
                      <button type="button" className="button button-small" onClick={() => setAsking(t)} aria-label={`Revoke ${KIND[t.kind]} …${t.hint}`}>
                        Revoke
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
