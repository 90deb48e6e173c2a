/**
 * Redelivery delay after `attempts` deliveries: the window doubles from `min`
 * per attempt up to `max`, and the delay is a uniform pick inside it (full
 * jitter) so consumers that failed together do not retry together. `min` stays
 * a floor: a consumer asking for at least a second between tries gets it.
 * `random` is injectable for tests.
 *
 * @example
 * backoffDelay(3, { min: 1000, max: 60000 }); // somewhere in [1000, 4000]
 */
export function backoffDelay(
  attempts: number,
  bounds: { min: number; max: number },
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 30);
  const cap = Math.min(bounds.max, bounds.min * 2 ** exponent);
  return bounds.min + Math.floor(random() * (cap - bounds.min + 1));
}
