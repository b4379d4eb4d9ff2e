import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/**
 * The WebSocket's messages (`/ws`, `/ws/{appId}`), for the OpenAPI document:
 * a socket has no route of its own to carry them.
 */
export class WsAuthMessage {
  @ApiProperty({ enum: ['auth'] })
  type!: 'auth';

  @ApiProperty({ description: 'The bearer token (JWT)' })
  token!: string;

  @ApiPropertyOptional({ description: "This client's id: it is not told of its own pushes" })
  clientId?: string;
}

export class WsPingMessage {
  @ApiProperty({ enum: ['ping'] })
  type!: 'ping';
}

export class WsAuthOkMessage {
  @ApiProperty({ enum: ['auth-ok'] })
  type!: 'auth-ok';
}

export class WsPongMessage {
  @ApiProperty({ enum: ['pong'] })
  type!: 'pong';
}

export class WsErrorMessage {
  @ApiProperty({ enum: ['error'] })
  type!: 'error';

  @ApiProperty()
  message!: string;
}

export class WsSyncAvailableMessage {
  @ApiProperty({ enum: ['sync-available'] })
  type!: 'sync-available';

  @ApiProperty()
  appId!: string;

  @ApiProperty({
    type: [String],
    description: 'The tables to pull; empty when any table of the app may have changed',
  })
  tables!: string[];
}

export const WS_MESSAGE_MODELS = [
  WsAuthMessage,
  WsPingMessage,
  WsAuthOkMessage,
  WsPongMessage,
  WsErrorMessage,
  WsSyncAvailableMessage,
];
