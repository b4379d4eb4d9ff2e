/** The result of a membership lookup. */
export interface Memberships {
  /** Space (organization) ids the user belongs to. */
  spaceIds: string[];
  /**
   * False when the lookup failed and `spaceIds` is a fail-open empty answer:
   * reads still work (own rows), writes into shared spaces cannot be checked.
   */
  available: boolean;
}

/**
 * Who is a member of which space. Replace it through DI for another identity
 * system: `{ provide: MembershipProvider, useClass: MyMembershipProvider }`.
 */
export abstract class MembershipProvider {
  abstract membershipsOf(userId: string): Promise<Memberships>;
}

/** The space every user owns alone; clients stamp it until they know the active space. */
export function personalSpaceId(userId: string): string {
  return `_personal:${userId}`;
}
