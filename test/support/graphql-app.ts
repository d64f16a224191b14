import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import {
  Controller,
  Get,
  GoneException,
  Injectable,
  type CallHandler,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import type { Observable } from 'rxjs';
import { Field, GraphQLModule, Mutation, ObjectType, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { Test } from '@nestjs/testing';
import {
  FeatureFlag,
  FlagEvaluations,
  Flags,
  FlagsModule,
  FlagsService,
  type FlagsModuleOptions,
} from '../../src/index.js';
import type { CaptureLogger } from './capture-logger.js';

/** A header's value, as authentication would read a token. */
function header(request: { headers?: Record<string, unknown> } | undefined, name: string): string | undefined {
  const value = request?.headers?.[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * An application's authentication, as a global guard: `x-user` becomes `req.user.id` on the HTTP request, or on
 * the request of the GraphQL context (Nest's default `{ req }`).
 */
@Injectable()
class HeaderAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    type Request = { headers: Record<string, unknown>; user?: unknown };
    const request =
      context.getType<string>() === 'graphql'
        ? context.getArgByIndex<{ req?: Request }>(2)?.req
        : context.switchToHttp().getRequest<Request>();
    const id = header(request, 'x-user');
    if (request && id) request.user = { id };
    return true;
  }
}

/**
 * An application's global interceptor (it runs before the module's), asking for a flag without a context: an
 * HTTP response says in `x-beta` whether beta is on for the request's user.
 */
@Injectable()
class BetaHeaderInterceptor implements NestInterceptor {
  constructor(private readonly flags: FlagsService) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (context.getType() === 'http') {
      const beta = await this.flags.isEnabled('beta');
      context
        .switchToHttp()
        .getResponse<{ setHeader(name: string, value: string): void }>()
        .setHeader('x-beta', String(beta));
    }
    return next.handle();
  }
}

/** What a resolver read of the request's flags. */
@ObjectType()
export class FlagsSeen {
  @Field()
  distinctId!: string;

  @Field()
  beta!: boolean;

  @Field()
  service!: boolean;

  @Field({ nullable: true })
  secret?: string;
}

@Resolver(() => FlagsSeen)
class FlagsResolver {
  constructor(private readonly flags: FlagsService) {}

  @Query(() => FlagsSeen)
  @FeatureFlag('beta')
  async beta(@Flags() flags: FlagEvaluations): Promise<FlagsSeen> {
    return this.seen(flags);
  }

  @Query(() => FlagsSeen)
  async open(@Flags() flags: FlagEvaluations): Promise<FlagsSeen> {
    return this.seen(flags);
  }

  @Query(() => Boolean)
  async contextless(): Promise<boolean> {
    return this.flags.isEnabled('beta');
  }

  @Mutation(() => FlagsSeen)
  @FeatureFlag('beta', { exception: () => new GoneException('beta writes are gone') })
  async write(@Flags() flags: FlagEvaluations): Promise<FlagsSeen> {
    return this.seen(flags);
  }

  /** Guarded with `fieldResolverEnhancers: ['guards']` only. */
  @ResolveField(() => String, { nullable: true })
  @FeatureFlag('secret')
  secret(@Parent() parent: FlagsSeen): string {
    return `secret for ${parent.distinctId}`;
  }

  private async seen(flags: FlagEvaluations): Promise<FlagsSeen> {
    return { distinctId: flags.distinctId, beta: flags.isEnabled('beta'), service: await this.flags.isEnabled('beta') };
  }
}

@Controller('rest')
class RestController {
  constructor(private readonly flags: FlagsService) {}

  @Get('beta')
  @FeatureFlag('beta')
  beta() {
    return { ok: true };
  }

  @Get('contextless')
  async contextless() {
    return { beta: await this.flags.isEnabled('beta') };
  }
}

/** An Apollo (Express 5) code-first application with a REST controller beside it, and the module's options. */
export async function startGraphqlApp(
  options: FlagsModuleOptions,
  logs: CaptureLogger,
  fieldResolverEnhancers: ('guards' | 'interceptors')[] = ['guards'],
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      FlagsModule.forRoot({ retries: 0, ...options }),
      GraphQLModule.forRoot<ApolloDriverConfig>({
        driver: ApolloDriver,
        autoSchemaFile: true,
        fieldResolverEnhancers,
        allowBatchedHttpRequests: true,
      }),
    ],
    controllers: [RestController],
    providers: [
      FlagsResolver,
      { provide: APP_GUARD, useClass: HeaderAuthGuard },
      { provide: APP_INTERCEPTOR, useClass: BetaHeaderInterceptor },
    ],
  })
    .setLogger(logs)
    .compile();
  const app = moduleRef.createNestApplication({ logger: logs });
  await app.init();
  return app;
}
