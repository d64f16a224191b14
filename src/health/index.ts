export { FlagsHealthIndicator } from './flags.health.js';
