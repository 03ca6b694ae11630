/**
 * The suite's one Powertools logger. Structured JSON, level from POWERTOOLS_LOG_LEVEL (AWS_LAMBDA_LOG_LEVEL wins on
 * Lambda). Log job ids, namespaces, run ids and strategy descriptions; never tokens, secret values or raw requests.
 */
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'flyte-databricks-lambda' });
