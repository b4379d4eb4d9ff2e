import { Controller, Get, Query, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AuthGuard } from '../auth/auth.guard';
import { AuthenticatedUser, CurrentUser } from '../auth/authenticated-user';
import { RateLimit } from '../limits/rate-limit.decorator';
import { UserThrottlerGuard } from '../limits/user-throttler.guard';
import { ApiErrorResponse, ApiErrorResponses } from '../openapi/api-error-responses.decorator';
import { USER_TOKEN_AUTH } from '../openapi/security-schemes';
import { MembershipGuard } from '../spaces/membership.guard';
import { RlsTransactionInterceptor } from '../http/rls-transaction.interceptor';
import { ChangeTimesQueryDto, HistoryQueryDto, RecordsQueryDto } from './dto/inspect-query.dto';
import {
  FieldWriteDto,
  InspectAppsResponse,
  InspectChangeTimesResponse,
  InspectDevicesResponse,
  InspectHistoryResponse,
  InspectRecordsResponse,
} from './dto/inspect-response.dto';
import { InspectService } from './inspect.service';

/** Where the inspector's JSON routes live; the pages are `/inspect` and `/inspect/ops`. */
export const INSPECT_API = 'inspect/api';

/**
 * Read-only views of the caller's own data for the inspector (docs/protocol.md,
 * "Inspector"): the token's user sees what their devices could pull, nothing more.
 * They count against the user's pull rate limit.
 */
@ApiTags('inspector')
@ApiBearerAuth(USER_TOKEN_AUTH)
@ApiExtraModels(FieldWriteDto)
@ApiErrorResponses(400, 401, 429, 503)
@Controller(INSPECT_API)
@UseGuards(AuthGuard, UserThrottlerGuard, MembershipGuard)
@RateLimit('pull')
export class InspectController {
  constructor(private readonly inspect: InspectService) {}

  @Get('apps')
  @ApiOkResponse({
    type: InspectAppsResponse,
    description: "The user's apps and collections: row and record counts, last change, spaces",
  })
  @UseInterceptors(RlsTransactionInterceptor)
  apps(@CurrentUser() user: AuthenticatedUser): Promise<InspectAppsResponse> {
    return this.inspect.apps(user);
  }

  @Get('records')
  @ApiOkResponse({
    type: InspectRecordsResponse,
    description: "A page of a collection's records as a device holds them after syncing",
  })
  @UseInterceptors(RlsTransactionInterceptor)
  records(@Query() query: RecordsQueryDto): Promise<InspectRecordsResponse> {
    return this.inspect.records(query.app, query.collection, query.after, query.limit);
  }

  @Get('history')
  @ApiOkResponse({
    type: InspectHistoryResponse,
    description: "Every change of one record, oldest first, with each write's fate",
  })
  @ApiErrorResponse(404, 'No such record among those the user can read')
  @UseInterceptors(RlsTransactionInterceptor)
  history(@Query() query: HistoryQueryDto): Promise<InspectHistoryResponse> {
    return this.inspect.history(query.app, query.collection, query.record);
  }

  @Get('changes')
  @ApiOkResponse({
    type: InspectChangeTimesResponse,
    description: 'When changes were pushed and by which client (the live view measures arrival)',
  })
  @UseInterceptors(RlsTransactionInterceptor)
  changes(@Query() query: ChangeTimesQueryDto): Promise<InspectChangeTimesResponse> {
    return this.inspect.changeTimes(query.app, query.ids);
  }

  @Get('devices')
  @ApiOkResponse({
    type: InspectDevicesResponse,
    description: "The user's open WebSockets and SSE streams on this instance",
  })
  devices(@CurrentUser() user: AuthenticatedUser): InspectDevicesResponse {
    return this.inspect.devices(user);
  }
}
