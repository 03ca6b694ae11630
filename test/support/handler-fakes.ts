/**
 * Stand-ins for what a use case gets from its handler, for tests that call a use case (pollJob, say) directly: a
 * quiet record context and an auth strategy whose token nobody checks (the Databricks side is faked too).
 */
import type { RecordContext } from '../../functions/sqs-batch.js';
import type { AuthStrategy } from '../../shared/auth/auth-strategy.js';
import { createLogger } from '../../shared/logger.js';

export const quietRecord: RecordContext = {
  messageId: 'm',
  receiveCount: 1,
  isLastAttempt: false,
  senderId: undefined,
  log: createLogger({ logLevel: 'SILENT' }),
};

export const unusedAuth: AuthStrategy = {
  authType: 'pat',
  getBearerToken: async () => 'unused',
  invalidate: () => undefined,
  describe: () => 'test',
};
