/** Source of the current time in milliseconds. Injectable so expiry can be tested without sleeping. */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };
