import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');

/** What the published declarations (`npm test` builds first) export, per entry point, as `package.json` lists them. */
function publishedApi(build: 'import' | 'require'): Record<string, Record<string, unknown>> {
  const { exports } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    exports: Record<string, string | Record<'import' | 'require', { types: string }>>;
  };
  const entries = Object.entries(exports).flatMap(([subpath, target]) =>
    typeof target === 'string' ? [] : [[subpath, join(ROOT, target[build].types)] as const],
  );
  const program = ts.createProgram(
    entries.map(([, file]) => file),
    { strict: true, skipLibCheck: true, noEmit: true, types: ['node'], module: ts.ModuleKind.NodeNext },
  );
  const checker = program.getTypeChecker();
  return Object.fromEntries(
    entries.map(([subpath, file]) => {
      const module = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
      const described = checker.getExportsOfModule(module).map((symbol) => {
        const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
        return [symbol.name, shapeOf(checker, target)] as const;
      });
      return [subpath, Object.fromEntries(described.sort(([a], [b]) => a.localeCompare(b)))];
    }),
  );
}

/** A class as its public members (static and instance, declared in this package); anything else as its kind. */
function shapeOf(checker: ts.TypeChecker, symbol: ts.Symbol): unknown {
  if (!(symbol.flags & ts.SymbolFlags.Class)) return symbol.flags & ts.SymbolFlags.Value ? 'value' : 'type';
  const declaration = symbol.valueDeclaration!;
  const ours = (members: ts.Symbol[]) =>
    members
      .filter((member) => {
        const at = member.valueDeclaration ?? member.declarations?.[0];
        if (!at || !at.getSourceFile().fileName.startsWith(DIST)) return false;
        return !(ts.getCombinedModifierFlags(at) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected));
      })
      .map((member) => member.name)
      // `#private` is how a declaration file marks that a class has private fields (#names): not a member.
      .filter((name) => name !== 'prototype' && !name.startsWith('#'))
      .sort();
  return {
    static: ours(checker.getPropertiesOfType(checker.getTypeOfSymbolAtLocation(symbol, declaration))),
    instance: ours(checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol))),
  };
}

const OVERRIDES = { static: [], instance: ['keys', 'reset', 'set'] };

