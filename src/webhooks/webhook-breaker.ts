// A circuit breaker per endpoint, in the dispatcher's memory: after `threshold` failures in a row
// an endpoint is paused (the dispatcher claims none of its posts, and gives back untouched any it
// had claimed, so nothing is lost and no attempt is spent), then probed with one post while the
// others still wait; a probe that succeeds closes the breaker, one that fails pauses it again for
// twice as long (up to maxPauseMs).
// Kept in memory because it is an optimisation, not a guarantee: a restarted process, or another
// one, starts closed and learns again after `threshold` failures.
export interface BreakerOptions {
  threshold: number;
  pauseMs: number;
  maxPauseMs: number;
}

interface EndpointState {
  failures: number;
  /** Paused until then; 0 when closed. */
  openUntil: number;
  pauseMs: number;
  probing: boolean;
}

export type Admission = { admit: true; probe: boolean } | { admit: false };

export class EndpointBreaker {
  private readonly endpoints = new Map<number, EndpointState>();

  constructor(private readonly options: BreakerOptions) {}

  /** Whether a post to the endpoint may be made now; a paused endpoint lets one probe through once its pause is over. */
  admit(endpoint: number, now: number): Admission {
    const state = this.endpoints.get(endpoint);
    if (!state || state.openUntil === 0) return { admit: true, probe: false };
    if (now < state.openUntil || state.probing) return { admit: false };
    state.probing = true;
    return { admit: true, probe: true };
  }

  succeeded(endpoint: number): void {
    this.endpoints.delete(endpoint);
  }

  failed(endpoint: number, now: number): void {
    const state = this.endpoints.get(endpoint) ?? { failures: 0, openUntil: 0, pauseMs: 0, probing: false };
    state.failures++;
    if (state.probing || state.openUntil !== 0) {
      // A failed probe: pause again, for longer.
      state.pauseMs = Math.min(state.pauseMs * 2, this.options.maxPauseMs);
      state.openUntil = now + state.pauseMs;
    } else if (state.failures >= this.options.threshold) {
      state.pauseMs = this.options.pauseMs;
      state.openUntil = now + state.pauseMs;
    }
    state.probing = false;
    this.endpoints.set(endpoint, state);
  }

  /** The endpoints whose posts are not to be claimed now: paused, or with their probe in flight. */
  held(now: number): number[] {
    return [...this.endpoints].filter(([, s]) => s.openUntil !== 0 && (now < s.openUntil || s.probing)).map(([id]) => id);
  }

  /** Whether the endpoint is paused (tests, logs). */
  isOpen(endpoint: number): boolean {
    return (this.endpoints.get(endpoint)?.openUntil ?? 0) !== 0;
  }
}
