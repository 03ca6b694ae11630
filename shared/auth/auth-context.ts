/**
 * What a job remembers about its credentials: enough to rebuild the strategy on every poll, never a credential.
 * Stored in the job item; `buildAuth` turns it back into an AuthStrategy without any re-discovery.
 */
import * as z from 'zod';
import { AUTH_TYPES } from './auth-strategy.js';

/** The concrete way a job authenticates; `oidc_federation` has three. */
export const AUTH_MODES = ['pat', 'oauth_m2m', 'oidc_model1_file', 'oidc_model1_sts', 'oidc_model2'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

export const authContextSchema = z.looseObject({
  authType: z.enum(AUTH_TYPES),
  namespace: z.string(),
  /** Absent on items written by the first release (PAT only). */
  mode: z.enum(AUTH_MODES).optional(),
  /** Why this strategy was chosen, for people reading the job: "task databricksAuthType", "auto-detect: ...". */
  reason: z.string().optional(),
  /** Where the namespace's secrets were read from when the job was accepted. */
  secretSource: z.enum(['secrets-manager', 'kubernetes']).optional(),
  /** PAT: the namespace secret name (key `token`). */
  tokenSecretName: z.string().optional(),
  /** OAuth M2M: the namespace secret name (keys `client_id`, `client_secret`). */
  oauthSecretName: z.string().optional(),
  /** OAuth M2M (resolved), Model 1 (task or DATABRICKS_CLIENT_ID), Model 2 (the SA annotation). */
  clientId: z.string().optional(),
  /** Model 1 (file): the resolved subject token path. */
  oidcTokenFile: z.string().optional(),
  /** Model 1 (STS) and Model 2: the audience of the subject JWT. */
  oidcAudience: z.string().optional(),
  /** Model 2: the discovered ServiceAccount. */
  serviceAccount: z.string().optional(),
});

export type AuthContext = z.infer<typeof authContextSchema>;
