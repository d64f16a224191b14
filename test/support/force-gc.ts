import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Runs full garbage collections now, without starting the process with `--expose-gc` (the flag is set at run time
 * and `gc` taken from a fresh context, as jest's own leak detection does).
 */
export function forceGc(times = 3): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let run = 0; run < times; run++) gc();
}
