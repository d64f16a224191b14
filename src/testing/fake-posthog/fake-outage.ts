/**
 * @throws {TypeError} for an outage or option of none of the accepted forms.
 * @internal
 */
export function checkOutage(outage: unknown, options: { retryAfterSeconds?: number }): void {
  const status = typeof outage === 'number' && Number.isInteger(outage) && outage >= 400 && outage <= 599;
  if (outage !== undefined && !status && !['down', 'hanging', 'quota-limited'].includes(outage as string)) {
    throw new TypeError(`FakePostHog: an outage is 'down', 'hanging', 'quota-limited' or a 4xx/5xx status`);
  }
  const retry = options.retryAfterSeconds;
  if (retry !== undefined && !(Number.isInteger(retry) && retry >= 0)) {
    throw new TypeError('FakePostHog: retryAfterSeconds must be a non-negative integer');
  }
}
