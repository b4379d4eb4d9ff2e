import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { ANY_JSON } from '../../sync/dto/change.dto';

export class CollectionDto {
  @ApiProperty({ example: 'tasks' })
  name!: string;

  @ApiProperty({ description: 'Change rows of the collection the user can read' })
  rows!: number;

  @ApiProperty({ description: 'Distinct record ids among them' })
  records!: number;

  @ApiProperty({ format: 'date-time', description: 'When the newest of them was pushed' })
  lastChangeAt!: string;

  @ApiProperty({ type: [String], description: 'Spaces its rows belong to' })
  spaces!: string[];
}

export class AppCollectionsDto {
  @ApiProperty({ example: 'todo' })
  appId!: string;

  @ApiProperty({ type: [CollectionDto] })
  collections!: CollectionDto[];
}

export class InspectAppsResponse {
  @ApiProperty({ description: "The token's user" })
  userId!: string;

  @ApiProperty({ type: [String], description: 'Spaces the user is a member of' })
  spaceIds!: string[];

  @ApiProperty({ format: 'date-time', description: "The server's clock" })
  serverTime!: string;

  @ApiProperty({
    description: 'A cursor at the end of the log now: `since` for a stream of what comes next',
  })
  liveCursor!: string;

  @ApiProperty({ type: [AppCollectionsDto] })
  apps!: AppCollectionsDto[];

  @ApiProperty({ description: 'True when there were more collections than listed' })
  truncated!: boolean;
}

export class FieldWriteDto {
  @ApiProperty({ ...ANY_JSON, description: 'The value the device holds' })
  value!: unknown;

  @ApiProperty({ ...ANY_JSON, description: 'Its time, as the merge compares it' })
  at!: unknown;

  @ApiProperty({
    description: "The time is the receiving device's clock (an insert without updatedAt/createdAt)",
  })
  deviceTime!: boolean;

  @ApiProperty({ description: 'The change that wrote it' })
  eventId!: string;

  @ApiProperty()
  clientId!: string;

  @ApiProperty()
  userId!: string;

  @ApiPropertyOptional({ ...ANY_JSON, description: 'The change’s actor, as pushed' })
  actor?: unknown;

  @ApiProperty({ nullable: true, type: String })
  origin!: string | null;
}

export class DeviceRecordDto {
  @ApiProperty()
  id!: string;

  @ApiProperty({
    enum: ['present', 'soft-deleted', 'removed'],
    description: '`removed`: not on a device (a hard delete took it, or nothing created it)',
  })
  state!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(FieldWriteDto) },
  })
  fields!: Record<string, FieldWriteDto>;

  @ApiProperty({ description: 'Changes of the record the user can read' })
  changes!: number;

  @ApiProperty({ format: 'date-time' })
  lastChangeAt!: string;
}

export class InspectRecordsResponse {
  @ApiProperty({ type: [DeviceRecordDto] })
  records!: DeviceRecordDto[];

  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Pass as `after` for the next page; null on the last page',
  })
  nextAfter!: string | null;
}

export class WriteOutcomeDto {
  @ApiProperty()
  field!: string;

  @ApiProperty({ ...ANY_JSON })
  value!: unknown;

  @ApiProperty({ ...ANY_JSON })
  at!: unknown;

  @ApiProperty()
  deviceTime!: boolean;

  @ApiProperty({ description: 'The device holds this value now' })
  holds!: boolean;

  @ApiPropertyOptional({
    enum: ['older-time', 'same-time', 'later-delete'],
    description:
      'Why it lost: a write of the field with a newer time; a later change with the same time; a later hard delete',
  })
  reason?: string;

  @ApiPropertyOptional({ description: 'The change that beat it' })
  lostTo?: string;
}

export class HistoryChangeDto {
  @ApiProperty()
  eventId!: string;

  @ApiProperty({ description: 'Log position `<tx_id>.<seq>`' })
  position!: string;

  @ApiProperty({ format: 'date-time', description: 'When the push stored it' })
  createdAt!: string;

  @ApiProperty()
  clientId!: string;

  @ApiProperty()
  userId!: string;

  @ApiProperty({ nullable: true, type: String })
  spaceId!: string | null;

  @ApiPropertyOptional({ ...ANY_JSON })
  actor?: unknown;

  @ApiProperty({ nullable: true, type: String })
  origin!: string | null;

  @ApiProperty({ enum: ['insert', 'update', 'delete'] })
  op!: string;

  @ApiProperty({ enum: ['insert', 'update', 'soft-delete', 'hard-delete', 'other'] })
  kind!: string;

  @ApiProperty({ description: 'It creates the record on a device that lacks it' })
  creates!: boolean;

  @ApiPropertyOptional({ description: 'Why it does nothing on a device' })
  ignored?: string;

  @ApiProperty({ type: [WriteOutcomeDto] })
  writes!: WriteOutcomeDto[];
}

