import { parseTokenArgs } from './token.cli';

describe('npm run token: arguments', () => {
  it('takes a user id and a ttl of one hour by default', () => {
    expect(parseTokenArgs(['alice'])).toEqual({ userId: 'alice', ttl: '1h' });
    expect(parseTokenArgs(['bob', '--ttl', '7d'])).toEqual({ userId: 'bob', ttl: '7d' });
    expect(parseTokenArgs(['--ttl=30m', 'carol'])).toEqual({ userId: 'carol', ttl: '30m' });
  });

  it.each([
    [[], /exactly one user id/],
    [['a', 'b'], /exactly one user id/],
    [['alice', '--ttl', '1 hour'], /--ttl must be a number and a unit/],
    [['alice', '--ttl', '0h'], /--ttl must be/],
    [['alice', '--ttl'], /argument missing|--ttl/],
    [['alice', '--user', 'x'], /Unknown option '--user'/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseTokenArgs(argv)).toThrow(message);
  });
});
