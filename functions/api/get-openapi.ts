/**
 * GET /v1/openapi.json: the API's OpenAPI document, with `servers` set to the base URL the request came in on
 * (stage, or a custom domain's base path, included), so a client or tool fetching it can call the API right away.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { openApiDocument } from '../../shared/api/openapi-document.js';
import { jsonResponse } from './http-error.js';

export function getOpenApi(event: APIGatewayProxyEvent): APIGatewayProxyResult {
  const serverUrl = serverUrlFor(event);
  return jsonResponse(200, openApiDocument(serverUrl ? { serverUrl } : {}), { 'Cache-Control': 'max-age=300' });
}

/** `https://{domainName}/{stage}` from the request context; undefined when the event has no domain name. */
export function serverUrlFor(event: APIGatewayProxyEvent): string | undefined {
  const { domainName, stage, path: calledPath } = event.requestContext ?? {};
  if (!domainName) return undefined;
  // requestContext.path is the path as called, with the stage (or a custom domain's base path) before the
  // route's path; whatever precedes the route's path is the base.
  const basePath =
    calledPath && event.path && calledPath.endsWith(event.path)
      ? calledPath.slice(0, calledPath.length - event.path.length)
      : stage
        ? `/${stage}`
        : '';
  // API Gateway always sets X-Forwarded-Proto (https); the local front door says http.
  const proto = header(event, 'x-forwarded-proto') === 'http' ? 'http' : 'https';
  return `${proto}://${domainName}${basePath.replace(/\/+$/, '')}`;
}

function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const entry = Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === name);
  return entry?.[1];
}
