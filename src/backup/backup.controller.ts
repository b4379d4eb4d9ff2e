import { Controller, Get, Headers, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOkResponse, ApiProduces } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AuthGuard } from '../auth/auth.guard';
import { AuthenticatedUser, CurrentUser } from '../auth/authenticated-user';
import { NoRequestTimeout } from '../limits/request-timeout.interceptor';
import { ApiErrorResponse, ApiErrorResponses } from '../openapi/api-error-responses.decorator';
import { USER_TOKEN_AUTH } from '../openapi/security-schemes';
import { MembershipGuard } from '../spaces/membership.guard';
import { archiveFileName } from './backup-format';
import { BackupExportService } from './backup-export.service';
import { BackupImportService, ImportResult } from './backup-import.service';

const ARCHIVE = { type: 'string', format: 'binary' } as const;

/**
 * Outside the billing gate on purpose: a user can always take their data out and bring it back.
 * Archives stream for as long as they take, so no route here has a request timeout.
 */
@Controller('backup')
@UseGuards(AuthGuard)
@NoRequestTimeout()
@ApiBearerAuth(USER_TOKEN_AUTH)
@ApiErrorResponses(401)
@ApiErrorResponse(503, 'Database unavailable; see Retry-After')
export class BackupController {
  constructor(
    private readonly exporter: BackupExportService,
    private readonly importer: BackupImportService,
  ) {}

  /** The caller's whole change log as a zip, streamed while it is read. */
  @Get('export')
  @ApiProduces('application/zip')
  @ApiOkResponse({
    description:
      "The caller's whole change log: a zip of `events.jsonl` and `manifest.json` (counts, sha256 of the events)",
    schema: ARCHIVE,
  })
  async export(@CurrentUser() user: AuthenticatedUser, @Res() res: Response): Promise<void> {
    await this.exporter.exportArchive(user, res, () => {
      res.status(200).set({
        'Content-Type': 'application/zip',
        'Content-Disposition': `attachment; filename="${archiveFileName(user.userId, new Date())}"`,
        'Cache-Control': 'no-store',
      });
    });
  }

  /**
   * The raw archive as the body (application/zip or application/octet-stream).
   * Memberships are looked up first: restored rows pass the same space rule as pushes.
   */
  @Post('import')
  @HttpCode(200)
  @UseGuards(MembershipGuard)
  @ApiConsumes('application/zip')
  @ApiBody({ required: true, schema: ARCHIVE })
  @ApiOkResponse({
    description: 'Restored; events whose eventId was stored already are skipped',
    schema: {
      type: 'object',
      required: ['read', 'inserted', 'skipped', 'complete'],
      properties: {
        read: { type: 'integer', description: 'Events in the archive' },
        inserted: { type: 'integer', description: 'Events stored by this import' },
        skipped: { type: 'integer', description: 'Events stored already' },
        complete: {
          type: 'boolean',
          enum: [true],
          description: 'Every event of the archive is stored now',
        },
      },
    },
  })
  @ApiErrorResponse(400, 'Not a valid backup archive (the message says why)')
  @ApiErrorResponse(403, 'The archive writes into a space the user is not a member of')
  @ApiErrorResponses(408)
  @ApiErrorResponse(413, 'Archive larger than BACKUP_IMPORT_MAX_BYTES')
  @ApiErrorResponse(415, 'The archive was not sent as application/zip')
  import(
    @CurrentUser() user: AuthenticatedUser,
    @Req() req: Request,
    @Headers('content-length') contentLength?: string,
  ): Promise<ImportResult> {
    const declared = contentLength !== undefined ? Number(contentLength) : undefined;
    return this.importer.importUpload(user, req, Number.isFinite(declared) ? declared : undefined);
  }
}
