import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  Res,
  StreamableFile,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiHeader,
  ApiOkResponse,
  ApiParam,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AuthGuard } from '../auth/auth.guard';
import { BillingGuard } from '../billing/billing.guard';
import { MembershipGuard } from '../spaces/membership.guard';
import { AuthenticatedUser, CurrentUser } from '../auth/authenticated-user';
import { APP_ID_PATTERN } from '../common/wire-rules';
import { NoRateLimit, RateLimit } from '../limits/rate-limit.decorator';
import { NoRequestTimeout } from '../limits/request-timeout.interceptor';
import { UserThrottlerGuard } from '../limits/user-throttler.guard';
import { ApiErrorResponses } from '../openapi/api-error-responses.decorator';
import { USER_TOKEN_AUTH } from '../openapi/security-schemes';
import { RlsTransactionInterceptor } from '../http/rls-transaction.interceptor';
import { AppIdPipe } from './app-id.pipe';
import { PushChangeset } from './change-mapper';
import { PullQueryDto, StreamQueryDto } from './dto/pull-query.dto';
import { PushDto } from './dto/push.dto';
import { PushBodyPipe } from './push-body.pipe';
import { PushChangesetPipe } from './push-changeset.pipe';
import {
  ApiReadsHeaders,
  ClientId,
  Collections,
  IdempotencyKey,
  RequiredClientIdPipe,
  Since,
} from './request-params';
import { SyncResponse } from './dto/sync-response.dto';
import { SyncCursor } from './sync-cursor';
import { SyncStreamService } from './sync-stream.service';
import { SyncService } from './sync.service';

@ApiTags('sync')
@ApiBearerAuth(USER_TOKEN_AUTH)
@ApiParam({
  name: 'appId',
  description: 'App name',
  schema: { type: 'string', pattern: APP_ID_PATTERN },
})
@ApiHeader({ name: 'X-Client-Id', required: false, description: 'The client (device) id' })
@ApiErrorResponses(400, 401, 402, 503)
@Controller('sync')
// The rate limit counts per user, so it runs after AuthGuard and before the lookups it protects.
@UseGuards(AuthGuard, UserThrottlerGuard, BillingGuard, MembershipGuard)
export class SyncController {
  constructor(
    private readonly sync: SyncService,
    private readonly streams: SyncStreamService,
  ) {}

  @Post(':appId')
  @HttpCode(200)
  @RateLimit('push')
  @ApiBody({ type: PushDto })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Retrying with the same key replays the first answer and stores nothing twice',
  })
  @ApiReadsHeaders('x-client-id', 'idempotency-key')
  @ApiOkResponse({
    type: SyncResponse,
    description: "Stored; other clients' changes since `since`",
  })
  @ApiErrorResponses(403, 408, 413, 422, 429)
  @UseInterceptors(RlsTransactionInterceptor)
  async push(
    // Nest runs parameter pipes from the last parameter to the first: the body is checked
    // first, then the app id, the client id and the key, as the route always reported them.
    @IdempotencyKey() idempotencyKey: string | undefined,
    @ClientId('body', RequiredClientIdPipe) clientId: string,
    @Param('appId', AppIdPipe) appId: string,
    @Body(PushBodyPipe, PushChangesetPipe) changeset: PushChangeset,
    @CurrentUser() user: AuthenticatedUser,
  ): Promise<StreamableFile> {
    // The answer's changes are JSON text from the store: written as they are, in chunks.
    const answer = await this.sync.push(appId, clientId, changeset, user, idempotencyKey);
    return answer.toStreamableFile();
  }

  @Get(':appId/pull')
  @RateLimit('pull')
  @ApiReadsHeaders('x-client-id')
  @ApiOkResponse({ type: SyncResponse, description: 'One page of changes of the collection' })
  @ApiErrorResponses(429)
  @UseInterceptors(RlsTransactionInterceptor)
  async pull(
    @Param('appId', AppIdPipe) appId: string,
    @Query() query: PullQueryDto,
    @Since() since: SyncCursor,
    @ClientId('query') clientId: string | undefined,
  ): Promise<StreamableFile> {
    const answer = await this.sync.pull(appId, query.collection, since, clientId);
    return answer.toStreamableFile();
  }

  @Get(':appId/stream')
  @NoRateLimit()
  @NoRequestTimeout()
  @ApiReadsHeaders('x-client-id')
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description:
      'Server-sent events: `changes` `{table, changes, syncedUntil, hasMore}` and `heartbeat` every 30 s',
    schema: { type: 'string' },
  })
  stream(
    @Param('appId', AppIdPipe) appId: string,
    // Validated and documented as a whole; its parts come parsed below (collections first).
    @Query() _query: StreamQueryDto,
    @Since() since: SyncCursor,
    @Collections() collections: string[],
    @ClientId('query') clientId: string | undefined,
    @CurrentUser() user: AuthenticatedUser,
    @Req() req: Request,
    @Res() res: Response,
  ): void {
    this.streams.open({ user, appId, collections, since, clientId }, req, res);
  }
}
