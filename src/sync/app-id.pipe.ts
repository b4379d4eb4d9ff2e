import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';
import { APP_ID_RULE, isAppId } from '../common/wire-rules';

/** `:appId` is a short name (letters, digits, `.`, `_`, `-`). */
@Injectable()
export class AppIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isAppId(value)) throw new BadRequestException(APP_ID_RULE);
    return value;
  }
}
