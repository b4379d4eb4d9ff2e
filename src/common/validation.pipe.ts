import { ArgumentMetadata, ValidationPipe } from '@nestjs/common';

const OWN_PIPE = new WeakSet<object>();

/**
 * Marks a DTO whose route parameter has a pipe of its own (e.g. the push body): the
 * global ValidationPipe leaves it alone instead of transforming the whole body first.
 */
export function ValidatedByOwnPipe(): ClassDecorator {
  return (target) => {
    OWN_PIPE.add(target);
  };
}

/** The global ValidationPipe (whitelist, transform), except for DTOs marked ValidatedByOwnPipe. */
export class AppValidationPipe extends ValidationPipe {
  constructor() {
    super({ whitelist: true, transform: true });
  }

  protected override toValidate(metadata: ArgumentMetadata): boolean {
    if (metadata.metatype && OWN_PIPE.has(metadata.metatype)) return false;
    return super.toValidate(metadata);
  }
}
