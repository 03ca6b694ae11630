/**
 * Each local AWS service's own error answers, encoded as its protocol puts them on the wire, so the @aws-sdk v3
 * clients surface them as their usual errors (a ServiceException whose `name` is the code, or the modeled class).
 *
 * Protocols (read in node_modules/@aws-sdk/core): AWS JSON 1.0/1.1 errors are `{"__type": ..., "message": ...}`, the
 * SDK taking the name after '#'; SQS's JSON protocol is awsQueryCompatible, the query code travelling in
 * `x-amzn-query-error: <Code>;<Sender|Receiver>` (aws/aws-sdk-js-v3 PR #3972), which the SDK reports as the name; the
 * query protocol (STS, SQS's query form) answers `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>`;
 * REST-JSON (EKS, API Gateway) sends the code in `x-amzn-ErrorType` and `{"message": ...}`.
 *
 * Access denied, verified: DynamoDB AccessDeniedException, HTTP 400 (aws-amplify/aws-sdk-android #784 "Status Code:
 * 400; Error Code: AccessDeniedException"), body `__type` `com.amazon.coral.service#AccessDeniedException`
 * (sebdah/dynamic-dynamodb #321); Secrets Manager AccessDeniedException, "status code: 400" (mongodb/awscdk-resources-
 * mongodbatlas #207); SQS AccessDenied, HTTP 403 (aws/aws-sdk-php #188 "Error Code: AccessDenied, Status Code: 403");
 * STS AccessDenied, 403 (its API reference's common errors); EKS AccessDeniedException, "StatusCode: 403"
 * (eksctl-io/eksctl #5831). Assumed: the `__type` namespace of SQS's and Secrets Manager's (the emulator's plain name).
 *
 * Authentication failures keep the wording the emulators and the previous SQS proxy used (their sources are in
 * ../emulators/aws-sigv4.ts, ../emulators/sts-presign.ts): JSON services MissingAuthenticationTokenException /
 * IncompleteSignatureException / InvalidSignatureException / UnrecognizedClientException, HTTP 400 (EKS: 403, "An
 * error occurred (UnrecognizedClientException) when calling the DescribeCluster operation: The security token included
 * in the request is invalid.", aws/aws-cli #5823); SQS and STS MissingAuthenticationToken / IncompleteSignature (400) /
 * SignatureDoesNotMatch / InvalidClientTokenId, HTTP 403.
 */
import { randomUUID } from 'node:crypto';
import { JSON_SERVICE_AUTH_ERRORS } from '../emulators/aws-sigv4.js';
import { stsAuthFailure } from '../emulators/sts-presign.js';
import type { AwsService } from './aws-request-action.js';
import type { SigV4Failure } from './sigv4-verifier.js';

/** A complete answer: status, headers and body. */
export interface AwsErrorReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** An error in service terms, before encoding. */
export interface AwsError {
  status: number;
  /** The code as the SDK names it: `AccessDeniedException`, `AccessDenied`, `SignatureDoesNotMatch`... */
  code: string;
  message: string;
  /** JSON `__type` when it differs from `code` (a namespaced type, or SQS's query code vs its JSON type). */
  type?: string;
  /** Query protocol `<Type>`; also the suffix of SQS's x-amzn-query-error. Default Sender. */
  fault?: 'Sender' | 'Receiver';
}

const xml = (value: string): string =>
  value.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string,
  );

/** Encodes an error as `service` answers it (`queryProtocol`: SQS's XML form). */
export function encodeAwsError(service: AwsService, error: AwsError, queryProtocol = false): AwsErrorReply {
  const requestId = randomUUID();
  const fault = error.fault ?? 'Sender';
  if (service === 'sts' || (service === 'sqs' && queryProtocol)) {
    const xmlns =
      service === 'sts' ? 'https://sts.amazonaws.com/doc/2011-06-15/' : 'http://queue.amazonaws.com/doc/2012-11-05/';
    const body = `<ErrorResponse xmlns="${xmlns}">\n  <Error>\n    <Type>${fault}</Type>\n    <Code>${xml(error.code)}</Code>\n    <Message>${xml(error.message)}</Message>\n  </Error>\n  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`;
    return { status: error.status, headers: { 'Content-Type': 'text/xml', 'x-amzn-RequestId': requestId }, body };
  }
  if (service === 'eks') {
    return {
      status: error.status,
      headers: {
        'Content-Type': 'application/json',
        'x-amzn-ErrorType': error.code,
        'x-amzn-RequestId': requestId,
      },
      body: JSON.stringify({ message: error.message }),
    };
  }
  const contentType = service === 'secretsmanager' ? 'application/x-amz-json-1.1' : 'application/x-amz-json-1.0';
  return {
    status: error.status,
    headers: {
      'Content-Type': contentType,
      'x-amzn-RequestId': requestId,
      ...(service === 'sqs' ? { 'x-amzn-query-error': `${error.code};${fault}` } : {}),
    },
    body: JSON.stringify({ __type: error.type ?? error.code, message: error.message }),
  };
}

/** The service's answer to a request whose signature did not verify. */
export function authFailureError(service: AwsService, failure: SigV4Failure): AwsError {
  if (service === 'sts') {
    const { status, code, message } = stsAuthFailure(failure);
    return { status, code, message };
  }
  if (service === 'sqs') {
    const { status, code, message } = stsAuthFailure(failure);
    return { status, code, message, type: `com.amazon.coral.service#${code}` };
  }
  const code = JSON_SERVICE_AUTH_ERRORS[failure.kind];
  const status = service === 'eks' ? 403 : 400;
  if (failure.kind === 'missing') {
    // Secrets Manager's own wording (aws-sigv4.ts); DynamoDB and EKS are assumed to say the same.
    return { status, code, message: 'Missing Authentication Token' };
  }
  return { status, code, message: failure.message, ...(service === 'dynamodb' ? { type: coral(code) } : {}) };
}

const coral = (code: string): string => `com.amazon.coral.service#${code}`;

/** The service's answer to a request IAM denied, with AWS's message. */
export function accessDeniedError(service: AwsService, message: string): AwsError {
  switch (service) {
    case 'dynamodb':
      return { status: 400, code: 'AccessDeniedException', type: coral('AccessDeniedException'), message };
    case 'secretsmanager':
      return { status: 400, code: 'AccessDeniedException', message };
    case 'sqs':
      return { status: 403, code: 'AccessDenied', type: coral('AccessDeniedException'), message };
    case 'sts':
      return { status: 403, code: 'AccessDenied', message };
    case 'eks':
      return { status: 403, code: 'AccessDeniedException', message };
  }
}

/** Chaos faults the gateway injects (DynamoDB and SQS, as the previous fault proxy did). */
export const FAULT_ERRORS: Record<'dynamodb' | 'sqs', Record<'throttled' | 'internal-error', AwsError>> = {
  dynamodb: {
    throttled: {
      status: 400,
      code: 'ProvisionedThroughputExceededException',
      type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
      message: 'The level of configured provisioned throughput for the table was exceeded.',
    },
    'internal-error': {
      status: 500,
      code: 'InternalServerError',
      type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
      message: 'Internal server error',
      fault: 'Receiver',
    },
  },
  sqs: {
    throttled: {
      status: 400,
      code: 'RequestThrottled',
      type: 'com.amazonaws.sqs#RequestThrottled',
      message: 'Rate exceeded',
    },
    'internal-error': {
      status: 500,
      code: 'InternalError',
      type: 'com.amazonaws.sqs#InternalError',
      message: 'We encountered an internal error. Please try again.',
      fault: 'Receiver',
    },
  },
};