/** The public API. A change here is a change of the package's contract: CHANGELOG it, and mind semver. */
const PUBLIC_API = {
  '.': {
    CacheErrorEvent: 'type',
    CacheUrlError: { static: [], instance: [] },
    CircuitBreakerOptions: 'type',
    CircuitChangedEvent: 'type',
    CircuitState: 'type',
    DEFAULT_CACHE_URL: 'value',
    DEFAULT_POSTHOG_HOST: 'value',
    DefinitionsFailedEvent: 'type',
    DefinitionsLoadedEvent: 'type',
    DefinitionsReload: 'type',
    DefinitionsStatus: 'type',
    EvaluateFlagsOptions: 'type',
    EvaluatedFlag: 'type',
    EventQueueOptions: 'type',
    ExposureOptions: 'type',
    ExposureStatus: 'type',
    FeatureFlag: 'value',
    FeatureFlagGuard: { static: [], instance: ['canActivate'] },
    FeatureFlagOptions: 'type',
    FlagContext: 'type',
    FlagContextFactory: 'type',
    FlagDefinitionsProvider: 'type',
    FlagDefinitionsProviderData: 'type',
    FlagDenial: 'type',
    FlagEvaluatedEvent: 'type',
    FlagEvaluations: {
      static: [],
      instance: [
        'bootstrap',
        'distinctId',
        'eventProperties',
        'getFlag',
        'getFlagPayload',
        'getFlagResult',
        'isEnabled',
        'keys',
        'only',
        'onlyAccessed',
        'toMap',
        'unresolvedFlags',
      ],
    },
    FlagOverride: 'type',
    FlagOverrides: 'type',
    FlagOverrideValue: 'type',
    FlagReadOptions: 'type',
    FlagResult: 'type',
    Flags: 'value',
    FlagsConfigError: { static: [], instance: [] },
    FlagsCounts: 'type',
    FlagSource: 'type',
    FlagsEvent: 'type',
    FlagsModule: { static: ['forRoot', 'forRootAsync'], instance: ['configure', 'onApplicationShutdown'] },
    FlagsModuleAsyncOptions: 'type',
    FlagsModuleOptions: 'type',
    FlagsModuleRootOptions: 'type',
    FlagsOptionsFactory: 'type',
    FlagsServiceBinding: 'type',
    FlagsService: {
      static: [],
      instance: [
        'bootstrap',
        'evaluateFlags',
        'events$',
        'getAllFlags',
        'getFlag',
        'getFlagPayload',
        'getFlagResult',
        'getFlagResults',
        'getRemoteConfigPayload',
        'isEnabled',
        'isLocalEvaluationReady',
        'onApplicationBootstrap',
        'reloadFeatureFlags',
        'status',
        'waitForLocalEvaluationReady',
      ],
    },
    FlagsStatus: 'type',
    FlagValue: 'type',
    flagValue: 'value',
    IntegerOption: 'type',
    IsEnabledOptions: 'type',
    LocalEvaluationOptions: 'type',
    maskCacheUrl: 'value',
    PostHogBootstrap: 'type',
    ReloadOutcome: 'type',
    UnresolvedReason: 'type',
    UpstreamError: { static: [], instance: ['reason', 'retryable'] },
    UpstreamFailedEvent: 'type',
    UpstreamFailureReason: 'type',
  },
  './health': {
    FlagsHealthIndicator: { static: [], instance: ['isHealthy', 'isReady'] },
  },
  './testing': {
    FakeBatch: 'type',
    FakeDefinitionsRequest: 'type',
    FakeEvent: 'type',
    FakeFlagAnswer: 'type',
    FakeFlagContext: 'type',
    FakeFlagRule: 'type',
    FakeFlagSetting: 'type',
    FakeFlagsRequest: 'type',
    FakeFlagsRequestBody: 'type',
    FakeFlagValue: 'type',
    FakeOutage: 'type',
    FakeOutageOptions: 'type',
    FakeRemoteConfigRequest: 'type',
    FakePostHog: {
      static: ['start'],
      instance: [
        'apiKey',
        'batches',
        'clearFlags',
        'close',
        'definitions',
        'definitionsEtag',
        'definitionsRequests',
        'deleteFlag',
        'events',
        'exposures',
        'outage',
        'remoteConfigRequests',
        'requests',
        'reset',
        'secretKey',
        'setFlag',
        'setOutage',
        'setRemoteConfig',
        'url',
      ],
    },
    FlagOverride: 'type',
    FlagOverrides: 'type',
    FlagOverrideValue: 'type',
    FlagsOverrides: OVERRIDES,
    FlagsTestingModule: { static: ['forRoot'], instance: ['configure'] },
    FlagsTestingOptions: 'type',
  },
  './openfeature': {
    PostHogFlagsProvider: {
      static: [],
      instance: [
        'bindFlagsService',
        'events',
        'initialize',
        'metadata',
        'onClose',
        'resolveBooleanEvaluation',
        'resolveNumberEvaluation',
        'resolveObjectEvaluation',
        'resolveStringEvaluation',
        'runsOn',
      ],
    },
    PostHogFlagsProviderOptions: 'type',
  },
};

describe('the published API', () => {
  it.each(['import', 'require'] as const)(
    'is exactly the public names and members, in the %s build (@internal stripped)',
    (build) => {
      expect(publishedApi(build)).toEqual(PUBLIC_API);
    },
  );

  it('declares nothing @internal', () => {
    const declarations = ts.sys.readDirectory(DIST, ['.d.ts']);
    const internal = declarations.filter((file) => readFileSync(file, 'utf8').includes('@internal'));
    expect(internal).toEqual([]);
    expect(declarations.length).toBeGreaterThan(50);
  });
});
