/**
 * Whether a user's sync subscription is active. Replace it through DI for
 * another billing system: `{ provide: BillingCheck, useClass: MyBillingCheck }`.
 */
export abstract class BillingCheck {
  /** Resolves false only when sync must be refused; unknown means active (fail-open). */
  abstract isActive(userId: string): Promise<boolean>;
}
