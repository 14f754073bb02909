// The filter form of the activity list: submitting it writes the filters into the address.
import { useState, type FormEvent } from "react";
import { FILTER_KEYS, STATES, type Filters } from "./filters";

export function ActivityFilters({ filters, onApply }: { filters: Filters; onApply: (filters: Filters) => void }) {
  const [draft, setDraft] = useState<Filters>(filters);
  const set = (key: keyof Filters) => (event: { target: { value: string } }) => setDraft({ ...draft, [key]: event.target.value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const out: Filters = {};
    for (const key of FILTER_KEYS) {
      const value = draft[key]?.trim();
      if (value) out[key] = value;
    }
    onApply(out);
  };
  const clear = () => {
    setDraft({});
    onApply({});
  };
  return (
    <form className="filters" role="search" aria-label="Filter messages" onSubmit={submit}>
      <label className="field activity-search">
        Search
        <input type="search" value={draft.q ?? ""} onChange={set("q")} placeholder="Subject or address" />
      </label>
      <label className="field">
        Recipient
        <input type="email" value={draft.recipient ?? ""} onChange={set("recipient")} placeholder="name@example.com" />
      </label>
      <label className="field">
        Tag
        <input value={draft.tag ?? ""} onChange={set("tag")} />
      </label>
      <label className="field">
        State
        <select value={draft.state ?? ""} onChange={set("state")}>
          <option value="">Any</option>
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        Stream
        <input value={draft.stream ?? ""} onChange={set("stream")} placeholder="outbound" />
      </label>
      <label className="field">
        From
        <input type="date" value={draft.from ?? ""} onChange={set("from")} />
      </label>
      <label className="field">
        To
        <input type="date" value={draft.to ?? ""} onChange={set("to")} />
      </label>
      <div className="page-actions">
        <button type="submit" className="button button-primary">
          Apply
        </button>
        <button type="button" className="button" onClick={clear}>
          Clear
        </button>
      </div>
    </form>
  );
}
