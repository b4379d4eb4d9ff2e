import { BadRequestException } from '@nestjs/common';
import type { Request, Response } from 'express';
import { attachBodySource, BODY_SOURCE_MIN_BYTES, keepBodySource } from '../common/body-source';
import { toChangeset } from './change-mapper';
import { compareWithClassValidator } from '../../test/support/validation-property';
import { ChangeDto } from './dto/change.dto';
import { PushDto } from './dto/push.dto';
import { PushBodyPipe } from './push-body.pipe';

const SEED = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));

describe(`push body: the compiled rules (SEED=${SEED})`, () => {
  it.each([
    [
      'ChangeDto',
      ChangeDto,
      {
        eventId: '7f1b6c1e-1c1a-4a53-9b1e-2b0c9d7f3e10',
        schemaVersion: 1,
        table: 'tasks',
        id: 'task-1',
        op: 'insert',
        fields: { title: { value: 'milk', at: '2026-12-06T05:50:53.000Z' } },
        data: { title: 'milk' },
        deletedAt: '2026-12-06T05:50:53.000Z',
        spaceId: 'team-1',
        actor: { kind: 'user' },
        origin: 'user',
      },
    ],
    [
      'PushDto (its changes as holes: each is checked on its own)',
      PushDto,
      {
        clientId: 'laptop',
        since: '1970-01-01T00:00:00.000Z',
        changes: new Array(3),
        schemaVersion: 1,
      },
    ],
  ] as const)('%s: never valid where class-validator refuses', (_, cls, base) => {
    const { valid, fastPassed } = compareWithClassValidator(cls, base, SEED, 20_000);
    expect(valid).toBeGreaterThan(2_000);
    expect(fastPassed / valid).toBeGreaterThan(0.8);
  });

  it("refuses with class-validator's messages, naming the change", () => {
    const pipe = new PushBodyPipe();
    expect(() =>
      pipe.transform({ clientId: 'c', changes: [{ table: 'tasks', id: 'x', op: 'upsert' }] }),
    ).toThrow(
      new BadRequestException(
        'changes.0.op must be one of the following values: insert, update, delete',
      ),
    );
  });
});

describe('push body: the text of large records', () => {
  const parse = (text: string) => {
    const bytes = Buffer.from(text);
    const req = { body: JSON.parse(text) } as Request;
    keepBodySource(req, {} as Response, bytes, 'utf-8');
    attachBodySource(req, {} as Response, () => undefined);
    return toChangeset(new PushBodyPipe().transform(req.body), 1).rows;
  };
  const pad = `{"table":"t","id":"pad","op":"insert","data":{"p":"${'p'.repeat(BODY_SOURCE_MIN_BYTES)}"}}`;

  it('hands each change its data as the bytes it came as, when the body is large', () => {
    const rows = parse(
      `{"clientId":"c","changes":[{"table":"t","id":"a","op":"insert","data": {"x" : [1, "y"]} },` +
        `{"table":"t","id":"b","op":"update","fields":{"x":{"value":1}},"data":{"x":2}},` +
        `{"table":"t","id":"c","op":"insert","data":{"n":1.0}},${pad}]}`,
    );
    expect(rows.map((r) => r.dataText?.toString())).toEqual([
      '{"x" : [1, "y"]}',
      // fields, not data, are what an update stores
      undefined,
      // 1.0 would be stored as written, not as JSON.stringify writes it
      undefined,
      expect.stringMatching(/^\{"p":"p+"\}$/),
    ]);
    expect(rows[0]!.data).toEqual({ x: [1, 'y'] });
  });

  it('keeps nothing of a small body', () => {
    const rows = parse(
      `{"clientId":"c","changes":[{"table":"t","id":"a","op":"insert","data":{}}]}`,
    );
    expect(rows[0]!.dataText).toBeUndefined();
  });
});
