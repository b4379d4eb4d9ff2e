import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { RealtimeConfig } from '../config/app-config';
import { MembershipProvider } from '../spaces/membership-provider';
import { SocketRegistry } from './socket-registry';
import { errorMessage } from '../common/error-message';

/** Lookups at a time during a refresh: a large instance must not flood the membership service. */
const REFRESH_CONCURRENCY = 8;

/**
 * Space memberships of the users with open sockets: looked up when a socket
 * authenticates and again every WS_MEMBERSHIP_REFRESH_MS, so fan-out never
 * waits on a lookup (the provider caches; a joined or left space shows up
 * within the refresh period plus the provider's cache lifetime).
 */
@Injectable()
export class SocketMemberships implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('SocketMemberships');
  private timer?: NodeJS.Timeout;
  private refreshing = false;

  constructor(
    private readonly memberships: MembershipProvider,
    private readonly registry: SocketRegistry,
    private readonly realtime: RealtimeConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(
      () => void this.refreshAll(),
      this.realtime.membershipRefreshMs,
    ).unref();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** A failed lookup answers none (fail-open): the user still hears of their own pushes. */
  async spaceIdsOf(userId: string): Promise<string[]> {
    try {
      return (await this.memberships.membershipsOf(userId)).spaceIds;
    } catch (error) {
      this.logger.warn(`membership lookup failed: ${errorMessage(error)}`);
      return [];
    }
  }

  /** Looks every connected user up again; a failed lookup keeps what was known. */
  async refreshAll(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      const queue = this.registry.userIds();
      const worker = async (): Promise<void> => {
        for (let userId = queue.pop(); userId !== undefined; userId = queue.pop()) {
          const result = await this.memberships.membershipsOf(userId).catch(() => undefined);
          if (result?.available) this.registry.setSpaces(userId, result.spaceIds);
        }
      };
      await Promise.all(Array.from({ length: REFRESH_CONCURRENCY }, worker));
    } finally {
      this.refreshing = false;
    }
  }
}
