/** The `mmrt` command line. Each command lives in `commands/`; errors print as typed messages. */
import { Command, CommanderError } from 'commander';
import { isMmrtError } from '../errors.js';
import { registerAsk } from './commands/ask.js';
import { registerCache } from './commands/cache.js';
import { registerCaption } from './commands/caption.js';
import { registerChat } from './commands/chat.js';
import { registerClip } from './commands/clip.js';
import { registerDemo } from './commands/demo.js';
import { registerDoctor } from './commands/doctor.js';
import { registerExplain } from './commands/explain.js';
import { registerServe } from './commands/serve.js';
import { registerVideo } from './commands/video.js';
import { USAGE_EXIT, errorJson, isUsageError } from './usage.js';
import { registerQuantize } from './commands/quantize.js';

const json = process.argv.slice(2).includes('--json');
const program = new Command();
program.name('mmrt').description('multimodal models on ONNX Runtime').version('0.1.0');
program.exitOverride();
program.showSuggestionAfterError();
// With --json, commander's own messages (unknown option, bad value) become the JSON error.
program.configureOutput({ writeErr: (s) => (json ? undefined : process.stderr.write(s)) });
if (!json) program.showHelpAfterError('(mmrt <command> --help lists its options)');
registerDoctor(program);
registerExplain(program);
registerDemo(program);
registerClip(program);
registerAsk(program);
registerCaption(program);
registerChat(program);
registerServe(program);
registerVideo(program);
registerCache(program);
for (const cmd of program.commands) {
  cmd.exitOverride();
  cmd.showSuggestionAfterError();
  cmd.configureOutput({ writeErr: (s) => (json ? undefined : process.stderr.write(s)) });
}
registerQuantize(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // --help and --version end here too, successfully.
    if (e.exitCode === 0) process.exitCode = 0;
    else {
      if (json)
        process.stdout.write(`${errorJson({ code: 'USAGE', message: e.message.replace(/^error: /, '') })}\n`);
      process.exitCode = USAGE_EXIT;
    }
  } else if (isMmrtError(e)) {
    if (json) process.stdout.write(`${errorJson(e)}\n`);
    else process.stderr.write(`mmrt: ${e.message} [${e.code}]\n`);
    if (process.env.MMRT_DEBUG) process.stderr.write(`${JSON.stringify(e.toJSON(), null, 2)}\n`);
    process.exitCode = isUsageError(e) ? USAGE_EXIT : 1;
  } else {
    const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
    if (json) process.stdout.write(`${errorJson({ code: 'INTERNAL', message: String(e) })}\n`);
    else process.stderr.write(`mmrt: unexpected error: ${message}\n`);
    process.exitCode = 1;
  }
}
