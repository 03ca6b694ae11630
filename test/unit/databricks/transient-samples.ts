import { TRANSIENT_MESSAGE_PATTERNS } from '../../../shared/databricks/retry-policy.js';

const row = (literal: string): RegExp => {
  const found = TRANSIENT_MESSAGE_PATTERNS.find((candidate) => candidate.match.source === literal);
  if (found === undefined) throw new Error(`no transient message row /${literal}/`);
  return found.match;
};

/**
 * One Databricks error answer per message row of the SDK table ([status, error_code, message, row]), each with a
 * status and code that are not transient themselves, so only the message can make it retried.
 */
export const TRANSIENT_MESSAGE_SAMPLES: ReadonlyArray<readonly [number, string, string, RegExp]> = [
  [
    500,
    'INTERNAL_ERROR',
    'com.databricks.backend.manager.util.UnknownWorkerEnvironmentException: workerenv-1',
    row('com\\.databricks\\.backend\\.manager\\.util\\.UnknownWorkerEnvironmentException'),
  ],
  [
    400,
    'INVALID_STATE',
    'Workspace 123 does not have any associated worker environments',
    row('does not have any associated worker environments'),
  ],
  [
    400,
    'INVALID_PARAMETER_VALUE',
    'There is no worker environment with id 42',
    row('There is no worker environment with id'),
  ],
  [500, 'INTERNAL_ERROR', 'Unknown worker environment: workerenv-7', row('Unknown worker environment')],
  [
    500,
    'INTERNAL_ERROR',
    'com.databricks.api.ClusterNotReadyException: cluster 0101 is starting',
    row('ClusterNotReadyException'),
  ],
  [400, 'INVALID_STATE', 'worker env workerenv-7 not found', row('worker env .* not found')],
  [500, 'INTERNAL_ERROR', 'Timed out after 30 seconds waiting for the driver', row('Timed out after ')],
  [500, 'INTERNAL_ERROR', 'rpc error: context deadline exceeded', row('deadline exceeded')],
  [500, 'INTERNAL_ERROR', 'Unexpected error occurred', row('Unexpected error')],
  [
    400,
    'INVALID_PARAMETER_VALUE',
    'The query is too large. Please try again later or try a faster operation.',
    row('Please try again later or try a faster operation\\.'),
  ],
  [
    500,
    'INTERNAL_ERROR',
    'RPC token bucket limit has been exceeded for workspace 1',
    row('RPC token bucket limit has been exceeded'),
  ],
  [500, 'INTERNAL_ERROR', 'REQUEST_LIMIT_EXCEEDED: too many SCIM requests', row('REQUEST_LIMIT_EXCEEDED')],
];
