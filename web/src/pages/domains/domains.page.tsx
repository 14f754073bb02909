// Domains: the account's sending domains with the DNS records to publish (DKIM, SPF,
// Return-Path, DMARC), each with a copy button and whether it was seen, and "verify now".
// Domains belong to the account, so only admins see this page's data (the API refuses viewers).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { DomainView, DomainsAnswer } from "@contract/domains.contract";
import { ApiError, apiGet, apiSend } from "../../api/client";
import { useCanChange } from "../../session";
import { CopyButton } from "../../ui/copy-button";
import { PageHeader } from "../../ui/page";
import { Empty, ErrorNotice, Loading, Notice } from "../../ui/states";
import { Time } from "../../ui/time";
import "./domains.css";

export default function DomainsPage() {
  const canChange = useCanChange();
  const domains = useQuery({
    queryKey: ["domains"],
    queryFn: ({ signal }) => apiGet<DomainsAnswer>("/domains", {}, { signal }),
    enabled: canChange,
  });
  return (
    <>
      <PageHeader title="Domains" subtitle="Sending domains of the account and the DNS records that prove them. Domains are added through the account's Domains API (POST /domains)." />
      {!canChange && <Notice title="Admins only">Sending domains belong to the whole account; an admin manages them.</Notice>}
      {domains.isPending && canChange && <Loading label="Loading domains" />}
      {domains.isError && !(domains.error instanceof ApiError && domains.error.status === 403) && <ErrorNotice error={domains.error} />}
      {domains.data && (domains.data.domains.length === 0 ? <Empty>No sending domain yet.</Empty> : domains.data.domains.map((d) => <DomainCard key={d.id} domain={d} />))}
    </>
  );
}

function DomainCard({ domain }: { domain: DomainView }) {
  const queryClient = useQueryClient();
  const verify = useMutation({
    mutationFn: () => apiSend<DomainView>("POST", `/domains/${domain.id}/verify`),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ["domains"] }),
  });
  return (
    <section className="domain" aria-labelledby={`domain-${domain.id}`}>
      <div className="domain-head">
        <div>
          <h2 id={`domain-${domain.id}`}>{domain.name}</h2>
          <p className="muted">
            <Check ok={domain.dkimVerified} label="DKIM" /> <Check ok={domain.spfVerified} label="SPF" /> <Check ok={domain.returnPathVerified} label="Return-Path" /> · last checked <Time at={domain.lastCheckedAt} />
          </p>
        </div>
        <button type="button" className="button" disabled={verify.isPending} onClick={() => verify.mutate()} aria-label={`Verify ${domain.name} now`}>
          {verify.isPending ? "Checking…" : "Verify now"}
        </button>
      </div>
      {verify.isError && <ErrorNotice error={verify.error} />}
      <div className="table-wrap">
        <table className="table" aria-label={`DNS records of ${domain.name}`}>
          <thead>
            <tr>
              <th>Record</th>
              <th>Type</th>
              <th>Host</th>
              <th>Value</th>
              <th>State</th>
            </tr>
          </thead>
          <tbody>
            {domain.records.map((r) => (
              <tr key={`${r.purpose} ${r.host}`}>
                <td>{r.purpose}</td>
                <td>{r.type}</td>
                <td>
                  <code className="domain-value">{r.host}</code> <CopyButton value={r.host} label="Copy host" />
                </td>
                <td>
                  <code className="domain-value">{r.value}</code> <CopyButton value={r.value} label="Copy value" />
                </td>
                <td>{r.verified === null ? <span className="badge">suggested</span> : <Check ok={r.verified} label={r.verified ? "verified" : "not seen"} />}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Check({ ok, label }: { ok: boolean; label: string }) {
  return <span className={`badge ${ok ? "badge-good" : "badge-warn"}`}>{label}</span>;
}
