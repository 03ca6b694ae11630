/**
 * The one jose function the functions call, in a module of its own: it is imported dynamically, and a dynamic import
 * of 'jose' itself would put the whole library (about 60 KB) in the lazy chunk instead of this one function.
 */
export { decodeJwt } from 'jose';
