/** Rules of the wire protocol that more than one entry point checks. */

/** An app id (`:appId`, `/ws/<appId>`): a short name of letters, digits, `.`, `_`, `-`. */
export const APP_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$';
export const APP_ID_RULE = 'appId must be 1-100 letters, digits, ".", "_" or "-"';
const APP_ID = new RegExp(APP_ID_PATTERN);

export function isAppId(value: string): boolean {
  return APP_ID.test(value);
}
