/** What `status().exposures` reports. */
export interface ExposureStatus {
  /** Events waiting to be sent. */
  queued: number;
  /** Events PostHog accepted. */
  sent: number;
  /** Events given up: past `maxQueueSize` (the oldest), or refused by PostHog with a 4xx. */
  dropped: number;
  lastFailure?: { at: Date; reason: string };
}
