import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { UseGuards, type CanActivate } from '@nestjs/common';
import { GUARDS_METADATA, guardsDeclaredAfter } from './guard-order.js';

class Authenticated implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

class Audited implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

@UseGuards(Authenticated)
class Controller {
  @UseGuards(Authenticated, Audited)
  handle(): void {}
}

describe('guard order', () => {
  it("reads the key the installed Nest's @UseGuards writes (its constant is not public)", () => {
    @UseGuards(Audited)
    class Probe {}
    const keys = Reflect.getOwnMetadataKeys(Probe).filter((key) => !String(key).startsWith('design:'));
    expect(keys).toEqual([GUARDS_METADATA]);
    expect(Reflect.getMetadata(GUARDS_METADATA, Probe)).toEqual([Audited]);
  });

  it("names the guards that run after the given one: the class's first, then the handler's", () => {
    expect(guardsDeclaredAfter(Controller, Controller.prototype.handle, Authenticated)).toEqual(['Audited']);
    expect(guardsDeclaredAfter(Controller, Controller.prototype.handle, Audited)).toEqual([]);
  });
});
