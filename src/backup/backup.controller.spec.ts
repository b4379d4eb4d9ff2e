import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { lastValueFrom, map, timer } from 'rxjs';
import { loadConfig } from '../config/app-config';
import { RequestTimeoutInterceptor } from '../limits/request-timeout.interceptor';
import { BackupController } from './backup.controller';

/** A handler that answers after 50 ms, under a request timeout of 1 ms. */
function runUnderTimeout(cls: object, handler: object): Promise<unknown> {
  const interceptor = new RequestTimeoutInterceptor(
    new Reflector(),
    loadConfig({ REQUEST_TIMEOUT_MS: '1' }).http,
  );
  const context = {
    getType: () => 'http',
    getHandler: () => handler,
    getClass: () => cls,
  } as unknown as ExecutionContext;
  const next: CallHandler = { handle: () => timer(50).pipe(map(() => 'answered')) };
  return lastValueFrom(interceptor.intercept(context, next));
}

describe('BackupController and the request timeout', () => {
  it('exempts export and import: an archive takes as long as the client reads or sends', async () => {
    const proto = BackupController.prototype;
    await expect(runUnderTimeout(BackupController, proto.export)).resolves.toBe('answered');
    await expect(runUnderTimeout(BackupController, proto.import)).resolves.toBe('answered');
  });

  it('still times out a route that is not exempt', async () => {
    class Plain {
      handler(): void {}
    }
    await expect(runUnderTimeout(Plain, Plain.prototype.handler)).rejects.toThrow(/timed out/);
  });
});
