/**
 * The API Gateway front door (REST API, proxy integration): POST /v1/jobs, GET and DELETE /v1/jobs/{id}.
 * Routing by @middy/http-router; every failure becomes the one error shape, and unexpected ones are logged
 * and answered 500 without internals.
 */
import httpRouterHandler from '@middy/http-router';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { JobItemRejectedError } from '../../shared/jobs/job-store.js';
import { submitRequestSchema } from '../../shared/jobs/submit-request.js';
import { logger } from '../../shared/logger.js';
import { lambdaHandler } from '../lambda-handler.js';
import { ports } from '../ports.js';
import { cancelJob } from './cancel-job.js';
import { createJob } from './create-job.js';
import { getJob } from './get-job.js';
import { errorResponse, HttpError } from './http-error.js';
import { listJobs } from './list-jobs.js';
import { parseJsonBody } from './parse-body.js';

type Route = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

export const routes: Array<{ method: 'GET' | 'POST' | 'DELETE'; path: string; handler: Route }> = [
  {
    method: 'POST',
    path: '/v1/jobs',
    handler: (event) => createJob(parseJsonBody(event, submitRequestSchema), ports(), event),
  },
  { method: 'GET', path: '/v1/jobs/{id}', handler: (event) => getJob(event.pathParameters?.id, ports(), event) },
  { method: 'DELETE', path: '/v1/jobs/{id}', handler: (event) => cancelJob(event.pathParameters?.id, ports(), event) },
  { method: 'GET', path: '/v1/jobs', handler: (event) => listJobs(event.queryStringParameters, ports(), event) },
  // The document is generated from the schemas on request: its generator is loaded then, not at every cold start.
  {
    method: 'GET',
    path: '/v1/openapi.json',
    handler: async (event) => (await import('./get-openapi.js')).getOpenApi(event),
  },
];

const router = httpRouterHandler<APIGatewayProxyEvent, APIGatewayProxyResult>({
  routes,
  notFoundResponse: ({ method, path }) => {
    throw new HttpError(404, 'NotFound', `No route for ${method} ${path}`);
  },
});

export const handler = lambdaHandler<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use({
    onError: async (request) => {
      const error = request.error;
      if (error instanceof HttpError) {
        request.response = errorResponse(error);
        return;
      }
      // A job item DynamoDB refuses to write (an item from an older release grown past the limit) is the request's
      // problem to report, not a 500: the job cannot be changed.
      if (error instanceof JobItemRejectedError) {
        request.response = errorResponse(
          new HttpError(
            error.tooLarge ? 413 : 400,
            error.tooLarge ? 'PayloadTooLarge' : 'ValidationError',
            error.message,
          ),
        );
        return;
      }
      logger.error('Unhandled API error', {
        error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
      });
      request.response = errorResponse(new HttpError(500, 'InternalError', 'Internal error; see the function logs'));
    },
  })
  .handler(router);
