import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'crypto';
import type { InsertNotification } from '../store/change.repository';
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

/** A transaction id is a bigint: at most 20 digits. */
const LONGEST_TX_ID = '9'.repeat(20);

/**
 * Fan-out to every instance on the database through LISTEN/NOTIFY. The push's
 * transaction runs one pg_notify (NOTIFY takes a global lock at commit: one per
 * push, never one per change), inside its insert statement (notificationFor), so a
 * rolled-back push notifies nobody. This
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

  override async publishOnCommit(event: ChangeEvent, notified = false): Promise<void> {
    if (!notified) {
      const payload = this.encode(event);
      if (payload !== undefined) await this.notifications.notify(CHANGE_CHANNEL, payload);
    }
    await super.publishOnCommit(event);
  }

  /**
   * The payload with the transaction id left open: it is the last field of the encoded
   * event, so the insert statement appends its own tx_id and the closing characters.
   * Encoded with the longest possible id, so the real payload fits PostgreSQL's limit too.
   */
  override notificationFor(event: Omit<ChangeEvent, 'txId'>): InsertNotification | undefined {
    const payload = this.encode({ ...event, txId: LONGEST_TX_ID });
    const tail = `${JSON.stringify(LONGEST_TX_ID)}}`;
    if (payload === undefined || !payload.endsWith(tail)) return undefined;
    return { channel: CHANGE_CHANNEL, before: `${payload.slice(0, -tail.length)}"`, after: '"}' };
  }

  private encode(event: ChangeEvent): string | undefined {
    const encoded = encodeChangeNotification({ instance: this.instance, event });
    if (!encoded) {
      // Only ids far beyond any sane size get here; the push itself must not fail for it.
      this.logger.error(
        `change event too large to NOTIFY (app ${event.appId}); other instances miss it`,
      );
      return undefined;
    }
    if (encoded.degraded.length > 0) {
      this.logger.warn(`change event trimmed to fit NOTIFY: ${encoded.degraded.join(', ')}`);
    }
    return encoded.payload;
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
