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
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { AuthGuard } from '../auth/auth.guard';
import { BillingGuard } from '../billing/billing.guard';
import { MembershipGuard } from '../spaces/membership.guard';
import { AuthenticatedUser, CurrentUser } from '../auth/authenticated-user';
import { RlsTransactionInterceptor } from '../store/rls-transaction.interceptor';
import { AppIdPipe } from './app-id.pipe';
import { PullQueryDto, StreamQueryDto } from './dto/pull-query.dto';
import { PushDto } from './dto/push.dto';
import { SyncResponse } from './dto/sync-response.dto';
import { SyncStreamService } from './sync-stream.service';
import { cursorOf, SyncService } from './sync.service';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

@Controller('sync')
@UseGuards(AuthGuard, BillingGuard, MembershipGuard)
export class SyncController {
  constructor(
    private readonly sync: SyncService,
    private readonly streams: SyncStreamService,
  ) {}

  @Post(':appId')
  @HttpCode(200)
  @UseInterceptors(RlsTransactionInterceptor)
  push(
    @Param('appId', AppIdPipe) appId: string,
    @Body() body: PushDto,
    @CurrentUser() user: AuthenticatedUser,
    @Headers('x-client-id') headerClientId?: string,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<SyncResponse> {
    const clientId = headerClientId || body.clientId;
    if (!clientId) {
      throw new BadRequestException('clientId is required (body or X-Client-Id header)');
    }
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new BadRequestException('Idempotency-Key must be 1-200 visible ASCII characters');
    }
    return this.sync.push(appId, clientId, body, user, idempotencyKey);
  }

  @Get(':appId/pull')
  @UseInterceptors(RlsTransactionInterceptor)
  pull(
    @Param('appId', AppIdPipe) appId: string,
    @Query() query: PullQueryDto,
    @Headers('x-client-id') headerClientId?: string,
  ): Promise<SyncResponse> {
    return this.sync.pull(appId, query.collection, query.since, headerClientId || query.clientId);
  }

  @Get(':appId/stream')
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
