// GraphQL (Apollo, schema-first) and a socket.io gateway over the packed library, with no contextFactory, written
// without decorator syntax so that plain Node runs it: the default user of each transport (the GraphQL context's
// req.user, the socket's data.user, set by the application's authentication), the denials each speaks.
// Prints what it was answered as JSON, then closes and exits by itself.
require('reflect-metadata');
const { Module } = require('@nestjs/common');
const { APP_GUARD, NestFactory } = require('@nestjs/core');
const { ApolloDriver } = require('@nestjs/apollo');
const { GraphQLModule, Query, Resolver } = require('@nestjs/graphql');
const { SubscribeMessage, WebSocketGateway } = require('@nestjs/websockets');
const { io } = require('socket.io-client');
const { FeatureFlag, Flags, FlagsModule } = require('nestjs-posthog-flags');

/** The application's authentication: `x-user` becomes the GraphQL context's `req.user`. */
class HeaderAuthGuard {
  canActivate(context) {
    if (context.getType() !== 'graphql') return true;
    const req = context.getArgByIndex(2).req;
    if (req.headers['x-user']) req.user = { id: req.headers['x-user'] };
    return true;
  }
}

class BetaResolver {
  beta(flags) {
    return flags.distinctId;
  }
}

/** Its authentication: the handshake's `auth.user` becomes `client.data.user`. */
class BetaGateway {
  afterInit(server) {
    server.use((socket, next) => {
      if (socket.handshake.auth.user) socket.data.user = { id: socket.handshake.auth.user };
      next();
    });
  }
  beta(flags) {
    return flags.distinctId;
  }
}

function method(type, name, ...decorators) {
  const descriptor = Object.getOwnPropertyDescriptor(type.prototype, name);
  for (const decorate of decorators) decorate(type.prototype, name, descriptor);
  Flags()(type.prototype, name, 0);
}

Resolver()(BetaResolver);
method(BetaResolver, 'beta', Query('beta'), FeatureFlag('beta'));
WebSocketGateway()(BetaGateway);
method(BetaGateway, 'beta', SubscribeMessage('beta'), FeatureFlag('beta'));

class AppModule {}
Module({
  imports: [
    FlagsModule.forRoot(),
    GraphQLModule.forRoot({ driver: ApolloDriver, typeDefs: 'type Query { beta: String }' }),
  ],
  providers: [BetaResolver, BetaGateway, { provide: APP_GUARD, useClass: HeaderAuthGuard }],
})(AppModule);

async function graphql(base, user) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(user ? { 'x-user': user } : {}) },
    body: JSON.stringify({ query: '{ beta }' }),
  });
  const body = await response.json();
  return body.errors ? body.errors[0].extensions.code : body.data.beta;
}

async function socket(base, user) {
  const client = io(base, { transports: ['websocket'], auth: user ? { user } : {}, reconnection: false });
  try {
    await new Promise((resolve) => client.once('connect', resolve));
    const denied = new Promise((resolve) => client.once('exception', (payload) => resolve(payload.message)));
    return await Promise.race([client.emitWithAck('beta', {}), denied]);
  } finally {
    client.disconnect();
  }
}

async function main() {
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${app.getHttpServer().address().port}`;
  try {
    return {
      graphqlUser: await graphql(base, 'user-1'),
      graphqlAnonymous: await graphql(base),
      wsUser: await socket(base, 'user-1'),
      wsAnonymous: await socket(base),
    };
  } finally {
    await app.close();
  }
}

main()
  .then((outcome) => process.stdout.write(JSON.stringify(outcome)))
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
