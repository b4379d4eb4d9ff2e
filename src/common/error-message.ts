/** The message of an error, or the thrown value as text: for log lines and one-line reports. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
