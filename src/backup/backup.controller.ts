import { Controller, Get, Headers, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AuthGuard } from '../auth/auth.guard';
import { AuthenticatedUser, CurrentUser } from '../auth/authenticated-user';
import { NoRequestTimeout } from '../limits/request-timeout.interceptor';
import { MembershipGuard } from '../spaces/membership.guard';
import { archiveFileName } from './backup-format';
import { BackupService, ImportResult } from './backup.service';

/**
 * Outside the billing gate on purpose: a user can always take their data out and bring it back.
 * Archives stream for as long as they take, so no route here has a request timeout.
 */
@Controller('backup')
@UseGuards(AuthGuard)
@NoRequestTimeout()
export class BackupController {
  constructor(private readonly backup: BackupService) {}

  /** The caller's whole change log as a zip, streamed while it is read. */
  @Get('export')
  async export(@CurrentUser() user: AuthenticatedUser, @Res() res: Response): Promise<void> {
    await this.backup.exportArchive(user, res, () => {
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
  import(
    @CurrentUser() user: AuthenticatedUser,
    @Req() req: Request,
    @Headers('content-length') contentLength?: string,
  ): Promise<ImportResult> {
    const declared = contentLength !== undefined ? Number(contentLength) : undefined;
    return this.backup.importUpload(user, req, Number.isFinite(declared) ? declared : undefined);
  }
}