export class CompactionTallyDto {
  @ApiProperty({
    description:
      'Rows of this history compaction removed (counted per record since it records them)',
  })
  rowsRemoved!: number;

  @ApiProperty({ description: 'Superseded fields it stripped from update rows' })
  fieldsStripped!: number;

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  lastAt!: string | null;
}

export class InspectHistoryResponse {
  @ApiProperty({ type: DeviceRecordDto })
  record!: DeviceRecordDto;

  @ApiProperty({
    type: [HistoryChangeDto],
    description: 'Every change of the record, oldest first',
  })
  changes!: HistoryChangeDto[];

  @ApiProperty({ type: CompactionTallyDto })
  compaction!: CompactionTallyDto;
}

export class ChangeTimeDto {
  @ApiProperty()
  eventId!: string;

  @ApiProperty()
  collection!: string;

  @ApiProperty()
  recordId!: string;

  @ApiProperty()
  clientId!: string;

  @ApiProperty({ format: 'date-time', description: 'When the push stored it' })
  createdAt!: string;
}

export class InspectChangeTimesResponse {
  @ApiProperty({ format: 'date-time', description: "The server's clock when it answered" })
  serverTime!: string;

  @ApiProperty({ type: [ChangeTimeDto], description: 'The changes found (others are left out)' })
  changes!: ChangeTimeDto[];
}

export class DeviceDto {
  @ApiProperty({ enum: ['websocket', 'sse'] })
  kind!: string;

  @ApiProperty({
    nullable: true,
    type: String,
    description: 'null: a WebSocket on `/ws` (every app)',
  })
  appId!: string | null;

  @ApiProperty({ nullable: true, type: String })
  clientId!: string | null;

  @ApiProperty({ format: 'date-time', description: 'Open since' })
  since!: string;

  @ApiPropertyOptional({ type: [String], description: 'The collections a stream follows' })
  collections?: string[];
}

export class InspectDevicesResponse {
  @ApiProperty()
  userId!: string;

  @ApiProperty({
    type: [DeviceDto],
    description: "The user's open WebSockets and streams on this instance",
  })
  devices!: DeviceDto[];
}

export class LocalTokenResponse {
  @ApiProperty()
  userId!: string;

  @ApiProperty({ description: 'A bearer token signed by the local key' })
  token!: string;

  @ApiProperty({ format: 'date-time' })
  expiresAt!: string;
}

export class OpsSampleDto {
  @ApiProperty({ description: 'When it was taken (ms since the epoch)' })
  t!: number;

  @ApiProperty({ nullable: true, type: Number, description: 'Pushes per second' })
  pushRate!: number | null;

  @ApiProperty({ nullable: true, type: Number, description: 'Pulls per second' })
  pullRate!: number | null;

  @ApiProperty({ nullable: true, type: Number, description: 'Push latency p50 (s)' })
  pushP50!: number | null;

  @ApiProperty({ nullable: true, type: Number, description: 'Push latency p99 (s)' })
  pushP99!: number | null;

  @ApiProperty({ nullable: true, type: Number, description: 'Pull latency p50 (s)' })
  pullP50!: number | null;

  @ApiProperty({ nullable: true, type: Number, description: 'Pull latency p99 (s)' })
  pullP99!: number | null;

  @ApiProperty({ nullable: true, type: Number })
  horizonLagSeconds!: number | null;

  @ApiProperty({ nullable: true, type: Number })
  poolInUse!: number | null;

  @ApiProperty({ nullable: true, type: Number })
  poolWaiting!: number | null;

  @ApiProperty({ nullable: true, type: Number })
  websockets!: number | null;

  @ApiProperty({ nullable: true, type: Number })
  sseStreams!: number | null;

  @ApiProperty({
    nullable: true,
    type: Number,
    description: 'COMMIT to hint delivery, p50 (s); null while `sync_hint_delay_seconds` is absent',
  })
  hintDelayP50!: number | null;

  @ApiProperty({ nullable: true, type: Number })
  hintDelayP99!: number | null;

  @ApiProperty({ nullable: true, type: Number, description: 'Rows removed in the interval' })
  compactionRowsRemoved!: number | null;

  @ApiProperty({ nullable: true, type: Number, description: 'Unix seconds the last pass ended' })
  compactionLastRun!: number | null;

  @ApiProperty({ nullable: true, type: Number })
  compactionLastDuration!: number | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'number' },
    description: 'Error answers per second, by status',
  })
  errors!: Record<string, number>;
}

export class OpsHistoryResponse {
  @ApiProperty({ description: 'Milliseconds between samples' })
  intervalMs!: number;

  @ApiProperty({ description: 'How much history is kept (ms)' })
  windowMs!: number;

  @ApiProperty({ type: [OpsSampleDto], description: 'Oldest first' })
  samples!: OpsSampleDto[];
}
