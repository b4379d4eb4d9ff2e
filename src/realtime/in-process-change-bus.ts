import { Injectable } from '@nestjs/common';
import { TransactionHost } from '../store/transaction-host';
import { ChangeBus, ChangeEvent, ChangeListener } from './change-bus';

/** Listeners in this process only, told after the transaction commits. */
@Injectable()
export class InProcessChangeBus extends ChangeBus {
  private readonly listeners = new Set<ChangeListener>();

  constructor(private readonly tx: TransactionHost) {
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
    for (const listener of this.listeners) listener(event);
  }
}
