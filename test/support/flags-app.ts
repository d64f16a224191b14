import type { ExecutionContext } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { FlagsModule, FlagsService, type FlagContext, type FlagsModuleOptions } from '../../src/index.js';
import { CaptureLogger } from './capture-logger.js';

/** The API key the tests use: it must never appear in a log line or an error. */
export const TEST_API_KEY = 'phc_test_Secret_Key_1234567890';

/** A `contextFactory` for HTTP tests: the user is the request's `x-user` header; anonymous without one. */
export function userFromHeader(context: ExecutionContext): FlagContext | undefined {
  const id = context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-user'];
  return id ? { distinctId: id } : undefined;
}

/** A running FlagsModule (no HTTP server) with its service and captured logs. */
export interface FlagsHarness {
  moduleRef: TestingModule;
  flags: FlagsService;
  logs: CaptureLogger;
}

/** Compiles and initialises a module importing `FlagsModule.forRoot(options)`, with the test API key and fast retries. */
export async function startFlags(options: FlagsModuleOptions, logs = new CaptureLogger()): Promise<FlagsHarness> {
  const moduleRef = await Test.createTestingModule({
    imports: [FlagsModule.forRoot({ apiKey: TEST_API_KEY, timeoutMs: 500, ...options })],
  })
    .setLogger(logs)
    .compile();
  await moduleRef.init();
  return { moduleRef, flags: moduleRef.get(FlagsService), logs };
}
