// Which data-driven segments can change because of a person's event: each definition is read once
// into what it depends on (the attribute names it tests, the event names it counts, devices,
// subscription), and a workspace's segments are indexed by those. An identify re-evaluates the
// segments that read one of the changed attributes, an event the segments that count its name, so
// with fifty segments defined an event touches the few that care about it, or none.
import { leavesOf, parseConditions, type ChangedCondition, type Condition, type EventCondition } from "./segment-definition.js";

export interface CompiledSegment {
  segmentId: string;
  workspaceId: string;
  condition: Condition;
  events: Array<{ path: string; event: EventCondition }>;
  changes: Array<{ path: string; changed: ChangedCondition }>;
  /** Top-level attribute names it reads (the first part of a dotted field). */
  attributes: Set<string>;
  device: boolean;
  subscription: boolean;
  /** Whether evaluating it needs the person's facts (attributes, devices, subscription), or only kept matches. */
  readsFacts: boolean;
}

export function compileSegment(segmentId: string, workspaceId: string, conditions: unknown): CompiledSegment {
  const condition = parseConditions(conditions);
  const compiled: CompiledSegment = { segmentId, workspaceId, condition, events: [], changes: [], attributes: new Set(), device: false, subscription: false, readsFacts: false };
  for (const leaf of leavesOf(condition)) {
    switch (leaf.kind) {
      case "attribute":
        compiled.attributes.add(topLevel(leaf.test.field));
        break;
      case "changed":
        compiled.changes.push({ path: leaf.path, changed: leaf.changed });
        compiled.attributes.add(topLevel(leaf.changed.field));
        break;
      case "event":
        compiled.events.push({ path: leaf.path, event: leaf.event });
        break;
      case "device":
        compiled.device = true;
        break;
      case "subscription":
        compiled.subscription = true;
        break;
      default:
        break;
    }
  }
  compiled.readsFacts = leavesOf(condition).some((leaf) => leaf.kind === "attribute" || leaf.kind === "device" || leaf.kind === "subscription");
  return compiled;
}

function topLevel(field: string): string {
  const dot = field.indexOf(".");
  return dot < 0 ? field : field.slice(0, dot);
}

/**
 * Change keys that are the person's subscription rather than an attribute. The people domain
 * reports `unsubscribed` and topic preferences among the changes of person.identified.
 */
export function isSubscriptionKey(key: string): boolean {
  return key === "unsubscribed" || key.startsWith("topic") || key.startsWith("cio_subscription_preferences");
}

class WorkspaceIndex {
  readonly all: CompiledSegment[] = [];
  private readonly byAttribute = new Map<string, CompiledSegment[]>();
  private readonly byEvent = new Map<string, CompiledSegment[]>();
  readonly device: CompiledSegment[] = [];
  readonly subscription: CompiledSegment[] = [];

  add(segment: CompiledSegment): void {
    this.all.push(segment);
    for (const name of segment.attributes) push(this.byAttribute, name, segment);
    for (const name of new Set(segment.events.map((e) => e.event.name))) push(this.byEvent, name, segment);
    if (segment.device) this.device.push(segment);
    if (segment.subscription) this.subscription.push(segment);
  }

  forAttribute(key: string): CompiledSegment[] {
    return [...(this.byAttribute.get(key) ?? []), ...(key.includes(".") ? (this.byAttribute.get(topLevel(key)) ?? []) : [])];
  }

  forEvent(name: string): CompiledSegment[] {
    return this.byEvent.get(name) ?? [];
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

const NONE: CompiledSegment[] = [];

/** The data-driven segments of every workspace, indexed; rebuilt whole when a definition changes (rare). */
export class SegmentIndex {
  private workspaces = new Map<string, WorkspaceIndex>();
  private byId = new Map<string, CompiledSegment>();

  replace(segments: CompiledSegment[]): void {
    const workspaces = new Map<string, WorkspaceIndex>();
    const byId = new Map<string, CompiledSegment>();
    for (const segment of segments) {
      let index = workspaces.get(segment.workspaceId);
      if (!index) workspaces.set(segment.workspaceId, (index = new WorkspaceIndex()));
      index.add(segment);
      byId.set(segment.segmentId, segment);
    }
    this.workspaces = workspaces;
    this.byId = byId;
  }

  get(segmentId: string): CompiledSegment | null {
    return this.byId.get(segmentId) ?? null;
  }

  all(workspaceId: string): CompiledSegment[] {
    return this.workspaces.get(workspaceId)?.all ?? NONE;
  }

  /** The segments that read any of these changed attributes (or the subscription, when it changed). */
  forChanges(workspaceId: string, keys: readonly string[]): CompiledSegment[] {
    const index = this.workspaces.get(workspaceId);
    if (!index) return NONE;
    const found = new Set<CompiledSegment>();
    for (const key of keys) {
      for (const segment of index.forAttribute(key)) found.add(segment);
      if (isSubscriptionKey(key)) for (const segment of index.subscription) found.add(segment);
    }
    return [...found];
  }

  forEvent(workspaceId: string, name: string): CompiledSegment[] {
    return this.workspaces.get(workspaceId)?.forEvent(name) ?? NONE;
  }

  forDevices(workspaceId: string): CompiledSegment[] {
    return this.workspaces.get(workspaceId)?.device ?? NONE;
  }
}
