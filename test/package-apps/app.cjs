// A minimal Nest 11 CommonJS application using the packed library: forRoot, the service and the guard; then
// the OpenFeature Nest SDK over its provider, on Express and on Fastify.
// Prints what it was answered as JSON, then closes and exits by itself.
require('reflect-metadata');
const { Controller, Get, Module, Req } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { FeatureFlag, FlagsModule, FlagsService } = require('nestjs-posthog-flags');
const { ExpressAdapter } = require('@nestjs/platform-express');
const { FastifyAdapter } = require('@nestjs/platform-fastify');
const { defineApp } = require('./define-app.cjs');
const { runOpenFeatureApp } = require('./openfeature-app.cjs');

async function main() {
  const outcome = await defineApp({
    Controller,
    Get,
    Module,
    Req,
    NestFactory,
    FeatureFlag,
    FlagsModule,
    FlagsService,
  });
  const nest = { Controller, Get, Module, NestFactory };
  outcome.openFeature = {
    express: await runOpenFeatureApp(nest, new ExpressAdapter()),
    fastify: await runOpenFeatureApp(nest, new FastifyAdapter()),
  };
  return outcome;
}

main()
  .then((outcome) => process.stdout.write(JSON.stringify(outcome)))
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
