// The frame ring's wake-up rule (relay/native/ingress.cc, nap_for_rate), for the harness's gates:
// where a worker wakes per frame (socat's latency) and where it naps and takes a batch, and how
// much latency and batching the nap adds by design. The constants are the native ones;
// test/unit/wake-rule.test.ts reads ingress.cc so the two cannot drift.
export const NAP_RULE = {
  /** Frames/s per worker up to which a worker never naps. */
  startRate: 20_000,
  /** Frames/s at which the ramp reaches the longest nap. */
  fullRate: 36_000,
  /** The nap never exceeds this many frames' time. */
  frames: 8,
  /** The longest nap, µs. */
  maxNapUs: 200,
} as const;

/** The mean nap per empty ring, µs, of a worker receiving `rate` frames/s. */
export function napUs(rate: number): number {
  if (rate <= NAP_RULE.startRate) return 0;
  const ramp = (NAP_RULE.maxNapUs * (rate - NAP_RULE.startRate)) / (NAP_RULE.fullRate - NAP_RULE.startRate);
  return Math.min(ramp, NAP_RULE.maxNapUs, (NAP_RULE.frames / rate) * 1e6);
}

/** Frames a wake-up takes at `rate` frames/s: the one that woke it and those that came during its nap. */
export function framesPerWake(rate: number): number {
  return 1 + (rate * napUs(rate)) / 1e6;
}
