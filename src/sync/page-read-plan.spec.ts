import { PageReadPlan, pullKey } from './page-read-plan';
import { parseSince } from './sync-cursor';

const later = parseSince(
  '2026-01-01T00:00:00.000' + '1'.padStart(19, '0') + '5'.padStart(19, '0') + 'Z',
);

describe('PageReadPlan', () => {
  it('reads from the beginning of the log by COPY (a new device, or a Go-era time)', () => {
    const plan = new PageReadPlan();
    expect(plan.byCopy(pullKey('u', 'todo', 'tasks', 'd'), parseSince(undefined))).toBe(true);
    expect(
      plan.byCopy(pullKey('u', 'todo', 'tasks', 'd'), parseSince('2020-01-01T00:00:00Z')),
    ).toBe(true);
  });

  it('reads a later page by COPY only while the same client has more behind its last page', () => {
    const plan = new PageReadPlan();
    const key = pullKey('u', 'todo', 'tasks', 'd');
    expect(plan.byCopy(key, later)).toBe(false);
    plan.read(key, true);
    expect(plan.byCopy(key, later)).toBe(true);
    expect(plan.byCopy(pullKey('u', 'todo', 'tasks', 'other'), later)).toBe(false);
    expect(plan.byCopy(pullKey('u', 'todo', 'notes', 'd'), later)).toBe(false);
    expect(plan.byCopy(pullKey('v', 'todo', 'tasks', 'd'), later)).toBe(false);
    plan.read(key, false);
    expect(plan.byCopy(key, later)).toBe(false);
  });

  it('keys do not run together', () => {
    expect(pullKey('a,b', 'c', 'd')).not.toBe(pullKey('a', 'b,c', 'd'));
    expect(pullKey('u', 'app', 'tasks')).toBe(pullKey('u', 'app', 'tasks', ''));
  });

  it('remembers a bounded number of clients, forgetting the least recent', () => {
    const plan = new PageReadPlan();
    for (let i = 0; i <= 10_000; i++) plan.read(pullKey('u', 'todo', 'tasks', `d${i}`), true);
    expect(plan.byCopy(pullKey('u', 'todo', 'tasks', 'd0'), later)).toBe(false);
    expect(plan.byCopy(pullKey('u', 'todo', 'tasks', 'd10000'), later)).toBe(true);
  });
});
