/**
 * What a job remembers about its credentials: enough to rebuild the strategy on every poll, never a credential.
 * Stored in the job item; `buildAuth` turns it back into an AuthStrategy.
 */
import { z } from 'zod';
import { AUTH_TYPES } from './auth-strategy.js';

export const authContextSchema = z.looseObject({
  authType: z.enum(AUTH_TYPES),
  namespace: z.string(),
  /** PAT: the per-namespace secret name (key `token`). */
  tokenSecretName: z.string().optional(),
});

export type AuthContext = z.infer<typeof authContextSchema>;
