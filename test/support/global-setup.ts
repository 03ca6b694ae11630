/**
 * Once per test run, before the test workers start: synthesizes the app with the local context (cached in the
 * system's temp folder while its sources are unchanged), so the workers' local stacks and the table fixtures all
 * read the same template instead of each synthesizing it.
 */
import { synthLocalTemplate } from '../../infra/local/template/synth-local-template.js';

export default function setup(): void {
  synthLocalTemplate();
}
