// A minimal Nest 12 ESM application using the packed library: forRoot, the service and the guard.
// Prints what it was answered as JSON, then closes and exits by itself.
import 'reflect-metadata';
import { Controller, Get, Module, Req } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FeatureFlag, FlagsModule, FlagsService } from 'nestjs-posthog-flags';
import defineApp from './define-app.cjs';

const outcome = await defineApp.defineApp({
  Controller,
  Get,
  Module,
  Req,
  NestFactory,
  FeatureFlag,
  FlagsModule,
  FlagsService,
});
// Terminus is not installed here: the health subpath exists, and only it needs Terminus.
outcome.health = await import('nestjs-posthog-flags/health').then(
  () => 'loaded',
  (error) => (String(error.message).includes('@nestjs/terminus') ? 'needs @nestjs/terminus' : error.message),
);
outcome.openFeature = await openFeatureAnswers();
process.stdout.write(JSON.stringify(outcome));

/** The OpenFeature subpath loaded from ESM, without the Nest SDK: the provider bound, then set and waited for. */
async function openFeatureAnswers() {
  const { PostHogFlagsProvider } = await import('nestjs-posthog-flags/openfeature');
  const { OpenFeature } = await import('@openfeature/server-sdk');
  const provider = new PostHogFlagsProvider();
  class PlainModule {}
  Module({ imports: [FlagsModule.forRoot({ openFeature: provider })] })(PlainModule);
  const context = await NestFactory.createApplicationContext(PlainModule, { logger: false });
  try {
    await OpenFeature.setProviderAndWait(provider);
    const details = await OpenFeature.getClient().getStringDetails('checkout', 'control', { targetingKey: 'user-1' });
    return { value: details.value, variant: details.variant, reason: details.reason };
  } finally {
    await context.close();
    await OpenFeature.close();
  }
}
