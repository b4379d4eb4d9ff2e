import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type ChangeOp = 'insert' | 'update' | 'delete';

/**
 * One row of the append-only change log: exactly the columns of mana-sync's
 * `sync_changes`, plus `tx_id`/`seq`, the position the sync cursor is built on
 * (docs/cursor.md). Rows are written and read with SQL in ChangeRepository.
 */
@Entity({ name: 'sync_changes' })
export class SyncChange {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'app_id', type: 'text' })
  appId!: string;

  @Column({ name: 'table_name', type: 'text' })
  tableName!: string;

  @Column({ name: 'record_id', type: 'text' })
  recordId!: string;

  @Column({ name: 'user_id', type: 'text' })
  userId!: string;

  @Column({ type: 'text' })
  op!: ChangeOp;

  @Column({ type: 'jsonb', nullable: true })
  data!: Record<string, unknown> | null;

  @Column({ name: 'field_meta', type: 'jsonb', nullable: true, default: () => "'{}'" })
  fieldMeta!: Record<string, string> | null;

  @Column({ name: 'client_id', type: 'text' })
  clientId!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'schema_version', type: 'int', default: 1 })
  schemaVersion!: number;

  @Column({ type: 'jsonb', nullable: true })
  actor!: unknown;

  @Column({ type: 'text', nullable: true })
  origin!: string | null;

  @Column({ name: 'space_id', type: 'text', nullable: true })
  spaceId!: string | null;

  /** Id of the writing transaction (pg_current_xact_id()); 0 for rows adopted from mana-sync. */
  @Column({ name: 'tx_id', type: 'bigint' })
  txId!: string;

  /** Order of the row within its transaction (a global sequence). */
  @Column({ type: 'bigint' })
  seq!: string;
}
