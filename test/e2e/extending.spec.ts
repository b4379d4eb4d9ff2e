import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  Module,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { BillingCheck } from '../../src/billing/billing-check';
import { Memberships, MembershipProvider } from '../../src/spaces/membership-provider';
import { useService } from '../support/service-fixture';

/** A team's own directory: memberships from wherever they keep them (here, a map). */
@Injectable()
class DirectoryMembershipProvider extends MembershipProvider {
  static readonly teams: Record<string, string[]> = { alice: ['team-red'], bob: ['team-red'] };

  async membershipsOf(userId: string): Promise<Memberships> {
    return { spaceIds: DirectoryMembershipProvider.teams[userId] ?? [], available: true };
  }
}

/** A team's own billing: only users on the allow list may sync. */
@Injectable()
class AllowListBillingCheck extends BillingCheck {
  async isActive(userId: string): Promise<boolean> {
    return userId !== 'mallory';
  }
}

/** A team's own guard, applied to every route. */
@Injectable()
class MaintenanceGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string> }>();
    if (request.headers['x-maintenance'] === 'on')
      throw new ForbiddenException('Down for maintenance');
    return true;
  }
}

@Module({ providers: [{ provide: APP_GUARD, useClass: MaintenanceGuard }] })
class MaintenanceModule {}

describe('extension points (docs/extending.md)', () => {
  const t = useService(
    { BILLING_ENABLED: 'true' },
    {
      membershipApi: false,
      membershipProvider: DirectoryMembershipProvider,
      billingCheck: AllowListBillingCheck,
      imports: [MaintenanceModule],
    },
  );

  it('uses a custom membership provider for reads and for the write check', async () => {
    const alice = await t.client('alice', 'alice-1');
    const bob = await t.client('bob', 'bob-1');
    const carol = await t.client('carol', 'carol-1');
    expect(
      (
        await alice.push([
          { table: 'plans', id: 'p1', op: 'insert', data: {}, spaceId: 'team-red' },
        ])
      ).status,
    ).toBe(200);
    expect((await bob.pullAll('plans')).changes.map((c) => c.id)).toEqual(['p1']);
    expect((await carol.pullAll('plans')).changes).toEqual([]);
    expect(
      (
        await carol.push([
          { table: 'plans', id: 'p2', op: 'insert', data: {}, spaceId: 'team-red' },
        ])
      ).status,
    ).toBe(403);
  });

  it('uses a custom billing check', async () => {
    const mallory = await t.client('mallory', 'm-1');
    expect((await mallory.pull('plans')).status).toBe(402);
  });

  it('runs a custom global guard', async () => {
    const alice = await t.client('alice', 'alice-1');
    const blocked = await alice.request('GET', '/sync/todo/pull?collection=plans', undefined, {
      'x-maintenance': 'on',
    });
    expect(blocked.status).toBe(403);
    expect(blocked.body.message).toBe('Down for maintenance');
  });
});
