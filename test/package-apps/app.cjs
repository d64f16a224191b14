// A minimal Nest 11 CommonJS application using the packed library: forRoot, the service and the guard.
// Prints what it was answered as JSON, then closes and exits by itself.
require('reflect-metadata');
const { Controller, Get, Module, Req } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { FeatureFlag, FlagsModule, FlagsService } = require('nestjs-posthog-flags');
const { defineApp } = require('./define-app.cjs');

defineApp({ Controller, Get, Module, Req, NestFactory, FeatureFlag, FlagsModule, FlagsService })
  .then((outcome) => process.stdout.write(JSON.stringify(outcome)))
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
