import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Headers,
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
import { APP_ID_PATTERN, MAX_TABLE_LENGTH } from '../common/wire-rules';
import { NoRateLimit, RateLimit } from '../limits/rate-limit.decorator';
import { NoRequestTimeout } from '../limits/request-timeout.interceptor';
import { UserThrottlerGuard } from '../limits/user-throttler.guard';
import { ApiErrorResponses } from '../openapi/api-error-responses.decorator';
import { USER_TOKEN_AUTH } from '../openapi/security-schemes';
import { RlsTransactionInterceptor } from '../store/rls-transaction.interceptor';
import { AppIdPipe } from './app-id.pipe';
import { PullQueryDto, StreamQueryDto } from './dto/pull-query.dto';
import { PushDto } from './dto/push.dto';
import { PushBodyPipe } from './push-body.pipe';
import { SyncResponse } from './dto/sync-response.dto';
import { SyncStreamService } from './sync-stream.service';
import { cursorOf, SyncService } from './sync.service';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

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
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Retrying with the same key replays the first answer and stores nothing twice',
  })
  @ApiOkResponse({
    type: SyncResponse,
    description: "Stored; other clients' changes since `since`",
  })
  @ApiErrorResponses(403, 408, 413, 422, 429)
  @UseInterceptors(RlsTransactionInterceptor)
  async push(
    @Param('appId', AppIdPipe) appId: string,
    @Body(PushBodyPipe) body: PushDto,
    @CurrentUser() user: AuthenticatedUser,
    @Headers('x-client-id') headerClientId?: string,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<StreamableFile> {
    const clientId = headerClientId || body.clientId;
    if (!clientId) {
      throw new BadRequestException('clientId is required (body or X-Client-Id header)');
    }
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new BadRequestException('Idempotency-Key must be 1-200 visible ASCII characters');
    }
    // The answer's changes are JSON text from the store: written as they are, in chunks.
    const answer = await this.sync.push(appId, clientId, body, user, idempotencyKey);
    return answer.toStreamableFile();
  }

  @Get(':appId/pull')
  @RateLimit('pull')
  @ApiOkResponse({ type: SyncResponse, description: 'One page of changes of the collection' })
  @ApiErrorResponses(429)
  @UseInterceptors(RlsTransactionInterceptor)
  async pull(
    @Param('appId', AppIdPipe) appId: string,
    @Query() query: PullQueryDto,
    @Headers('x-client-id') headerClientId?: string,
  ): Promise<StreamableFile> {
    const clientId = headerClientId || query.clientId;
    const answer = await this.sync.pull(appId, query.collection, query.since, clientId);
    return answer.toStreamableFile();
  }

  @Get(':appId/stream')
  @NoRateLimit()
  @NoRequestTimeout()
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description:
      'Server-sent events: `changes` `{table, changes, syncedUntil, hasMore}` and `heartbeat` every 30 s',
    schema: { type: 'string' },
  })
  stream(
    @Param('appId', AppIdPipe) appId: string,
    @Query() query: StreamQueryDto,
    @CurrentUser() user: AuthenticatedUser,
    @Req() req: Request,
    @Res() res: Response,
    @Headers('x-client-id') headerClientId?: string,
  ): void {
    const collections = [...new Set(query.collections.split(',').map((c) => c.trim()))].filter(
      Boolean,
    );
    if (collections.length === 0) {
      throw new BadRequestException('collections must name at least one');
    }
    // As pull's `collection`: checked before the 200, a stream cannot answer 400 later.
    const tooLong = collections.find((c) => c.length > MAX_TABLE_LENGTH);
    if (tooLong !== undefined) {
      throw new BadRequestException(
        `collections: each name must be at most ${MAX_TABLE_LENGTH} characters ("${tooLong.slice(0, 20)}…" is ${tooLong.length})`,
      );
    }
    const since = cursorOf(query.since);
    res.status(200).set({
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    req.socket.setNoDelay(true);
    this.streams.start(
      { user, appId, collections, since, clientId: headerClientId || query.clientId },
      res,
    );
  }
}
