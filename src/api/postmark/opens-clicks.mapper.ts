// Posthorn's opens and clicks (tracked_reads rows) as Postmark's OpenEvent and ClickEvent
// (postmark.js 5.1.0 models), and Postmark's Platform words in and out. Only this file knows those shapes.
import type { TrackedReadRow } from "../../tracking/tracking.service.js";

const PLATFORMS: Record<string, string> = { desktop: "Desktop", mobile: "Mobile", webmail: "WebMail", unknown: "Unknown" };

export function platformWord(platform: string): string {
  return PLATFORMS[platform] ?? "Unknown";
}

/** The platform a Platform filter names (case-insensitive), or undefined when it names none. */
export function platformOf(word: string): string | undefined {
  const lower = word.toLowerCase();
  return Object.keys(PLATFORMS).find((p) => PLATFORMS[p]!.toLowerCase() === lower);
}

function reader(r: TrackedReadRow) {
  return {
    Client: { Name: r.client_name, Company: r.client_company, Family: r.client_family },
    OS: { Name: r.os_name, Company: r.os_company, Family: r.os_family },
    Platform: platformWord(r.platform),
    UserAgent: r.user_agent,
    Geo: {
      CountryISOCode: r.country_iso ?? "",
      Country: r.country ?? "",
      RegionISOCode: r.region_iso ?? "",
      Region: r.region ?? "",
      City: r.city ?? "",
      Zip: r.zip ?? "",
      Coords: r.coords ?? "",
      IP: r.ip ?? "",
    },
    MessageID: r.message_id,
    MessageStream: r.stream,
    ReceivedAt: new Date(r.at).toISOString(),
    Tag: r.tag ?? "",
    Recipient: r.recipient ?? "",
  };
}

/** ReadSeconds: how long the pixel kept loading (src/api/tracking/read-timer.ts); 0 until measured, and for proxies. */
export function toOpenEvent(r: TrackedReadRow) {
  return { RecordType: "Open", FirstOpen: r.first === 1, ...reader(r), ReadSeconds: r.read_seconds ?? 0 };
}

export function toClickEvent(r: TrackedReadRow) {
  return { RecordType: "Click", ...reader(r), ClickLocation: r.location === "text" ? "Text" : "HTML", OriginalLink: r.link ?? "" };
}
