/**
 * Errors shared across the suite. Each names what failed and what to set; none ever carries a secret value.
 * `permanent` tells the SQS handlers whether retrying the message could ever help.
 */
export class ConnectorError extends Error {
  readonly permanent: boolean;
  constructor(message: string, options: { permanent: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.permanent = options.permanent;
  }
}

/** Credentials are missing or misconfigured: retrying the same message will not help until someone fixes config. */
export class AuthConfigError extends ConnectorError {
  constructor(message: string, cause?: unknown) {
    super(message, { permanent: true, cause });
  }
}

/** The request or stored job cannot be turned into a Databricks call (for example no compute configuration). */
export class InvalidJobSpecError extends ConnectorError {
  readonly field: string | undefined;
  constructor(message: string, field?: string) {
    super(message, { permanent: true });
    this.field = field;
  }
}
