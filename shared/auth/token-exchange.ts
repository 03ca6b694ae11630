/**
 * RFC 8693 token exchange for Databricks workload identity federation (both OIDC models): a JWT from an identity
 * provider the workspace's federation policy trusts, exchanged for a workspace token of the service principal named
 * by `client_id`. No client secret and no Authorization header: the JWT is the proof.
 */
import { requestToken, type TokenHttpOptions, type TokenResult } from './token-endpoint.js';

export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
export const ALL_APIS_SCOPE = 'all-apis';

export interface TokenExchangeRequest extends TokenHttpOptions {
  host: string;
  subjectToken: string;
  /** The service principal's application id: always sent (SP-level federation, never account-wide). */
  clientId: string;
}

/** The exact form upstream and the Databricks SDKs send. */
export function tokenExchangeForm(subjectToken: string, clientId: string): Record<string, string> {
  return {
    grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
    subject_token_type: JWT_TOKEN_TYPE,
    subject_token: subjectToken,
    client_id: clientId,
    scope: ALL_APIS_SCOPE,
  };
}

export function exchangeToken({ host, subjectToken, clientId, ...http }: TokenExchangeRequest): Promise<TokenResult> {
  return requestToken({ ...http, host, form: tokenExchangeForm(subjectToken, clientId) });
}
