import type { Command } from 'commander';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the shipped tiny models on sample images (what `npm start` runs)')
    .action(async () => {
      // Until the CLIP family lands the demo is the platform report.
      await program.parseAsync(['node', 'mmrt', 'doctor']);
    });
}
