import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { MetricsTokenGuard } from '../metrics/metrics-token.guard';
import { ApiErrorResponse, ApiErrorResponses } from '../openapi/api-error-responses.decorator';
import { METRICS_TOKEN_AUTH } from '../openapi/security-schemes';
import { OpsQueryDto } from './dto/inspect-query.dto';
import { OpsHistoryResponse } from './dto/inspect-response.dto';
import { INSPECT_API } from './inspect.controller';
import { OpsHistory, SAMPLE_INTERVAL_MS, WINDOW_MS } from './ops-history';

/** The operator dashboard's data: the service's own metrics over time, no user data. */
@ApiTags('operations')
@Controller(INSPECT_API)
@UseGuards(MetricsTokenGuard)
export class OpsController {
  constructor(private readonly history: OpsHistory) {}

  @Get('ops')
  @ApiBearerAuth(METRICS_TOKEN_AUTH)
  @ApiOkResponse({
    type: OpsHistoryResponse,
    description: `Samples of the last ${WINDOW_MS / 60_000} minutes, one every ${SAMPLE_INTERVAL_MS / 1000} s`,
  })
  @ApiErrorResponses(400)
  @ApiErrorResponse(401, 'METRICS_TOKEN is set and the bearer token is missing or wrong')
  ops(@Query() query: OpsQueryDto): OpsHistoryResponse {
    return {
      intervalMs: SAMPLE_INTERVAL_MS,
      windowMs: WINDOW_MS,
      samples: this.history.since(query.after),
    };
  }
}
