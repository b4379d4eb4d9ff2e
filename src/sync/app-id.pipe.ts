import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';

const APP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** `:appId` is a short name (letters, digits, `.`, `_`, `-`). */
@Injectable()
export class AppIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!APP_ID.test(value)) {
      throw new BadRequestException('appId must be 1-100 letters, digits, ".", "_" or "-"');
    }
    return value;
  }
}
