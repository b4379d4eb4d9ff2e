import { Body, Controller, ForbiddenException, HttpCode, Post, Req } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { AuthKeySource, LocalKeySource } from '../auth/auth-key-source';
import { ApiErrorResponse, ApiErrorResponses } from '../openapi/api-error-responses.decorator';
import { LocalTokenDto } from './dto/inspect-query.dto';
import { LocalTokenResponse } from './dto/inspect-response.dto';
import { INSPECT_API } from './inspect.controller';

const TTL_HOURS = 8;
const LOOPBACK_ADDRESS = /^(127\.|::1$|::ffff:127\.)/;
const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?$/i;

/**
 * "Continue as <user id>" of the inspector: a token signed by the local key, like
 * `npm run token`. Registered only while local development auth is on (never under
 * NODE_ENV=production), so elsewhere the route does not exist (404).
 */
@ApiTags('inspector')
@Controller(INSPECT_API)
export class LocalTokenController {
  constructor(private readonly keys: AuthKeySource) {}

  @Post('local-token')
  @HttpCode(200)
  @ApiOkResponse({
    type: LocalTokenResponse,
    description: `A token for the user, valid ${TTL_HOURS} h (local development auth only)`,
  })
  @ApiErrorResponses(400)
  @ApiErrorResponse(403, 'Not asked from this machine, or asked by a page of another origin')
  async issue(@Body() body: LocalTokenDto, @Req() req: Request): Promise<LocalTokenResponse> {
    assertLocalSameOrigin(req);
    const key = (this.keys as LocalKeySource).key;
    const token = await key.sign(body.userId, `${TTL_HOURS}h`);
    const expiresAt = new Date(Date.now() + TTL_HOURS * 3_600_000).toISOString();
    return { userId: body.userId, token, expiresAt };
  }
}

/**
 * Stricter than `npm run token`'s reach would need, because a route is reachable from
 * a browser: only from this machine, for a page of this origin (no other site's page,
 * no DNS rebinding), so no web page can sign itself a token for a developer's data.
 */
function assertLocalSameOrigin(req: Request): void {
  const host = req.headers.host ?? '';
  const address = req.socket.remoteAddress ?? '';
  if (!LOOPBACK_ADDRESS.test(address) || !LOOPBACK_HOST.test(host)) {
    throw new ForbiddenException(
      'Local sign-in works only from this machine (http://localhost); elsewhere paste a token from "npm run token -- <userId>"',
    );
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `${req.protocol}://${host}`) {
    throw new ForbiddenException('Local sign-in is only for the inspector page of this service');
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new ForbiddenException('Local sign-in is only for the inspector page of this service');
  }
}
