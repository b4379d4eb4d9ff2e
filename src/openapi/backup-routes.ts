import type { ContentObject, OpenAPIObject, OperationObject } from '@nestjs/swagger';
import { USER_TOKEN_AUTH } from './security-schemes';

const ERROR = { $ref: '#/components/schemas/ErrorResponse' };
const ZIP = { 'application/zip': { schema: { type: 'string', format: 'binary' } } } as const;

const ERRORS: Record<string, string> = {
  '400': 'Not a valid backup archive (the message says why)',
  '401': 'Missing, expired or invalid bearer token',
  '403': 'The archive writes into a space the user is not a member of',
  '413': 'Archive larger than BACKUP_IMPORT_MAX_BYTES',
  '415': 'The archive was not sent as application/zip',
  '503': 'Database unavailable; see Retry-After',
};

/**
 * The backup routes are documented here, not on their controller, which
 * belongs to another part of the code base. Only what is missing is filled
 * in, so decorators added to the controller later take precedence.
 */
export function describeBackupRoutes(document: OpenAPIObject): void {
  const exportOp = document.paths['/backup/export']?.get;
  if (exportOp) {
    complete(exportOp, ['401', '503'], {
      description:
        "The caller's whole change log: a zip of `events.jsonl` and `manifest.json` (counts, sha256 of the events)",
      content: ZIP,
    });
  }
  const importOp = document.paths['/backup/import']?.post;
  if (importOp) {
    importOp.requestBody ??= { required: true, content: ZIP };
    complete(importOp, ['400', '401', '403', '413', '415', '503'], {
      description: 'Restored; events whose eventId was stored already are skipped',
      content: {
        'application/json': {
          schema: {
            type: 'object',
            required: ['read', 'inserted', 'skipped'],
            properties: {
              read: { type: 'integer', description: 'Events in the archive' },
              inserted: { type: 'integer', description: 'Events stored by this import' },
              skipped: { type: 'integer', description: 'Events stored already' },
            },
          },
        },
      },
    });
  }
}

function complete(
  operation: OperationObject,
  errors: string[],
  ok: { description: string; content: ContentObject },
): void {
  operation.security ??= [{ [USER_TOKEN_AUTH]: [] }];
  const current = operation.responses['200'];
  // Nest documents an undecorated route as `200: { description: '' }`.
  if (!current || ('description' in current && !current.description)) {
    operation.responses['200'] = ok;
  }
  for (const status of errors) {
    operation.responses[status] ??= {
      description: ERRORS[status],
      content: { 'application/json': { schema: ERROR } },
    };
  }
}
