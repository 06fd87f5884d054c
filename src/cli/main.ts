/** The `mmrt` command line. Each command lives in `commands/`; errors print as typed messages. */
import { Command } from 'commander';
import { isMmrtError } from '../errors.js';
import { registerAsk } from './commands/ask.js';
import { registerCaption } from './commands/caption.js';
import { registerChat } from './commands/chat.js';
import { registerClip } from './commands/clip.js';
import { registerDemo } from './commands/demo.js';
import { registerDoctor } from './commands/doctor.js';
import { registerExplain } from './commands/explain.js';

const program = new Command();
program.name('mmrt').description('multimodal models on ONNX Runtime').version('0.1.0');
program.showHelpAfterError();
registerDoctor(program);
registerExplain(program);
registerDemo(program);
registerClip(program);
registerAsk(program);
registerCaption(program);
registerChat(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (isMmrtError(e)) {
    process.stderr.write(`mmrt: ${e.message} [${e.code}]\n`);
    if (process.env.MMRT_DEBUG) process.stderr.write(`${JSON.stringify(e.toJSON(), null, 2)}\n`);
  } else {
    process.stderr.write(
      `mmrt: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
  }
  process.exitCode = 1;
}
