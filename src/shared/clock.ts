// Time as milliseconds since the epoch. Passed in rather than read globally so tests can move it.
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
