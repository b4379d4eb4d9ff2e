import {
  CanActivate,
  ExecutionContext,
  HttpException,
  HttpStatus,
  Injectable,
} from '@nestjs/common';
import { AuthenticatedRequest, requestUser } from '../auth/authenticated-user';
import { BillingConfig } from '../config/app-config';
import { BillingCheck } from './billing-check';

export class SyncInactiveException extends HttpException {
  constructor() {
    super(
      { error: 'sync_inactive', message: 'Sync is not active for this account' },
      HttpStatus.PAYMENT_REQUIRED,
    );
  }
}

/** 402 when the user's sync subscription is inactive; exempt apps and an unset MANA_CREDITS_URL skip it. */
@Injectable()
export class BillingGuard implements CanActivate {
  private readonly exempt: Set<string>;

  constructor(
    private readonly billing: BillingCheck,
    private readonly config: BillingConfig,
  ) {
    this.exempt = new Set(config.exemptApps);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const appId = request.params?.appId;
    if (!this.config.enabled || (typeof appId === 'string' && this.exempt.has(appId))) {
      return true;
    }
    if (!(await this.billing.isActive(requestUser(request).userId))) {
      throw new SyncInactiveException();
    }
    return true;
  }
}
