import type { Provider, Type } from '@nestjs/common';
import { CoalescingStage } from './coalescing-stage.js';
import { FreshWindowStage } from './fresh-window-stage.js';
import { LocalFirstStage } from './local-first-stage.js';
import { OverridesStage } from './overrides-stage.js';
import { AFTER_COALESCING, AFTER_LOCAL_FIRST, AFTER_OVERRIDES, type NextStage } from './stage-links.js';
import { UpstreamStage } from './upstream-stage.js';

/** Hands what a stage leaves to `stage` (checked: `stage` does what the token says). */
function next<T>(token: NextStage<T>, stage: Type<T>): Provider {
  return { provide: token, useExisting: stage };
}

/**
 * The evaluation path, in order: each stage answers what it can and hands the rest to the next, which it receives
 * by injection of the token set here (see `README.md` beside this file).
 *
 * 1. {@link OverridesStage}: the way in; keys an override fixes are not asked further.
 * 2. {@link LocalFirstStage}: the flag definitions decide what they can (`local`).
 * 3. {@link CoalescingStage}: identical evaluations in flight (or held) share one answer.
 * 4. {@link FreshWindowStage}: a young enough cache entry answers (`cache`).
 * 5. {@link UpstreamStage}: PostHog (`remote`), else the fallback cache (`fallback`); the last stage.
 *
 * The fresh window hands the upstream stage its cache read and the refreshes behind its answers: it names
 * {@link UpstreamStage} itself.
 */
export const EVALUATION_PATH: Provider[] = [
  OverridesStage,
  next(AFTER_OVERRIDES, LocalFirstStage),
  LocalFirstStage,
  next(AFTER_LOCAL_FIRST, CoalescingStage),
  CoalescingStage,
  next(AFTER_COALESCING, FreshWindowStage),
  FreshWindowStage,
  UpstreamStage,
];
