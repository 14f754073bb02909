// A PeopleService wired as the container wires it, for tests and benchmarks that use the domain
// without a running server. Public delivery ids are made and read with one fixed key.
import type { Store } from "../../store/store.js";
import type { Clock } from "../../shared/clock.js";
import type { Spans } from "../../shared/spans.js";
import { EventsRepository } from "../../events/events.repository.js";
import { Outbox } from "../../events/outbox.js";
import { PublicDeliveryIds } from "../../messages/public-delivery-ids.js";
import { PeopleService } from "../people.service.js";
import { PeopleRepository } from "../people.repository.js";
import { PersonEventsRepository } from "../person-events.repository.js";
import { DeliveryRecipientRepository } from "../delivery-recipient.repository.js";

export const TEST_DELIVERY_ID_KEY = Buffer.alloc(32, 7);

export function peopleServiceFor(
  store: Store,
  clock: Clock,
  options: { outbox?: Outbox; events?: PersonEventsRepository; dedupeWindowMs?: number; spans?: Spans } = {},
): PeopleService {
  return new PeopleService({
    store,
    clock,
    outbox: options.outbox ?? new Outbox({ repository: new EventsRepository(store.dialect), clock }),
    people: new PeopleRepository(),
    events: options.events ?? new PersonEventsRepository(store.dialect),
    deliveries: new DeliveryRecipientRepository(),
    deliveryIds: new PublicDeliveryIds(TEST_DELIVERY_ID_KEY),
    ...(options.dedupeWindowMs !== undefined ? { dedupeWindowMs: options.dedupeWindowMs } : {}),
    ...(options.spans ? { spans: options.spans } : {}),
  });
}
