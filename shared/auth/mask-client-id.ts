/**
 * A client id as logs and messages show it: `abcd...wxyz` when longer than 12 characters (upstream's describe()),
 * else as is. A client id is not a secret, but the masked form is enough to tell principals apart.
 */
export function maskClientId(clientId: string): string {
  return clientId.length > 12 ? `${clientId.slice(0, 4)}...${clientId.slice(-4)}` : clientId;
}
