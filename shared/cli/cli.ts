/**
 * The process side of the CLI: real streams and environment, Ctrl-C, and the exit code. The logic is in main.ts.
 */
import { EXIT, runCli } from './main.js';

// The local tools run on Node 20; the SDK's notice that future releases need Node 22 is noise for a CLI.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const controller = new AbortController();
process.once('SIGINT', () => {
  // Stops following a job (the job itself keeps running); anything else in flight is cut short.
  controller.abort();
  setTimeout(() => process.exit(EXIT.INTERRUPTED), 500).unref();
});

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
});
process.exit(code);
