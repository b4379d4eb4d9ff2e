import {
  Controller,
  Get,
  NotFoundException,
  Param,
  Res,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ApiOkResponse, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiErrorResponse } from '../openapi/api-error-responses.decorator';
import { InspectorAssets, InspectorPage } from './inspector-assets';
import { InspectOptions } from './inspect-options';

/**
 * Stricter than the API's helmet default: nothing from another origin, no inline
 * script or style, no framing. The pages' data comes from this origin's API.
 */
const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const YEAR_SECONDS = 365 * 24 * 3600;

/** The inspector's pages and their bundles (web/inspector/), built by `npm run build`. */
@ApiTags('inspector')
@Controller('inspect')
export class InspectPagesController {
  constructor(
    private readonly assets: InspectorAssets,
    private readonly options: InspectOptions,
  ) {}

  @Get()
  @ApiProduces('text/html')
  @ApiOkResponse({
    description:
      "The developer inspector (a page): a user's collections, records, history, live changes",
    schema: { type: 'string' },
  })
  @ApiErrorResponse(503, 'The inspector is not built (`npm run build`)')
  inspector(@Res() res: Response): void {
    this.sendPage('inspector', res);
  }

  @Get('ops')
  @ApiProduces('text/html')
  @ApiOkResponse({
    description: 'The operator dashboard (a page); its data route wants METRICS_TOKEN when set',
    schema: { type: 'string' },
  })
  @ApiErrorResponse(503, 'The inspector is not built (`npm run build`)')
  ops(@Res() res: Response): void {
    this.sendPage('ops', res);
  }

  @Get('assets/:file')
  @ApiParam({ name: 'file', description: 'A hashed bundle name from the page' })
  @ApiProduces('text/javascript', 'text/css')
  @ApiOkResponse({
    description: 'A bundle, cached for a year (its name changes with its content)',
    schema: { type: 'string' },
  })
  @ApiErrorResponse(404, 'No such bundle')
  asset(@Param('file') file: string, @Res() res: Response): void {
    const path = this.assets.file(file);
    if (!path) throw new NotFoundException(`No inspector asset "${file}"`);
    res.sendFile(path, {
      maxAge: YEAR_SECONDS * 1000,
      immutable: true,
      headers: { 'X-Content-Type-Options': 'nosniff' },
    });
  }

  private sendPage(page: InspectorPage, res: Response): void {
    const html = this.assets.page(page, { localSignIn: this.options.localSignIn });
    if (!html) {
      throw new ServiceUnavailableException(
        'The inspector is not built: run "npm run build" (npm start does)',
      );
    }
    res
      .status(200)
      .set({
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-cache',
        'Content-Security-Policy': PAGE_CSP,
        'Referrer-Policy': 'no-referrer',
      })
      .send(html);
  }
}
