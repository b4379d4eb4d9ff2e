import { Logger } from '@nestjs/common';
import { createServer, Server } from 'http';
import { AddressInfo } from 'net';
import { loadConfig } from '../config/app-config';
import { HttpMembershipProvider } from './http-membership.provider';

describe('HttpMembershipProvider: an unreachable or failing mana-auth', () => {
  let server: Server;
  let failing = true;
  let warn: jest.SpyInstance;
  let log: jest.SpyInstance;

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.statusCode = failing ? 503 : 200;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ userId: 'u', memberships: [{ organizationId: 'team-1' }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('warns once per outage (not per lookup), and says when lookups work again', async () => {
    const { port } = server.address() as AddressInfo;
    const { auth, spaces, internalHttp } = loadConfig({
      MANA_AUTH_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: 'postgres://x@y/z',
    });
    const provider = new HttpMembershipProvider(auth, spaces, internalHttp);
    for (const user of ['a', 'b', 'c', 'd']) {
      expect(await provider.membershipsOf(user)).toEqual({ spaceIds: [], available: false });
    }
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toBe(
      `membership lookup at http://127.0.0.1:${port} failed, answering none: GET /api/v1/internal/users/a/memberships answered 503; check MANA_AUTH_URL and MANA_SERVICE_KEY`,
    );

    failing = false;
    expect(await provider.membershipsOf('e')).toEqual({ spaceIds: ['team-1'], available: true });
    expect(log).toHaveBeenCalledWith('membership lookups work again (4 answered none)');
    failing = true;
    await provider.membershipsOf('f');
    expect(warn).toHaveBeenCalledTimes(2);
  });
});
