// The live activity list: the first page through react-query, then every POLL_MS the messages
// newer than the newest seen (prepended) and the current states of shown rows that can still
// change; "Load older" appends the next page by its cursor. Filters are part of every call.
import { useCallback, useEffect, useRef, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import type { MessageListAnswer, MessageStatesAnswer, MessageSummary } from "@contract/activity.contract";
import { apiGet, workspacePath } from "../../api/client";
import { stillMoving, type Filters } from "./filters";

/** How often the list asks for what is new: fresh enough to watch a send land, light on the server. */
export const POLL_MS = 3_000;
const PAGE = 50;

interface ListState {
  /** What the rows came from: a change of filters starts over. */
  key: string;
  rows: MessageSummary[];
  next: string | null;
  newest: string | null;
  partial: boolean;
  /** A search while older messages are still being indexed for it (the answer's searchIndexing). */
  searchIndexing: boolean;
  /** Ids that arrived by polling (highlighted). */
  arrived: Set<string>;
}

export function useActivityList(workspaceId: string, filters: Filters) {
  const key = JSON.stringify([workspaceId, filters]);
  const path = workspacePath(workspaceId, "/messages");
  const first = useQuery({
    queryKey: ["activity", workspaceId, filters],
    queryFn: ({ signal }) => apiGet<MessageListAnswer>(path, { ...filters, count: PAGE }, { signal }),
    refetchOnWindowFocus: false,
  });
  const [list, setList] = useState<ListState | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [pollError, setPollError] = useState<unknown>(null);
  const current = list?.key === key ? list : null;
  const latest = useRef(current);
  latest.current = current;

  useEffect(() => {
    if (first.data) setList({ key, rows: first.data.messages, next: first.data.next, newest: first.data.newest, partial: first.data.partial, searchIndexing: first.data.searchIndexing, arrived: new Set() });
  }, [first.data, key]);

  useEffect(() => {
    if (!current) return;
    let stopped = false;
    const tick = async () => {
      const shown = latest.current;
      if (!shown || stopped) return;
      try {
        const newer = shown.newest ? await apiGet<MessageListAnswer>(path, { ...filters, after: shown.newest, count: PAGE }) : await apiGet<MessageListAnswer>(path, { ...filters, count: PAGE });
        const moving = shown.rows.filter((r) => stillMoving(r.state)).map((r) => r.id).slice(0, 100);
        const states = moving.length > 0 ? await apiGet<MessageStatesAnswer>(workspacePath(workspaceId, "/messages/states"), { ids: moving.join(",") }) : { states: {} };
        if (stopped) return;
        setPollError(null);
        setList((prev) => {
          if (!prev || prev.key !== key) return prev;
          const seen = new Set(prev.rows.map((r) => r.id));
          const added = newer.messages.filter((m) => !seen.has(m.id));
          const rows = [...added, ...prev.rows].map((r) => {
            const state = states.states[r.id];
            return state && state !== r.state ? { ...r, state } : r;
          });
          return { ...prev, rows, newest: newer.newest ?? prev.newest, arrived: new Set([...prev.arrived, ...added.map((m) => m.id)]) };
        });
      } catch (err) {
        if (!stopped) setPollError(err);
      }
    };
    const timer = setInterval(() => void tick(), POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
    // The poll restarts only when the list starts over (new filters), not on each update.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [current?.key]);

  const loadOlder = useCallback(async () => {
    const shown = latest.current;
    if (!shown?.next) return;
    setLoadingOlder(true);
    try {
      const older = await apiGet<MessageListAnswer>(path, { ...filters, before: shown.next, count: PAGE });
      setList((prev) => {
        if (!prev || prev.key !== key) return prev;
        const seen = new Set(prev.rows.map((r) => r.id));
        return { ...prev, rows: [...prev.rows, ...older.messages.filter((m) => !seen.has(m.id))], next: older.next, partial: older.partial };
      });
    } catch (err) {
      setPollError(err);
    } finally {
      setLoadingOlder(false);
    }
  }, [key, path, filters]);

  return { first, list: current, loadOlder, loadingOlder, pollError };
}
