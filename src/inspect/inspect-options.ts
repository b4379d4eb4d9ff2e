/** How the inspector is set up in this process (InspectModule.forRoot). */
export class InspectOptions {
  /** "Continue as <user id>" is offered: local development auth signs the service's tokens. */
  readonly localSignIn: boolean;

  constructor(options: { localSignIn: boolean }) {
    this.localSignIn = options.localSignIn;
  }
}
