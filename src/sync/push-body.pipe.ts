import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';
import {
  describeJsonBoundsProblem,
  findJsonBoundsProblem,
  isJsonObject,
} from '../common/json-bounds';
import { bodySourceOf } from '../common/body-source';
import { compileValidation, ValidCheck } from '../common/compiled-validation';
import { changeDataSpans, SourceSpan } from '../common/json-source';
import { validationMessages } from '../common/wire-validators';
import { keepDataText } from './data-text';
import { ChangeDto } from './dto/change.dto';
import { PushDto } from './dto/push.dto';

/** Wire keys of a change that class-validator checks; the rest is opaque JSON. */
const ENVELOPE_KEYS = [
  'eventId',
  'schemaVersion',
  'table',
  'id',
  'op',
  'deletedAt',
  'spaceId',
  'origin',
] as const;

/** Opaque client JSON of a change: bounded (depth, numbers, NUL) but never walked by a transformer. */
const OPAQUE_KEYS = ['data', 'fields', 'actor'] as const;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** Nearly every string has no surrogate at all: one scan says so. */
const ANY_SURROGATE = /[\ud800-\udfff]/;

/** The DTOs' rules, compiled once; class-validator itself runs only for a refused body. */
const PUSH_VALID = compileValidation(PushDto);
const CHANGE_VALID = compileValidation(ChangeDto);

/**
 * PostgreSQL text cannot hold NUL, and a lone UTF-16 surrogate would be stored as U+FFFD:
 * either way the client would not read back what it sent.
 */
function assertStorable(value: unknown, where: string): void {
  if (typeof value !== 'string') return;
  if (value.includes('\u0000')) {
    throw new BadRequestException(`${where} contains a \\u0000 character, which cannot be stored`);
  }
  if (ANY_SURROGATE.test(value) && LONE_SURROGATE.test(value)) {
    throw new BadRequestException(`${where} is not well-formed Unicode (a lone surrogate)`);
  }
}

function check(instance: object, prefix: string, valid: ValidCheck): void {
  if (valid(instance)) return;
  const messages = validationMessages(instance, prefix);
  if (messages.length > 0) throw new BadRequestException(messages.join('; '));
}

/**
 * The push body, validated without a transformer: class-validator checks the envelope
 * of the push and of each change (copied into a DTO instance: table, id, op, times,
 * ids, sizes), and the opaque parts (`data`, `fields`, `actor`) get one iterative pass
 * of json-bounds and are handed on as they came. So the cost follows the number of
 * changes, not the size of their records, and no nesting depth can overflow a stack.
 * Unknown keys are dropped, as the global ValidationPipe's whitelist did.
 */
@Injectable()
export class PushBodyPipe implements PipeTransform<unknown, PushDto> {
  transform(value: unknown): PushDto {
    if (!isJsonObject(value))
      throw new BadRequestException('The request body must be a JSON object');
    const changes = value.changes;
    const body = Object.assign(new PushDto(), {
      clientId: value.clientId,
      since: value.since,
      schemaVersion: value.schemaVersion,
      // Holes: the array's own rules (type, size) are checked, its items below, one by one.
      changes: Array.isArray(changes) ? new Array<ChangeDto>(changes.length) : changes,
    });
    check(body, '', PUSH_VALID);
    assertStorable(body.clientId, 'clientId');
    const source = bodySourceOf(value);
    let spans = source && changeDataSpans(source);
    if (spans && spans.length !== (changes as unknown[]).length) spans = undefined;
    body.changes = (changes as unknown[]).map((change, index) =>
      this.change(change, index, source, spans?.[index]),
    );
    return body;
  }

  private change(
    raw: unknown,
    index: number,
    source: Buffer | undefined,
    dataSpan: SourceSpan | undefined,
  ): ChangeDto {
    const where = `changes.${index}`;
    if (!isJsonObject(raw)) throw new BadRequestException(`${where} must be an object`);
    const change = new ChangeDto();
    for (const key of ENVELOPE_KEYS) {
      if (raw[key] !== undefined) (change as unknown as Record<string, unknown>)[key] = raw[key];
    }
    check(change, `${where}.`, CHANGE_VALID);
    for (const key of ENVELOPE_KEYS) assertStorable(change[key], `${where}.${key}`);
    for (const key of OPAQUE_KEYS) {
      const opaque = raw[key];
      // null is "not sent", as class-validator's IsOptional has it.
      if (opaque === undefined || opaque === null) continue;
      if (key !== 'actor' && !isJsonObject(opaque)) {
        throw new BadRequestException(`${where}.${key} must be an object`);
      }
      const problem = findJsonBoundsProblem(opaque);
      if (problem) {
        throw new BadRequestException(
          describeJsonBoundsProblem(problem, `changes[${index}].${key}`),
        );
      }
      (change as unknown as Record<string, unknown>)[key] = opaque;
    }
    if (source && dataSpan && change.data !== undefined) {
      keepDataText(change, source.subarray(dataSpan.start, dataSpan.end));
    }
    return change;
  }
}
