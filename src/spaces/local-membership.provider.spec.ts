import { Logger } from '@nestjs/common';
import { mkdtemp, rm, writeFile } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import { LocalMembershipProvider } from './local-membership.provider';

describe('LocalMembershipProvider', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-members-'));
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers none, available, without a file', async () => {
    const provider = await LocalMembershipProvider.open(undefined);
    expect(await provider.membershipsOf('alice')).toEqual({ spaceIds: [], available: true });
  });

  it('reads the file on every lookup, so edits apply at once', async () => {
    const file = join(dir, 'members.json');
    await writeFile(file, JSON.stringify({ alice: ['team-1'] }));
    const provider = await LocalMembershipProvider.open(file);
    expect(await provider.membershipsOf('alice')).toEqual({
      spaceIds: ['team-1'],
      available: true,
    });
    expect(await provider.membershipsOf('bob')).toEqual({ spaceIds: [], available: true });
    await writeFile(file, JSON.stringify({ alice: ['team-1'], bob: ['team-1', 'team-2'] }));
    expect((await provider.membershipsOf('bob')).spaceIds).toEqual(['team-1', 'team-2']);
  });

  it.each([
    ['a missing file', undefined, /^LOCAL_MEMBERSHIPS_FILE .*members\.json: ENOENT/],
    ['not JSON', '{alice', /^LOCAL_MEMBERSHIPS_FILE .*members\.json: .*JSON/],
    [
      'not a map of id lists',
      '{"alice": "team-1"}',
      /must be a JSON object mapping user ids to arrays of space ids/,
    ],
  ])('refuses to start with %s, in one line', async (_name, content, message) => {
    const file = join(dir, 'members.json');
    if (content !== undefined) await writeFile(file, content);
    await expect(LocalMembershipProvider.open(file)).rejects.toThrow(message);
  });

  it('answers none, unavailable, when the file breaks later, and says so once', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const file = join(dir, 'members.json');
    await writeFile(file, JSON.stringify({ alice: ['team-1'] }));
    const provider = await LocalMembershipProvider.open(file);
    await writeFile(file, '[');
    for (let i = 0; i < 3; i++) {
      expect(await provider.membershipsOf('alice')).toEqual({ spaceIds: [], available: false });
    }
    expect(warn).toHaveBeenCalledTimes(1);
  });
});
