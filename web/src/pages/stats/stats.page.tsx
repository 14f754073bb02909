// Stats: what a workspace's mail did per day — accepted, delivered, bounced, opened, clicked —
// with the rates, bounces by type and the destinations it went to, filtered by stream and tag.
import { useMemo, useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import type { StatsAnswer, StatsBucket } from "@contract/stats.contract";
import { apiGet, workspacePath } from "../../api/client";
import { useWorkspace } from "../../session";
import { PageHeader } from "../../ui/page";
import { Empty, ErrorNotice, Loading } from "../../ui/states";
import { LineChart, type ChartSeries } from "./chart";
import "./stats.css";

const DAY_MS = 86_400_000;
/** Days a range spans; one and two days are drawn by the hour (HOURLY_MAX_DAYS). */
const RANGES: ReadonlyArray<[number, string]> = [
  [1, "Today"],
  [2, "Last 2 days"],
  [7, "Last 7 days"],
  [30, "Last 30 days"],
  [90, "Last 90 days"],
];

const percent = (v: number | null) => (v === null ? "—" : `${(v * 100).toFixed(1)}%`);
const count = (v: number) => v.toLocaleString();

const COUNT_SERIES: Array<ChartSeries & { key: keyof Pick<StatsBucket, "accepted" | "delivered" | "bounced" | "opened" | "clicked"> }> = [
  { key: "accepted", label: "Accepted", color: "#2563eb", format: (v) => count(Math.round(v)) },
  { key: "delivered", label: "Delivered", color: "#16a34a", format: (v) => count(Math.round(v)) },
  { key: "bounced", label: "Bounced", color: "#dc2626", format: (v) => count(Math.round(v)) },
  { key: "opened", label: "Opened", color: "#9333ea", format: (v) => count(Math.round(v)) },
  { key: "clicked", label: "Clicked", color: "#ea580c", format: (v) => count(Math.round(v)) },
];

const RATE_SERIES: Array<ChartSeries & { key: keyof StatsBucket["rates"] }> = [
  { key: "delivery", label: "Delivery rate", color: "#16a34a", format: (v) => `${Math.round(v * 100)}%` },
  { key: "bounce", label: "Bounce rate", color: "#dc2626", format: (v) => `${Math.round(v * 100)}%` },
  { key: "open", label: "Open rate", color: "#9333ea", format: (v) => `${Math.round(v * 100)}%` },
  { key: "click", label: "Click rate", color: "#ea580c", format: (v) => `${Math.round(v * 100)}%` },
];

function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export default function StatsPage() {
  const workspace = useWorkspace();
  const [days, setDays] = useState<number>(30);
  const [stream, setStream] = useState("");
  const [tag, setTag] = useState("");
  const [tagInput, setTagInput] = useState("");
  const to = dayOf(Date.now());
  const from = dayOf(Date.now() - (days - 1) * DAY_MS);
  const query = { from, to, stream: stream || undefined, tag: tag || undefined };
  const stats = useQuery({
    queryKey: ["stats", workspace.id, query],
    queryFn: ({ signal }) => apiGet<StatsAnswer>(workspacePath(workspace.id, "/stats"), query, { signal }),
  });

  const applyTag = (e: FormEvent) => {
    e.preventDefault();
    setTag(tagInput.trim());
  };

  return (
    <>
      <PageHeader title="Stats" subtitle="Outbound mail per day, or per hour over a day or two (UTC): what was accepted, delivered, bounced, opened and clicked." />
      <form className="filters" onSubmit={applyTag} aria-label="Stats filters">
        <label className="field">
          <span>Range</span>
          <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
            {RANGES.map(([n, label]) => (
              <option key={n} value={n}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Stream</span>
          <select value={stream} onChange={(e) => setStream(e.target.value)}>
            <option value="">Every stream</option>
            {stats.data?.streams.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Tag</span>
          <input value={tagInput} onChange={(e) => setTagInput(e.target.value)} placeholder="Every tag" />
        </label>
        <button type="submit" className="button">
          Apply
        </button>
      </form>
      {stats.isPending && <Loading label="Loading stats" />}
      {stats.isError && <ErrorNotice error={stats.error} />}
      {stats.data && <StatsView data={stats.data} />}
    </>
  );
}

function StatsView({ data }: { data: StatsAnswer }) {
  const x = useMemo(() => data.series.map((b) => Date.parse(b.at) / 1000), [data]);
  // Days are drawn at UTC midnight; uPlot labels its axis in the browser's time zone.
  const counts = useMemo(() => COUNT_SERIES.map((s) => data.series.map((b) => b[s.key])), [data]);
  const rates = useMemo(() => RATE_SERIES.map((s) => data.series.map((b) => b.rates[s.key])), [data]);
  const t = data.totals;
  const per = data.bucket === "hour" ? "hour" : "day";
  // The charts show every bucket; the table lists those with something in them, newest first.
  const active = useMemo(() => data.series.filter((b) => COUNT_SERIES.some((c) => b[c.key] > 0)).reverse(), [data]);
  const label = (at: string) => (data.bucket === "hour" ? `${at.slice(0, 10)} ${at.slice(11, 16)}` : at);
  return (
    <>
      <div className="cards" aria-label="Totals">
        <Card label="Accepted" value={count(t.accepted)} />
        <Card label="Delivered" value={count(t.delivered)} />
        <Card label="Bounced" value={count(t.bounced)} />
        <Card label="Opened" value={count(t.opened)} />
        <Card label="Clicked" value={count(t.clicked)} />
        <Card label="Delivery rate" value={percent(t.rates.delivery)} />
        <Card label="Bounce rate" value={percent(t.rates.bounce)} />
        <Card label="Open rate" value={percent(t.rates.open)} />
        <Card label="Click rate" value={percent(t.rates.click)} />
      </div>
      <div className="stats-charts">
        <LineChart title={`Counts per ${per}`} bucket={data.bucket} x={x} series={COUNT_SERIES} values={counts} />
        <LineChart title={`Rates per ${per}`} bucket={data.bucket} x={x} series={RATE_SERIES} values={rates} yRange={[0, 1]} />
      </div>

      <h2>Per {per}</h2>
      {active.length === 0 ? (
        <Empty>Nothing was accepted, delivered, bounced, opened or clicked in this range.</Empty>
      ) : (
        <div className="table-wrap">
          <table className="table" aria-label={`Counts per ${per}`}>
            <thead>
              <tr>
                <th>{per === "hour" ? "Hour (UTC)" : "Day"}</th>
                {COUNT_SERIES.map((s) => (
                  <th key={s.key} className="num">
                    {s.label}
                  </th>
                ))}
                <th className="num">Delivery rate</th>
                <th className="num">Open rate</th>
              </tr>
            </thead>
            <tbody>
              {active.map((b) => (
                <tr key={b.at}>
                  <td className="stats-at">{label(b.at)}</td>
                  {COUNT_SERIES.map((s) => (
                    <td key={s.key} className="num">
                      {count(b[s.key])}
                    </td>
                  ))}
                  <td className="num">{percent(b.rates.delivery)}</td>
                  <td className="num">{percent(b.rates.open)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="stats-columns">
        <section>
          <h2>Bounces by type</h2>
          {data.bouncesByType.length === 0 ? (
            <Empty>No bounces in this range.</Empty>
          ) : (
            <div className="table-wrap">
              <table className="table" aria-label="Bounces by type">
                <thead>
                  <tr>
                    <th>Type</th>
                    <th className="num">Bounces</th>
                  </tr>
                </thead>
                <tbody>
                  {data.bouncesByType.map((b) => (
                    <tr key={b.type}>
                      <td>{b.type}</td>
                      <td className="num">{count(b.count)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
        <section>
          <h2>Top destinations</h2>
          {data.destinations.length === 0 ? (
            <Empty>No deliveries in this range.</Empty>
          ) : (
            <div className="table-wrap">
              <table className="table" aria-label="Top destinations">
                <thead>
                  <tr>
                    <th>Domain</th>
                    <th className="num">Deliveries</th>
                    <th className="num">Delivery rate</th>
                    <th className="num">Waiting now</th>
                  </tr>
                </thead>
                <tbody>
                  {data.destinations.map((d) => (
                    <tr key={d.domain}>
                      <td>{d.domain}</td>
                      <td className="num">{count(d.total)}</td>
                      <td className="num">{percent(d.deliveryRate)}</td>
                      <td className="num">{count(d.waiting)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </div>
    </>
  );
}

function Card({ label, value }: { label: string; value: string }) {
  return (
    <div className="card">
      <div className="value">{value}</div>
      <div className="label">{label}</div>
    </div>
  );
}
