import type { ChangeDto } from './dto/change.dto';

/**
 * The UTF-8 text a change's `data` came as, when the body's bytes were kept (large bodies)
 * and storing that text stores what JSON.stringify of the parsed `data` would (see
 * changeDataSpans): the insert sends it as it is. Set by PushBodyPipe, read by the change
 * mapper; the DTO itself stays the wire's shape.
 */
const dataTexts = new WeakMap<ChangeDto, Buffer>();

export function keepDataText(change: ChangeDto, text: Buffer): void {
  dataTexts.set(change, text);
}

export function dataTextOf(change: ChangeDto): Buffer | undefined {
  return dataTexts.get(change);
}
