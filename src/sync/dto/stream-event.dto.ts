import { ApiProperty } from '@nestjs/swagger';
import { ServerChange } from './sync-response.dto';

/** The data of the stream's `changes` event (`GET /sync/{appId}/stream`). */
export class StreamChangesEvent {
  @ApiProperty({ description: 'The collection the changes belong to' })
  table!: string;

  @ApiProperty({ type: [ServerChange], description: "Other clients' changes, in log order" })
  changes!: ServerChange[];

  @ApiProperty({ description: "The collection's cursor after these changes" })
  syncedUntil!: string;

  @ApiProperty({ description: 'More changes of the collection follow in the next event' })
  hasMore!: boolean;
}

/** The data of the stream's `heartbeat` event, sent every SSE_HEARTBEAT_MS. */
export class StreamHeartbeatEvent {
  @ApiProperty({ format: 'date-time' })
  time!: string;
}

/** Documented as components of their own: an event's data is not a route's body. */
export const STREAM_EVENT_MODELS = [StreamChangesEvent, StreamHeartbeatEvent];
