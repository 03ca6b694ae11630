/**
 * What the functions use of @aws-sdk/client-sts, in a module of their own: it is imported dynamically (most jobs
 * never call STS), and a dynamic import of the package itself would bundle every STS command into the lazy chunk.
 */
export { GetWebIdentityTokenCommand, STSClient } from '@aws-sdk/client-sts';
