/** `mmrt cache verify|clean`: check the download cache against its checksums, repair or empty it. */
import type { Command } from 'commander';
import { validateRepoId } from '../../hub/reference.js';
import { cleanCache, verifyCache } from '../../node/hub/cache-admin.js';
import { resolveHubOptions } from '../../node/hub/options.js';
import { formatBytes } from '../format.js';
import { usageError } from '../usage.js';

export function registerCache(program: Command): void {
  const cache = program
    .command('cache')
    .description('the model download cache (Hugging Face layout, HF_HUB_CACHE): verify, repair, clean');
  cache
    .command('verify')
    .description('hash every cached file against the checksum it is named by; --repair removes damaged ones')
    .argument('[repo]', 'only this hub id (org/name)')
    .option('--repair', 'remove damaged files so the next load downloads them again')
    .option('--json', 'print the report as JSON')
    .action(async (repo: string | undefined, opts: { repair?: boolean; json?: boolean }) => {
      if (repo) validateRepoId(repo);
      const dir = resolveHubOptions().cacheDir;
      const reports = await verifyCache(dir, { ...(repo && { repo }), ...(opts.repair && { repair: true }) });
      if (opts.json) process.stdout.write(`${JSON.stringify({ cacheDir: dir, repos: reports })}\n`);
      else {
        process.stdout.write(`cache ${dir}\n`);
        for (const r of reports) {
          process.stdout.write(
            `${r.folder}: ${r.blobs} files, ${formatBytes(r.bytes)}; ${r.verified} verified, ${r.damaged.length} damaged, ${r.dangling.length} missing${r.unverifiable ? `, ${r.unverifiable} without a checksum` : ''}\n`,
          );
          for (const d of r.damaged)
            process.stdout.write(`  damaged: ${d.files.join(', ') || d.blob} (${d.size} bytes)\n`);
          for (const f of r.removed) process.stdout.write(`  removed: ${f}\n`);
        }
      }
      if (reports.some((r) => (r.damaged.length > 0 || r.dangling.length > 0) && r.removed.length === 0))
        process.exitCode = 1;
    });
  cache
    .command('clean')
    .description('remove cached models (one repo, or --all)')
    .argument('[repo]', 'the hub id (org/name) to remove')
    .option('--all', 'remove every cached model')
    .option('--json', 'print what was removed as JSON')
    .action(async (repo: string | undefined, opts: { all?: boolean; json?: boolean }) => {
      if (!repo && !opts.all) throw usageError('cache clean needs a hub id (org/name) or --all');
      if (repo) validateRepoId(repo);
      const dir = resolveHubOptions().cacheDir;
      const removed = await cleanCache(dir, repo ? { repo } : {});
      if (opts.json) process.stdout.write(`${JSON.stringify({ cacheDir: dir, removed })}\n`);
      else
        process.stdout.write(
          removed.length ? `removed ${removed.join(', ')} from ${dir}\n` : `nothing to remove in ${dir}\n`,
        );
    });
}
