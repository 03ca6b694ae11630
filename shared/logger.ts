/**
 * The suite's one Powertools logger. Structured JSON, level from POWERTOOLS_LOG_LEVEL (AWS_LAMBDA_LOG_LEVEL wins on
 * Lambda). Log job ids, namespaces, run ids and strategy descriptions; never tokens, secret values or raw requests.
 * As a second line of defence every line goes through the redacting JSON replacer (shared/log-redaction.ts), which
 * child loggers inherit: secret-named keys lose their values and credential-looking strings are masked, in
 * messages and error stacks too.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { redactingJsonReplacer } from './log-redaction.js';

type LoggerOptions = NonNullable<ConstructorParameters<typeof Logger>[0]>;

/** A logger with the suite's settings and redaction; `options` may add to them (tests, other services). */
export function createLogger(options: LoggerOptions = {}): Logger {
  return new Logger({
    serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'flyte-databricks-lambda',
    ...options,
    jsonReplacerFn: redactingJsonReplacer,
  });
}

export const logger = createLogger();
