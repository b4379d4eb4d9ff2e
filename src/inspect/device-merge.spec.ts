import {
  oddRow,
  randomHistory,
  seedFromEnv,
  seededRandom,
} from '../../test/support/compaction-histories';
import { applyAll, ModelRow, project } from '../../test/support/web-client-model';
import { LoggedChange, replayRecord, WireChange } from './device-merge';

const NOW = '2026-01-01T00:00:03.500Z';

function logged(rows: readonly ModelRow[]): LoggedChange[] {
  return rows.map((row, i) => {
    const wire = project(row, 'r1') as unknown as WireChange & { eventId: string };
    return {
      eventId: `e${i}`,
      txId: String(i + 1),
      seq: '1',
      createdAt: row.createdAt,
      clientId: `${row.userId}-device`,
      userId: row.userId,
      spaceId: row.spaceId,
      origin: null,
      actor: wire.actor,
      wire,
    };
  });
}

describe('replayRecord', () => {
  const seed = seedFromEnv();
  const cases = Number(process.env.INSPECT_MERGE_CASES ?? 2000);

  it(`ends where the web client model ends, for random histories (SEED=${seed})`, () => {
    const random = seededRandom(seed);
    for (let n = 0; n < cases; n++) {
      let rows = randomHistory(random);
      if (random() < 0.2) rows = rows.map((row) => (random() < 0.3 ? oddRow(random, row) : row));
      const model = applyAll(undefined, rows, 'r1', NOW);
      const { record, history } = replayRecord('r1', logged(rows), NOW);
      const context = { seed, case: n, rows };

      if (!model) {
        expect({ ...context, state: record.state }).toEqual({ ...context, state: 'removed' });
        expect(history.flatMap((h) => h.writes).filter((w) => w.holds)).toEqual([]);
        continue;
      }
      const fromMerge = Object.fromEntries(
        Object.entries(record.fields).map(([k, f]) => [
          k,
          { value: f.value, at: f.at, actor: f.actor ?? { kind: 'user' } },
        ]),
      );
      const fromModel = Object.fromEntries(
        Object.keys(model.meta).map((k) => [
          k,
          { value: model.values[k], at: model.meta[k].at, actor: model.meta[k].actor },
        ]),
      );
      expect({ ...context, fields: fromMerge }).toEqual({ ...context, fields: fromModel });

      // Exactly one write holds each field the device has, and it is the one the record names.
      const holding = history.flatMap((h) =>
        h.writes.filter((w) => w.holds).map((w) => [w.field, h.change.eventId]),
      );
      expect({ ...context, holding: Object.fromEntries(holding) }).toEqual({
        ...context,
        holding: Object.fromEntries(Object.entries(record.fields).map(([k, f]) => [k, f.eventId])),
      });
      expect(holding).toHaveLength(Object.keys(record.fields).length);
    }
  });

  it(`explains every lost write by the change that beat it (SEED=${seed})`, () => {
    const random = seededRandom(seed + 1);
    for (let n = 0; n < cases; n++) {
      const changes = logged(randomHistory(random));
      const { history } = replayRecord('r1', changes, NOW);
      const index = new Map(changes.map((c, i) => [c.eventId, i]));
      history.forEach((entry, i) => {
        for (const write of entry.writes.filter((w) => !w.holds)) {
          const by = index.get(write.lostTo!)!;
          const winner = history[by];
          const context = { seed, case: n, change: i, write, winner: winner.change.wire };
          expect(context).toEqual({
            ...context,
            write: expect.objectContaining({ lostTo: expect.any(String) }),
          });
          if (write.reason === 'later-delete') {
            expect({ ...context, later: by > i, kind: winner.kind }).toEqual({
              ...context,
              later: true,
              kind: 'hard-delete',
            });
            continue;
          }
          const theirs = winner.writes.find((w) => w.field === write.field)!;
          expect(theirs).toBeDefined();
          if (write.reason === 'same-time') {
            expect({ ...context, later: by > i, same: theirs.at === write.at }).toEqual({
              ...context,
              later: true,
              same: true,
            });
          } else if (typeof theirs.at === 'string' && typeof write.at === 'string') {
            // Times that are not strings (a number) compare as JavaScript does: no order to check.
            expect({ ...context, newer: theirs.at > write.at }).toEqual({
              ...context,
              newer: true,
            });
          }
        }
      });
    }
  });

  it('says why each write of a small history lost', () => {
    const rows: ModelRow[] = [
      {
        userId: 'u',
        spaceId: null,
        op: 'insert',
        data: { title: 'a', updatedAt: '2026-01-01T10:00:00.000Z' },
        fieldMeta: {},
        createdAt: '2026-01-01T10:00:00.000000Z',
        actor: null,
      },
      {
        userId: 'u',
        spaceId: null,
        op: 'update',
        data: { title: 'late' },
        fieldMeta: { title: '2026-01-01T09:00:00.000Z' },
        createdAt: '2026-01-01T10:01:00.000000Z',
        actor: null,
      },
      {
        userId: 'u',
        spaceId: null,
        op: 'update',
        data: { title: 'b' },
        fieldMeta: { title: '2026-01-01T10:00:00.000Z' },
        createdAt: '2026-01-01T10:02:00.000000Z',
        actor: null,
      },
      {
        userId: 'u',
        spaceId: null,
        op: 'delete',
        data: {},
        fieldMeta: {},
        createdAt: '2026-01-01T10:03:00.000000Z',
        actor: null,
      },
      {
        userId: 'u',
        spaceId: null,
        op: 'delete',
        data: {},
        fieldMeta: {},
        createdAt: '2026-01-01T10:04:00.000000Z',
        actor: null,
      },
    ];
    const { record, history } = replayRecord('r1', logged(rows), NOW);
    expect(record.state).toBe('removed');
    expect(history.map((h) => [h.kind, h.creates, h.ignored])).toEqual([
      ['insert', true, undefined],
      ['update', false, undefined],
      ['update', false, undefined],
      ['hard-delete', false, undefined],
      ['hard-delete', false, 'the record is not on the device'],
    ]);
    const outcomes = history.map((h) => h.writes.map((w) => [w.field, w.reason, w.lostTo]));
    expect(outcomes).toEqual([
      [
        ['title', 'same-time', 'e2'],
        ['updatedAt', 'later-delete', 'e3'],
      ],
      [['title', 'older-time', 'e0']],
      [['title', 'later-delete', 'e3']],
      [],
      [],
    ]);
  });

  it('stamps an insert without times with the device clock, and says so', () => {
    const rows: ModelRow[] = [
      {
        userId: 'u',
        spaceId: null,
        op: 'insert',
        data: { title: 'x' },
        fieldMeta: {},
        createdAt: '2026-01-01T10:00:00.000000Z',
        actor: { kind: 'agent', id: 'a1' },
      },
    ];
    const { record } = replayRecord('r1', logged(rows), NOW);
    expect(record.state).toBe('present');
    expect(record.fields.title).toMatchObject({
      value: 'x',
      at: NOW,
      deviceTime: true,
      eventId: 'e0',
      clientId: 'u-device',
      actor: { kind: 'agent', id: 'a1' },
    });
  });
});
