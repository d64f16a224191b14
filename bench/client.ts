/**
 * `npm run bench:client`: the CPU one `/flags` round trip costs (see `client-cost.ts`), median of 11 rounds of 400
 * calls, with the yardstick: ours ≤ 0.35 × fetch's (median of the rounds' ratios).
 */
import { measureClientCost, OURS_CLIENT } from './client-cost.js';

const YARDSTICK = 0.35;

const cost = await measureClientCost({ rounds: 11, callsPerRound: 400 });
console.log(
  `CPU per /flags round trip (client + loopback server, µs), median of ${cost.rounds} rounds of ${cost.callsPerRound} calls:`,
);
for (const [name, micros] of Object.entries(cost.microsPerCall)) {
  console.log(`  ${name.padEnd(30)} ${micros.toFixed(1).padStart(7)} µs`);
}
console.log(
  `\nyardstick: ours (${OURS_CLIENT}) ≤ ${YARDSTICK} × fetch's (median of the rounds' ratios): ` +
    `${cost.oursToFetch.toFixed(3)} × ${cost.oursToFetch <= YARDSTICK ? '✓' : '✗'}`,
);
