// Copied as src/addons.spec.ts into the Nest 11 CommonJS app, beside the README's testing example, and run by
// `nest new`'s jest configuration (ts-jest, CommonJS): the add-ons as the README's Install command installs them.
// An ES-module-only major of any of them fails here with "Must use import to load ES Module".
import { Controller, Get, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { FlagsModule } from 'nestjs-posthog-flags';
import { FlagsHealthIndicator } from 'nestjs-posthog-flags/health';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly flagsHealth: FlagsHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.flagsHealth.isHealthy()]);
  }
}

// The README's Configuration example: options from ConfigService.
@Module({
  imports: [
    ConfigModule.forRoot({ ignoreEnvFile: true }),
    FlagsModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        apiKey: config.get<string>('POSTHOG_API_KEY', 'phc_package_test'),
        cacheUrl: config.get<string>('FLAGS_CACHE_URL', 'memory://local'),
        timeoutMs: config.get<string>('FLAGS_TIMEOUT_MS', '1000'),
      }),
    }),
    TerminusModule,
  ],
  controllers: [HealthController],
  providers: [FlagsHealthIndicator],
})
class AppModule {}

it('runs @nestjs/config, @nestjs/terminus and @nestjs/platform-fastify as the README installs them', async () => {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  try {
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).info['posthog-flags'].status).toBe('up');
  } finally {
    await app.close();
  }
});
