/**
 * Every function's middy chain starts here, with Powertools in the order its docs give: Tracer (the handler's
 * segment, when tracing is on), Logger (the invocation's context; keys reset each time), Metrics (the cold start
 * metric, and the buffered metrics flushed at the end of every invocation, failed ones included).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger } from '../shared/logger.js';
import { metrics } from '../shared/metrics/metrics.js';
import { traceHandler } from '../shared/tracing/tracing.js';

export function lambdaHandler<TEvent, TResult>(): middy.MiddyfiedHandler<TEvent, TResult, Error, Context> {
  return (
    middy<TEvent, TResult>()
      .use(traceHandler())
      .use(injectLambdaContext(logger, { resetKeys: true }))
      // An invocation that counted nothing is normal (a GET, a quiet poll whose counts went out as lines of their own).
      .use(logMetrics(metrics, { captureColdStartMetric: true, throwOnEmptyMetrics: false }))
  );
}
