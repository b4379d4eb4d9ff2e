import { Injectable } from '@nestjs/common';
import { TransactionHost } from '../store/transaction-host';

/** NOTIFY through the caller's transaction: PostgreSQL delivers it only if that transaction commits. */
@Injectable()
export class ChangeNotificationRepository {
  constructor(private readonly tx: TransactionHost) {}

  async notify(channel: string, payload: string): Promise<void> {
    await this.tx.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }
}
