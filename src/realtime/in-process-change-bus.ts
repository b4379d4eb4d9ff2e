import { Injectable, Logger } from '@nestjs/common';
import { TransactionHost } from '../store/transaction-host';
import { ChangeBus, ChangeEvent, ChangeListener } from './change-bus';

/** Listeners in this process only, told after the transaction commits. */
@Injectable()
export class InProcessChangeBus extends ChangeBus {
  private readonly log = new Logger('ChangeBus');
  private readonly listeners = new Set<ChangeListener>();

  constructor(protected readonly tx: TransactionHost) {
    super();
  }

  async publishOnCommit(event: ChangeEvent): Promise<void> {
    this.tx.afterCommit(() => this.emit(event));
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  protected emit(event: ChangeEvent): void {
    for (const listener of this.listeners) {
      // One failing listener must not keep the event from the others.
      try {
        listener(event);
      } catch (error) {
        this.log.error(`change listener failed: ${error instanceof Error ? error.message : error}`);
      }
    }
  }
}
