import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { TransactionHost } from '../store/transaction-host';
import { ChangeEvent } from './change-bus';
import { ChangeNotificationRepository } from './change-notification.repository';
import {
  CHANGE_CHANNEL,
  decodeChangeNotification,
  encodeChangeNotification,
} from './change-event-codec';
import { InProcessChangeBus } from './in-process-change-bus';
import { NotificationListener } from './notification-listener';

/**
 * Fan-out to every instance on the database through LISTEN/NOTIFY. The push's
 * transaction runs one pg_notify (NOTIFY takes a global lock at commit: one per
 * push, never one per change), so a rolled-back push notifies nobody. This
 * instance's own listeners are told straight after COMMIT, not through the
 * database, so they do not depend on the LISTEN connection being up.
 */
@Injectable()
export class PostgresChangeBus extends InProcessChangeBus {
  private readonly logger = new Logger('PostgresChangeBus');
  /** Tags this instance's notifications: it skips them when they come back through LISTEN. */
  private readonly instance = randomUUID();

  constructor(
    tx: TransactionHost,
    private readonly notifications: ChangeNotificationRepository,
    listener: NotificationListener,
  ) {
    super(tx);
    listener.onPayload((payload) => this.receive(payload));
  }

  override async publishOnCommit(event: ChangeEvent): Promise<void> {
    const encoded = encodeChangeNotification({ instance: this.instance, event });
    if (!encoded) {
      // Only ids far beyond any sane size get here; the push itself must not fail for it.
      this.logger.error(
        `change event too large to NOTIFY (app ${event.appId}); other instances miss it`,
      );
    } else {
      if (encoded.degraded.length > 0) {
        this.logger.warn(`change event trimmed to fit NOTIFY: ${encoded.degraded.join(', ')}`);
      }
      await this.notifications.notify(CHANGE_CHANNEL, encoded.payload);
    }
    await super.publishOnCommit(event);
  }

  private receive(payload: string): void {
    const notification = decodeChangeNotification(payload);
    if (!notification) {
      this.logger.warn(`ignoring malformed notification on "${CHANGE_CHANNEL}"`);
      return;
    }
    if (notification.instance === this.instance) return;
    this.emit(notification.event);
  }
}
