/**
 * `mmrt chat`: an interactive chat about images. Reads one message per line from stdin,
 * streams each answer; the conversation keeps its KV cache, so later turns only prefill what
 * is new. Commands: /image <file> (attach to the next message), /reset, /exit.
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { isMmrtError } from '../../errors.js';
import { addVlmOptions, generationFlags, openVlm, type VlmCliOptions } from './ask.js';

const HELP =
  'type a message; /image <file> attaches an image to the next message, /reset starts over, /exit quits';

export function registerChat(program: Command): void {
  addVlmOptions(
    program
      .command('chat')
      .description('chat about images in the terminal (streaming, multi-turn with KV-cache reuse)')
      .option(
        '-i, --image <file>',
        'an image for the first message (repeatable)',
        (v: string, prev: string[] = []) => [...prev, v],
      )
      .option('--system <text>', 'a system message'),
  ).action(async (opts: VlmCliOptions & { image?: string[]; system?: string }) => {
    const generation = generationFlags(opts);
    const model = await openVlm(opts);
    const conversation = model.conversation({ ...(opts.system ? { system: opts.system } : {}), generation });
    let pending: string[] = [...(opts.image ?? [])];
    const tty = process.stdin.isTTY === true;
    const rl = createInterface({
      input: process.stdin,
      output: tty ? process.stdout : undefined,
      terminal: tty,
    });
    const say = (line: string) => process.stderr.write(`${line}\n`);
    if (tty) {
      say(HELP);
      rl.setPrompt('> ');
      rl.prompt();
    }
    try {
      for await (const raw of rl) {
        const line = raw.trim();
        if (line === '/exit' || line === '/quit') break;
        if (line === '' || line === '/help') {
          if (line === '/help') say(HELP);
        } else if (line === '/reset') {
          conversation.reset();
          pending = [];
          say('(conversation reset)');
        } else if (line.startsWith('/image')) {
          const file = line.slice('/image'.length).trim();
          if (file) {
            pending.push(file);
            say(`(image ${file} will go with your next message)`);
          } else say('usage: /image <file>');
        } else if (line.startsWith('/')) {
          say(`unknown command ${line.split(/\s/)[0]}; ${HELP}`);
        } else {
          const images = pending;
          pending = [];
          try {
            const stream = conversation.send(line, { ...generation, images });
            for await (const delta of stream) process.stdout.write(delta);
            const r = await stream.result;
            process.stdout.write('\n');
            if (tty) {
              say(
                `(${r.usage.generatedTokens} tokens; ${r.usage.cachedTokens}/${r.usage.promptTokens} prompt tokens reused; first token ${r.timings.timeToFirstTokenMs.toFixed(0)} ms; ${r.timings.decodeTokensPerSecond.toFixed(1)} tokens/s)`,
              );
            }
          } catch (e) {
            process.stdout.write('\n');
            say(`mmrt: ${e instanceof Error ? e.message : String(e)}${isMmrtError(e) ? ` [${e.code}]` : ''}`);
            if (!tty) process.exitCode = 1;
          }
        }
        if (tty) rl.prompt();
      }
    } finally {
      rl.close();
      await model.dispose();
    }
  });
}
