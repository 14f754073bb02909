// The workspace's existing tokens and keys: what each is, its last characters and when it was
// made. Their secrets are not kept, so this is all there is to show.
import type { TokenView } from "@contract/settings.contract";
import { Empty } from "../../ui/states";
import { Time } from "../../ui/time";

const KIND: Record<TokenView["kind"], string> = {
  server: "Server token",
  smtp: "SMTP token pair",
  track: "Track API site id + key",
  pipeline: "Pipeline write key",
  app: "App API key",
};

export function TokensTable({ tokens }: { tokens: TokenView[] }) {
  if (tokens.length === 0) return <Empty>No tokens.</Empty>;
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Existing tokens">
        <thead>
          <tr>
            <th>Kind</th>
            <th>Ends with</th>
            <th>Stream</th>
            <th>Created</th>
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
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
