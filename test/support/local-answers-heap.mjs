// Heap growth of local evaluation's remembered answers, on the built package (dist/esm/), in a process of its own
// started with --expose-gc: FLAGS payloads of PAYLOAD_BYTES each, every flag evaluated for USERS users through
// LocalAnswers (as the guard asks), the heap measured after a full GC before and after. Prints the growth in bytes.
import { indexDefinitions, parseDefinitions } from '../../dist/esm/local/definitions.js';
import { LocalAnswers } from '../../dist/esm/evaluation/local-answers.js';

const [flagCount, payloadBytes, users] = process.argv.slice(2).map(Number);
const payload = JSON.stringify({
  items: Array.from({ length: Math.floor(payloadBytes / 40) }, (_, i) => ({ id: i, name: `item-${i}-xxxxxxxx` })),
});
const flags = Array.from({ length: flagCount }, (_, index) => ({
  key: `flag-${index}`,
  active: true,
  filters: { groups: [{ properties: [], rollout_percentage: 100 }], payloads: { true: payload } },
}));
const definitions = indexDefinitions(parseDefinitions({ flags, group_type_mapping: {}, cohorts: {} }));
const answers = new LocalAnswers();
const now = () => new Date();

const heap = () => {
  global.gc();
  global.gc();
  return process.memoryUsage().heapUsed;
};
answers.answer(definitions, 'warm-up', { distinctId: 'warm-up' }, undefined, now);
const before = heap();
let payloadsSeen = 0;
for (let index = 0; index < users; index++) {
  const distinctId = `user-${index}`;
  const { results } = answers.answer(definitions, distinctId, { distinctId }, undefined, now);
  payloadsSeen += [...results.values()].filter((result) => result.payload !== undefined).length;
}
const after = heap();
process.stdout.write(JSON.stringify({ growth: after - before, payloadsSeen, payloadLength: payload.length }));
