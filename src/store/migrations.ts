// Schema migrations, in code so they ship with the build, one file each under migrations/.
// Each gets the dialect because a few column types differ (auto-increment keys, 64-bit integers,
// binary data). Names sort in the order they apply; never rename or edit an applied one.
import type { Migration, MigrationProvider } from "kysely";
import type { Dialect } from "./store.js";
import { foundation } from "./migrations/001-foundation.js";
import { sendingDomains } from "./migrations/002-sending-domains.js";
import { destinationSlots } from "./migrations/003-destination-slots.js";
import { fairClaims } from "./migrations/004-fair-claims.js";
import { dsnNotify } from "./migrations/005-dsn-notify.js";
import { inbound } from "./migrations/006-inbound.js";
import { events } from "./migrations/007-events.js";
import { messageWords } from "./migrations/008-message-words.js";
import { webhooks } from "./migrations/009-webhooks.js";
import { dropUnusedDeliveryIndex } from "./migrations/010-unused-index.js";
import { postmarkSettings } from "./migrations/011-postmark-settings.js";
import { templates } from "./migrations/012-templates.js";
import { bounceReports } from "./migrations/013-bounce-reports.js";
import { outboundWebhooks } from "./migrations/014-outbound-webhooks.js";
import { tracking } from "./migrations/015-tracking.js";
import { dataRemovals } from "./migrations/017-data-removals.js";
import { senderSignatures } from "./migrations/018-sender-signatures.js";
import { bulkSends } from "./migrations/019-bulk.js";
import { streamTracking } from "./migrations/020-stream-tracking.js";
import { statsRollups } from "./migrations/016-stats-rollups.js";
import { people } from "./migrations/021-people.js";
import { segments } from "./migrations/022-segments.js";
import { statsCountedOnce } from "./migrations/023-stats-counted-once.js";
import { eventsByType } from "./migrations/024-events-by-type.js";
import { users } from "./migrations/033-users.js";
import { statsHourly } from "./migrations/035-stats-hourly.js";
import { journeys } from "./migrations/025-journeys.js";
import { outreach } from "./migrations/026-outreach.js";
import { perDelivery } from "./migrations/028-per-delivery.js";
import { readSeconds } from "./migrations/029-read-seconds.js";
import { broadcasts } from "./migrations/027-broadcasts.js";
import { exportFiles } from "./migrations/030-exports.js";
import { journeyEntry } from "./migrations/031-journey-entry.js";
import { activity } from "./migrations/034-activity.js";
import { activityOutcomes } from "./migrations/041-activity-outcomes.js";
import { retention } from "./migrations/043-retention.js";
import { traceContext } from "./migrations/044-trace-context.js";
import { inboundRetention } from "./migrations/045-inbound-retention.js";
import { eventKeysBehind } from "./migrations/046-event-keys-behind.js";
import { personChangeCount } from "./migrations/047-person-change-count.js";
import { segmentHistoryBySegment } from "./migrations/037-segment-history-by-segment.js";
import { messageSearch } from "./migrations/038-message-search.js";
import { webhookResponseSize } from "./migrations/039-webhook-response-size.js";
import { journeyStepExits } from "./migrations/040-journey-step-exits.js";

const MIGRATIONS: Array<[name: string, make: (dialect: Dialect) => Migration]> = [
  ["001_foundation", foundation],
  ["002_sending_domains", sendingDomains],
  ["003_destination_slots", destinationSlots],
  ["004_fair_claims", fairClaims],
  ["005_dsn_notify", dsnNotify],
  ["006_inbound", inbound],
  ["007_events", events],
  ["008_message_words", messageWords],
  ["009_webhooks", webhooks],
  ["010_unused_delivery_index", dropUnusedDeliveryIndex],
  ["011_postmark_settings", postmarkSettings],
  ["012_templates", templates],
  ["013_bounce_reports", bounceReports],
  ["014_outbound_webhooks", outboundWebhooks],
  ["015_tracking", tracking],
  ["017_data_removals", dataRemovals],
  ["018_sender_signatures", senderSignatures],
  ["019_bulk_sends", bulkSends],
  ["020_stream_tracking", streamTracking],
  ["016_stats_rollups", statsRollups],
  ["021_people", people],
  ["022_segments", segments],
  ["023_stats_counted_once", statsCountedOnce],
  ["024_events_by_type", eventsByType],
  ["025_journeys", journeys],
  ["026_outreach", outreach],
  ["028_per_delivery", perDelivery],
  ["029_read_seconds", readSeconds],
  ["027_broadcasts", broadcasts],
  ["030_exports", exportFiles],
  ["031_journey_entry", journeyEntry],
  ["033_users", users],
  ["034_activity", activity],
  ["035_stats_hourly", statsHourly],
  ["037_segment_history_by_segment", segmentHistoryBySegment],
  ["038_message_search", messageSearch],
  ["039_webhook_response_size", webhookResponseSize],
  ["040_journey_step_exits", journeyStepExits],
  ["041_activity_outcomes", activityOutcomes],
  ["043_retention", retention],
  ["044_trace_context", traceContext],
  ["045_inbound_retention", inboundRetention],
  ["046_event_keys_behind", eventKeysBehind],
  ["047_person_change_count", personChangeCount],
];

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return {
    async getMigrations() {
      return Object.fromEntries(MIGRATIONS.map(([name, make]) => [name, make(dialect)]));
    },
  };
}
